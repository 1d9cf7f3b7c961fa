/**
 * Throwaway databases for store, service and HTTP tests: PGlite always, PostgreSQL too when TEST_DATABASE_URL is set.
 * Every test database is fresh (PGlite: a copy of a pristine template directory), and dropped (or removed) by `drop()`.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { cp, mkdtemp, rename, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { describe } from 'vitest';
import { openDatabase, type Database, type DatabaseTarget, type Queryable } from '../../src/store/database.js';
import { migrate } from '../../src/store/migrations.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

export type DatabaseKind = Database['kind'];

/** The PostgreSQL the suite may create databases on; its own database name must contain `test`. */
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL || undefined;

export const DATABASE_KINDS: readonly DatabaseKind[] = TEST_DATABASE_URL ? ['pglite', 'postgres'] : ['pglite'];

export const SKIP_POSTGRES_REASON = 'postgres: TEST_DATABASE_URL is not set';

export interface TestDatabase {
  kind: DatabaseKind;
  target: DatabaseTarget;
  db: Database;
  /** The throwaway database's URL (postgres only). */
  url?: string;
  /** Closes `db` (if still open) and deletes the database for good; safe to call twice. */
  drop(): Promise<void>;
}

/** A fresh, empty database: no migrations applied. */
export async function createTestDatabase(kind: DatabaseKind): Promise<TestDatabase> {
  return kind === 'pglite' ? createPglite() : createPostgres();
}

/** A fresh database with every migration of migrations/ applied. */
export async function migratedTestDatabase(kind: DatabaseKind): Promise<TestDatabase> {
  const test = await createTestDatabase(kind);
  try {
    await migrate(test.db);
    return test;
  } catch (err) {
    await test.drop();
    throw err;
  }
}

let warned = false;

/** `describe(name [kind])` once per database kind, and a visible skip for postgres when it is not configured. */
export function describeEachDatabase(name: string, fn: (kind: DatabaseKind) => void): void {
  for (const kind of DATABASE_KINDS) describe(`${name} [${kind}]`, () => fn(kind));
  if (TEST_DATABASE_URL) return;
  if (!warned) {
    warned = true;
    console.warn(`skipping the PostgreSQL runs: ${SKIP_POSTGRES_REASON} (see scripts/test-postgres.sh)`);
  }
  // The same suite, registered but skipped, so that the report lists what did not run on PostgreSQL and why.
  describe.skip(`${name} [${SKIP_POSTGRES_REASON}]`, () => fn('postgres'));
}

async function closeQuietly(db: Database): Promise<void> {
  try {
    await db.close();
  } catch {
    // already closed by the test
  }
}

// --- PGlite -----------------------------------------------------------------------------------------------------

function pgliteVersion(): string {
  try {
    return (JSON.parse(readFileSync(path.join(ROOT, 'node_modules/@electric-sql/pglite/package.json'), 'utf8')) as { version: string })
      .version;
  } catch {
    return 'unknown';
  }
}

// initdb of a new PGlite directory takes seconds, a copy of a freshly initialised one a fraction of that. The template is
// shared by every test file and run of this PGlite version, and never written to once it exists.
const TEMPLATE_DIR = path.join(os.tmpdir(), `facerec-pglite-template-${pgliteVersion()}`);
let template: Promise<string> | undefined;

const isDataDir = (dir: string) => existsSync(path.join(dir, 'PG_VERSION'));

function pristineDataDir(): Promise<string> {
  template ??= (async () => {
    if (isDataDir(TEMPLATE_DIR)) return TEMPLATE_DIR;
    const tmp = await mkdtemp(path.join(os.tmpdir(), 'facerec-pglite-template-build-'));
    try {
      const dataDir = path.join(tmp, 'pgdata');
      await (await openDatabase({ dataDir })).close();
      // Atomic, so others see all of it or nothing; if another worker got there first, its template is as good.
      await rename(dataDir, TEMPLATE_DIR).catch(() => {});
      if (!isDataDir(TEMPLATE_DIR)) throw new Error(`Cannot create the PGlite template ${TEMPLATE_DIR}`);
      return TEMPLATE_DIR;
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  })();
  template.catch(() => {
    template = undefined; // let the next test retry
  });
  return template;
}

async function createPglite(): Promise<TestDatabase> {
  const source = await pristineDataDir();
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'facerec-pglite-'));
  const dataDir = path.join(tmp, 'pgdata');
  const remove = () => rm(tmp, { recursive: true, force: true });
  try {
    await cp(source, dataDir, { recursive: true });
    const db = await openDatabase({ dataDir });
    return {
      kind: 'pglite',
      target: { dataDir },
      db,
      drop: async () => {
        await closeQuietly(db);
        await remove();
      },
    };
  } catch (err) {
    await remove();
    throw err;
  }
}

// --- PostgreSQL ---------------------------------------------------------------------------------------------------

/** Runs `fn` on a fresh client of `url` (an admin connection: create, drop), then ends it. */
export async function withAdmin<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

async function databaseName(client: pg.Client): Promise<string> {
  const { rows } = await client.query<{ name: string }>('SELECT current_database() AS name');
  return rows[0]?.name ?? '';
}

async function createPostgres(): Promise<TestDatabase> {
  const adminUrl = TEST_DATABASE_URL;
  if (!adminUrl) throw new Error(`Cannot create a postgres test database: ${SKIP_POSTGRES_REASON}`);
  const name = `facerec_test_${randomBytes(6).toString('hex')}`;
  await withAdmin(adminUrl, async (client) => {
    // The suite creates and drops databases: never let it loose on one that is not meant for tests.
    const current = await databaseName(client);
    if (!/test/i.test(current)) {
      throw new Error(
        `Refusing to run tests against database "${current}": TEST_DATABASE_URL must name a database whose name contains "test"`,
      );
    }
    await client.query(`CREATE DATABASE ${name}`);
  });
  const dropDatabase = () => withAdmin(adminUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));

  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  const url = u.toString();
  let db: Database | undefined;
  try {
    db = await openDatabase({ url });
    const [row] = await db.query<{ name: string }>('SELECT current_database() AS name');
    if (row?.name !== name) throw new Error(`Opened database "${row?.name}" instead of the throwaway "${name}"`);
  } catch (err) {
    if (db) await closeQuietly(db);
    await dropDatabase();
    throw err;
  }
  const opened = db;
  let dropped = false;
  return {
    kind: 'postgres',
    target: { url },
    db: opened,
    url,
    drop: async () => {
      if (dropped) return;
      dropped = true;
      await closeQuietly(opened);
      await dropDatabase();
    },
  };
}

/** A database whose n-th INSERT INTO faces fails, to show that a failure mid-enrollment leaves nothing behind. */
export function failingOnFaceInsert(db: Database, n: number): Database {
  let inserts = 0;
  const wrap = (tx: Queryable): Queryable => ({
    exec: (sql) => tx.exec(sql),
    query: (sql, params) => {
      if (/INSERT INTO faces/.test(sql) && ++inserts === n) return Promise.reject(new Error('injected failure: disk full'));
      return tx.query(sql, params);
    },
  });
  return Object.assign(Object.create(db) as Database, {
    transaction: <T>(fn: (tx: Queryable) => Promise<T>) => db.transaction((tx) => fn(wrap(tx))),
  });
}
