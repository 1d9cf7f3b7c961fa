/**
 * Moves a gallery to another descriptor model: every face is described again from its stored thumbnail (the aligned
 * 150×150 chip, described where the chip holds the face, with the target model's alignment), staged beside the old
 * descriptor, and all are swapped in at once. Search answers from the old descriptors until then. A crash leaves
 * the staged work in the database: running it again picks up where it stopped. A face that cannot be described
 * stalls the move with a listing; only the faces of that listing that the operator names are ever dropped.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { FacerecError } from '../errors.js';
import type { DescriptorModelCard } from '../engine/descriptor-models.js';
import { ensureDescriptorIndex } from '../store/descriptor-index.js';
import { findGallery, type Gallery } from '../store/galleries.repository.js';
import {
  countFaces,
  getReembedJob,
  peopleLeftWithoutFaces,
  pendingFaces,
  recordFailures,
  stageDescriptor,
  startReembedJob,
  swapInStaged,
  type PendingFace,
  type PersonRef,
  type ReembedFailure,
  type ReembedJob,
} from '../store/reembed.repository.js';
import { callerSignal, type ServiceContext } from './context.js';
import { GalleryRef, ModelRef, Uuid } from './input.js';
import { chosenModel } from './models.service.js';
import { galleriesChanged } from './open-set.service.js';

// The listing's token: what the operator read, so that dropping acts on that listing and no other.
const DROP_TOKEN = /^[0-9a-f]{16}$/;

export const ReembedInput = z.object({
  gallery: GalleryRef.optional(),
  model: ModelRef.unwrap().meta({ description: 'The descriptor model to move the gallery to, by name or id (GET /v1/models)' }),
  dropFailed: z
    .union([z.string().regex(DROP_TOKEN), z.array(Uuid).min(1).max(100_000)], {
      error: 'dropFailed takes the stalled listing’s dropToken, or the ids of faces it lists',
    })
    .optional()
    .meta({
      description:
        'Switch without the faces a stalled run listed, deleting exactly those: the listing’s dropToken (GET the status), or ' +
        'the listed faces’ ids. Refused (REEMBED_LISTING_CHANGED) if the listing has changed since',
    }),
});

// Thumbnails described per round trip to the database.
const BATCH = 16;

export interface ReembedStatus {
  gallery: { id: string; name: string };
  /** The model the gallery searches with now. */
  model: string | null;
  /**
   * idle: no move; running: describing in this process; pending: staged work left by a stopped run (run it again to
   * resume); stalled: some faces could not be described (listed, with what dropping them would do); done: switched
   * (the record says what moved and what was dropped).
   */
  state: 'idle' | 'running' | 'pending' | 'stalled' | 'done';
  target: string | null;
  /** Running: faces in the gallery now. Done: faces at the switch. total = staged + failed + remaining (+ dropped when done). */
  total: number;
  /** Faces described with the target model (done: moved to it). */
  staged: number;
  /** Faces the last run could not describe: the listing dropFailed acts on. */
  failed: ReembedFailure[];
  /** Faces neither staged nor listed as failed: the work left. */
  remaining: number;
  /** Stalled: the token of this listing, for dropFailed. */
  dropToken?: string;
  /** Stalled: people every one of whose faces is listed; dropping the listing leaves them without faces (they are kept). */
  wouldLeaveWithoutFaces?: PersonRef[];
  /** Done: the model it moved from, when, the faces dropped (as they were listed) and the people left without faces. */
  fromModel?: string | null;
  finishedAt?: string;
  dropped?: ReembedFailure[];
  leftWithoutFaces?: PersonRef[];
  /** Why the last run in this process stopped before the switch (the engine or the database failed), if it did. */
  error?: string;
}

/** The listing's token: the first 16 hex digits of the sha256 of its face ids, sorted. */
export function dropToken(failed: readonly Pick<ReembedFailure, 'faceId'>[]): string {
  const ids = failed.map((f) => f.faceId).sort();
  return createHash('sha256').update(ids.join(',')).digest('hex').slice(0, 16);
}

