/** Bulk import: one person per sub-folder of a directory, safe to run again. */
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { FacerecError, InvalidArgumentError } from '../errors.js';
import { analyzeFaces, imageHashes } from '../store/faces.repository.js';
import { findGallery } from '../store/galleries.repository.js';
import { findPeopleByName, type Person } from '../store/people.repository.js';
import type { ServiceContext } from './context.js';
import { EnrollInput } from './enroll.schema.js';
import { addFaces, createPerson, imageSha256, type EnrollOptions, type EnrollResult, type Rejection } from './enroll.service.js';
import { GalleryRef } from './input.js';

/** import's options, as the CLI takes them (each folder is enrolled with onReject 'skip'). */
export const ImportInput = EnrollInput.pick({ largestFace: true, force: true }).extend({ gallery: GalleryRef.optional() });

// Files the decoder may read; anything else in a folder (notes, .DS_Store) is not a photo.
export const IMAGE_FILE = /\.(jpe?g|png|webp|gif|tiff?|avif|heic|heif|bmp|ico)$/i;

export interface ImportedPerson {
  folder: string;
  person?: { id: string; name: string; created: boolean };
  enrolled: number;
  /** Photos whose exact bytes were already enrolled for this person. */
  alreadyEnrolled: number;
  rejected: Rejection[];
  /** Set when nothing of the folder could be enrolled. */
  error?: { code: string; message: string };
}

export interface ImportSummary {
  people: ImportedPerson[];
  created: number;
  enrolled: number;
  alreadyEnrolled: number;
  rejected: number;
  rejectedByCode: Record<string, number>;
}

export interface ImportOptions extends Pick<EnrollOptions, 'largestFace' | 'force'> {
  gallery?: string;
  /** Called after each folder, for a progress bar. */
  onPerson?: (done: ImportedPerson, photosDone: number) => void;
  /** Folders enrolled at once; with the worker pool, keeps every worker busy. */
  concurrency?: number;
}

// Symbolic links count as what they point to, so a folder of links to photos imports like a copy.
export async function entriesOf(dir: string, kind: 'dir' | 'file'): Promise<string[]> {
  const names = (await readdir(dir)).filter((n) => !n.startsWith('.')).sort((a, b) => a.localeCompare(b));
  const kinds = await Promise.all(
    names.map((n) =>
      stat(path.join(dir, n)).then(
        (s) => (s.isDirectory() ? 'dir' : s.isFile() ? 'file' : 'other'),
        () => 'other',
      ),
    ),
  );
  return names.filter((_, i) => kinds[i] === kind);
}

async function folders(dir: string): Promise<Array<{ name: string; files: string[] }>> {
  let people;
  try {
    people = await entriesOf(dir, 'dir');
  } catch (err) {
    throw new FacerecError('FILE_NOT_FOUND', `Cannot read the folder ${dir}: ${(err as Error).message}`, { path: dir });
  }
  const out = [];
  for (const name of people) {
    const files = (await entriesOf(path.join(dir, name), 'file')).filter((f) => IMAGE_FILE.test(f)).map((f) => path.join(dir, name, f));
    if (files.length > 0) out.push({ name, files });
  }
  if (out.length === 0)
    throw new InvalidArgumentError(`${dir} has no sub-folders with photos; expected DIR/<person name>/<photos>`, { path: dir });
  return out;
}

/** Counts the photos an import of `dir` would look at, for a progress bar. */
export async function countImport(dir: string): Promise<{ people: number; photos: number }> {
  const list = await folders(dir);
  return { people: list.length, photos: list.reduce((n, f) => n + f.files.length, 0) };
}

/**
 * Enrolls DIR/<name>/* as the person <name>: created when the gallery has nobody of that name, else added to. Photos
 * already enrolled are recognised by hash and not analysed again, so a re-run only does the new work.
 */
export async function importFolder(ctx: ServiceContext, dir: string, options: ImportOptions = {}): Promise<ImportSummary> {
  const gallery = await findGallery(ctx.db, options.gallery ?? 'default');
  const list = await folders(dir);
  const results: ImportedPerson[] = new Array(list.length);
  let next = 0,
    photosDone = 0;
  const enrollOptions: EnrollOptions = { onReject: 'skip', largestFace: options.largestFace, force: options.force };

  async function one(folder: { name: string; files: string[] }): Promise<ImportedPerson> {
    const result: ImportedPerson = { folder: folder.name, enrolled: 0, alreadyEnrolled: 0, rejected: [] };
    try {
      // Names are stored trimmed and in NFC; macOS file systems may give the folder's name decomposed (NFD).
      const existing = await findPeopleByName(ctx.db, gallery.id, folder.name.trim().normalize('NFC'));
      if (existing.length > 1) throw new FacerecError('PERSON_AMBIGUOUS', `${existing.length} people are named "${folder.name}"`, {});
      const person: Person | undefined = existing[0];
      const known = person ? await imageHashes(ctx.db, person.id) : new Set<string>();
      const photos = [];
      for (const file of folder.files) {
        const bytes = await readFile(file);
        if (known.has(imageSha256(bytes))) result.alreadyEnrolled++;
        else photos.push({ bytes, name: path.relative(dir, file) });
      }
      for (let i = 0; i < photos.length; i += 20) {
        const batch = photos.slice(i, i + 20);
        // The first batch creates a new person; later batches (and existing people) are added to.
        const personId = result.person?.id ?? person?.id;
        const enrolled: EnrollResult = personId
          ? await addFaces(ctx, personId, batch, enrollOptions)
          : await createPerson(ctx, { gallery: gallery.id, name: folder.name }, batch, enrollOptions);
        result.person ??= { id: enrolled.person.id, name: enrolled.person.name, created: enrolled.created };
        result.enrolled += enrolled.faces.length;
        result.rejected.push(...enrolled.rejected.map((r) => ({ ...r, index: r.index + i })));
      }
      if (!result.person && person) result.person = { id: person.id, name: person.name, created: false };
    } catch (err) {
      // Only a folder's own problems are reported per folder; an unreachable database or a closed pool stops the import.
      if (!(err instanceof FacerecError) || err.code === 'DATABASE_UNAVAILABLE' || err.code === 'POOL_CLOSED') throw err;
      const rejected = (err.details.rejected as Rejection[] | undefined) ?? [];
      result.rejected.push(...rejected);
      result.error = { code: err.code, message: err.message };
    }
    return result;
  }

  const concurrency = Math.max(1, options.concurrency ?? 4);
  await Promise.all(
    Array.from({ length: Math.min(concurrency, list.length) }, async () => {
      while (next < list.length) {
        const i = next++;
        const folder = list[i]!;
        results[i] = await one(folder);
        photosDone += folder.files.length;
        options.onPerson?.(results[i], photosDone);
      }
    }),
  );

  if (results.some((p) => p.enrolled > 0)) await analyzeFaces(ctx.db);

  const rejectedByCode: Record<string, number> = {};
  for (const r of results.flatMap((p) => p.rejected)) rejectedByCode[r.code] = (rejectedByCode[r.code] ?? 0) + 1;
  return {
    people: results,
    created: results.filter((p) => p.person?.created).length,
    enrolled: results.reduce((n, p) => n + p.enrolled, 0),
    alreadyEnrolled: results.reduce((n, p) => n + p.alreadyEnrolled, 0),
    rejected: results.reduce((n, p) => n + p.rejected.length, 0),
    rejectedByCode,
  };
}
