/**
 * Faces seen (sightings), the photos they were seen in, and the clusters of unknown ones: the SQL of issue 23, with
 * the nearest-neighbour query over sightings (the sightings' own HNSW index per model, as faces have theirs).
 */
import type { Box, FaceQuality } from '../core/face.js';
import { NotFoundError } from '../errors.js';
import type { Queryable } from './database.js';
import { descriptorExpr, modelFilter } from './descriptor-index.js';
import { descriptorOf, isUuid, vectorParam } from './sql.js';

export type KeepSightings = 'off' | 'unknown' | 'all';
export type SightingOutcome = 'match' | 'ambiguous' | 'unknown';
export type LabelSource = 'match' | 'rematch' | 'user';

export interface SeenPhoto {
  id: string;
  sha256: string;
  source: string | null;
  width: number;
  height: number;
  faces: number;
  firstSeenAt: string;
  lastSeenAt: string;
}

export interface NewSighting {
  galleryId: string;
  photoId: string;
  faceIndex: number;
  descriptor: readonly number[];
  modelId: string;
  box: Box;
  score: number;
  quality: FaceQuality;
  attributes?: Record<string, unknown> | null;
  thumbnail: Uint8Array | null;
  outcome: SightingOutcome;
  matchedPersonId: string | null;
  distance: number | null;
}

export interface Sighting {
  id: string;
  galleryId: string;
  photo: { id: string; sha256: string; source: string | null; width: number; height: number };
  faceIndex: number;
  modelId: string;
  box: Box;
  score: number;
  quality: FaceQuality;
  attributes: Record<string, unknown> | null;
  hasThumbnail: boolean;
  seenAt: string;
  /** What identify answered when it saw the face. */
  outcome: SightingOutcome;
  matchedPerson: { id: string; name: string } | null;
  distance: number | null;
  /** Who it is now (null: unknown), and on whose word. */
  person: { id: string; name: string } | null;
  labelledBy: LabelSource | null;
  labelledAt: string | null;
  labelledByKey: string | null;
  clusterId: string | null;
  clusterLocked: boolean;
}

interface SightingRow {
  id: string;
  gallery_id: string;
  photo_id: string;
  image_sha256: string;
  source: string | null;
  width: number;
  height: number;
  face_index: number;
  model_id: string;
  box: number[];
  score: number;
  quality: FaceQuality;
  attributes: Record<string, unknown> | null;
  has_thumbnail: boolean;
  seen_at: Date;
  outcome: SightingOutcome;
  matched_person_id: string | null;
  matched_name: string | null;
  distance: number | null;
  person_id: string | null;
  person_name: string | null;
  labelled_by: LabelSource | null;
  labelled_at: Date | null;
  labelled_by_key: string | null;
  cluster_id: string | null;
  cluster_locked: boolean;
}

const SIGHTING_SELECT = `SELECT s.id, s.gallery_id, s.photo_id, ph.image_sha256, ph.source, ph.width, ph.height, s.face_index,
  s.model_id, s.box, s.score, s.quality, s.attributes, s.thumbnail IS NOT NULL AS has_thumbnail, s.seen_at, s.outcome,
  s.matched_person_id, mp.name AS matched_name, s.distance, s.person_id, p.name AS person_name, s.labelled_by, s.labelled_at,
  s.labelled_by_key, s.cluster_id, s.cluster_locked
  FROM sightings s JOIN seen_photos ph ON ph.id = s.photo_id
  LEFT JOIN people mp ON mp.id = s.matched_person_id LEFT JOIN people p ON p.id = s.person_id`;

const toSighting = (r: SightingRow): Sighting => ({
  id: r.id,
  galleryId: r.gallery_id,
  photo: { id: r.photo_id, sha256: r.image_sha256, source: r.source, width: r.width, height: r.height },
  faceIndex: r.face_index,
  modelId: r.model_id,
  box: r.box.map(Number) as Box,
  score: Number(r.score),
  quality: r.quality,
  attributes: r.attributes,
  hasThumbnail: r.has_thumbnail,
  seenAt: r.seen_at.toISOString(),
  outcome: r.outcome,
  matchedPerson: r.matched_person_id ? { id: r.matched_person_id, name: r.matched_name ?? '' } : null,
  distance: r.distance === null ? null : Number(r.distance),
  person: r.person_id ? { id: r.person_id, name: r.person_name ?? '' } : null,
  labelledBy: r.labelled_by,
  labelledAt: r.labelled_at?.toISOString() ?? null,
  labelledByKey: r.labelled_by_key,
  clusterId: r.cluster_id,
  clusterLocked: r.cluster_locked,
});

