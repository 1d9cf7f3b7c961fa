/**
 * The HTTP service under faults, over real HTTP: an engine worker killed mid-request, overload past the bounded queue,
 * the database going away and coming back (PGlite, and a real PostgreSQL cluster that the test stops and starts),
 * SIGTERM during a request, the per-request deadline, and tensor counts that stay flat across requests.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { FacerecError } from '../../src/errors.js';
import type { WorkerPool } from '../../src/engine/pool.js';
import { startServer, type RunningServer } from '../../src/http/server.js';
import type { Analyzer, PoolAnalyzer } from '../../src/service/context.js';
import { createTestDatabase, withAdmin, type TestDatabase } from '../helpers/databases.js';
import { dataset, describeWithDatasets } from '../helpers/datasets.js';
import { call, form, startTestApp, startTestServer, type Reply, type TestApp, type TestServer } from '../helpers/server.js';
import { fakeRegistry } from '../helpers/models.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const TEST_FAULT_DATABASE_URL = process.env.TEST_FAULT_DATABASE_URL || undefined;

const identify = (base: string, photo: Uint8Array) => call(`${base}/v1/identify`, { method: 'POST', body: form({ image: photo }) });

/** A 503 the client may retry: the code, and a Retry-After header. */
function expectRetryable(reply: Reply, code: string): void {
  expect(reply.status, JSON.stringify(reply.body)).toBe(503);
  expect(reply.body.error.code).toBe(code);
  expect(Number(reply.headers.get('retry-after'))).toBeGreaterThan(0);
}

const poolOf = (running: RunningServer): WorkerPool => (running.facerec.analyzer as PoolAnalyzer).pool;

/** numTensors of every worker, sorted; valid only while the pool is idle, when each worker takes one of the requests. */
async function tensorCounts(pool: WorkerPool): Promise<number[]> {
  expect(pool.busy).toBe(0);
  const counts = await Promise.all(Array.from({ length: pool.size }, () => pool.run('memory', {})));
  return counts.map((m) => m.numTensors).sort((a, b) => a - b);
}

// A 250×250 LFW photo (one face, quick), and a 2000×1428 photo of two people (seconds of inference).
let small: Uint8Array;
let large: Uint8Array;

async function loadPhotos(): Promise<void> {
  small ??= await readFile(dataset('lfw-view1', 'images', 'George_W_Bush', 'George_W_Bush_0353.jpg'));
  // obama_and_biden.jpg: Obama, Biden and the girl at the lower right (three faces since issue 15).
  large ??= await readFile(dataset('face-recognition-examples', 'knn_examples', 'test', 'obama_and_biden.jpg'));
}

