/** The one error model of the API: `{ error: { code, message, details } }` with the status each code means. */
import type { ErrorRequestHandler, RequestHandler } from 'express';
import multer from 'multer';
import { FacerecError, type ErrorCode } from '../errors.js';

/** Codes that exist only at the HTTP edge. */
export type HttpErrorCode =
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'RATE_LIMITED'
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'TOO_MANY_FILES'
  | 'MISSING_IMAGE'
  | 'TIMEOUT';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: HttpErrorCode | ErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

// Every domain code has its status; the compiler refuses a code without one. A 500 is answered as INTERNAL.
export const STATUS = {
  INVALID_ARGUMENT: 400,
  NO_FACE: 422,
  MULTIPLE_FACES: 422,
  FACE_TOO_SMALL: 422,
  LOW_SCORE: 422,
  BLURRY: 422,
  EXTREME_POSE: 422,
  DUPLICATE_IMAGE: 422,
  // The face is already enrolled as another person: a conflict with what the gallery holds, not a bad photo.
  DUPLICATE_PERSON: 409,
  INCONSISTENT_IDENTITY: 422,
  NO_ENROLLED_FACES: 422,
  IMAGE_UNPROCESSABLE: 422,
  UNSUPPORTED_IMAGE: 415,
  IMAGE_TOO_LARGE: 413,
  GALLERY_NOT_FOUND: 404,
  PERSON_NOT_FOUND: 404,
  FACE_NOT_FOUND: 404,
  KEY_NOT_FOUND: 404,
  SIGHTING_NOT_FOUND: 404,
  // Confirming a sighting nobody is named for, without saying who it is.
  SIGHTING_UNLABELLED: 422,
  CLUSTER_NOT_FOUND: 404,
  // A cluster, sighting or person of one gallery named in a call about another.
  WRONG_GALLERY: 409,
  PERSON_AMBIGUOUS: 409,
  GALLERY_EXISTS: 409,
  GALLERY_NOT_EMPTY: 409,
  EXTERNAL_ID_TAKEN: 409,
  UNKNOWN_MODEL: 400,
  // An installed model whose weights cannot run here (missing, corrupt, not ONNX, not as its card says): the reason is in the body.
  MODEL_UNUSABLE: 409,
  // A gallery's descriptors are of one model; another model's descriptors or probe cannot be matched there.
  MODEL_MISMATCH: 409,
  REEMBED_NOT_POSSIBLE: 409,
  // dropFailed named faces that the stalled listing does not hold (it changed, or was never shown).
  REEMBED_LISTING_CHANGED: 409,
  // A gallery's job (re-clustering) is already running, here or on another replica.
  JOB_RUNNING: 409,
  QUEUE_FULL: 503,
  WORKER_CRASHED: 503,
  ENGINE_UNHEALTHY: 503,
  POOL_CLOSED: 503,
  DATABASE_UNAVAILABLE: 503,
  DATABASE_LOCKED: 503,
  // nginx's "client closed request": nobody reads it, but logs and metrics tell it from a server error.
  CANCELLED: 499,
  // The server's own faults: no request can cause them, and none is the client's to fix.
  FILE_NOT_FOUND: 500,
  INVALID_CONFIG: 500,
  MODEL_CHECKSUM_MISMATCH: 500,
  MODEL_LOAD_FAILED: 500,
  BACKEND_UNAVAILABLE: 500,
  PGVECTOR_MISSING: 500,
  MIGRATION_CHECKSUM_MISMATCH: 500,
  SCHEMA_TOO_NEW: 500,
  INTERNAL: 500,
} as const satisfies Record<ErrorCode, number>;

// Seconds a client should wait before retrying a 503.
const RETRY_AFTER: Partial<Record<string, number>> = {
  QUEUE_FULL: 2,
  WORKER_CRASHED: 1,
  ENGINE_UNHEALTHY: 5,
  POOL_CLOSED: 5,
  DATABASE_UNAVAILABLE: 5,
  TIMEOUT: 5,
};