async function statusOf(
  ctx: ServiceContext,
  gallery: Pick<Gallery, 'id' | 'name' | 'descriptorModel'>,
  job: ReembedJob | null,
  running: boolean,
): Promise<ReembedStatus> {
  const base = { gallery: { id: gallery.id, name: gallery.name }, model: gallery.descriptorModel };
  // A job just started has no row yet: running, towards the target it was asked for.
  if (!job)
    return {
      ...base,
      state: running ? 'running' : 'idle',
      target: running ? (targets.get(gallery.id) ?? null) : null,
      total: 0,
      staged: 0,
      failed: [],
      remaining: 0,
    };
  const counts = { target: job.targetModel, total: job.total, staged: job.staged, failed: job.failed };
  if (job.finishedAt !== null && !running)
    return {
      ...base,
      ...counts,
      state: 'done',
      remaining: 0,
      fromModel: job.fromModel,
      finishedAt: job.finishedAt,
      dropped: job.dropped,
      leftWithoutFaces: job.leftWithoutFaces,
    };
  const remaining = Math.max(0, job.total - job.staged - job.failed.length);
  if (running || job.failed.length === 0) return { ...base, ...counts, state: running ? 'running' : 'pending', remaining };
  return {
    ...base,
    ...counts,
    state: 'stalled',
    remaining,
    dropToken: dropToken(job.failed),
    wouldLeaveWithoutFaces: await peopleLeftWithoutFaces(
      ctx.db,
      gallery.id,
      job.failed.map((f) => f.faceId),
    ),
  };
}

// Jobs running in this process, so that a second request joins the first instead of racing it.
const running = new Map<string, Promise<ReembedStatus>>();
// Why a gallery's last run in this process stopped, for the status of a job started in the background.
const stopped = new Map<string, string>();
// The model each running job moves its gallery to.
const targets = new Map<string, string>();

/** Where a gallery's move stands (GET /v1/galleries/{id}/reembed). */
export async function reembedStatus(ctx: ServiceContext, galleryRef = 'default'): Promise<ReembedStatus> {
  const gallery = await findGallery(ctx.db, galleryRef);
  const status = await statusOf(ctx, gallery, await getReembedJob(ctx.db, gallery.id), running.has(gallery.id));
  const error = stopped.get(gallery.id);
  return error && status.state === 'pending' ? { ...status, error } : status;
}

export interface ReembedOptions {
  gallery?: string;
  model: string;
  /** The stalled listing's dropToken, or ids of faces it lists: those faces are deleted at the switch, and no other. */
  dropFailed?: string | readonly string[];
  /** After each batch is staged; a promise returned is awaited. */
  onProgress?: (staged: number, total: number) => void | Promise<void>;
}

/** Runs (or resumes, or joins) the move of a gallery to `model`; resolves when it has switched or stalled. */
export async function reembedGallery(ctx: ServiceContext, options: ReembedOptions): Promise<ReembedStatus> {
  const gallery = await findGallery(ctx.db, options.gallery ?? 'default');
  return runOrJoin(ctx, gallery, options, await preflight(ctx, gallery, options));
}

/** The gallery's job in this process: the one running, or a new one, registered before this returns. */
function runOrJoin(ctx: ServiceContext, gallery: Gallery, options: ReembedOptions, plan: Plan): Promise<ReembedStatus> {
  const current = running.get(gallery.id);
  if (current) return current;
  stopped.delete(gallery.id);
  targets.set(gallery.id, plan.target.id);
  const job = runJob(ctx, gallery, options, plan)
    .catch((err: unknown) => {
      stopped.set(gallery.id, err instanceof FacerecError ? `${err.code}: ${err.message}` : String(err));
      throw err;
    })
    .finally(() => {
      running.delete(gallery.id);
      targets.delete(gallery.id);
    });
  running.set(gallery.id, job);
  return job;
}

/** Checks what can be checked before any work, then starts the job in the background: for the HTTP API (202). */
export async function startReembed(ctx: ServiceContext, options: ReembedOptions): Promise<ReembedStatus> {
  const gallery = await findGallery(ctx.db, options.gallery ?? 'default');
  const plan = await preflight(ctx, gallery, options);
  // Outside the request's context: the job outlives the request, whose end would otherwise withdraw its analyses.
  callerSignal.exit(() => runOrJoin(ctx, gallery, options, plan).catch(() => {})); // its outcome is read back with reembedStatus
  return reembedStatus(ctx, gallery.id);
}

interface Plan {
  target: DescriptorModelCard;
  /** The faces to drop at the switch: those of the stalled listing that the operator named. */
  drop: ReembedFailure[];
}

async function preflight(ctx: ServiceContext, gallery: Gallery, options: ReembedOptions): Promise<Plan> {
  // The old model need not be installed: the thumbnails are described with the new one.
  const target = chosenModel(ctx, options.model).card;
  const { faces, withoutThumbnail } = await countFaces(ctx.db, gallery.id);
  if (withoutThumbnail > 0) {
    throw new FacerecError(
      'REEMBED_NOT_POSSIBLE',
      `${withoutThumbnail} of the ${faces} faces of gallery "${gallery.name}" have no stored thumbnail (FACEREC_THUMBNAILS was off), so ` +
        `they cannot be described again: enroll those people again from their photos into a gallery created with --model ${target.name}`,
      { gallery: gallery.name, faces, withoutThumbnail },
    );
  }
  return { target, drop: namedForDrop(gallery, await getReembedJob(ctx.db, gallery.id), target, options.dropFailed) };
}

