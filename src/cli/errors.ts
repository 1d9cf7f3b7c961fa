import { FacerecError, type ErrorCode } from '../errors.js';

// Distinct exit codes per failure class, so scripts can tell a missing face from a bad file.
const EXIT_CODES: Partial<Record<ErrorCode, number>> = {
  INVALID_ARGUMENT: 2,
  INVALID_CONFIG: 2,
  NO_FACE: 3,
  FILE_NOT_FOUND: 4,
  UNSUPPORTED_IMAGE: 5,
  IMAGE_TOO_LARGE: 6,
  MODEL_CHECKSUM_MISMATCH: 7,
  MODEL_LOAD_FAILED: 7,
  BACKEND_UNAVAILABLE: 7,
};

/** One line on stderr and the exit code for an error; unknown errors are internal (exit 1). */
export function describeCliError(err: unknown): { line: string; exitCode: number } {
  if (err instanceof FacerecError) return { line: `facerec: ${err.code}: ${err.message}`, exitCode: EXIT_CODES[err.code] ?? 1 };
  return { line: `facerec: INTERNAL: ${(err as Error)?.stack ?? String(err)}`, exitCode: 1 };
}