describe('HTTP faults: internal errors', () => {
  let app: TestApp;
  // What the analyzer throws next: the engine cannot be made to fail like this on demand.
  let failure: unknown;
  const analyzer: Analyzer = {
    analyze: () => Promise.reject(failure),
    descriptorModelId: 'test-model@1',
    models: fakeRegistry('test-model@1'),
    status: () => ({
      workers: 1,
      healthy: 1,
      queueDepth: 0,
      closed: false,
      selfTestAgeMs: 0,
      replacements: { crash: 0, 'engine-error': 0, 'self-test': 0, timeout: 0 },
      startFailures: 0,
    }),
    close: async () => {},
  };

  beforeAll(async () => {
    app = await startTestApp('pglite', analyzer);
  });
  afterAll(async () => {
    await app?.stop();
  });

  const FAILURES: Array<[string, () => unknown, string]> = [
    [
      'a worker’s FacerecError with code INTERNAL',
      () => new FacerecError('INTERNAL', 'Internal engine error: memory access out of bounds', { wasm: 'heap at 0x7fff' }),
      'memory access out of bounds',
    ],
    [
      'a domain error without a status of its own',
      () => new FacerecError('MODEL_LOAD_FAILED', 'Cannot read /srv/models/secret-path.bin', { path: '/srv/models/secret-path.bin' }),
      'secret-path.bin',
    ],
    ['a plain Error', () => new TypeError("Cannot read properties of undefined (reading 'descriptor')"), "reading 'descriptor'"],
  ];
  for (const [what, error, secret] of FAILURES) {
    it(`${what}: 500 INTERNAL naming the request id only; the log has the rest under that id`, async () => {
      failure = error();
      const reply = await call(`${app.url}/v1/detect`, { method: 'POST', body: form({ image: new Uint8Array([1, 2, 3]) }) });
      const id = reply.headers.get('x-request-id');
      expect(id).toBeTruthy();
      expect(reply.status).toBe(500);
      expect(reply.body).toEqual({
        error: { code: 'INTERNAL', message: `Internal error; see the server log for request ${id}`, details: {} },
      });
      expect(JSON.stringify(reply.body)).not.toContain(secret);

      const logged = app.logs.filter((l) => (l.req as { id?: string } | undefined)?.id === id && l.msg === 'request failed');
      expect(logged).toHaveLength(1);
      expect((logged[0]!.err as { message: string }).message).toContain(secret);
    });
  }

  it('names the client’s own X-Request-Id', async () => {
    failure = new FacerecError('INTERNAL', 'Internal engine error: unreachable executed');
    const reply = await call(`${app.url}/v1/detect`, {
      method: 'POST',
      headers: { 'X-Request-Id': 'client-trace-42' },
      body: form({ image: new Uint8Array([1]) }),
    });
    expect(reply.status).toBe(500);
    expect(reply.body.error.message).toBe('Internal error; see the server log for request client-trace-42');
  });
});

