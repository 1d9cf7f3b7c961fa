/** Faces and their descriptors: every pgvector query of facerec lives here. */
import type { Box, FaceQuality } from '../core/face.js';
import { FacerecError, NotFoundError } from '../errors.js';
import type { Queryable } from './database.js';
import { descriptorExpr, modelFilter } from './descriptor-index.js';
import { descriptorOf, isUuid, vectorParam } from './sql.js';

export interface NewFace {
  personId: string;
  galleryId: string;
  descriptor: readonly number[];
  modelId: string;
  box: Box;
  score: number;
  quality: FaceQuality;
  imageSha256: string;
  thumbnail: Uint8Array | null;
  /** Where it came from: a photo a user enrolled (default), a sighting a user confirmed, or one learned. */
  origin?: FaceOrigin;
  /** The sighting it was made from (confirmed or learned faces). */
  sightingId?: string | null;
}

export type FaceOrigin = 'enrolled' | 'confirmed' | 'learned';

export interface FaceRecord {
  id: string;
  personId: string;
  galleryId: string;
  modelId: string;
  box: Box;
  score: number;
  quality: FaceQuality;
  imageSha256: string;
  hasThumbnail: boolean;
  /** Where it came from (a user's photo, a sighting a user confirmed, a sighting learned) and from which sighting. */
  origin: FaceOrigin;
  sightingId: string | null;
  createdAt: string;
}

/** One enrolled face near a probe descriptor. */
export interface FaceNeighbour {
  faceId: string;
  personId: string;
  name: string;
  distance: number;
}

export interface FaceRow {
  id: string;
  person_id: string;
  gallery_id: string;
  model_id: string;
  box: number[];
  score: number;
  quality: FaceQuality;
  image_sha256: string;
  has_thumbnail: boolean;
  origin: FaceOrigin;
  sighting_id: string | null;
  created_at: Date;
}

export const FACE_COLUMNS =
  'id, person_id, gallery_id, model_id, box, score, quality, image_sha256, thumbnail IS NOT NULL AS has_thumbnail, origin, sighting_id, created_at';

export const toFace = (r: FaceRow): FaceRecord => ({
  id: r.id,
  personId: r.person_id,
  galleryId: r.gallery_id,
  modelId: r.model_id,
  box: r.box as Box,
  score: r.score,
  quality: r.quality,
  imageSha256: r.image_sha256,
  hasThumbnail: r.has_thumbnail,
  origin: r.origin,
  sightingId: r.sighting_id,
  createdAt: r.created_at.toISOString(),
});

/**
 * Stores a face; only in a gallery bound to the face's descriptor model (MODEL_MISMATCH otherwise, nothing stored):
 * descriptors of two models are never compared.
 */
export async function insertFace(q: Queryable, face: NewFace): Promise<FaceRecord> {
  const [row] = await q.query<FaceRow>(
    `INSERT INTO faces (person_id, gallery_id, descriptor, model_id, box, score, quality, image_sha256, thumbnail, origin, sighting_id)
     SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11 FROM galleries WHERE id = $2 AND descriptor_model = $4 FOR SHARE
     RETURNING ${FACE_COLUMNS}`,
    [
      face.personId,
      face.galleryId,
      vectorParam(face.descriptor),
      face.modelId,
      face.box,
      face.score,
      JSON.stringify(face.quality),
      face.imageSha256,
      face.thumbnail,
      face.origin ?? 'enrolled',
      face.sightingId ?? null,
    ],
  );
  if (!row) {
    const [g] = await q.query<{ name: string; descriptor_model: string | null }>(
      'SELECT name, descriptor_model FROM galleries WHERE id = $1',
      [face.galleryId],
    );
    throw new FacerecError(
      'MODEL_MISMATCH',
      `Gallery "${g?.name ?? face.galleryId}" holds descriptors of ${g?.descriptor_model ?? 'no model yet'}; a descriptor of ${face.modelId} cannot be stored there`,
      { galleryId: face.galleryId, galleryModel: g?.descriptor_model ?? null, model: face.modelId },
    );
  }
  return toFace(row);
}

