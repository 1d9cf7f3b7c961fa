/**
 * A gallery's full re-clustering job: a lease so that one replica runs it at a time (another takes over when the lease
 * runs out), and the neighbour lists found so far, so that a run stopped midway resumes instead of starting over.
 */
import type { Queryable } from './database.js';

export interface ClusterJob {
  galleryId: string;
  leaseOwner: string | null;
  leaseUntil: string | null;
  total: number;
  /** Sightings whose neighbour lists are found. */
  done: number;
  startedAt: string;
  updatedAt: string;
  finishedAt: string | null;
  result: Record<string, unknown> | null;
  error: string | null;
}

interface JobRow {
  gallery_id: string;
  lease_owner: string | null;
  lease_until: Date | null;
  total: number;
  done: number;
  started_at: Date;
  updated_at: Date;
  finished_at: Date | null;
  result: Record<string, unknown> | null;
  error: string | null;
}

const toJob = (r: JobRow): ClusterJob => ({
  galleryId: r.gallery_id,
  leaseOwner: r.lease_owner,
  leaseUntil: r.lease_until?.toISOString() ?? null,
  total: r.total,
  done: r.done,
  startedAt: r.started_at.toISOString(),
  updatedAt: r.updated_at.toISOString(),
  finishedAt: r.finished_at?.toISOString() ?? null,
  result: r.result,
  error: r.error,
});

export async function getClusterJob(q: Queryable, galleryId: string): Promise<ClusterJob | null> {
  const [row] = await q.query<JobRow>(
    `SELECT j.*, (SELECT count(*)::int FROM cluster_job_neighbours n WHERE n.gallery_id = j.gallery_id) AS done
     FROM cluster_jobs j WHERE j.gallery_id = $1`,
    [galleryId],
  );
  return row ? toJob(row) : null;
}

/**
 * Takes the gallery's job for `owner` for `leaseMs`: a new one (a finished one starts over), or an unfinished one whose
 * lease has run out (resumed, its neighbour lists kept). False when another owner holds a live lease.
 */
export async function acquireClusterJob(q: Queryable, galleryId: string, owner: string, leaseMs: number): Promise<boolean> {
  await q.query(
    'DELETE FROM cluster_jobs WHERE gallery_id = $1 AND finished_at IS NOT NULL AND (lease_until IS NULL OR lease_until < now())',
    [galleryId],
  );
  const rows = await q.query(
    `INSERT INTO cluster_jobs (gallery_id, lease_owner, lease_until) VALUES ($1, $2, now() + $3 * interval '1 millisecond')
     ON CONFLICT (gallery_id) DO UPDATE SET lease_owner = EXCLUDED.lease_owner, lease_until = EXCLUDED.lease_until, updated_at = now(),
       error = NULL
     WHERE cluster_jobs.finished_at IS NULL AND (cluster_jobs.lease_until IS NULL OR cluster_jobs.lease_until < now()
       OR cluster_jobs.lease_owner = EXCLUDED.lease_owner)
     RETURNING gallery_id`,
    [galleryId, owner, leaseMs],
  );
  return rows.length > 0;
}

/** Extends the lease; false when the job is no longer this owner's (another took it over). */
export async function renewClusterJob(q: Queryable, galleryId: string, owner: string, leaseMs: number, total?: number): Promise<boolean> {
  const rows = await q.query(
    `UPDATE cluster_jobs SET lease_until = now() + $3 * interval '1 millisecond', updated_at = now(), total = coalesce($4, total)
     WHERE gallery_id = $1 AND lease_owner = $2 AND finished_at IS NULL RETURNING gallery_id`,
    [galleryId, owner, leaseMs, total ?? null],
  );
  return rows.length > 0;
}

/** Sightings (of `ids`) whose neighbour lists this job has not found yet. */
export async function sightingsWithoutNeighbours(q: Queryable, galleryId: string, ids: readonly string[]): Promise<Set<string>> {
  const rows = await q.query<{ sighting_id: string }>('SELECT sighting_id FROM cluster_job_neighbours WHERE gallery_id = $1', [galleryId]);
  const found = new Set(rows.map((r) => r.sighting_id));
  return new Set(ids.filter((id) => !found.has(id)));
}

export async function saveNeighbours(
  q: Queryable,
  galleryId: string,
  rows: ReadonlyArray<{ id: string; neighbours: string[]; distances: number[] }>,
): Promise<void> {
  for (const r of rows)
    await q.query(
      `INSERT INTO cluster_job_neighbours (sighting_id, gallery_id, neighbours, distances) VALUES ($1, $2, $3, $4)
       ON CONFLICT (sighting_id) DO UPDATE SET neighbours = EXCLUDED.neighbours, distances = EXCLUDED.distances`,
      [r.id, galleryId, r.neighbours, r.distances],
    );
}

export async function loadNeighbours(q: Queryable, galleryId: string): Promise<Map<string, { neighbours: string[]; distances: number[] }>> {
  const rows = await q.query<{ sighting_id: string; neighbours: string[]; distances: number[] }>(
    'SELECT sighting_id, neighbours, distances FROM cluster_job_neighbours WHERE gallery_id = $1',
    [galleryId],
  );
  return new Map(rows.map((r) => [r.sighting_id, { neighbours: r.neighbours, distances: r.distances.map(Number) }]));
}

/** Ends the job with its result (or its error), dropping its neighbour lists; the row stays as the last run's record. */
export async function finishClusterJob(
  q: Queryable,
  galleryId: string,
  owner: string,
  outcome: { result?: Record<string, unknown>; error?: string },
): Promise<void> {
  await q.query('DELETE FROM cluster_job_neighbours WHERE gallery_id = $1', [galleryId]);
  await q.query(
    `UPDATE cluster_jobs SET finished_at = now(), updated_at = now(), lease_until = NULL, result = $3::jsonb, error = $4
     WHERE gallery_id = $1 AND lease_owner = $2`,
    [galleryId, owner, outcome.result ? JSON.stringify(outcome.result) : null, outcome.error ?? null],
  );
}

/** Releases the lease of a job that stopped (an error): another run resumes it. */
export async function releaseClusterJob(q: Queryable, galleryId: string, owner: string, error: string): Promise<void> {
  await q.query('UPDATE cluster_jobs SET lease_until = NULL, error = $3, updated_at = now() WHERE gallery_id = $1 AND lease_owner = $2', [
    galleryId,
    owner,
    error,
  ]);
}
