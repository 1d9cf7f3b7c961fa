/**
 * Scanning a photo collection (issue 23): every face of every photo becomes a sighting of the gallery, whatever its
 * keep setting (a scan is the user asking). Resumable: a photo the gallery has seen (by sha256) is skipped before it
 * is analysed. Photos are analysed as fast as the engine goes: two per worker in flight.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { FacerecError } from '../errors.js';
import { findGallery, type Gallery } from '../store/galleries.repository.js';
import { findSeenPhoto } from '../store/sightings.repository.js';
import type { ServiceContext } from './context.js';
import { imageSha256 } from './enroll.service.js';
import { identify } from './identify.service.js';
import { entriesOf, IMAGE_FILE } from './import.service.js';
import { GalleryRef } from './input.js';
import { SourceRef } from './sightings.service.js';

export const ScanInput = z.object({ gallery: GalleryRef.optional() });

/** A batch over HTTP: each photo's source, in the order of the photos (the file names when absent). */
export const ScanBatchInput = ScanInput.extend({
  sources: z
    .union([SourceRef, z.array(SourceRef).max(1000)])
    .optional()
    .meta({ description: 'Each photo’s source, in order' }),
});

export interface ScanPhoto {
  bytes: Uint8Array;
  source?: string;
}

export interface ScannedPhoto {
  source?: string;
  sha256: string;
  /** new: analysed now; seen: the gallery had seen it, skipped; failed: it could not be read (not recorded: retried next time). */
  status: 'new' | 'seen' | 'failed';
  faces: number;
  sightings: number;
  error?: { code: string; message: string };
}

export interface ScanSummary {
  gallery: { id: string; name: string };
  photos: number;
  new: number;
  seen: number;
  failed: number;
  faces: number;
  sightings: number;
}

/** One photo scanned into the gallery. */
export async function scanPhoto(ctx: ServiceContext, gallery: Pick<Gallery, 'id'>, photo: ScanPhoto): Promise<ScannedPhoto> {
  const sha256 = imageSha256(photo.bytes);
  const base = { ...(photo.source ? { source: photo.source } : {}), sha256 };
  if (await findSeenPhoto(ctx.db, gallery.id, sha256)) return { ...base, status: 'seen', faces: 0, sightings: 0 };
  try {
    const result = await identify(ctx, photo.bytes, { gallery: gallery.id, keepSightings: 'all', source: photo.source });
    return { ...base, status: 'new', faces: result.faces.length, sightings: result.faces.filter((f) => f.sightingId).length };
  } catch (err) {
    // A photo without a face is seen too (identify recorded it), so that the next run skips it.
    if (err instanceof FacerecError && err.code === 'NO_FACE') return { ...base, status: 'new', faces: 0, sightings: 0 };
    if (err instanceof FacerecError && ['UNSUPPORTED_IMAGE', 'IMAGE_TOO_LARGE', 'IMAGE_UNPROCESSABLE'].includes(err.code))
      return { ...base, status: 'failed', faces: 0, sightings: 0, error: { code: err.code, message: err.message } };
    throw err;
  }
}

/** Scans photos (an HTTP batch) in order, `concurrency` at once. */
export async function scanPhotos(
  ctx: ServiceContext,
  galleryRef: string | undefined,
  photos: readonly ScanPhoto[],
  concurrency = 2,
): Promise<{ summary: ScanSummary; photos: ScannedPhoto[] }> {
  const gallery = await findGallery(ctx.db, galleryRef ?? 'default');
  const out: ScannedPhoto[] = new Array(photos.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.max(1, Math.min(concurrency, photos.length)) }, async () => {
      while (next < photos.length) {
        const i = next++;
        out[i] = await scanPhoto(ctx, gallery, photos[i]!);
      }
    }),
  );
  return { summary: summarise(gallery, out), photos: out };
}

function summarise(gallery: Pick<Gallery, 'id' | 'name'>, photos: readonly ScannedPhoto[]): ScanSummary {
  const count = (status: ScannedPhoto['status']) => photos.filter((p) => p.status === status).length;
  return {
    gallery: { id: gallery.id, name: gallery.name },
    photos: photos.length,
    new: count('new'),
    seen: count('seen'),
    failed: count('failed'),
    faces: photos.reduce((n, p) => n + p.faces, 0),
    sightings: photos.reduce((n, p) => n + p.sightings, 0),
  };
}

/** Every photo file under `dir`, in every sub-folder, in a stable order. */
export async function photoFiles(dir: string): Promise<string[]> {
  let files: string[], dirs: string[];
  try {
    [files, dirs] = await Promise.all([entriesOf(dir, 'file'), entriesOf(dir, 'dir')]);
  } catch (err) {
    throw new FacerecError('FILE_NOT_FOUND', `Cannot read the folder ${dir}: ${(err as Error).message}`, { path: dir });
  }
  const out = files.filter((f) => IMAGE_FILE.test(f)).map((f) => path.join(dir, f));
  for (const d of dirs) out.push(...(await photoFiles(path.join(dir, d))));
  return out;
}

/**
 * `facerec scan DIR`: every photo under DIR (recursively) scanned into the gallery, its path as its source; photos seen
 * before are skipped. `concurrency`: photos in flight (two per engine worker keeps each busy).
 */
export async function scanFolder(
  ctx: ServiceContext,
  dir: string,
  options: {
    gallery?: string;
    concurrency?: number;
    onStart?: (photos: number) => void;
    onPhoto?: (photo: ScannedPhoto, done: number) => void;
  },
): Promise<{ summary: ScanSummary; photos: ScannedPhoto[] }> {
  const gallery = await findGallery(ctx.db, options.gallery ?? 'default');
  const files = await photoFiles(dir);
  options.onStart?.(files.length);
  const out: ScannedPhoto[] = new Array(files.length);
  let next = 0,
    done = 0;
  await Promise.all(
    Array.from({ length: Math.max(1, Math.min(options.concurrency ?? 2, files.length)) }, async () => {
      while (next < files.length) {
        const i = next++;
        const file = files[i]!;
        let bytes: Uint8Array;
        try {
          bytes = await readFile(file);
        } catch (err) {
          out[i] = {
            source: file,
            sha256: '',
            status: 'failed',
            faces: 0,
            sightings: 0,
            error: { code: 'FILE_NOT_FOUND', message: (err as Error).message },
          };
          options.onPhoto?.(out[i]!, ++done);
          continue;
        }
        out[i] = await scanPhoto(ctx, gallery, { bytes, source: file });
        options.onPhoto?.(out[i]!, ++done);
      }
    }),
  );
  return { summary: summarise(gallery, out), photos: out };
}
