/** Driver errors as domain errors: an unreachable database and a missing pgvector are not bugs. */
import { FacerecError } from '../errors.js';

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

/** Runs a driver call, its errors mapped. */
export async function mapped<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    throw databaseError(err);
  }
}
