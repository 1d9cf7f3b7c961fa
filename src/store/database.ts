/**
 * The one database seam: a pg Pool against PostgreSQL when a URL is given, else PGlite (PostgreSQL in WASM)
 * persisted in a data directory. Both speak the same SQL; repositories only see `Queryable`. The adapters are
 * postgres.database.ts and pglite.database.ts; PGlite's directory lock is data-dir-lock.ts.
 */
import { PgliteDatabase } from './pglite.database.js';
import { PostgresDatabase } from './postgres.database.js';

export { databaseError } from './database-errors.js';

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
