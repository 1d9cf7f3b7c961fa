/**
 * A gallery that learns (issue 24): a person's templates as the learning rule weighs them, and the faces that came from
 * sightings (confirmed by a user, or learned from a certain match), listed and removed.
 */
import { NotFoundError } from '../errors.js';
import type { Queryable } from './database.js';
import { FACE_COLUMNS, toFace, type FaceOrigin, type FaceRecord, type FaceRow } from './faces.repository.js';
import { descriptorOf, isUuid } from './sql.js';

/** One face of a person as a template: its descriptor, where it came from, its photo and sighting. */
export interface TemplateFace {
  id: string;
  descriptor: number[];
  origin: FaceOrigin;
  imageSha256: string;
  sightingId: string | null;
}

/** A person's faces of one model, oldest first. */
export async function personTemplates(q: Queryable, personId: string, modelId: string): Promise<TemplateFace[]> {
  const rows = await q.query<{ id: string; descriptor: unknown; origin: FaceOrigin; image_sha256: string; sighting_id: string | null }>(
    `SELECT id, descriptor, origin, image_sha256, sighting_id FROM faces WHERE person_id = $1 AND model_id = $2 ORDER BY created_at, id`,
    [personId, modelId],
  );
  return rows.map((r) => ({
    id: r.id,
    descriptor: descriptorOf(r.descriptor),
    origin: r.origin,
    imageSha256: r.image_sha256,
    sightingId: r.sighting_id,
  }));
}

/** Which faces from sightings a listing or a removal is about. */
export interface SightingFacesFilter {
  galleryId: string;
  personId?: string;
  /** Any of these origins ('enrolled' is never taken: those are the user's own photos). */
  origins: ReadonlyArray<Exclude<FaceOrigin, 'enrolled'>>;
}

function where(f: SightingFacesFilter): { clause: string; params: unknown[] } {
  const params: unknown[] = [f.galleryId, f.origins];
  let clause = `f.gallery_id = $1 AND f.origin = ANY($2::text[]) AND f.origin <> 'enrolled'`;
  if (f.personId) {
    params.push(f.personId);
    clause += ` AND f.person_id = $${params.length}`;
  }
  return { clause, params };
}

export type PersonFace = FaceRecord & { personName: string };

/** The faces of a gallery that came from sightings, newest first, with their person's name. */
export async function listSightingFaces(
  q: Queryable,
  f: SightingFacesFilter & { limit: number; offset: number },
): Promise<{ faces: PersonFace[]; total: number }> {
  const { clause, params } = where(f);
  const [{ total }] = (await q.query<{ total: number }>(`SELECT count(*)::int AS total FROM faces f WHERE ${clause}`, params)) as [
    { total: number },
  ];
  const columns = FACE_COLUMNS.split(', ')
    .map((c) => `f.${c}`)
    .join(', ');
  const rows = await q.query<FaceRow & { person_name: string }>(
    `SELECT ${columns}, p.name AS person_name FROM faces f JOIN people p ON p.id = f.person_id
     WHERE ${clause} ORDER BY f.created_at DESC, f.id LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
    [...params, f.limit, f.offset],
  );
  return { faces: rows.map((r) => ({ ...toFace(r), personName: r.person_name })), total };
}

/** Removes the faces of a gallery that came from sightings (of one person, when given); returns them. */
export async function deleteSightingFaces(q: Queryable, f: SightingFacesFilter): Promise<FaceRecord[]> {
  const { clause, params } = where(f);
  const rows = await q.query<FaceRow>(`DELETE FROM faces f WHERE ${clause} RETURNING ${FACE_COLUMNS}`, params);
  return rows.map(toFace);
}

/** Removes one face that came from a sighting; FACE_NOT_FOUND for a face of another gallery, or a user's own photo. */
export async function deleteSightingFace(q: Queryable, galleryId: string, faceId: string): Promise<FaceRecord> {
  const rows = isUuid(faceId)
    ? await q.query<FaceRow>(`DELETE FROM faces WHERE id = $1 AND gallery_id = $2 AND origin <> 'enrolled' RETURNING ${FACE_COLUMNS}`, [
        faceId,
        galleryId,
      ])
    : [];
  if (!rows[0])
    throw new NotFoundError('FACE_NOT_FOUND', `A confirmed or learned face ${faceId} in this gallery`, {
      faceId,
      hint: 'enrolled faces are removed with DELETE /v1/people/{id}/faces/{faceId}',
    });
  return toFace(rows[0]);
}

/** Removes the faces made from a sighting for anyone but `personId` (a user said the sighting is someone else). */
export async function deleteFacesOfSighting(q: Queryable, sightingId: string, exceptPersonId: string | null): Promise<FaceRecord[]> {
  const rows = await q.query<FaceRow>(
    `DELETE FROM faces WHERE sighting_id = $1 AND origin <> 'enrolled' AND ($2::uuid IS NULL OR person_id <> $2::uuid)
     RETURNING ${FACE_COLUMNS}`,
    [sightingId, exceptPersonId],
  );
  return rows.map(toFace);
}

/** Marks a learned face as confirmed by a user: the same face, now on a human's word. */
export async function confirmFace(q: Queryable, faceId: string): Promise<void> {
  await q.query(`UPDATE faces SET origin = 'confirmed' WHERE id = $1 AND origin = 'learned'`, [faceId]);
}