export async function listFaces(q: Queryable, personId: string): Promise<FaceRecord[]> {
  return (await q.query<FaceRow>(`SELECT ${FACE_COLUMNS} FROM faces WHERE person_id = $1 ORDER BY created_at, id`, [personId])).map(toFace);
}

export async function getFace(q: Queryable, faceId: string): Promise<FaceRecord> {
  const row = isUuid(faceId) ? (await q.query<FaceRow>(`SELECT ${FACE_COLUMNS} FROM faces WHERE id = $1`, [faceId]))[0] : undefined;
  if (!row) throw new NotFoundError('FACE_NOT_FOUND', `Face ${faceId}`, { faceId });
  return toFace(row);
}

export async function getThumbnail(q: Queryable, faceId: string): Promise<Uint8Array | null> {
  const row = isUuid(faceId)
    ? (await q.query<{ thumbnail: Uint8Array | null }>('SELECT thumbnail FROM faces WHERE id = $1', [faceId]))[0]
    : undefined;
  if (!row) throw new NotFoundError('FACE_NOT_FOUND', `Face ${faceId}`, { faceId });
  return row.thumbnail;
}

export async function deleteFace(q: Queryable, personId: string, faceId: string): Promise<FaceRecord> {
  const face = await getFace(q, faceId);
  if (face.personId !== personId) throw new NotFoundError('FACE_NOT_FOUND', `Face ${faceId} of person ${personId}`, { faceId, personId });
  await q.query('DELETE FROM faces WHERE id = $1', [faceId]);
  return face;
}

/** Image hashes already enrolled for a person, to refuse the same photo twice. */
export async function imageHashes(q: Queryable, personId: string): Promise<Set<string>> {
  return new Set(
    (await q.query<{ image_sha256: string }>('SELECT image_sha256 FROM faces WHERE person_id = $1', [personId])).map((r) => r.image_sha256),
  );
}

/** Distances from a probe to every face of one person, closest first. */
export async function personDistances(q: Queryable, personId: string, modelId: string, descriptor: readonly number[]): Promise<number[]> {
  const rows = await q.query<{ distance: number }>(
    'SELECT descriptor <-> $1 AS distance FROM faces WHERE person_id = $2 AND model_id = $3 ORDER BY distance',
    [vectorParam(descriptor), personId, modelId],
  );
  return rows.map((r) => r.distance);
}

export interface NearestQuery {
  galleryId: string;
  modelId: string;
  /** The model's dimensions: its index is on the descriptor cast to them. */
  dims: number;
  descriptor: readonly number[];
  /** Faces to fetch before reducing per person. */
  limit: number;
  /** Leave this person's faces out (the enrollment's own person). */
  excludePersonId?: string;
  /** HNSW candidate list (FACEREC_EF_SEARCH): the caller passes the configured value, so there is one default. */
  efSearch: number;
  /** Exact search: a sequential scan, the ground truth for recall. */
  exact?: boolean;
}

/**
 * The enrolled faces nearest to a probe within one gallery and descriptor model: nearest first by `<->` with
 * `LIMIT k`, the threshold applied afterwards by the caller. Call it inside `db.transaction`: its HNSW settings are
 * SET LOCAL, and outside a transaction they would be lost (ef_search 40, no iterative scan).
 */
export async function nearestFaces(q: Queryable, query: NearestQuery): Promise<FaceNeighbour[]> {
  const params: unknown[] = [vectorParam(query.descriptor), query.galleryId, query.limit];
  // The model's own index: the descriptor cast to its size, the model id a literal (the index's predicate).
  const distance = `${descriptorExpr(query.dims)} <-> $1::vector(${Math.trunc(query.dims)})`;
  let filter = `gallery_id = $2 AND ${modelFilter(query.modelId)}`;
  if (query.excludePersonId) {
    params.push(query.excludePersonId);
    filter += ` AND person_id <> $${params.length}`;
  }
  await q.query(
    "SELECT set_config('hnsw.ef_search', $1, true), set_config('hnsw.iterative_scan', 'relaxed_order', true), set_config('enable_indexscan', $2, true)",
    [String(Math.max(query.efSearch, query.limit)), query.exact ? 'off' : 'on'],
  );
  // relaxed_order may return rows slightly out of order; the outer ORDER BY restores it.
  return q.query<FaceNeighbour>(
    `SELECT c.id AS "faceId", c.person_id AS "personId", p.name, c.distance
     FROM (SELECT id, person_id, ${distance} AS distance FROM faces WHERE ${filter} ORDER BY ${distance} LIMIT $3) c
     JOIN people p ON p.id = c.person_id
     ORDER BY c.distance, c.id`,
    params,
  );
}

