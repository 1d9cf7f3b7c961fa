import { FacerecError, NotFoundError } from '../errors.js';
import type { Queryable } from './database.js';
import { isUuid, isUniqueViolation } from './sql.js';

export const DEFAULT_GALLERY = 'default';

export interface Gallery {
  id: string;
  name: string;
  people: number;
  faces: number;
  /** The descriptor model of its faces; null until the first enrollment binds one. */
  descriptorModel: string | null;
  /** Which faces identify keeps as sightings: none (the default), those it cannot name, or all. */
  keepSightings: 'off' | 'unknown' | 'all';
  /** Whether identify adds certain matches as templates of their person (issue 24): off (the default) or certain. */
  learn: 'off' | 'certain';
  createdAt: string;
}

interface GalleryRow {
  id: string;
  name: string;
  descriptor_model: string | null;
  keep_sightings: 'off' | 'unknown' | 'all';
  learn: 'off' | 'certain';
  people: number;
  faces: number;
  created_at: Date;
}

const SELECT = `SELECT g.id, g.name, g.descriptor_model, g.keep_sightings, g.learn, g.created_at,
  (SELECT count(*)::int FROM people p WHERE p.gallery_id = g.id) AS people,
  (SELECT count(*)::int FROM faces f WHERE f.gallery_id = g.id) AS faces
  FROM galleries g`;

const toGallery = (r: GalleryRow): Gallery => ({
  id: r.id,
  name: r.name,
  people: r.people,
  faces: r.faces,
  descriptorModel: r.descriptor_model,
  keepSightings: r.keep_sightings,
  learn: r.learn,
  createdAt: r.created_at.toISOString(),
});

export async function listGalleries(q: Queryable): Promise<Gallery[]> {
  return (await q.query<GalleryRow>(`${SELECT} ORDER BY g.name`)).map(toGallery);
}

/** A gallery by id or by name, regardless of case (unique so: migration 0003); GALLERY_NOT_FOUND otherwise. */
export async function findGallery(q: Queryable, idOrName: string): Promise<Gallery> {
  const rows = isUuid(idOrName)
    ? await q.query<GalleryRow>(`${SELECT} WHERE g.id = $1`, [idOrName])
    : await q.query<GalleryRow>(`${SELECT} WHERE lower(g.name) = lower($1)`, [idOrName]);
  const row = rows[0];
  if (!row) throw new NotFoundError('GALLERY_NOT_FOUND', `Gallery "${idOrName}"`, { gallery: idOrName });
  return toGallery(row);
}

/** A new gallery, bound to `descriptorModel` when given (else by its first enrollment). */
export async function createGallery(q: Queryable, name: string, descriptorModel: string | null = null): Promise<Gallery> {
  try {
    const [row] = await q.query<{ id: string }>('INSERT INTO galleries (name, descriptor_model) VALUES ($1, $2) RETURNING id', [
      name,
      descriptorModel,
    ]);
    return findGallery(q, row!.id);
  } catch (err) {
    if (isUniqueViolation(err))
      throw new FacerecError('GALLERY_EXISTS', `A gallery named "${name}" already exists (names are compared regardless of case)`, {
        name,
      });
    throw err;
  }
}

/** Renames a gallery (not the default one); GALLERY_EXISTS when another has the name, regardless of case. */
export async function renameGallery(q: Queryable, idOrName: string, name: string): Promise<Gallery> {
  const gallery = await findGallery(q, idOrName);
  if (gallery.name === DEFAULT_GALLERY)
    throw new FacerecError('INVALID_ARGUMENT', 'The default gallery cannot be renamed', { gallery: gallery.id });
  try {
    await q.query('UPDATE galleries SET name = $2 WHERE id = $1', [gallery.id, name]);
  } catch (err) {
    if (isUniqueViolation(err))
      throw new FacerecError('GALLERY_EXISTS', `A gallery named "${name}" already exists (names are compared regardless of case)`, {
        name,
      });
    throw err;
  }
  return { ...gallery, name };
}

/** Deletes a gallery with its people and faces; the default gallery stays, and a non-empty one needs `force`. */
export async function deleteGallery(q: Queryable, idOrName: string, force: boolean): Promise<Gallery> {
  const gallery = await findGallery(q, idOrName);
  if (gallery.name === DEFAULT_GALLERY)
    throw new FacerecError('INVALID_ARGUMENT', 'The default gallery cannot be deleted', { gallery: gallery.id });
  const [{ sightings }] = (await q.query<{ sightings: number }>('SELECT count(*)::int AS sightings FROM sightings WHERE gallery_id = $1', [
    gallery.id,
  ])) as [{ sightings: number }];
  if ((gallery.people > 0 || sightings > 0) && !force) {
    const what = [gallery.people ? `${gallery.people} people` : '', sightings ? `${sightings} faces seen` : '']
      .filter(Boolean)
      .join(' and ');
    throw new FacerecError('GALLERY_NOT_EMPTY', `Gallery "${gallery.name}" has ${what}; delete them first or force it`, {
      gallery: gallery.id,
      people: gallery.people,
      sightings,
    });
  }
  await q.query('DELETE FROM galleries WHERE id = $1', [gallery.id]);
  return gallery;
}

/** Sets which faces identify keeps as sightings in the gallery. */
export async function setKeepSightings(q: Queryable, galleryId: string, keep: Gallery['keepSightings']): Promise<void> {
  await q.query('UPDATE galleries SET keep_sightings = $2 WHERE id = $1', [galleryId, keep]);
}

/** Sets whether identify adds certain matches as templates in the gallery. */
export async function setLearn(q: Queryable, galleryId: string, learn: Gallery['learn']): Promise<void> {
  await q.query('UPDATE galleries SET learn = $2 WHERE id = $1', [galleryId, learn]);
}

/** Binds a gallery without a model to `modelId`; returns the model it is bound to now (another one if it had one). */
export async function bindGallery(q: Queryable, galleryId: string, modelId: string): Promise<string | null> {
  await q.query('UPDATE galleries SET descriptor_model = $2 WHERE id = $1 AND descriptor_model IS NULL', [galleryId, modelId]);
  const [row] = await q.query<{ descriptor_model: string | null }>('SELECT descriptor_model FROM galleries WHERE id = $1', [galleryId]);
  return row?.descriptor_model ?? null;
}
