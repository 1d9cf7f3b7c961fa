/**
 * The one database seam: a pg Pool against PostgreSQL when a URL is given, else PGlite (PostgreSQL in WASM)
 * persisted in a data directory. Both speak the same SQL; repositories only see `Queryable`.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import pg from 'pg';
import pgvector from 'pgvector/pg';
import { FacerecError } from '../errors.js';

export interface Queryable {
  /** One parameterised statement; returns its rows. */
  query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<R[]>;
  /** Several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
}

export interface Database extends Queryable {
  readonly kind: 'postgres' | 'pglite';
  /** Where the data lives, safe to print: the URL without its password, or the data directory. */
  readonly location: string;
  /** Runs `fn` in one transaction: committed if it resolves, rolled back if it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Throws DATABASE_UNAVAILABLE unless a trivial query succeeds. */
  ping(): Promise<void>;
  close(): Promise<void>;
  /**
   * After close(), connects again in place, so that whoever holds this Database (the app, its auth, the repositories)
   * carries on without a restart; a no-op while open. Explicit rather than on the next use, which would also undo the
   * app's own shutdown. PostgreSQL rarely needs it: the pool reconnects by itself once a restarted server is back.
   */
  reopen(): Promise<void>;
}

export type DatabaseTarget = { url: string } | { dataDir: string } | { memory: true };

/** Opens PostgreSQL for a URL, else PGlite in the directory (or in memory, for tests and one-off runs). */
export async function openDatabase(target: DatabaseTarget): Promise<Database> {
  if ('url' in target) return PostgresDatabase.open(target.url);
  return PgliteDatabase.open('dataDir' in target ? target.dataDir : undefined);
}

// SQLSTATE classes that mean the server is unreachable or going away, not that the statement was wrong.
const UNAVAILABLE_SQLSTATE = /^(08|57P0[1-3]|53300)/;
const UNAVAILABLE_ERRNO = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EHOSTUNREACH', 'EPIPE']);

/** Maps driver errors to domain errors: an unreachable database and a missing pgvector are not bugs. */
export function databaseError(err: unknown): unknown {
  if (err instanceof FacerecError) return err;
  const e = err as { code?: string; message?: string };
  const message = e?.message ?? String(err);
  if (/extension "vector"|vector\.control/.test(message)) {
    return new FacerecError(
      'PGVECTOR_MISSING',
      'The PostgreSQL server lacks the pgvector extension ("vector"). Install it on the server ' +
        '(Debian/Ubuntu: the postgresql-<version>-pgvector package; or build pgvector from source with make && make install; ' +
        'Docker: the pgvector/pgvector image), then run `facerec migrate` again.',
      { cause: message },
    );
  }
  if (
    (typeof e?.code === 'string' && (UNAVAILABLE_SQLSTATE.test(e.code) || UNAVAILABLE_ERRNO.has(e.code))) ||
    /Connection terminated|timeout exceeded when trying to connect|PGlite is closed|Cannot use a pool after calling end/i.test(message)
  ) {
    return new FacerecError('DATABASE_UNAVAILABLE', 'The database is unavailable; try again shortly', { cause: message });
  }
  return err;
}

async function mapped<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    throw databaseError(err);
  }
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres (unparseable URL)';
  }
}

class PostgresDatabase implements Database {
  readonly kind = 'postgres';
  // Clients whose pgvector type parser is registered; it needs the extension, so until migrations ran it may be missing.
  private readonly typed = new WeakSet<pg.PoolClient>();

  private constructor(
    private pool: pg.Pool,
    private readonly url: string,
    readonly location: string,
  ) {}

  private static connect(url: string): pg.Pool {
    const pool = new pg.Pool({ connectionString: url, max: 10, connectionTimeoutMillis: 30_000, idleTimeoutMillis: 30_000 });
    // An idle client losing its server (restart, failover) must not crash the process; the next checkout reconnects.
    pool.on('error', () => {});
    return pool;
  }

  static async open(url: string): Promise<PostgresDatabase> {
    const db = new PostgresDatabase(PostgresDatabase.connect(url), url, redact(url));
    await db.ping();
    return db;
  }

  private async client(): Promise<pg.PoolClient> {
    const client = await this.pool.connect();
    if (!this.typed.has(client)) {
      try {
        await pgvector.registerTypes(client);
        this.typed.add(client);
      } catch (err) {
        if (!/vector type not found/.test((err as Error).message)) {
          client.release(err as Error);
          throw err;
        }
      }
    }
    return client;
  }

  private async withClient<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return mapped(async () => {
      const client = await this.client();
      let broken: Error | undefined;
      try {
        return await fn(client);
      } catch (err) {
        if (databaseError(err) !== err) broken = err as Error; // drop a client whose connection failed
        throw err;
      } finally {
        client.release(broken);
      }
    });
  }

  query<R>(sql: string, params: readonly unknown[] = []): Promise<R[]> {
    return this.withClient(async (c) => (await c.query(sql, params as unknown[])).rows as R[]);
  }

  exec(sql: string): Promise<void> {
    return this.withClient(async (c) => {
      await c.query(sql);
    });
  }

  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.withClient(async (c) => {
      await c.query('BEGIN');
      try {
        const tx: Queryable = {
          query: async <R>(sql: string, params: readonly unknown[] = []) => (await c.query(sql, params as unknown[])).rows as R[],
          exec: async (sql: string) => {
            await c.query(sql);
          },
        };
        const result = await fn(tx);
        await c.query('COMMIT');
        return result;
      } catch (err) {
        await c.query('ROLLBACK').catch(() => {});
        throw err;
      }
    });
  }

  async ping(): Promise<void> {
    await this.query('SELECT 1');
  }

  async close(): Promise<void> {
    if (!this.pool.ending) await this.pool.end();
  }

  async reopen(): Promise<void> {
    // An ended pg Pool cannot be used again: a new one takes its place.
    if (this.pool.ending) this.pool = PostgresDatabase.connect(this.url);
  }
}