// --- photos -------------------------------------------------------------------------------------------------------

interface PhotoRow {
  id: string;
  image_sha256: string;
  source: string | null;
  width: number;
  height: number;
  faces: number;
  first_seen_at: Date;
  last_seen_at: Date;
}

const toPhoto = (r: PhotoRow): SeenPhoto => ({
  id: r.id,
  sha256: r.image_sha256,
  source: r.source,
  width: r.width,
  height: r.height,
  faces: r.faces,
  firstSeenAt: r.first_seen_at.toISOString(),
  lastSeenAt: r.last_seen_at.toISOString(),
});

/** The photo of this hash the gallery has seen, if it has. */
export async function findSeenPhoto(q: Queryable, galleryId: string, sha256: string): Promise<SeenPhoto | null> {
  const [row] = await q.query<PhotoRow>('SELECT * FROM seen_photos WHERE gallery_id = $1 AND image_sha256 = $2', [galleryId, sha256]);
  return row ? toPhoto(row) : null;
}

/** The hashes among `hashes` that the gallery has seen already (scan skips them). */
export async function seenHashes(q: Queryable, galleryId: string, hashes: readonly string[]): Promise<Set<string>> {
  if (hashes.length === 0) return new Set();
  const rows = await q.query<{ image_sha256: string }>(
    'SELECT image_sha256 FROM seen_photos WHERE gallery_id = $1 AND image_sha256 = ANY($2::text[])',
    [galleryId, hashes],
  );
  return new Set(rows.map((r) => r.image_sha256));
}

/** Records a photo seen (or seen again: its last-seen time moves, its first source stays); `created` when new. */
export async function recordPhoto(
  q: Queryable,
  photo: { galleryId: string; sha256: string; source: string | null; width: number; height: number; faces: number },
): Promise<{ photo: SeenPhoto; created: boolean }> {
  const [row] = await q.query<PhotoRow & { created: boolean }>(
    `INSERT INTO seen_photos (gallery_id, image_sha256, source, width, height, faces) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (gallery_id, image_sha256) DO UPDATE SET last_seen_at = now(), source = coalesce(seen_photos.source, EXCLUDED.source)
     RETURNING *, (xmax = 0) AS created`,
    [photo.galleryId, photo.sha256, photo.source, photo.width, photo.height, photo.faces],
  );
  return { photo: toPhoto(row!), created: row!.created };
}

// --- sightings ----------------------------------------------------------------------------------------------------

/** Stores a sighting; the same face of the same photo again is the one already there (its id, `created` false). */
export async function insertSighting(q: Queryable, s: NewSighting): Promise<{ id: string; created: boolean }> {
  const [row] = await q.query<{ id: string; created: boolean }>(
    `INSERT INTO sightings (gallery_id, photo_id, face_index, descriptor, model_id, box, score, quality, attributes, thumbnail,
       outcome, matched_person_id, distance, person_id, labelled_by, labelled_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $12, CASE WHEN $12::uuid IS NULL THEN NULL ELSE 'match' END,
       CASE WHEN $12::uuid IS NULL THEN NULL ELSE now() END)
     ON CONFLICT (photo_id, face_index) DO UPDATE SET seen_at = now()
     RETURNING id, (xmax = 0) AS created`,
    [
      s.galleryId,
      s.photoId,
      s.faceIndex,
      vectorParam(s.descriptor),
      s.modelId,
      s.box,
      s.score,
      s.quality,
      s.attributes ? JSON.stringify(s.attributes) : null,
      s.thumbnail,
      s.outcome,
      s.matchedPersonId,
      s.distance,
    ],
  );
  return { id: row!.id, created: row!.created };
}

export async function getSighting(q: Queryable, id: string, galleryId?: string): Promise<Sighting> {
  const rows = isUuid(id)
    ? await q.query<SightingRow>(`${SIGHTING_SELECT} WHERE s.id = $1${galleryId ? ' AND s.gallery_id = $2' : ''}`, [
        id,
        ...(galleryId ? [galleryId] : []),
      ])
    : [];
  if (!rows[0]) throw new NotFoundError('SIGHTING_NOT_FOUND', `Sighting ${id}`, { sighting: id });
  return toSighting(rows[0]);
}

