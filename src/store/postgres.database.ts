/** The PostgreSQL adapter: a pg Pool with pgvector's types, DATABASE_UNAVAILABLE while the server is away. */
import pg from 'pg';
import pgvector from 'pgvector/pg';
import type { Database, Queryable } from './database.js';
import { databaseError, mapped } from './database-errors.js';

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres (unparseable URL)';
  }
}

export class PostgresDatabase implements Database {
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
