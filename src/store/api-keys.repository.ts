import { NotFoundError } from '../errors.js';
import type { Queryable } from './database.js';
import { isUuid } from './sql.js';

export type Role = 'admin' | 'recognize';

export interface ApiKey {
  id: string;
  name: string;
  role: Role;
  prefix: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

interface ApiKeyRow {
  id: string;
  name: string;
  role: Role;
  prefix: string;
  created_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

const COLUMNS = 'id, name, role, prefix, created_at, last_used_at, revoked_at';

const toKey = (r: ApiKeyRow): ApiKey => ({
  id: r.id,
  name: r.name,
  role: r.role,
  prefix: r.prefix,
  createdAt: r.created_at.toISOString(),
  lastUsedAt: r.last_used_at?.toISOString() ?? null,
  revokedAt: r.revoked_at?.toISOString() ?? null,
});

export async function insertApiKey(q: Queryable, key: { name: string; role: Role; prefix: string; keyHash: string }): Promise<ApiKey> {
  const [row] = await q.query<ApiKeyRow>(
    `INSERT INTO api_keys (name, role, prefix, key_hash) VALUES ($1, $2, $3, $4) RETURNING ${COLUMNS}`,
    [key.name, key.role, key.prefix, key.keyHash],
  );
  return toKey(row!);
}

/** The active key with this hash, if any. */
export async function findActiveKey(q: Queryable, keyHash: string): Promise<ApiKey | undefined> {
  const [row] = await q.query<ApiKeyRow>(`SELECT ${COLUMNS} FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL`, [keyHash]);
  return row && toKey(row);
}

export async function touchApiKey(q: Queryable, id: string): Promise<void> {
  await q.query('UPDATE api_keys SET last_used_at = now() WHERE id = $1', [id]);
}

export async function listApiKeys(q: Queryable): Promise<ApiKey[]> {
  return (await q.query<ApiKeyRow>(`SELECT ${COLUMNS} FROM api_keys ORDER BY created_at, id`)).map(toKey);
}

export async function countActiveKeys(q: Queryable): Promise<number> {
  const [row] = await q.query<{ n: number }>('SELECT count(*)::int AS n FROM api_keys WHERE revoked_at IS NULL');
  return row?.n ?? 0;
}

export async function revokeApiKey(q: Queryable, id: string): Promise<ApiKey> {
  const [row] = isUuid(id)
    ? await q.query<ApiKeyRow>(`UPDATE api_keys SET revoked_at = COALESCE(revoked_at, now()) WHERE id = $1 RETURNING ${COLUMNS}`, [id])
    : [];
  if (!row) throw new NotFoundError('KEY_NOT_FOUND', `API key ${id}`, { keyId: id });
  return toKey(row);
}
