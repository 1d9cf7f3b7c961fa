/** Multipart uploads: held in memory (no temp files to leak), bounded in size and count. */
import type { Request, RequestHandler } from 'express';
import multer from 'multer';
import { cutBodyOver, declaredLength, payloadTooLarge, refuseBody } from './body.js';
import { HttpError } from './errors.js';

export interface UploadLimits {
  /** Bytes per file. */
  fileBytes: number;
  /** Files per request. */
  files: number;
}

export type ImageField = 'image' | 'images' | 'imageA' | 'imageB';

// Text fields of a form: how many, and the bytes of each.
const FORM_FIELDS = 50;
const FORM_FIELD_BYTES = 64 * 1024;
// A part's headers (busboy reads up to 16 KiB of them, as Node does) and its boundary line.
const PART_OVERHEAD_BYTES = 16 * 1024 + 128;

/** The largest multipart body a form of at most `files` files (and the text fields) can be: more is refused unread. */
export const formBytes = (limits: UploadLimits, files: number): number =>
  Math.min(files, limits.files) * limits.fileBytes +
  FORM_FIELDS * FORM_FIELD_BYTES +
  (Math.min(files, limits.files) + FORM_FIELDS) * PART_OVERHEAD_BYTES;

/**
 * Accepts exactly the named file fields; any other file field is a 400. Text fields land in req.body. A body declared
 * or grown larger than such a form can be is refused at once (413), before multer would read it to its end.
 */
export function uploadFields(limits: UploadLimits, fields: Array<{ name: ImageField; maxCount: number }>): RequestHandler {
  const maxBytes = formBytes(
    limits,
    fields.reduce((n, f) => n + f.maxCount, 0),
  );
  const upload = multer({
    storage: multer.memoryStorage(),
    limits: {
      fileSize: limits.fileBytes,
      files: limits.files,
      fields: FORM_FIELDS,
      fieldSize: FORM_FIELD_BYTES,
      parts: limits.files + FORM_FIELDS,
    },
    // multer pipes the request into busboy here (multer >= 2.1); the count runs beside it.
    streamHandler: (req: Request, busboy: NodeJS.WritableStream) => {
      if (req.res) cutBodyOver(req, req.res, maxBytes);
      req.pipe(busboy);
    },
  } as multer.Options).fields(fields);
  // A JSON or empty body passes through untouched; multer only reads multipart/form-data.
  return (req, res, next) => {
    const declared = declaredLength(req);
    if (declared !== undefined && declared > maxBytes && req.is('multipart/form-data'))
      return refuseBody(req, res, payloadTooLarge(maxBytes, declared));
    upload(req, res, next);
  };
}

type Files = Partial<Record<ImageField, Express.Multer.File[]>>;

export function filesOf(req: Request, field: ImageField): Express.Multer.File[] {
  return ((req.files as Files | undefined)?.[field] ?? []).filter((f) => f.size >= 0);
}

/** The one required image of a field, as bytes. */
export function requireImage(req: Request, field: ImageField): Uint8Array {
  const [file] = filesOf(req, field);
  if (!file) {
    const multipart = req.is('multipart/form-data');
    throw new HttpError(
      400,
      'MISSING_IMAGE',
      multipart ? `Send the image in the multipart field "${field}"` : `Send multipart/form-data with the image in the field "${field}"`,
      {
        field,
      },
    );
  }
  return new Uint8Array(file.buffer.buffer, file.buffer.byteOffset, file.buffer.byteLength);
}
