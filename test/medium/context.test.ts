/** The service context as the composition roots open it: database target, migrations, and no engine for database-only commands. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { databaseTarget, migrateDatabase, openFacerec, type Facerec } from '../../src/service/context.js';
import { galleries } from '../../src/service/people.service.js';
import { createTestDatabase, describeEachDatabase, type DatabaseKind, type TestDatabase } from '../helpers/databases.js';
import { portrait } from '../helpers/fake-analyzer.js';
import { BASE_CONFIG, codeOf } from './harness.js';

it('chooses the database: --db, else DATABASE_URL, else PGlite in the data directory', () => {
  expect(databaseTarget(BASE_CONFIG)).toEqual({ dataDir: BASE_CONFIG.dataDir });
  expect(databaseTarget(BASE_CONFIG, '/srv/facerec')).toEqual({ dataDir: '/srv/facerec' });
  expect(databaseTarget(BASE_CONFIG, 'postgresql://u@h/db_test')).toEqual({ url: 'postgresql://u@h/db_test' });
  const withUrl = { ...BASE_CONFIG, databaseUrl: 'postgres://u@h/db' };
  expect(databaseTarget(withUrl)).toEqual({ url: 'postgres://u@h/db' });
  expect(databaseTarget(withUrl, './here')).toEqual({ dataDir: './here' });
});

describeEachDatabase('opening facerec', (kind: DatabaseKind) => {
  let test: TestDatabase;
  let facerec: Facerec | undefined;

  beforeAll(async () => {
    test = await createTestDatabase(kind);
    await test.db.close(); // PGlite: one process at a time in a data directory
  });
  afterAll(async () => {
    await facerec?.close();
    await test?.drop();
  });

  it('migrates an empty database on open, and opens without an engine for commands that analyse nothing', async () => {
    facerec = await openFacerec(BASE_CONFIG, { db: test.target, workers: 'none' });
    expect((await galleries.list(facerec)).map((g) => g.name)).toEqual(['default']);
    expect(facerec.analyzer.status()).toMatchObject({ workers: 0, healthy: 0, closed: true });
    expect(await codeOf(facerec.analyzer.analyze(await portrait('anyone')))).toBe('INTERNAL');
    await facerec.close();
    facerec = undefined;

    const again = await migrateDatabase(test.target);
    expect(again.applied).toEqual([]);
    expect(again.current).toBeGreaterThanOrEqual(3);
    expect(again.location).toBeTruthy();
  });
});
