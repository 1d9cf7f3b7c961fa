/**
 * API keys by role. With no key created yet, the server runs open, which it only does on a loopback address (see
 * server.ts); as soon as a key exists every request needs one.
 */
import type { Request, RequestHandler } from 'express';
import type { Database } from '../service/context.js';
import { activeKeyCount, authenticate, type ApiKey, type Role } from '../service/keys.service.js';
import { HttpError } from './errors.js';

declare module 'express-serve-static-core' {
  interface Request {
    apiKey?: ApiKey;
  }
}

// Whether keys exist is checked at most this often, so that a key created with the CLI takes effect quickly.
const KEY_COUNT_TTL_MS = 2_000;

export interface Auth {
  require(role: Role): RequestHandler;
  /** True when at least one active key exists (auth enforced). */
  enforced(): Promise<boolean>;
}

function presentedKey(req: Request): string | undefined {
  const header = req.get('authorization');
  if (header) {
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    return m ? m[1] : '';
  }
  return req.get('x-api-key') ?? undefined;
}

export function createAuth(db: Database): Auth {
  let cached: { at: number; enforced: boolean } | undefined;
  async function enforced(): Promise<boolean> {
    if (!cached || Date.now() - cached.at > KEY_COUNT_TTL_MS) cached = { at: Date.now(), enforced: (await activeKeyCount(db)) > 0 };
    return cached.enforced;
  }
  return {
    enforced,
    require(role) {
      return async (req, _res, next) => {
        const presented = presentedKey(req);
        if (presented === undefined && !(await enforced())) return next();
        if (!presented) throw new HttpError(401, 'UNAUTHORIZED', 'Send an API key as "Authorization: Bearer <key>" or "X-API-Key: <key>"');
        const key = await authenticate(db, presented);
        if (!key) throw new HttpError(401, 'UNAUTHORIZED', 'The API key is not valid (unknown or revoked)');
        // admin can do everything recognize can.
        if (role === 'admin' && key.role !== 'admin')
          throw new HttpError(403, 'FORBIDDEN', `This needs an admin key; ${key.prefix}… is a ${key.role} key`, { role: key.role });
        req.apiKey = key;
        next();
      };
    },
  };
}