/** The listed failures that `dropFailed` names; REEMBED_LISTING_CHANGED when it names anything the listing does not hold. */
function namedForDrop(
  gallery: Gallery,
  job: ReembedJob | null,
  target: DescriptorModelCard,
  dropFailed: ReembedOptions['dropFailed'],
): ReembedFailure[] {
  if (dropFailed === undefined) return [];
  const listing = job && job.finishedAt === null && job.targetModel === target.id ? job.failed : [];
  const changed = (message: string, details: Record<string, unknown>) =>
    new FacerecError('REEMBED_LISTING_CHANGED', `${message}: read the status again (GET the reembed status) and name what it lists`, {
      gallery: gallery.name,
      listed: listing.length,
      ...(listing.length ? { dropToken: dropToken(listing) } : {}),
      ...details,
    });
  if (listing.length === 0) throw changed(`No failed faces are listed for gallery "${gallery.name}"'s move to ${target.name}`, {});
  if (typeof dropFailed === 'string') {
    if (dropFailed !== dropToken(listing))
      throw changed('The listing of failed faces has changed since that dropToken', { given: dropFailed });
    return listing;
  }
  const byId = new Map(listing.map((f) => [f.faceId, f]));
  const unlisted = dropFailed.filter((id) => !byId.has(id));
  if (unlisted.length) throw changed(`${unlisted.length} of the faces named are not in the listing of failed faces`, { unlisted });
  return [...new Set(dropFailed)].map((id) => byId.get(id)!);
}

async function runJob(ctx: ServiceContext, gallery: Gallery, options: ReembedOptions, { target, drop }: Plan): Promise<ReembedStatus> {
  if (gallery.descriptorModel === target.id) return statusOf(ctx, gallery, await getReembedJob(ctx.db, gallery.id), false);
  await ctx.db.transaction((tx) => ensureDescriptorIndex(tx, target));
  await startReembedJob(ctx.db, gallery.id, target.id, gallery.descriptorModel);
  const dropping = drop.map((f) => f.faceId);
  for (;;) {
    // Stage every face not staged yet, a batch at a time; the faces named for dropping are not described again.
    const failed: ReembedFailure[] = [];
    for (;;) {
      const batch = await pendingFaces(ctx.db, gallery.id, BATCH, [...dropping, ...failed.map((f) => f.faceId)]);
      if (batch.length === 0) break;
      const described = await Promise.all(batch.map((face) => describeAgain(ctx, face, target, failed)));
      for (const d of described) if (d) await stageDescriptor(ctx.db, gallery.id, d.face.faceId, d.descriptor);
      const job = await getReembedJob(ctx.db, gallery.id);
      if (job) await options.onProgress?.(job.staged, job.total);
    }
    if (failed.length > 0) {
      // New failures: nothing is dropped; the operator is shown them (with those already named) and decides again.
      await recordFailures(ctx.db, gallery.id, [...drop, ...failed]);
      break;
    }
    const swap = await ctx.db.transaction((tx) => swapInStaged(tx, gallery.id, target.id, drop));
    if (swap.switched) {
      galleriesChanged(ctx.db);
      const after = await findGallery(ctx.db, gallery.id);
      return statusOf(ctx, after, await getReembedJob(ctx.db, gallery.id), false);
    }
    // Faces enrolled meanwhile: describe them too, then try again.
  }
  return statusOf(ctx, gallery, await getReembedJob(ctx.db, gallery.id), false);
}

/**
 * A face's new descriptor from its stored thumbnail: the aligned chip, described where the chip holds the face, with
 * no second detection (which missed 7% of LFW's 150 px chips). A thumbnail that cannot be read is this face's
 * failure, listed; anything else (the engine, the database) stops the job, to resume later.
 */
async function describeAgain(
  ctx: ServiceContext,
  face: PendingFace,
  target: DescriptorModelCard,
  failed: ReembedFailure[],
): Promise<{ face: PendingFace; descriptor: number[] } | null> {
  try {
    if (!face.thumbnail) throw new FacerecError('REEMBED_NOT_POSSIBLE', 'This face has no stored thumbnail');
    const analysis = await ctx.analyzer.analyze(face.thumbnail, { model: target.id, descriptors: true, storedChip: true });
    const descriptor = analysis.faces[0]?.descriptor;
    if (!descriptor) throw new FacerecError('NO_FACE', 'No face could be described in the stored thumbnail');
    return { face, descriptor };
  } catch (err) {
    if (!(err instanceof FacerecError) || !['NO_FACE', 'UNSUPPORTED_IMAGE', 'REEMBED_NOT_POSSIBLE'].includes(err.code)) throw err;
    failed.push({ faceId: face.faceId, personId: face.personId, personName: face.personName, code: err.code, message: err.message });
    return null;
  }
}
