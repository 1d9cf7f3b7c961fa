/**
 * Request bodies, bounded before and while they are read. A body whose declared length (Content-Length) is over what
 * the request may carry is refused at once, before a byte of it is read; one that grows past it (chunked, or a
 * multipart form) is cut as soon as it does. Either way the answer is an immediate 413 and the connection is closed:
 * body-parser and multer read an oversized body to its end before they answer, so a client that declared more than
 * it sent held the socket until the request's deadline (issue 22).
 */
import type { Request, RequestHandler, Response } from 'express';
import { HttpError, sendError } from './errors.js';

/** The body's declared length in bytes, if it declares one. */
export function declaredLength(req: Request): number | undefined {
  const header = req.headers['content-length'];
  if (header === undefined) return undefined;
  const bytes = Number(header);
  return Number.isFinite(bytes) ? bytes : undefined;
}

export const payloadTooLarge = (maxBytes: number, declaredBytes?: number): HttpError =>
  new HttpError(
    413,
    'PAYLOAD_TOO_LARGE',
    declaredBytes === undefined
      ? `The request body is over the ${maxBytes} bytes this request may carry`
      : `The request body declares ${declaredBytes} bytes; this request may carry at most ${maxBytes}`,
    { maxBytes, ...(declaredBytes === undefined ? {} : { declaredBytes }) },
  );

// How long a refused body is still read (and dropped) after the answer, before the connection is closed.
const LINGER_MS = 2_000;

/**
 * Answers `err` now and closes the connection once it is sent, leaving the rest of the body unread. The close lingers,
 * as nginx's does: the answer and a FIN go out, what the client is still sending is read and dropped for up to
 * LINGER_MS, then the socket goes. Closed at once, the client's next bytes would meet a reset, and a reset can destroy
 * the answer before the client has read it.
 */
export function refuseBody(req: Request, res: Response, err: HttpError): void {
  req.unpipe();
  if (res.headersSent) return void res.destroy();
  const socket = req.socket;
  // Node closes a `Connection: close` response's socket with destroySoon() once the answer is sent.
  socket.destroySoon = () => {
    socket.end();
    setTimeout(() => socket.destroy(), LINGER_MS).unref();
  };
  res.setHeader('Connection', 'close');
  sendError(res, err);
}

/** Refuses a body declared larger than `maxBytes(req)` before anything reads it. */
export function declaredSizeLimit(maxBytes: (req: Request) => number): RequestHandler {
  return (req, res, next) => {
    const declared = declaredLength(req);
    const max = maxBytes(req);
    if (declared !== undefined && declared > max) return refuseBody(req, res, payloadTooLarge(max, declared));
    next();
  };
}

/** Counts the body's bytes as another reader consumes it, and refuses the request once they pass `maxBytes`. */
export function cutBodyOver(req: Request, res: Response, maxBytes: number): void {
  let received = 0;
  const count = (chunk: Buffer) => {
    received += chunk.length;
    if (received <= maxBytes) return;
    req.off('data', count);
    refuseBody(req, res, payloadTooLarge(maxBytes));
  };
  req.on('data', count);
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads an application/json body into req.body: UTF-8 only (RFC 8259; invalid bytes are refused, never replaced by
 * U+FFFD), a JSON object, at most `maxBytes`, cut as soon as it grows past them. Other bodies pass untouched.
 */
export function jsonBody(maxBytes: number): RequestHandler {
  return (req, res, next) => {
    // type-is answers null for a request without a body.
    if (!req.is('application/json')) return next();
    const charset = /;\s*charset\s*=\s*"?([\w-]+)/i.exec(req.get('content-type') ?? '')?.[1]?.toLowerCase();
    if (charset && charset !== 'utf-8' && charset !== 'utf8')
      return refuseBody(req, res, new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', `JSON bodies are UTF-8; charset ${charset} is not taken`));
    const encoding = (req.get('content-encoding') ?? 'identity').toLowerCase();
    if (encoding !== 'identity')
      return refuseBody(
        req,
        res,
        new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', `Send JSON bodies uncompressed; Content-Encoding ${encoding} is not taken`),
      );
    const chunks: Buffer[] = [];
    let received = 0;
    const stop = () => req.off('data', onData).off('end', onEnd).off('error', onGone).off('close', onClose);
    const done = (err?: HttpError) => {
      stop();
      if (err) return void next(err);
      try {
        req.body = parseJsonObject(Buffer.concat(chunks));
      } catch (parseError) {
        return void next(parseError);
      }
      next();
    };
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received <= maxBytes) return void chunks.push(chunk);
      stop();
      refuseBody(req, res, payloadTooLarge(maxBytes));
    };
    const onEnd = () => done();
    // The client went away mid-body: nobody reads an answer, which the log records as 499.
    const onGone = () => done(new HttpError(499, 'CANCELLED', 'The client closed the connection before its body was sent'));
    const onClose = () => {
      if (!req.complete) onGone();
    };
    req.on('data', onData).on('end', onEnd).on('error', onGone).on('close', onClose);
  };
}

/** The body as a JSON object; an empty body is an empty object. */
function parseJsonObject(bytes: Buffer): Record<string, unknown> {
  let text: string;
  try {
    text = UTF8.decode(bytes);
  } catch {
    throw new HttpError(400, 'INVALID_ARGUMENT', 'The request body is not valid UTF-8', { reason: 'INVALID_UTF8' });
  }
  if (text.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new HttpError(400, 'INVALID_ARGUMENT', 'The request body is not valid JSON');
  }
  if (!value || typeof value !== 'object' || Array.isArray(value))
    throw new HttpError(400, 'INVALID_ARGUMENT', 'The request body must be a JSON object');
  return value as Record<string, unknown>;
}
