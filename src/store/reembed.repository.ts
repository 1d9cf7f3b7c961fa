/**
 * A gallery's move to another descriptor model: new descriptors are staged beside the old ones (search keeps using
 * the old ones), then swapped in by one transaction. The job and its staged rows survive a crash; running it again
 * describes only what is not staged yet.
 */
import type { Queryable } from './database.js';
import { vectorParam } from './sql.js';

export interface ReembedJob {
  galleryId: string;
  targetModel: string;
  total: number;
  staged: number;
  failed: ReembedFailure[];
  startedAt: string;
  updatedAt: string;
}

export interface ReembedFailure {
  faceId: string;
  personId: string;
  code: string;
  message: string;
}

interface JobRow {
  gallery_id: string;
  target_model: string;
  total: number;
  staged: number;
  failed: ReembedFailure[];
  started_at: Date;
  updated_at: Date;
}

const toJob = (r: JobRow): ReembedJob => ({
  galleryId: r.gallery_id,
  targetModel: r.target_model,
  total: r.total,
  staged: r.staged,
  failed: r.failed,
  startedAt: r.started_at.toISOString(),
  updatedAt: r.updated_at.toISOString(),
});

export async function getReembedJob(q: Queryable, galleryId: string): Promise<ReembedJob | null> {
  const [row] = await q.query<JobRow>(
    `SELECT j.*, (SELECT count(*)::int FROM reembed_descriptors d WHERE d.gallery_id = j.gallery_id) AS staged
     FROM reembed_jobs j WHERE j.gallery_id = $1`,
    [galleryId],
  );
  return row ? toJob(row) : null;
}

/** Starts a job, or resumes the one for the same target; a job for another target starts over. */
export async function startReembedJob(q: Queryable, galleryId: string, targetModel: string, total: number): Promise<ReembedJob> {
  const existing = await getReembedJob(q, galleryId);
  if (existing && existing.targetModel !== targetModel) await q.query('DELETE FROM reembed_jobs WHERE gallery_id = $1', [galleryId]);
  await q.query(
    `INSERT INTO reembed_jobs (gallery_id, target_model, total) VALUES ($1, $2, $3)
     ON CONFLICT (gallery_id) DO UPDATE SET total = EXCLUDED.total, failed = '[]'::jsonb, updated_at = now()`,
    [galleryId, targetModel, total],
  );
  return (await getReembedJob(q, galleryId))!;
}

export interface PendingFace {
  faceId: string;
  personId: string;
  thumbnail: Uint8Array | null;
}

/** Faces of the gallery with no staged descriptor yet, skipping those already known to fail. */
export async function pendingFaces(q: Queryable, galleryId: string, limit: number, skip: readonly string[] = []): Promise<PendingFace[]> {
  const rows = await q.query<{ id: string; person_id: string; thumbnail: Uint8Array | null }>(
    `SELECT f.id, f.person_id, f.thumbnail FROM faces f
     WHERE f.gallery_id = $1 AND NOT EXISTS (SELECT 1 FROM reembed_descriptors d WHERE d.face_id = f.id)
       AND NOT (f.id = ANY($3::uuid[]))
     ORDER BY f.id LIMIT $2`,
    [galleryId, limit, skip],
  );
  return rows.map((r) => ({ faceId: r.id, personId: r.person_id, thumbnail: r.thumbnail }));
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

export async function recordFailures(q: Queryable, galleryId: string, failed: ReembedFailure[]): Promise<void> {
  await q.query('UPDATE reembed_jobs SET failed = $2::jsonb, updated_at = now() WHERE gallery_id = $1', [
    galleryId,
    JSON.stringify(failed),
  ]);
}

/**
 * The switch, in the caller's transaction: with the gallery row locked (enrollments wait, then see the new model),
 * every face takes its staged descriptor and the gallery its new model. Returns false, changing nothing, when a face
 * has no staged descriptor (one enrolled meanwhile): the caller describes it and tries again. Faces in `drop` go.
 */
export async function swapInStaged(q: Queryable, galleryId: string, targetModel: string, drop: readonly string[] = []): Promise<boolean> {
  await q.query('SELECT id FROM galleries WHERE id = $1 FOR UPDATE', [galleryId]);
  if (drop.length) await q.query('DELETE FROM faces WHERE gallery_id = $1 AND id = ANY($2::uuid[])', [galleryId, drop]);
  const [missing] = await q.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM faces f
     WHERE f.gallery_id = $1 AND NOT EXISTS (SELECT 1 FROM reembed_descriptors d WHERE d.face_id = f.id)`,
    [galleryId],
  );
  if (missing!.n > 0) return false;
  await q.query(
    `UPDATE faces f SET descriptor = d.descriptor, model_id = $2 FROM reembed_descriptors d WHERE d.face_id = f.id AND f.gallery_id = $1`,
    [galleryId, targetModel],
  );
  await q.query('UPDATE galleries SET descriptor_model = $2 WHERE id = $1', [galleryId, targetModel]);
  await q.query('DELETE FROM reembed_jobs WHERE gallery_id = $1', [galleryId]);
  return true;
}
