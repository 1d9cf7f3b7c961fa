/** Multipart uploads: held in memory (no temp files to leak), bounded in size and count. */
import type { Request, RequestHandler } from 'express';
import multer from 'multer';
import { HttpError } from './errors.js';

export interface UploadLimits {
  /** Bytes per file. */
  fileBytes: number;
  /** Files per request. */
  files: number;
}

export type ImageField = 'image' | 'images' | 'imageA' | 'imageB';

/** Accepts exactly the named file fields; any other file field is a 400. Text fields land in req.body. */
export function uploadFields(limits: UploadLimits, fields: Array<{ name: ImageField; maxCount: number }>): RequestHandler {
  const upload = multer({
    storage: multer.memoryStorage(),
    limits: { fileSize: limits.fileBytes, files: limits.files, fields: 50, fieldSize: 64 * 1024, parts: limits.files + 50 },
  }).fields(fields);
  // A JSON or empty body passes through untouched; multer only reads multipart/form-data.
  return (req, res, next) => upload(req, res, next);
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