export async function sightingDescriptor(q: Queryable, id: string): Promise<number[]> {
  const [row] = await q.query<{ descriptor: unknown }>('SELECT descriptor FROM sightings WHERE id = $1', [id]);
  if (!row) throw new NotFoundError('SIGHTING_NOT_FOUND', `Sighting ${id}`, { sighting: id });
  return descriptorOf(row.descriptor);
}

export async function sightingThumbnail(q: Queryable, id: string): Promise<Uint8Array | null> {
  const [row] = isUuid(id) ? await q.query<{ thumbnail: Uint8Array | null }>('SELECT thumbnail FROM sightings WHERE id = $1', [id]) : [];
  if (!row) throw new NotFoundError('SIGHTING_NOT_FOUND', `Sighting ${id}`, { sighting: id });
  return row.thumbnail;
}

export interface SightingFilter {
  galleryId: string;
  outcome?: SightingOutcome;
  personId?: string;
  /** Only those nobody has named yet. */
  unknown?: boolean;
  clusterId?: string;
  since?: string;
  limit: number;
  offset: number;
}

export async function listSightings(q: Queryable, f: SightingFilter): Promise<{ sightings: Sighting[]; total: number }> {
  const where = ['s.gallery_id = $1'];
  const params: unknown[] = [f.galleryId];
  const add = (clause: string, value: unknown) => {
    params.push(value);
    where.push(clause.replace('?', `$${params.length}`));
  };
  if (f.outcome) add('s.outcome = ?', f.outcome);
  if (f.personId) add('s.person_id = ?', f.personId);
  if (f.unknown) where.push('s.person_id IS NULL');
  if (f.clusterId) add('s.cluster_id = ?', f.clusterId);
  if (f.since) add('s.seen_at >= ?', f.since);
  const [{ total }] = (await q.query<{ total: number }>(
    `SELECT count(*)::int AS total FROM sightings s WHERE ${where.join(' AND ')}`,
    params,
  )) as [{ total: number }];
  const rows = await q.query<SightingRow>(
    `${SIGHTING_SELECT} WHERE ${where.join(' AND ')} ORDER BY s.seen_at DESC, s.id LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
    [...params, f.limit, f.offset],
  );
  return { sightings: rows.map(toSighting), total };
}

/** Sets who a sighting is, on a user's word (a correction or a confirmation): kept as such, never relabelled by a pass. */
export async function labelSighting(q: Queryable, id: string, personId: string | null, byKey: string | null): Promise<void> {
  await q.query(
    `UPDATE sightings SET person_id = $2, labelled_by = 'user', labelled_at = now(), labelled_by_key = $3,
       cluster_id = CASE WHEN $2::uuid IS NULL THEN cluster_id ELSE NULL END,
       cluster_state = CASE WHEN $2::uuid IS NULL AND cluster_id IS NULL THEN 'pending' ELSE cluster_state END
     WHERE id = $1`,
    [id, personId, byKey],
  );
}

/** Labels every sighting of a cluster as `personId` on a user's word (naming it); they leave the cluster. */
export async function labelCluster(q: Queryable, clusterId: string, personId: string, byKey: string | null): Promise<number> {
  const rows = await q.query(
    `UPDATE sightings SET person_id = $2, labelled_by = 'user', labelled_at = now(), labelled_by_key = $3, cluster_id = NULL
     WHERE cluster_id = $1 RETURNING id`,
    [clusterId, personId, byKey],
  );
  return rows.length;
}

/**
 * Unknown sightings (nobody's word on them yet, or a match's) within `threshold` of `descriptor` in the gallery and
 * model: what an enrollment or naming re-labels. A user's decision is never overturned.
 */
export async function unknownSightingsNear(
  q: Queryable,
  query: {
    galleryId: string;
    modelId: string;
    dims: number;
    descriptor: readonly number[];
    threshold: number;
    limit: number;
    efSearch: number;
  },
): Promise<Array<{ id: string; distance: number; clusterId: string | null }>> {
  const distance = `${descriptorExpr(query.dims)} <-> $1::vector(${Math.trunc(query.dims)})`;
  await setSearch(q, query.efSearch, query.limit);
  const rows = await q.query<{ id: string; distance: number; cluster_id: string | null }>(
    `SELECT id, distance, cluster_id FROM (
       SELECT id, cluster_id, labelled_by, person_id, ${distance} AS distance FROM sightings
       WHERE gallery_id = $2 AND ${modelFilter(query.modelId)} AND person_id IS NULL AND labelled_by IS DISTINCT FROM 'user'
       ORDER BY ${distance} LIMIT $3) c
     WHERE distance <= $4 ORDER BY distance, id`,
    [vectorParam(query.descriptor), query.galleryId, query.limit, query.threshold],
  );
  return rows.map((r) => ({ id: r.id, distance: Number(r.distance), clusterId: r.cluster_id }));
}

/** Re-labels unknown sightings as a person now enrolled (an automatic pass: `rematch`), taking them out of their clusters. */
export async function relabelAsMatch(q: Queryable, ids: readonly string[], personId: string): Promise<void> {
  if (ids.length === 0) return;
  await q.query(
    `UPDATE sightings SET person_id = $2, labelled_by = 'rematch', labelled_at = now(), cluster_id = NULL, cluster_state = 'done'
     WHERE id = ANY($1::uuid[]) AND person_id IS NULL AND labelled_by IS DISTINCT FROM 'user'`,
    [ids, personId],
  );
}

async function setSearch(q: Queryable, efSearch: number, limit: number): Promise<void> {
  await q.query("SELECT set_config('hnsw.ef_search', $1, true), set_config('hnsw.iterative_scan', 'relaxed_order', true)", [
    String(Math.max(efSearch, limit)),
  ]);
}

/** One unknown sighting near another, with what the clustering needs to know of it. */
export interface SightingNeighbour {
  id: string;
  distance: number;
  clusterId: string | null;
  photoId: string;
  quality: FaceQuality;
  /** Its own nearest-distance list, as stored. */
  nearest: number[];
}

/**
 * The `k` unknown sightings nearest `descriptor` in the gallery and model (the sightings' HNSW index, iterative scan so
 * that the filters cannot starve it), excluding `exclude`; with `clusteredOnly`, only those the clustering has seen.
 */
export async function nearestSightings(
  q: Queryable,
  query: {
    galleryId: string;
    modelId: string;
    dims: number;
    descriptor: readonly number[];
    k: number;
    efSearch: number;
    exclude?: readonly string[];
    clusteredOnly?: boolean;
  },
): Promise<SightingNeighbour[]> {
  const distance = `${descriptorExpr(query.dims)} <-> $1::vector(${Math.trunc(query.dims)})`;
  await setSearch(q, query.efSearch, query.k);
  const rows = await q.query<{
    id: string;
    distance: number;
    cluster_id: string | null;
    photo_id: string;
    quality: FaceQuality;
    nearest: number[];
  }>(
    `SELECT id, distance, cluster_id, photo_id, quality, nearest FROM (
       SELECT id, cluster_id, photo_id, quality, nearest, ${distance} AS distance FROM sightings
       WHERE gallery_id = $2 AND ${modelFilter(query.modelId)} AND person_id IS NULL AND NOT (id = ANY($4::uuid[]))
         ${query.clusteredOnly ? "AND cluster_state = 'done'" : ''}
       ORDER BY ${distance} LIMIT $3) c
     ORDER BY distance, id`,
    [vectorParam(query.descriptor), query.galleryId, query.k, query.exclude ?? []],
  );
  return rows.map((r) => ({
    id: r.id,
    distance: Number(r.distance),
    clusterId: r.cluster_id,
    photoId: r.photo_id,
    quality: r.quality,
    nearest: r.nearest.map(Number),
  }));
}

/** Sightings waiting for the clustering, oldest first, locked for this transaction (replicas skip each other's). */
export async function claimPendingSightings(
  q: Queryable,
  galleryId: string,
  limit: number,
): Promise<Array<{ id: string; photoId: string; modelId: string; descriptor: number[]; quality: FaceQuality }>> {
  const rows = await q.query<{ id: string; photo_id: string; model_id: string; descriptor: unknown; quality: FaceQuality }>(
    `SELECT id, photo_id, model_id, descriptor, quality FROM sightings
     WHERE gallery_id = $1 AND cluster_state = 'pending' ORDER BY seen_at, id LIMIT $2 FOR UPDATE SKIP LOCKED`,
    [galleryId, limit],
  );
  return rows.map((r) => ({
    id: r.id,
    photoId: r.photo_id,
    modelId: r.model_id,
    descriptor: descriptorOf(r.descriptor),
    quality: r.quality,
  }));
}

/** Galleries with sightings waiting for the clustering. */
export async function galleriesWithPending(q: Queryable): Promise<string[]> {
  const rows = await q.query<{ gallery_id: string }>("SELECT DISTINCT gallery_id FROM sightings WHERE cluster_state = 'pending'");
  return rows.map((r) => r.gallery_id);
}

/** Marks sightings clustered: in `clusterId`, or in none (waiting for company). */
export async function setCluster(q: Queryable, ids: readonly string[], clusterId: string | null, locked?: boolean): Promise<void> {
  if (ids.length === 0) return;
  await q.query(
    `UPDATE sightings SET cluster_id = $2, cluster_state = 'done'${locked === undefined ? '' : ', cluster_locked = $3'}
     WHERE id = ANY($1::uuid[])`,
    locked === undefined ? [ids, clusterId] : [ids, clusterId, locked],
  );
}

// --- clusters -----------------------------------------------------------------------------------------------------

export interface ClusterRow {
  id: string;
  galleryId: string;
  modelId: string;
  size: number;
  ignoredAt: string | null;
  ignoredBy: string | null;
  createdAt: string;
  updatedAt: string;
}

interface ClusterDbRow {
  id: string;
  gallery_id: string;
  model_id: string;
  size: number;
  ignored_at: Date | null;
  ignored_by: string | null;
  created_at: Date;
  updated_at: Date;
}

const toCluster = (r: ClusterDbRow): ClusterRow => ({
  id: r.id,
  galleryId: r.gallery_id,
  modelId: r.model_id,
  size: r.size,
  ignoredAt: r.ignored_at?.toISOString() ?? null,
  ignoredBy: r.ignored_by,
  createdAt: r.created_at.toISOString(),
  updatedAt: r.updated_at.toISOString(),
});

const CLUSTER_SELECT = `SELECT c.*, (SELECT count(*)::int FROM sightings s WHERE s.cluster_id = c.id) AS size FROM face_clusters c`;

export async function createCluster(q: Queryable, galleryId: string, modelId: string): Promise<string> {
  const [row] = await q.query<{ id: string }>('INSERT INTO face_clusters (gallery_id, model_id) VALUES ($1, $2) RETURNING id', [
    galleryId,
    modelId,
  ]);
  return row!.id;
}

export async function getCluster(q: Queryable, id: string, options: { forUpdate?: boolean } = {}): Promise<ClusterRow> {
  if (!isUuid(id)) throw new NotFoundError('CLUSTER_NOT_FOUND', `Cluster ${id}`, { cluster: id });
  if (options.forUpdate) await q.query('SELECT id FROM face_clusters WHERE id = $1 FOR UPDATE', [id]);
  const [row] = await q.query<ClusterDbRow>(`${CLUSTER_SELECT} WHERE c.id = $1`, [id]);
  if (!row) throw new NotFoundError('CLUSTER_NOT_FOUND', `Cluster ${id}`, { cluster: id });
  return toCluster(row);
}

/** Clusters of the gallery with at least `minSize` sightings, largest first. */
export async function listClusters(
  q: Queryable,
  f: { galleryId: string; minSize: number; ignored: boolean; limit: number; offset: number },
): Promise<{ clusters: ClusterRow[]; total: number }> {
  const base = `FROM (${CLUSTER_SELECT} WHERE c.gallery_id = $1 AND (c.ignored_at IS NOT NULL) = $2) c WHERE c.size >= $3`;
  const params = [f.galleryId, f.ignored, f.minSize];
  const [{ total }] = (await q.query<{ total: number }>(`SELECT count(*)::int AS total ${base}`, params)) as [{ total: number }];
  const rows = await q.query<ClusterDbRow>(`SELECT c.* ${base} ORDER BY c.size DESC, c.created_at, c.id LIMIT $4 OFFSET $5`, [
    ...params,
    f.limit,
    f.offset,
  ]);
  return { clusters: rows.map(toCluster), total };
}

/** Sizes and states of the clusters named (the incremental decision's cluster summaries). */
export async function clusterSizes(q: Queryable, ids: readonly string[]): Promise<Map<string, { size: number; ignored: boolean }>> {
  if (ids.length === 0) return new Map();
  const rows = await q.query<{ id: string; size: number; ignored: boolean }>(
    `SELECT c.id, (c.ignored_at IS NOT NULL) AS ignored, (SELECT count(*)::int FROM sightings s WHERE s.cluster_id = c.id) AS size
     FROM face_clusters c WHERE c.id = ANY($1::uuid[])`,
    [ids],
  );
  return new Map(rows.map((r) => [r.id, { size: r.size, ignored: r.ignored }]));
}

/** The sightings of a cluster, best quality first (sharpness × size), with their descriptors. */
export async function clusterMembers(q: Queryable, clusterId: string): Promise<Array<Sighting & { descriptor: number[] }>> {
  const rows = await q.query<SightingRow & { descriptor: unknown }>(
    `${SIGHTING_SELECT.replace('SELECT s.id,', 'SELECT s.descriptor, s.id,')} WHERE s.cluster_id = $1
     ORDER BY (s.quality->>'sharpness')::real * least((s.quality->>'size')::real, 150) DESC, s.id`,
    [clusterId],
  );
  return rows.map((r) => ({ ...toSighting(r), descriptor: descriptorOf(r.descriptor) }));
}

export async function setIgnored(q: Queryable, clusterId: string, ignored: boolean, byKey: string | null): Promise<void> {
  await q.query(
    'UPDATE face_clusters SET ignored_at = CASE WHEN $2 THEN now() END, ignored_by = CASE WHEN $2 THEN $3 END, updated_at = now() WHERE id = $1',
    [clusterId, ignored, byKey],
  );
}

/** Moves every sighting of `from` into `into` (locked there: a user merged them), and deletes `from`. */
export async function mergeInto(q: Queryable, from: string, into: string): Promise<number> {
  const moved = await q.query('UPDATE sightings SET cluster_id = $2, cluster_locked = true WHERE cluster_id = $1 RETURNING id', [
    from,
    into,
  ]);
  await q.query('UPDATE sightings SET cluster_locked = true WHERE cluster_id = $1', [into]);
  await q.query('DELETE FROM face_clusters WHERE id = $1', [from]);
  await q.query('UPDATE face_clusters SET updated_at = now() WHERE id = $1', [into]);
  return moved.length;
}

/** Deletes the gallery's clusters that no sighting is in any more. */
export async function deleteEmptyClusters(q: Queryable, galleryId: string): Promise<number> {
  const rows = await q.query(
    `DELETE FROM face_clusters c WHERE c.gallery_id = $1 AND NOT EXISTS (SELECT 1 FROM sightings s WHERE s.cluster_id = c.id) RETURNING id`,
    [galleryId],
  );
  return rows.length;
}

/** The photos a cluster's faces came from. */
export async function clusterPhotos(
  q: Queryable,
  clusterId: string,
  limit: number,
): Promise<Array<{ sha256: string; source: string | null }>> {
  return q.query<{ sha256: string; source: string | null }>(
    `SELECT DISTINCT ph.image_sha256 AS sha256, ph.source FROM sightings s JOIN seen_photos ph ON ph.id = s.photo_id
     WHERE s.cluster_id = $1 ORDER BY ph.source NULLS LAST, ph.image_sha256 LIMIT $2`,
    [clusterId, limit],
  );
}

// --- retention ----------------------------------------------------------------------------------------------------

/** Deletes sightings last seen before `before`, then photos and clusters left with none; counts what went. */
export async function purgeSightings(q: Queryable, before: Date): Promise<{ sightings: number; photos: number; clusters: number }> {
  const sightings = await q.query('DELETE FROM sightings WHERE seen_at < $1 RETURNING id', [before]);
  const photos = await q.query(
    'DELETE FROM seen_photos ph WHERE ph.last_seen_at < $1 AND NOT EXISTS (SELECT 1 FROM sightings s WHERE s.photo_id = ph.id) RETURNING id',
    [before],
  );
  const clusters = await q.query(
    'DELETE FROM face_clusters c WHERE NOT EXISTS (SELECT 1 FROM sightings s WHERE s.cluster_id = c.id) RETURNING id',
  );
  return { sightings: sightings.length, photos: photos.length, clusters: clusters.length };
}

/** How many sightings, photos and clusters a gallery keeps. */
export async function sightingCounts(q: Queryable, galleryId: string): Promise<{ sightings: number; photos: number; clusters: number }> {
  const [row] = await q.query<{ sightings: number; photos: number; clusters: number }>(
    `SELECT (SELECT count(*)::int FROM sightings WHERE gallery_id = $1) AS sightings,
       (SELECT count(*)::int FROM seen_photos WHERE gallery_id = $1) AS photos,
       (SELECT count(*)::int FROM face_clusters WHERE gallery_id = $1) AS clusters`,
    [galleryId],
  );
  return row!;
}

// --- full re-clustering -------------------------------------------------------------------------------------------

/** Every unknown sighting of the gallery and model, with what the full re-clustering needs to know of it. */
export async function unknownSightings(
  q: Queryable,
  galleryId: string,
  modelId: string,
): Promise<
  Array<{
    id: string;
    photoId: string;
    quality: FaceQuality;
    clusterId: string | null;
    locked: boolean;
    ignored: boolean;
    descriptor: number[];
  }>
> {
  const rows = await q.query<{
    id: string;
    photo_id: string;
    quality: FaceQuality;
    cluster_id: string | null;
    cluster_locked: boolean;
    ignored: boolean;
    descriptor: unknown;
  }>(
    `SELECT s.id, s.photo_id, s.quality, s.cluster_id, s.cluster_locked, (c.ignored_at IS NOT NULL) AS ignored, s.descriptor
     FROM sightings s LEFT JOIN face_clusters c ON c.id = s.cluster_id
     WHERE s.gallery_id = $1 AND s.model_id = $2 AND s.person_id IS NULL ORDER BY s.seen_at, s.id`,
    [galleryId, modelId],
  );
  return rows.map((r) => ({
    id: r.id,
    photoId: r.photo_id,
    quality: r.quality,
    clusterId: r.cluster_id,
    locked: r.cluster_locked,
    ignored: Boolean(r.ignored),
    descriptor: descriptorOf(r.descriptor),
  }));
}

/** Stores each sighting's nearest-distance list (the clustering rule's memory of its neighbourhood). */
export async function setNearest(q: Queryable, rows: ReadonlyArray<{ id: string; nearest: readonly number[] }>): Promise<void> {
  for (const r of rows) await q.query('UPDATE sightings SET nearest = $2 WHERE id = $1', [r.id, r.nearest]);
}

/** The nearest-distance lists of sightings. */
export async function nearestOf(q: Queryable, ids: readonly string[]): Promise<Map<string, number[]>> {
  if (ids.length === 0) return new Map();
  const rows = await q.query<{ id: string; nearest: number[] }>('SELECT id, nearest FROM sightings WHERE id = ANY($1::uuid[])', [ids]);
  return new Map(rows.map((r) => [r.id, r.nearest.map(Number)]));
}

/** Clusters that already hold a face of this photo (other than `except`): one person appears once in a photo. */
export async function clustersOfPhoto(q: Queryable, photoId: string, except: string): Promise<string[]> {
  const rows = await q.query<{ cluster_id: string }>(
    'SELECT DISTINCT cluster_id FROM sightings WHERE photo_id = $1 AND id <> $2 AND cluster_id IS NOT NULL',
    [photoId, except],
  );
  return rows.map((r) => r.cluster_id);
}

/** Unknown sightings of the gallery and model (what a cluster's scale is judged against). */
export async function countUnknownSightings(q: Queryable, galleryId: string, modelId: string): Promise<number> {
  const [row] = await q.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM sightings WHERE gallery_id = $1 AND model_id = $2 AND person_id IS NULL',
    [galleryId, modelId],
  );
  return row!.n;
}

/** Whether the gallery has any sighting nobody is named for (most galleries keep none: a cheap first check). */
export async function hasUnknownSightings(q: Queryable, galleryId: string): Promise<boolean> {
  const rows = await q.query('SELECT 1 FROM sightings WHERE gallery_id = $1 AND person_id IS NULL LIMIT 1', [galleryId]);
  return rows.length > 0;
}
