/**
 * A gallery's move to another descriptor model: new descriptors are staged beside the old ones (search keeps using
 * the old ones), then swapped in by one transaction. The job and its staged rows survive a crash; running it again
 * describes only what is not staged yet. After the switch the job's row stays as the move's record (what moved, what
 * was dropped) until the gallery's next move.
 */
import type { Queryable } from './database.js';
import { vectorParam } from './sql.js';

/** A face that could not be described again, as listed to the operator. */
export interface ReembedFailure {
  faceId: string;
  personId: string;
  personName: string;
  code: string;
  message: string;
}

export interface PersonRef {
  personId: string;
  name: string;
}

export interface ReembedJob {
  galleryId: string;
  targetModel: string;
  fromModel: string | null;
  /** Running: faces in the gallery now. Finished: faces at the switch, moved + dropped. */
  total: number;
  /** Running: faces with a staged descriptor. Finished: faces moved. */
  staged: number;
  /** The failures of the last run that stalled (the listing the operator sees); empty once finished. */
  failed: ReembedFailure[];
  startedAt: string;
  updatedAt: string;
  finishedAt: string | null;
  dropped: ReembedFailure[];
  leftWithoutFaces: PersonRef[];
}

interface JobRow {
  gallery_id: string;
  target_model: string;
  from_model: string | null;
  total: number;
  staged: number;
  moved: number | null;
  failed: ReembedFailure[];
  started_at: Date;
  updated_at: Date;
  finished_at: Date | null;
  dropped: ReembedFailure[];
  left_without_faces: PersonRef[];
}

export async function getReembedJob(q: Queryable, galleryId: string): Promise<ReembedJob | null> {
  const [row] = await q.query<JobRow>(
    `SELECT j.*,
       (SELECT count(*)::int FROM faces f WHERE f.gallery_id = j.gallery_id) AS live_total,
       (SELECT count(*)::int FROM reembed_descriptors d WHERE d.gallery_id = j.gallery_id) AS staged
     FROM reembed_jobs j WHERE j.gallery_id = $1`,
    [galleryId],
  );
  if (!row) return null;
  const live = row as JobRow & { live_total: number };
  const finished = row.finished_at !== null;
  return {
    galleryId: row.gallery_id,
    targetModel: row.target_model,
    fromModel: row.from_model,
    total: finished ? row.total : live.live_total,
    staged: finished ? (row.moved ?? 0) : row.staged,
    failed: finished ? [] : row.failed,
    startedAt: row.started_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    finishedAt: row.finished_at?.toISOString() ?? null,
    dropped: row.dropped,
    leftWithoutFaces: row.left_without_faces,
  };
}

/**
 * Starts a job, or resumes the unfinished one for the same target (its listing of failures kept); a job for another
 * target, or a finished one, starts over.
 */
export async function startReembedJob(q: Queryable, galleryId: string, targetModel: string, fromModel: string | null): Promise<ReembedJob> {
  const existing = await getReembedJob(q, galleryId);
  if (existing && (existing.targetModel !== targetModel || existing.finishedAt !== null))
    await q.query('DELETE FROM reembed_jobs WHERE gallery_id = $1', [galleryId]);
  await q.query(
    `INSERT INTO reembed_jobs (gallery_id, target_model, from_model, total) VALUES ($1, $2, $3, 0)
     ON CONFLICT (gallery_id) DO UPDATE SET updated_at = now()`,
    [galleryId, targetModel, fromModel],
  );
  return (await getReembedJob(q, galleryId))!;
}

export interface PendingFace {
  faceId: string;
  personId: string;
  personName: string;
  thumbnail: Uint8Array | null;
}

/** Faces of the gallery with no staged descriptor yet, skipping those in `skip` (failed this run, or to be dropped). */
export async function pendingFaces(q: Queryable, galleryId: string, limit: number, skip: readonly string[] = []): Promise<PendingFace[]> {
  const rows = await q.query<{ id: string; person_id: string; name: string; thumbnail: Uint8Array | null }>(
    `SELECT f.id, f.person_id, p.name, f.thumbnail FROM faces f JOIN people p ON p.id = f.person_id
     WHERE f.gallery_id = $1 AND NOT EXISTS (SELECT 1 FROM reembed_descriptors d WHERE d.face_id = f.id)
       AND NOT (f.id = ANY($3::uuid[]))
     ORDER BY f.id LIMIT $2`,
    [galleryId, limit, skip],
  );
  return rows.map((r) => ({ faceId: r.id, personId: r.person_id, personName: r.name, thumbnail: r.thumbnail }));
}

export async function countFaces(q: Queryable, galleryId: string): Promise<{ faces: number; withoutThumbnail: number }> {
  const [row] = await q.query<{ faces: number; without: number }>(
    'SELECT count(*)::int AS faces, count(*) FILTER (WHERE thumbnail IS NULL)::int AS without FROM faces WHERE gallery_id = $1',
    [galleryId],
  );
  return { faces: row!.faces, withoutThumbnail: row!.without };
}

