/**
 * Scale-out: two real `facerec serve` processes, each with its own models and engine worker, on ONE PostgreSQL
 * database, as replicas behind a load balancer would run. They start together on a fresh database (the migrations
 * serialise on their advisory lock), and every piece of state lives in the database: an API key created through one
 * is enforced by the other, a person enrolled through one is named by the other, and once deleted through the
 * second the first says Unknown. Each stops cleanly on SIGTERM, as `docker stop` sends it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { readMigrations } from '../../src/store/migrations.js';
import { createTestDatabase, SKIP_POSTGRES_REASON, TEST_DATABASE_URL, type TestDatabase } from '../helpers/databases.js';
import { HAS_DATASETS, KNN, SKIP_DATASETS_REASON } from '../helpers/datasets.js';
import { startServeProcess, START_TIMEOUT_MS, stopServeProcess, type ServeProcess as Replica } from '../helpers/serve-process.js';
import { call, form } from '../helpers/server.js';

const startReplica = (name: string, databaseUrl: string) => startServeProcess(name, { DATABASE_URL: databaseUrl });
const stopReplica = stopServeProcess;

const SKIP = !TEST_DATABASE_URL ? SKIP_POSTGRES_REASON : !HAS_DATASETS ? SKIP_DATASETS_REASON : undefined;
if (SKIP) console.warn(`skipping scale-out (two app processes on one PostgreSQL): ${SKIP}`);

describe.skipIf(SKIP !== undefined)(`scale-out: two app processes on one PostgreSQL${SKIP ? ` [${SKIP}]` : ''}`, () => {
  let test: TestDatabase;
  let a: Replica | undefined;
  let b: Replica | undefined;
  let key: string;
  let auth: Record<string, string>;
  const photo = (...p: string[]) => readFile(KNN(...p));

  beforeAll(async () => {
    test = await createTestDatabase('postgres');
    // Both start together on the empty database: both migrate, one waits for the other's lock.
    const started = await Promise.allSettled([startReplica('A', test.url!), startReplica('B', test.url!)]);
    [a, b] = started.map((s) => (s.status === 'fulfilled' ? s.value : undefined));
    for (const s of started) if (s.status === 'rejected') throw s.reason;
  }, START_TIMEOUT_MS + 10_000);

  afterAll(async () => {
    await Promise.all([a, b].map((r) => r && stopReplica(r)));
    await test?.drop();
  }, 60_000);

  it('both are ready on the same database, each with its own engine worker, the schema migrated once', async () => {
    for (const replica of [a!, b!]) {
      const ready = await call(`${replica.url}/readyz`);
      expect(ready.status, replica.stderr()).toBe(200);
      expect(ready.body.checks).toMatchObject({ database: 'ok', workers: '1' });
    }
    expect(a!.url).not.toBe(b!.url);
    const applied = await test.db.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
    expect(applied.map((r) => r.version)).toEqual((await readMigrations()).map((m) => m.version));
  });

  it('an API key created through A is required and accepted by B', async () => {
    const created = await call(`${a!.url}/v1/keys`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'scale-out', role: 'admin' }),
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    key = created.body.key;
    auth = { authorization: `Bearer ${key}` };
    expect((await call(`${b!.url}/v1/people`)).status).toBe(401);
    expect((await call(`${b!.url}/v1/people`, { headers: auth })).status).toBe(200);
  });

  it('a person enrolled through A is named by B, deleted through B, then Unknown to A', async () => {
    const enrolled = await call(`${a!.url}/v1/people`, {
      method: 'POST',
      headers: auth,
      body: form(
        { images: [await photo('train', 'obama', 'obama.jpg'), await photo('train', 'obama', 'obama2.jpg')] },
        { name: 'Barack Obama' },
      ),
    });
    expect(enrolled.status, JSON.stringify(enrolled.body)).toBe(201);
    const personId: string = enrolled.body.person.id;

    const probe = await photo('test', 'obama1.jpg');
    const named = await call(`${b!.url}/v1/identify`, { method: 'POST', headers: auth, body: form({ image: probe }) });
    expect(named.status, JSON.stringify(named.body)).toBe(200);
    expect(named.body.faces).toHaveLength(1);
    expect(named.body.faces[0]).toMatchObject({ label: 'Barack Obama', outcome: 'match', person: { id: personId } });

    const deleted = await call(`${b!.url}/v1/people/${personId}`, { method: 'DELETE', headers: auth });
    expect(deleted.status, JSON.stringify(deleted.body)).toBe(200);

    const unknown = await call(`${a!.url}/v1/identify`, { method: 'POST', headers: auth, body: form({ image: probe }) });
    expect(unknown.status).toBe(200);
    expect(unknown.body.faces).toHaveLength(1);
    expect(unknown.body.faces[0]).toMatchObject({ label: 'Unknown', outcome: 'unknown', person: null });
    expect((await call(`${a!.url}/v1/people/${personId}`, { headers: auth })).status).toBe(404);
  }, 120_000);

  it('each replica stops cleanly on SIGTERM while the other keeps serving', async () => {
    expect(await stopReplica(a!)).toBe(0);
    const ready = await call(`${b!.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await stopReplica(b!)).toBe(0);
  }, 70_000);
});