describeWithDatasets('HTTP faults: engine workers', () => {
  let server: TestServer;
  let pool: WorkerPool;

  beforeAll(async () => {
    await loadPhotos();
    server = await startTestServer('pglite', {}, { workers: 2 });
    pool = poolOf(server.running);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('a worker killed mid-request is replaced, and its request runs again on a fresh worker and succeeds', async () => {
    const held = identify(server.url, large);
    await expect.poll(() => pool.busy, { timeout: 30_000, interval: 5 }).toBe(1);
    const concurrent = identify(server.url, large);
    await expect.poll(() => pool.busy, { timeout: 30_000, interval: 5 }).toBe(2);
    const queued = identify(server.url, small);
    // The worker holding the oldest request is `held`'s.
    expect(await pool.killBusyWorker()).toBe(true);

    const retried = await held;
    expect(retried.status, JSON.stringify(retried.body)).toBe(200);
    expect(retried.body.faces).toHaveLength(3);
    const [other, waiting] = await Promise.all([concurrent, queued]);
    expect(other.status).toBe(200);
    expect(other.body.faces).toHaveLength(3);
    expect(waiting.status).toBe(200);
    expect(waiting.body.faces).toHaveLength(1);

    // Capacity comes back: two workers again, both answering; the replacement is counted by its cause.
    await expect.poll(() => pool.size, { timeout: 60_000, interval: 100 }).toBe(2);
    expect(await (await fetch(`${server.url}/metrics`)).text()).toMatch(/^facerec_worker_replacements_total\{cause="crash"\} 1$/m);
    const after = await Promise.all([identify(server.url, small), identify(server.url, small)]);
    expect(after.map((r) => r.status)).toEqual([200, 200]);
  });

  it('drops a queued request whose client hung up, before any worker computes it', async () => {
    const analysed = async () =>
      Number(/^facerec_faces_per_image_count (\d+)/m.exec(await (await fetch(`${server.url}/metrics`)).text())?.[1] ?? NaN);
    const before = await analysed();
    let finished = 0;
    const held = [identify(server.url, large), identify(server.url, large)].map((r) => r.finally(() => finished++));
    await expect.poll(() => pool.busy, { timeout: 30_000, interval: 5 }).toBe(2);
    const client = new AbortController();
    const gone = identify(server.url, small).then(() => 'answered');
    const leaving = call(`${server.url}/v1/identify`, { method: 'POST', body: form({ image: small }), signal: client.signal });
    await expect.poll(() => pool.queueDepth, { timeout: 30_000, interval: 5 }).toBe(2);
    client.abort();
    expect((await leaving).status).toBe(0);
    // Out of the queue at once, while both workers are still on the large photos.
    await expect.poll(() => pool.queueDepth, { timeout: 5_000, interval: 5 }).toBe(1);
    // No analysis had finished: the queue shrank by the withdrawal, not by a worker taking the next request.
    expect(await analysed()).toBe(before);
    expect(finished).toBe(0);
    expect((await Promise.all(held)).map((r) => r.status)).toEqual([200, 200]);
    expect(await gone).toBe('answered');
    await expect.poll(() => pool.busy + pool.queueDepth, { timeout: 30_000, interval: 20 }).toBe(0);
    expect(await analysed()).toBe(before + 3);
  });

  it('keeps every worker’s tensor count flat across 20 identify requests', async () => {
    // Warm both workers (two at once: one each), then count.
    await Promise.all([identify(server.url, small), identify(server.url, small)]);
    const first = await tensorCounts(pool);
    for (let round = 0; round < 10; round++) {
      const replies = await Promise.all([identify(server.url, small), identify(server.url, small)]);
      expect(replies.map((r) => r.status)).toEqual([200, 200]);
    }
    expect(await tensorCounts(pool)).toEqual(first);
  });
});

describeWithDatasets('HTTP faults: overload', () => {
  let server: TestServer;

  beforeAll(async () => {
    await loadPhotos();
    server = await startTestServer('pglite', { FACEREC_QUEUE_SIZE: '1' }, { workers: 1 });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('refuses past the queue with 503 QUEUE_FULL, and /healthz answers in milliseconds meanwhile', async () => {
    const pool = poolOf(server.running);
    const burst = 8;
    let answered = 0;
    const replies = Array.from({ length: burst }, () => identify(server.url, large).finally(() => answered++));
    // Every request answered, running or queued: the burst of uploads is over, and inference goes on.
    await expect
      .poll(() => pool.busy === 1 && answered + pool.busy + pool.queueDepth === burst, { timeout: 60_000, interval: 5 })
      .toBe(true);
    const probes: number[] = [];
    for (let i = 0; i < 5; i++) {
      const health = await call(`${server.url}/healthz`);
      expect(health.status).toBe(200);
      probes.push(health.ms);
      await sleep(50);
    }
    // The probes ran while inference was busy.
    expect(pool.busy).toBe(1);
    expect(Math.max(...probes), `healthz took ${probes.map((ms) => ms.toFixed(0)).join(', ')} ms`).toBeLessThan(200);

    const settled = await Promise.all(replies);
    const refused = settled.filter((r) => r.status === 503);
    for (const r of refused) expectRetryable(r, 'QUEUE_FULL');
    // What got a worker or the one queue place is served; the rest were refused at once: no timeouts, no 500s.
    const served = settled.filter((r) => r.status === 200);
    expect(served.length + refused.length, JSON.stringify(settled.map((r) => r.status))).toBe(burst);
    expect(served.length).toBeGreaterThanOrEqual(2);
    expect(refused.length).toBeGreaterThanOrEqual(burst / 2);
    for (const r of refused) expect(r.ms).toBeLessThan(5_000);
  });
});

describeWithDatasets('HTTP faults: request deadline', () => {
  let server: TestServer;

  beforeAll(async () => {
    await loadPhotos();
    server = await startTestServer('pglite', { FACEREC_REQUEST_TIMEOUT_MS: '200' }, { workers: 1 });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('answers 503 TIMEOUT with Retry-After past FACEREC_REQUEST_TIMEOUT_MS, not a hung socket', async () => {
    const reply = await identify(server.url, large);
    expectRetryable(reply, 'TIMEOUT');
    expect(reply.body.error.details.timeoutMs).toBe(200);
    expect(reply.ms).toBeLessThan(2_000);
    expect((await call(`${server.url}/healthz`)).status).toBe(200);
  });
});

describeWithDatasets('HTTP faults: embedded database down and back', () => {
  let server: TestServer;

  beforeAll(async () => {
    await loadPhotos();
    server = await startTestServer('pglite', {}, { workers: 1 });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('503 DATABASE_UNAVAILABLE and not ready while closed; serves the same data after reopen(), no restart', async () => {
    const created = await call(`${server.url}/v1/people`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Kept Across Reopen' }),
    });
    expect(created.status).toBe(201);
    expect((await call(`${server.url}/readyz`)).status).toBe(200);

    await server.running.facerec.db.close();
    expectRetryable(await call(`${server.url}/v1/people`), 'DATABASE_UNAVAILABLE');
    expectRetryable(await identify(server.url, small), 'DATABASE_UNAVAILABLE');
    const notReady = await call(`${server.url}/readyz`);
    expect(notReady.status).toBe(503);
    expect(notReady.body.error.details.checks.database).toBe('DATABASE_UNAVAILABLE');
    // Liveness does not depend on the database: restarting the process would not help.
    expect((await call(`${server.url}/healthz`)).status).toBe(200);

    await server.running.facerec.db.reopen();
    const people = await call(`${server.url}/v1/people`);
    expect(people.status).toBe(200);
    expect(people.body.people.map((p: { name: string }) => p.name)).toEqual(['Kept Across Reopen']);
    expect((await call(`${server.url}/readyz`)).status).toBe(200);
    expect((await identify(server.url, small)).status).toBe(200);
  });
});

const SKIP_FAULT_POSTGRES = 'TEST_FAULT_DATABASE_URL is not set (scripts/test-postgres.sh creates the "faults" cluster and prints it)';
if (!TEST_FAULT_DATABASE_URL) console.warn(`skipping the PostgreSQL fault tests: ${SKIP_FAULT_POSTGRES}`);

const clusterScript = promisify(execFile);
/** Stops or starts the "faults" cluster only: the other test files keep using "main" meanwhile. */
const faultsCluster = (action: 'stop' | 'start') =>
  clusterScript('bash', [path.join(ROOT, 'scripts', 'test-postgres.sh'), action, 'faults'], { cwd: ROOT });

describeWithDatasets(`HTTP faults: PostgreSQL down and back${TEST_FAULT_DATABASE_URL ? '' : ` [${SKIP_FAULT_POSTGRES}]`}`, () => {
  if (!TEST_FAULT_DATABASE_URL) {
    it.skip(SKIP_FAULT_POSTGRES, () => {});
    return;
  }
  const name = `facerec_faults_test_${randomBytes(6).toString('hex')}`;
  let created = false;
  let running: RunningServer | undefined;

  beforeAll(async () => {
    await loadPhotos();
    await faultsCluster('start'); // a previous run that died mid-test may have left it stopped
    await withAdmin(TEST_FAULT_DATABASE_URL!, async (client) => {
      const current = (await client.query<{ name: string }>('SELECT current_database() AS name')).rows[0]?.name ?? '';
      if (!/test/i.test(current))
        throw new Error(`Refusing to run fault tests against database "${current}": its name must contain "test"`);
      await client.query(`CREATE DATABASE ${name}`);
      created = true;
    });
    const url = new URL(TEST_FAULT_DATABASE_URL);
    url.pathname = `/${name}`;
    const config = loadConfig({ FACEREC_LOG_LEVEL: 'silent' });
    running = await startServer(config, {
      db: { url: url.toString() },
      port: 0,
      host: '127.0.0.1',
      workers: 1,
      logger: pino({ level: 'silent' }),
    });
  });
  afterAll(async () => {
    // Always bring the cluster back, even when the test failed while it was down.
    await faultsCluster('start');
    await running?.close();
    if (created) await withAdmin(TEST_FAULT_DATABASE_URL!, (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  });

  it('503 DATABASE_UNAVAILABLE at once while the server is stopped; the same requests succeed once it is back', async () => {
    const base = running!.url;
    const created = await call(`${base}/v1/people`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Kept Across Restart' }),
    });
    expect(created.status).toBe(201);

    await faultsCluster('stop');
    // Refused connections fail fast: not after the pool's 30 s connection timeout.
    const people = await call(`${base}/v1/people`);
    expectRetryable(people, 'DATABASE_UNAVAILABLE');
    expect(people.ms).toBeLessThan(2_000);
    const notReady = await call(`${base}/readyz`);
    expect(notReady.status).toBe(503);
    expect(notReady.body.error.details.checks.database).toBe('DATABASE_UNAVAILABLE');
    expect(notReady.ms).toBeLessThan(2_000);
    expectRetryable(await identify(base, small), 'DATABASE_UNAVAILABLE');

    await faultsCluster('start');
    const back = await call(`${base}/v1/people`);
    expect(back.status, JSON.stringify(back.body)).toBe(200);
    expect(back.body.people.map((p: { name: string }) => p.name)).toEqual(['Kept Across Restart']);
    expect((await call(`${base}/readyz`)).status).toBe(200);
    expect((await identify(base, small)).status).toBe(200);
  });

  it('close() then reopen() of the pg pool: unavailable, then the same data', async () => {
    const base = running!.url;
    await running!.facerec.db.close();
    expectRetryable(await call(`${base}/v1/people`), 'DATABASE_UNAVAILABLE');
    await running!.facerec.db.reopen();
    const people = await call(`${base}/v1/people`);
    expect(people.status).toBe(200);
    expect(people.body.people).toHaveLength(1);
  });
});

describeWithDatasets('HTTP faults: SIGTERM during a request', () => {
  let test: TestDatabase;
  let child: ChildProcess | undefined;

  beforeAll(async () => {
    await loadPhotos();
    test = await createTestDatabase('pglite');
    await test.db.close(); // the CLI opens the directory itself
  });
  afterAll(async () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await test?.drop();
  });

  it('finishes the in-flight request, refuses new connections, and exits 0', async () => {
    const dataDir = 'dataDir' in test.target ? test.target.dataDir : '';
    const proc = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(ROOT, 'src/cli/main.ts'), 'serve', '--db', dataDir, '--port', '0', '--workers', '1'],
      {
        cwd: ROOT,
        // A generous shutdown deadline: this checks that in-flight work completes, not the deadline (busy CI machines).
        env: { ...process.env, DATABASE_URL: '', FACEREC_HOST: '', FACEREC_LOG_LEVEL: 'warn', FACEREC_SHUTDOWN_TIMEOUT_MS: '120000' },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    child = proc;
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      proc.once('exit', (code, signal) => resolve({ code, signal })),
    );
    let stderr = '';
    const base = await new Promise<string>((resolve, reject) => {
      proc.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
        stderr += chunk;
        const m = /facerec serving on (http:\/\/\S+)/.exec(stderr);
        if (m) resolve(m[1]!);
      });
      void exited.then(({ code }) => reject(new Error(`facerec serve exited (${code}) before listening:\n${stderr}`)));
    });
    const { port } = new URL(base);

    // A warm-up gives the inference time of the slow request, and warms the worker.
    const warm = await identify(base, large);
    expect(warm.status).toBe(200);

    let done = false;
    const slow = identify(base, large).finally(() => {
      done = true;
    });
    await sleep(Math.min(warm.ms / 3, 1_000)); // uploaded and being analysed
    expect(done).toBe(false);
    proc.kill('SIGTERM');
    const connect = () =>
      new Promise<string>((resolve) => {
        const socket = net.connect(Number(port), '127.0.0.1');
        socket.once('connect', () => {
          socket.destroy();
          resolve('connected');
        });
        socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
      });
    // The listener closes as soon as the signal is handled: try until it has (within 2 s), not after a fixed wait.
    let refused = await connect();
    for (let tries = 0; refused === 'connected' && tries < 100; tries++) {
      await sleep(20);
      refused = await connect();
    }
    expect(done, 'the slow request was still in flight when the new connection was tried').toBe(false);
    expect(refused).toBe('ECONNREFUSED');

    const reply = await slow;
    expect(reply.status).toBe(200);
    expect(reply.body.faces).toHaveLength(3);
    expect(await exited, stderr).toEqual({ code: 0, signal: null });
  });
});