function multerError(err: multer.MulterError, maxImageBytes: number): HttpError {
  switch (err.code) {
    case 'LIMIT_FILE_SIZE':
      // Every file field is an image: the same code as the engine's byte limit, for the CLI and the API alike.
      return new HttpError(413, 'IMAGE_TOO_LARGE', `Image too large: over the ${maxImageBytes} byte limit`, {
        field: err.field,
        maxBytes: maxImageBytes,
      });
    case 'LIMIT_FILE_COUNT':
    case 'LIMIT_PART_COUNT':
      return new HttpError(400, 'TOO_MANY_FILES', 'Too many files in one request', { field: err.field });
    case 'LIMIT_UNEXPECTED_FILE':
      return new HttpError(400, 'INVALID_ARGUMENT', `Unexpected file field "${err.field}"`, { field: err.field });
    case 'LIMIT_FIELD_VALUE':
    case 'LIMIT_FIELD_KEY':
    case 'LIMIT_FIELD_COUNT':
      return new HttpError(413, 'PAYLOAD_TOO_LARGE', 'A form field is too large, or there are too many', { field: err.field });
    default:
      return new HttpError(400, 'INVALID_ARGUMENT', err.message, { field: err.field });
  }
}

// Its message and details are never sent: sendError answers every 500 with the request id only.
const internal = () => new HttpError(500, 'INTERNAL', 'Internal error');

/** Any thrown value as an HttpError; unknown errors, and the server's own faults, become a 500 INTERNAL. */
export function toHttpError(err: unknown, maxImageBytes: number): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof FacerecError) {
    const status = STATUS[err.code];
    return status === 500 ? internal() : new HttpError(status, err.code, err.message, err.details);
  }
  if (err instanceof multer.MulterError) return multerError(err, maxImageBytes);
  const e = err as { status?: number; message?: string };
  if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500)
    return new HttpError(e.status, 'INVALID_ARGUMENT', e.message ?? 'Bad request');
  if (/Multipart: Boundary not found|Unexpected end of form|Malformed part header/i.test(e?.message ?? ''))
    return new HttpError(400, 'INVALID_ARGUMENT', 'Malformed multipart/form-data body');
  return internal();
}

type Res = Parameters<RequestHandler>[1];

/** The id pino-http gave the request (also in the X-Request-Id header), under which the log has the whole error. */
const requestIdOf = (res: Res): string =>
  String((res.req as { id?: unknown } | undefined)?.id ?? res.getHeader('X-Request-Id') ?? 'unknown');

/** What the request's log line says of an error answer: its code and message (never a key, a photo or a body). */
export interface LoggedError {
  code: string;
  message: string;
}

/** The error answered to this request, if any, as its log line records it. */
export const loggedError = (res: { locals?: Record<string, unknown> }): LoggedError | undefined =>
  res.locals?.error as LoggedError | undefined;

export function sendError(res: Res, err: HttpError): void {
  // The request's log line (pino-http, app.ts) carries the code and the message: a 4xx is a reason, not just a status.
  res.locals.error = { code: err.code, message: err.message } satisfies LoggedError;
  // A 500 reveals nothing (a worker's message, a driver's, a stack): its cause stays in the log under the request id.
  if (err.status === 500 || err.code === 'INTERNAL') {
    res
      .status(500)
      .json({ error: { code: 'INTERNAL', message: `Internal error; see the server log for request ${requestIdOf(res)}`, details: {} } });
    return;
  }
  const retry = RETRY_AFTER[err.code];
  if (err.status === 503 && retry) res.setHeader('Retry-After', String(retry));
  res.status(err.status).json({ error: { code: err.code, message: err.message, details: err.details } });
}

/** The one error middleware: status, `{ error: { code, message, details } }`, and a log line with the request id. */
export function errorHandler(maxImageBytes: number): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const httpError = toHttpError(err, maxImageBytes);
    // The whole error of a 500 (message, details, stack) goes to a log line that carries the request id, and nowhere
    // else. Every other error is the request's own log line's `error` (code and message; see sendError).
    if (httpError.code === 'INTERNAL') req.log?.error({ err }, 'request failed');
    // Already answered (the deadline's 503, say): nothing more to send, and nothing for express to print to stderr.
    if (res.headersSent) {
      if (!res.writableEnded) res.destroy();
      return;
    }
    sendError(res, httpError);
  };
}

export const notFound: RequestHandler = (req, _res, next) => {
  next(new HttpError(404, 'NOT_FOUND', `No route for ${req.method} ${req.path}`));
};