/** Stages a face's new descriptor (idempotent: a second runner's copy is ignored). */
export async function stageDescriptor(q: Queryable, galleryId: string, faceId: string, descriptor: readonly number[]): Promise<void> {
  await q.query(
    `INSERT INTO reembed_descriptors (face_id, gallery_id, descriptor) SELECT $1, $2, $3
     WHERE EXISTS (SELECT 1 FROM faces WHERE id = $1) ON CONFLICT (face_id) DO NOTHING`,
    [faceId, galleryId, vectorParam(descriptor)],
  );
  await q.query('UPDATE reembed_jobs SET updated_at = now() WHERE gallery_id = $1', [galleryId]);
}

/** Records the listing of failures the operator is shown (and may name to drop). */
export async function recordFailures(q: Queryable, galleryId: string, failed: readonly ReembedFailure[]): Promise<void> {
  await q.query('UPDATE reembed_jobs SET failed = $2::jsonb, updated_at = now() WHERE gallery_id = $1', [
    galleryId,
    JSON.stringify(failed),
  ]);
}

/** People of the gallery every one of whose faces is in `faceIds`: dropping those faces would leave them without any. */
export async function peopleLeftWithoutFaces(q: Queryable, galleryId: string, faceIds: readonly string[]): Promise<PersonRef[]> {
  if (faceIds.length === 0) return [];
  return q.query<PersonRef>(
    `SELECT p.id AS "personId", p.name FROM people p
     WHERE p.gallery_id = $1 AND EXISTS (SELECT 1 FROM faces f WHERE f.person_id = p.id AND f.id = ANY($2::uuid[]))
       AND NOT EXISTS (SELECT 1 FROM faces f WHERE f.person_id = p.id AND NOT (f.id = ANY($2::uuid[])))
     ORDER BY p.name, p.id`,
    [galleryId, faceIds],
  );
}

export type SwapResult = { switched: false } | { switched: true; moved: number; dropped: ReembedFailure[]; leftWithoutFaces: PersonRef[] };

/**
 * The switch, in the caller's transaction: with the gallery row locked (enrollments wait, then see the new model),
 * every face takes its staged descriptor and the gallery its new model. Only faces in `drop` (the listing the
 * operator named) that still have no staged descriptor are deleted, and only when no other face lacks one: a face
 * enrolled meanwhile makes it return `switched: false`, changing nothing, so that the caller describes it first.
 */
export async function swapInStaged(
  q: Queryable,
  galleryId: string,
  targetModel: string,
  drop: readonly ReembedFailure[] = [],
): Promise<SwapResult> {
  await q.query('SELECT id FROM galleries WHERE id = $1 FOR UPDATE', [galleryId]);
  const unstaged = await q.query<{ id: string }>(
    `SELECT f.id FROM faces f
     WHERE f.gallery_id = $1 AND NOT EXISTS (SELECT 1 FROM reembed_descriptors d WHERE d.face_id = f.id)`,
    [galleryId],
  );
  const named = new Set(drop.map((f) => f.faceId));
  if (unstaged.some((f) => !named.has(f.id))) return { switched: false };
  const going = new Set(unstaged.map((f) => f.id));
  const dropped = drop.filter((f) => going.has(f.faceId));
  const leftWithoutFaces = await peopleLeftWithoutFaces(
    q,
    galleryId,
    dropped.map((f) => f.faceId),
  );
  if (dropped.length)
    await q.query('DELETE FROM faces WHERE gallery_id = $1 AND id = ANY($2::uuid[])', [galleryId, dropped.map((f) => f.faceId)]);
  const moved = await q.query<{ id: string }>(
    `UPDATE faces f SET descriptor = d.descriptor, model_id = $2 FROM reembed_descriptors d
     WHERE d.face_id = f.id AND f.gallery_id = $1 RETURNING f.id`,
    [galleryId, targetModel],
  );
  await q.query('UPDATE galleries SET descriptor_model = $2 WHERE id = $1', [galleryId, targetModel]);
  await q.query('DELETE FROM reembed_descriptors WHERE gallery_id = $1', [galleryId]);
  await q.query(
    `UPDATE reembed_jobs SET finished_at = now(), updated_at = now(), moved = $2, total = $3, failed = '[]'::jsonb,
       dropped = $4::jsonb, left_without_faces = $5::jsonb
     WHERE gallery_id = $1`,
    [galleryId, moved.length, moved.length + dropped.length, JSON.stringify(dropped), JSON.stringify(leftWithoutFaces)],
  );
  return { switched: true, moved: moved.length, dropped, leftWithoutFaces };
}
