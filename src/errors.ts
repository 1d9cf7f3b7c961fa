/** Stable machine codes of every domain error; adapters (CLI, HTTP) map each one, and know nothing of transport. */
export const ERROR_CODES = [
  'NO_FACE',
  'UNSUPPORTED_IMAGE',
  'IMAGE_TOO_LARGE',
  'FILE_NOT_FOUND',
  'INVALID_ARGUMENT',
  'INVALID_CONFIG',
  'MODEL_CHECKSUM_MISMATCH',
  'MODEL_LOAD_FAILED',
  'UNKNOWN_MODEL',
  'MODEL_UNUSABLE',
  'MODEL_MISMATCH',
  'REEMBED_NOT_POSSIBLE',
  'REEMBED_LISTING_CHANGED',
  'JOB_RUNNING',
  'BACKEND_UNAVAILABLE',
  'QUEUE_FULL',
  'WORKER_CRASHED',
  'ENGINE_UNHEALTHY',
  'IMAGE_UNPROCESSABLE',
  'POOL_CLOSED',
  'CANCELLED',
  'DATABASE_UNAVAILABLE',
  'DATABASE_LOCKED',
  'PGVECTOR_MISSING',
  'MIGRATION_CHECKSUM_MISMATCH',
  'SCHEMA_TOO_NEW',
  'GALLERY_NOT_FOUND',
  'GALLERY_EXISTS',
  'GALLERY_NOT_EMPTY',
  'PERSON_NOT_FOUND',
  'PERSON_AMBIGUOUS',
  'FACE_NOT_FOUND',
  'EXTERNAL_ID_TAKEN',
  'NO_ENROLLED_FACES',
  'KEY_NOT_FOUND',
  'SIGHTING_NOT_FOUND',
  'SIGHTING_UNLABELLED',
  'CLUSTER_NOT_FOUND',
  'WRONG_GALLERY',
  // Enrollment rejections, one per photo.
  'MULTIPLE_FACES',
  'FACE_TOO_SMALL',
  'LOW_SCORE',
  'BLURRY',
  'EXTREME_POSE',
  'DUPLICATE_IMAGE',
  'DUPLICATE_PERSON',
  'INCONSISTENT_IDENTITY',
  'INTERNAL',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** Base class of domain errors: a stable code, a human message and structured details. */
export class FacerecError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'FacerecError';
  }

  toJSON(): { code: ErrorCode; message: string; details: Record<string, unknown> } {
    return { code: this.code, message: this.message, details: this.details };
  }
}

export class NoFaceError extends FacerecError {
  constructor(what = 'the image', details: Record<string, unknown> = {}) {
    super('NO_FACE', `No face was found in ${what}`, details);
  }
}

export class UnsupportedImageError extends FacerecError {
  constructor(reason: string, details: Record<string, unknown> = {}) {
    super('UNSUPPORTED_IMAGE', `Unsupported or unreadable image: ${reason}`, details);
  }
}

export class ImageTooLargeError extends FacerecError {
  constructor(reason: string, details: Record<string, unknown>) {
    super('IMAGE_TOO_LARGE', `Image too large: ${reason}`, details);
  }
}

export class InvalidArgumentError extends FacerecError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('INVALID_ARGUMENT', message, details);
  }
}

export class NotFoundError extends FacerecError {
  constructor(
    code: 'GALLERY_NOT_FOUND' | 'PERSON_NOT_FOUND' | 'FACE_NOT_FOUND' | 'KEY_NOT_FOUND' | 'SIGHTING_NOT_FOUND' | 'CLUSTER_NOT_FOUND',
    what: string,
    details: Record<string, unknown> = {},
  ) {
    super(code, `${what} was not found`, details);
  }
}

/** Rebuilds a FacerecError from its JSON form, e.g. after crossing a worker_threads boundary. */
export function errorFromJSON(json: { code: ErrorCode; message: string; details?: Record<string, unknown> }): FacerecError {
  return new FacerecError(json.code, json.message, json.details ?? {});
}