/** Every descriptor of a gallery grouped by person, for calibration. */
export async function galleryDescriptors(q: Queryable, galleryId: string, modelId: string): Promise<Map<string, number[][]>> {
  const rows = await q.query<{ person_id: string; descriptor: unknown }>(
    'SELECT person_id, descriptor FROM faces WHERE gallery_id = $1 AND model_id = $2 ORDER BY person_id, id',
    [galleryId, modelId],
  );
  const byPerson = new Map<string, number[][]>();
  for (const r of rows) {
    const list = byPerson.get(r.person_id) ?? [];
    list.push(descriptorOf(r.descriptor));
    byPerson.set(r.person_id, list);
  }
  return byPerson;
}

/**
 * Refreshes the planner's statistics of faces. PGlite has no autovacuum, so without this its planner believes the
 * table is empty and never uses the HNSW index; on PostgreSQL it spares the wait for autovacuum after a bulk import.
 */
export async function analyzeFaces(q: Queryable): Promise<void> {
  await q.query('ANALYZE faces');
}

/** What a gallery's identify threshold depends on: its people and faces of one model, and a fingerprint of the set. */
export interface GalleryRevision {
  people: number;
  faces: number;
  /** Changes whenever a face is added or removed (the sum of a hash of each face id), even when the counts do not. */
  fingerprint: string;
}

export async function galleryRevision(q: Queryable, galleryId: string, modelId: string): Promise<GalleryRevision> {
  const [row] = await q.query<{ people: number; faces: number; fingerprint: string }>(
    `SELECT count(DISTINCT person_id)::int AS people, count(*)::int AS faces,
       coalesce(sum(('x' || substr(md5(id::text), 1, 8))::bit(32)::int::bigint), 0)::text AS fingerprint
     FROM faces WHERE gallery_id = $1 AND model_id = $2`,
    [galleryId, modelId],
  );
  return { people: row!.people, faces: row!.faces, fingerprint: String(row!.fingerprint) };
}

/**
 * Up to `limit` faces of a gallery with their person, the same ones each time (ordered by a hash of the face id); not
 * learned faces: a certain match is added for being far from everyone else, and would pull the gallery's impostor tail,
 * and its threshold, up (docs/accuracy.md#a-gallery-that-learns).
 */
export async function sampleGalleryFaces(
  q: Queryable,
  galleryId: string,
  modelId: string,
  limit: number,
): Promise<Array<{ personId: string; descriptor: number[] }>> {
  const rows = await q.query<{ person_id: string; descriptor: unknown }>(
    `SELECT person_id, descriptor FROM faces WHERE gallery_id = $1 AND model_id = $2 AND origin <> 'learned'
     ORDER BY md5(id::text) LIMIT $3`,
    [galleryId, modelId, limit],
  );
  return rows.map((r) => ({ personId: r.person_id, descriptor: descriptorOf(r.descriptor) }));
}

/** A person's descriptors of one model, with their face ids. */
export async function personDescriptors(
  q: Queryable,
  personId: string,
  modelId: string,
): Promise<Array<{ faceId: string; descriptor: number[] }>> {
  const rows = await q.query<{ id: string; descriptor: unknown }>(
    'SELECT id, descriptor FROM faces WHERE person_id = $1 AND model_id = $2 ORDER BY created_at, id',
    [personId, modelId],
  );
  return rows.map((r) => ({ faceId: r.id, descriptor: descriptorOf(r.descriptor) }));
}
