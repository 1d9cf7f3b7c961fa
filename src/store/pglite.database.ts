/** The embedded adapter: PGlite (PostgreSQL in WASM) with pgvector, persisted in a data directory it locks. */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import { FacerecError } from '../errors.js';
import type { Database, Queryable } from './database.js';
import { mapped } from './database-errors.js';
import { lockDataDir } from './data-dir-lock.js';

export class PgliteDatabase implements Database {
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
      throw new FacerecError(
        'DATABASE_UNAVAILABLE',
        `Cannot open the embedded database${dataDir ? ` in ${dataDir}` : ''}: ${(err as Error).message}`,
        {
          cause: (err as Error).message,
        },
      );
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
    if (!this.dataDir)
      return Promise.reject(
        new FacerecError('DATABASE_UNAVAILABLE', 'An in-memory embedded database cannot be reopened: its data is gone'),
      );
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