const LOCK_FILE = 'facerec.lock';

/**
 * A killed process whose parent has not reaped it yet (npm, a shell, a container without an init) is a zombie:
 * kill(pid, 0) still succeeds, yet it holds nothing. Linux tells from /proc/PID/stat (state Z, or X while reaped).
 */
function isZombie(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return false; // no /proc (macOS, Windows): kill(pid, 0) has the last word
  }
  // "pid (comm) state …": comm may hold spaces and parentheses, so the state follows the last ')'.
  const state = stat.slice(stat.lastIndexOf(')') + 2).charAt(0);
  return state === 'Z' || state === 'X';
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false; // EPERM: it exists, under another user
  }
  return !isZombie(pid);
}

// Directories this process holds open: a lock file with our own pid is stale only if we do not hold it (pid reuse).
const heldDataDirs = new Set<string>();

function lockedError(dir: string, holder: number, who: string): FacerecError {
  return new FacerecError(
    'DATABASE_LOCKED',
    `The embedded database in ${dir} is in use by ${who} (pid ${holder}). ` + 'Stop it, use its HTTP API, or point both at PostgreSQL with DATABASE_URL.',
    { dataDir: dir, pid: holder },
  );
}

/** PGlite is single-process: a second process on the same directory would corrupt it, so the directory is locked. */
function lockDataDir(dir: string): () => void {
  const key = path.resolve(dir);
  // Two PGlite instances of one process on one directory corrupt it just the same.
  if (heldDataDirs.has(key)) throw lockedError(dir, process.pid, 'this process already');
  const file = path.join(dir, LOCK_FILE);
  try {
    writeFileSync(file, String(process.pid), { flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const holder = Number(readFileSync(file, 'utf8'));
    if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isAlive(holder)) throw lockedError(dir, holder, 'another facerec process');
    writeFileSync(file, String(process.pid)); // a stale lock from a process that died
  }
  heldDataDirs.add(key);
  let held = true;
  // Once only: a second close() must not release a lock that a later open of the same directory took.
  return () => {
    if (!held) return;
    held = false;
    heldDataDirs.delete(key);
    rmSync(file, { force: true });
  };
}

class PgliteDatabase implements Database {
  readonly kind = 'pglite';
  private reopening?: Promise<void>;

  private constructor(
    private db: PGlite,
    readonly location: string,
    private unlock: () => void,
    private readonly dataDir: string | undefined,
  ) {}

  static async open(dataDir: string | undefined): Promise<PgliteDatabase> {
    let unlock = () => {};
    if (dataDir) {
      mkdirSync(dataDir, { recursive: true });
      unlock = lockDataDir(dataDir);
    }
    try {
      const db = await PGlite.create({ ...(dataDir ? { dataDir } : {}), extensions: { vector } });
      return new PgliteDatabase(db, dataDir ? path.resolve(dataDir) : 'memory', unlock, dataDir);
    } catch (err) {
      unlock();
      throw new FacerecError('DATABASE_UNAVAILABLE', `Cannot open the embedded database${dataDir ? ` in ${dataDir}` : ''}: ${(err as Error).message}`, {
        cause: (err as Error).message,
      });
    }
  }

  private unavailableIfClosed(): void {
    if (this.db.closed) throw new FacerecError('DATABASE_UNAVAILABLE', 'The embedded database is closed');
  }

  query<R>(sql: string, params: readonly unknown[] = []): Promise<R[]> {
    return mapped(async () => {
      this.unavailableIfClosed();
      return (await this.db.query<R>(sql, params as unknown[])).rows;
    });
  }

  exec(sql: string): Promise<void> {
    return mapped(async () => {
      this.unavailableIfClosed();
      await this.db.exec(sql);
    });
  }

  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return mapped(async () => {
      this.unavailableIfClosed();
      return this.db.transaction(async (t: Transaction) =>
        fn({
          query: async <R>(sql: string, params: readonly unknown[] = []) => (await t.query<R>(sql, params as unknown[])).rows,
          exec: async (sql: string) => {
            await t.exec(sql);
          },
        }),
      );
    });
  }

  async ping(): Promise<void> {
    await this.query('SELECT 1');
  }

  async close(): Promise<void> {
    if (!this.db.closed) await this.db.close();
    this.unlock();
  }

  // PGlite runs in this process: unlike a PostgreSQL server, nothing brings a closed one back but opening it again.
  reopen(): Promise<void> {
    if (!this.db.closed) return Promise.resolve();
    if (!this.dataDir) return Promise.reject(new FacerecError('DATABASE_UNAVAILABLE', 'An in-memory embedded database cannot be reopened: its data is gone'));
    const dataDir = this.dataDir;
    // Once at a time: a second PGlite on the directory would be refused by the lock (and corrupt it without one).
    this.reopening ??= PgliteDatabase.open(dataDir)
      .then((reopened) => {
        this.db = reopened.db;
        this.unlock = reopened.unlock;
      })
      .finally(() => {
        this.reopening = undefined;
      });
    return this.reopening;
  }
}
