/**
 * Applies the numbered plain-SQL files of migrations/ in order, once each, recording their sha256. An applied
 * migration whose file changed is an error: the database would no longer match what the code expects.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FacerecError } from '../errors.js';
import type { Database } from './database.js';

// src/store and dist/store are both two levels below the package root.
export const DEFAULT_MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations/', import.meta.url));

const FILE_NAME = /^(\d{4})_([a-z0-9_]+)\.sql$/;
// Serialises concurrent starts (several app replicas) on one database; any constant works, it is ours.
const MIGRATION_LOCK = 0x66616365;

export interface Migration {
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

export interface MigrationResult {
  applied: Migration[];
  current: number;
}

/** The file name a migration was read from, e.g. 0001_initial.sql. */
export const migrationFile = (m: { version: number; name: string }): string => `${String(m.version).padStart(4, '0')}_${m.name}.sql`;

export async function readMigrations(dir = DEFAULT_MIGRATIONS_DIR): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort();
  const migrations = await Promise.all(
    files.map(async (file) => {
      const m = FILE_NAME.exec(file);
      if (!m) throw new FacerecError('INVALID_CONFIG', `Migration file ${file} must be named NNNN_name.sql`, { file });
      const sql = await readFile(path.join(dir, file), 'utf8');
      return { version: Number(m[1]), name: m[2] as string, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    }),
  );
  // Two files with one number would both run, and the second would fail on schema_migrations' primary key.
  migrations.forEach((m, i) => {
    const previous = migrations[i - 1];
    if (previous?.version === m.version) {
      throw new FacerecError('INVALID_CONFIG', `Migrations ${migrationFile(previous)} and ${migrationFile(m)} have the same number`, {
        version: m.version,
      });
    }
  });
  return migrations;
}

/** Brings the schema up to date in one transaction; idempotent, and safe when several processes start at once. */
export async function migrate(db: Database, dir = DEFAULT_MIGRATIONS_DIR): Promise<MigrationResult> {
  const migrations = await readMigrations(dir);
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await tx.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY,
      name text NOT NULL,
      checksum text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const rows = await tx.query<{ version: number; name: string; checksum: string }>(
      'SELECT version, name, checksum FROM schema_migrations ORDER BY version',
    );
    const known = new Map(migrations.map((m) => [m.version, m]));
    for (const row of rows) {
      const file = known.get(row.version);
      if (!file) {
        throw new FacerecError(
          'SCHEMA_TOO_NEW',
          `The database has migration ${row.version} (${row.name}), which this facerec does not know: it is older than the schema`,
          {
            version: row.version,
          },
        );
      }
      if (file.checksum !== row.checksum) {
        throw new FacerecError(
          'MIGRATION_CHECKSUM_MISMATCH',
          `Migration ${migrationFile(row)} was changed after it was applied; restore it and add a new migration instead`,
          { version: row.version, expected: row.checksum, actual: file.checksum },
        );
      }
    }
    const done = new Set(rows.map((r) => r.version));
    const pending = migrations.filter((m) => !done.has(m.version));
    for (const m of pending) {
      await tx.exec(m.sql);
      await tx.query('INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [m.version, m.name, m.checksum]);
    }
    return { applied: pending, current: migrations.at(-1)?.version ?? 0 };
  });
}
