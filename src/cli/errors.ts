import { FacerecError, type ErrorCode } from '../errors.js';

// Distinct exit codes per failure class, so scripts can tell a missing face from a bad file. Every code has one; the
// compiler refuses a code without.
export const EXIT_CODES = {
  INTERNAL: 1,
  INVALID_ARGUMENT: 2,
  INVALID_CONFIG: 2,
  NO_FACE: 3,
  // A photo that cannot be enrolled or compared, like NO_FACE.
  MULTIPLE_FACES: 3,
  FACE_TOO_SMALL: 3,
  LOW_SCORE: 3,
  BLURRY: 3,
  EXTREME_POSE: 3,
  DUPLICATE_IMAGE: 3,
  DUPLICATE_PERSON: 10,
  INCONSISTENT_IDENTITY: 3,
  FILE_NOT_FOUND: 4,
  UNSUPPORTED_IMAGE: 5,
  IMAGE_UNPROCESSABLE: 5,
  IMAGE_TOO_LARGE: 6,
  MODEL_CHECKSUM_MISMATCH: 7,
  MODEL_LOAD_FAILED: 7,
  BACKEND_UNAVAILABLE: 7,
  ENGINE_UNHEALTHY: 7,
  PERSON_NOT_FOUND: 8,
  PERSON_AMBIGUOUS: 8,
  GALLERY_NOT_FOUND: 8,
  FACE_NOT_FOUND: 8,
  KEY_NOT_FOUND: 8,
  SIGHTING_NOT_FOUND: 8,
  SIGHTING_UNLABELLED: 2,
  CLUSTER_NOT_FOUND: 8,
  WRONG_GALLERY: 10,
  NO_ENROLLED_FACES: 8,
  DATABASE_UNAVAILABLE: 9,
  DATABASE_LOCKED: 9,
  PGVECTOR_MISSING: 9,
  MIGRATION_CHECKSUM_MISMATCH: 9,
  SCHEMA_TOO_NEW: 9,
  GALLERY_EXISTS: 10,
  GALLERY_NOT_EMPTY: 10,
  EXTERNAL_ID_TAKEN: 10,
  MODEL_MISMATCH: 10,
  REEMBED_NOT_POSSIBLE: 10,
  REEMBED_LISTING_CHANGED: 10,
  JOB_RUNNING: 10,
  UNKNOWN_MODEL: 2,
  MODEL_UNUSABLE: 7,
  // The engine was busy, restarting or stopped under the command: running it again may work.
  QUEUE_FULL: 11,
  WORKER_CRASHED: 11,
  POOL_CLOSED: 11,
  CANCELLED: 11,
} as const satisfies Record<ErrorCode, number>;

/** One line on stderr and the exit code for an error; unknown errors are internal (exit 1). */
export function describeCliError(err: unknown): { line: string; exitCode: number } {
  if (err instanceof FacerecError) return { line: `facerec: ${err.code}: ${err.message}`, exitCode: EXIT_CODES[err.code] };
  return { line: `facerec: INTERNAL: ${(err as Error)?.stack ?? String(err)}`, exitCode: 1 };
}
