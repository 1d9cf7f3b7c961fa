/** API keys: created once and shown once, stored as a sha256 hash, checked on every HTTP request. */
import { createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';
import { InvalidArgumentError } from '../errors.js';
import type { Database } from '../store/database.js';
import { Uuid } from './input.js';
import { checkName, KeyName } from './names.js';
import {
  countActiveKeys,
  findActiveKey,
  insertApiKey,
  listApiKeys,
  revokeApiKey,
  touchApiKey,
  type ApiKey,
  type Role,
} from '../store/api-keys.repository.js';

export type { ApiKey, Role };

// The inputs of these use cases, as the HTTP API and the CLI take them.
export const CreateKeyInput = z.object({ name: KeyName, role: z.enum(['admin', 'recognize']) satisfies z.ZodType<Role> });
export const RevokeKeyInput = z.object({ id: Uuid });

export const ROLES: readonly Role[] = CreateKeyInput.shape.role.options;

const KEY_PREFIX = 'frk_';
const hashOf = (key: string): string => createHash('sha256').update(key).digest('hex');

/** A new key: 256 random bits, base64url, with a recognisable prefix. The plain key is returned only here. */
export async function createApiKey(db: Database, input: { name: string; role: Role }): Promise<{ key: string; apiKey: ApiKey }> {
  if (!ROLES.includes(input.role))
    throw new InvalidArgumentError(`role must be one of ${ROLES.join(', ')}, got ${JSON.stringify(input.role)}`, {
      field: 'role',
      roles: ROLES,
    });
  const key = `${KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
  const apiKey = await insertApiKey(db, {
    name: checkName(KeyName, input.name, 'name'),
    role: input.role,
    prefix: key.slice(0, KEY_PREFIX.length + 6),
    keyHash: hashOf(key),
  });
  return { key, apiKey };
}

export const listKeys = (db: Database): Promise<ApiKey[]> => listApiKeys(db);
export const revokeKey = (db: Database, id: string): Promise<ApiKey> => revokeApiKey(db, id);
export const activeKeyCount = (db: Database): Promise<number> => countActiveKeys(db);

// last_used_at is for operators, not an audit log: at most one write per key per minute.
const TOUCH_EVERY_MS = 60_000;
const touched = new Map<string, number>();

/** The active key matching a presented secret, or undefined. */
export async function authenticate(db: Database, presented: string): Promise<ApiKey | undefined> {
  if (!presented.startsWith(KEY_PREFIX) || presented.length > 200) return undefined;
  const key = await findActiveKey(db, hashOf(presented));
  if (key && Date.now() - (touched.get(key.id) ?? 0) > TOUCH_EVERY_MS) {
    touched.set(key.id, Date.now());
    // Best effort: a read-only replica cannot record it, and the request must not fail for that.
    await touchApiKey(db, key.id).catch(() => {});
  }
  return key;
}
