/**
 * Moves a gallery to another descriptor model: every face is described again from its stored thumbnail (the aligned
 * 150×150 chip, decoded and searched as a photo, at the resolution the target model needs), staged beside the old
 * descriptor, and all are swapped in at once. Search answers from the old descriptors until then. A crash leaves
 * the staged work in the database: running it again picks up where it stopped.
 */
import { z } from 'zod';
import { FacerecError } from '../errors.js';
import type { Face } from '../engine/face-engine.js';
import { ensureDescriptorIndex } from '../store/descriptor-index.js';
import { findGallery, type Gallery } from '../store/galleries.repository.js';
import {
  countFaces,
  getReembedJob,
  pendingFaces,
  recordFailures,
  stageDescriptor,
  startReembedJob,
  swapInStaged,
  type ReembedFailure,
  type ReembedJob,
} from '../store/reembed.repository.js';
import { callerSignal, type ServiceContext } from './context.js';
import { boolish, GalleryRef, ModelRef } from './input.js';
import { chosenModel } from './models.service.js';
import { galleriesChanged } from './open-set.service.js';

export const ReembedInput = z.object({
  gallery: GalleryRef.optional(),
  model: ModelRef.unwrap().meta({ description: 'The descriptor model to move the gallery to, by name or id (GET /v1/models)' }),
  dropFailed: boolish
    .optional()
    .meta({ description: 'Switch even if some faces could not be described again, deleting those faces (they are listed)' }),
});

// Thumbnails described per round trip to the database.
const BATCH = 16;

export interface ReembedStatus {
  gallery: { id: string; name: string };
  /** The model the gallery searches with now. */
  model: string | null;
  /**
   * idle: no move; running: describing in this process; pending: staged work left by a stopped run (run it again to
   * resume); stalled: some faces could not be described (listed): switch with dropFailed, or re-enroll them; done: switched.
   */
  state: 'idle' | 'running' | 'pending' | 'stalled' | 'done';
  target: string | null;
  total: number;
  staged: number;
  failed: ReembedFailure[];
  /** Why the last run in this process stopped before the switch (the engine or the database failed), if it did. */
  error?: string;
}

function statusOf(gallery: Pick<Gallery, 'id' | 'name' | 'descriptorModel'>, job: ReembedJob | null, running: boolean): ReembedStatus {
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
    };
  const state = running ? 'running' : job.failed.length > 0 ? 'stalled' : 'pending';
  return { ...base, state, target: job.targetModel, total: job.total, staged: job.staged, failed: job.failed };
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
  const status = statusOf(gallery, await getReembedJob(ctx.db, gallery.id), running.has(gallery.id));
  const error = stopped.get(gallery.id);
  return error && status.state === 'pending' ? { ...status, error } : status;
}

export interface ReembedOptions {
  gallery?: string;
  model: string;
  dropFailed?: boolean;
  /** After each batch is staged; a promise returned is awaited. */
  onProgress?: (staged: number, total: number) => void | Promise<void>;
}

/** Runs (or resumes, or joins) the move of a gallery to `model`; resolves when it has switched or stalled. */
export async function reembedGallery(ctx: ServiceContext, options: ReembedOptions): Promise<ReembedStatus> {
  return runOrJoin(ctx, await findGallery(ctx.db, options.gallery ?? 'default'), options);
}

/** The gallery's job in this process: the one running, or a new one, registered before this returns. */
function runOrJoin(ctx: ServiceContext, gallery: Gallery, options: ReembedOptions): Promise<ReembedStatus> {
  const current = running.get(gallery.id);
  if (current) return current;
  stopped.delete(gallery.id);
  targets.set(gallery.id, chosenModel(ctx, options.model).card.id);
  const job = runJob(ctx, gallery, options)
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
  await preflight(ctx, gallery, options.model);
  // Outside the request's context: the job outlives the request, whose end would otherwise withdraw its analyses.
  callerSignal.exit(() => runOrJoin(ctx, gallery, options).catch(() => {})); // its outcome is read back with reembedStatus
  return reembedStatus(ctx, gallery.id);
}

async function preflight(ctx: ServiceContext, gallery: Gallery, model: string) {
  // The old model need not be installed: the thumbnails are described with the new one.
  const target = chosenModel(ctx, model).card;
  const { faces, withoutThumbnail } = await countFaces(ctx.db, gallery.id);
  if (withoutThumbnail > 0) {
    throw new FacerecError(
      'REEMBED_NOT_POSSIBLE',
      `${withoutThumbnail} of the ${faces} faces of gallery "${gallery.name}" have no stored thumbnail (FACEREC_THUMBNAILS was off), so ` +
        `they cannot be described again: enroll those people again from their photos into a gallery created with --model ${target.name}`,
      { gallery: gallery.name, faces, withoutThumbnail },
    );
  }
  return { target, faces };
}

async function runJob(ctx: ServiceContext, gallery: Gallery, options: ReembedOptions): Promise<ReembedStatus> {
  const { target, faces } = await preflight(ctx, gallery, options.model);
  if (gallery.descriptorModel === target.id) return statusOf(gallery, null, false);
  await ctx.db.transaction((tx) => ensureDescriptorIndex(tx, target));
  let job = await startReembedJob(ctx.db, gallery.id, target.id, faces);
  const failed: ReembedFailure[] = [];
  for (;;) {
    // Stage every face not staged yet (and not failed this run), a batch at a time.
    for (;;) {
      const batch = await pendingFaces(
        ctx.db,
        gallery.id,
        BATCH,
        failed.map((f) => f.faceId),
      );
      if (batch.length === 0) break;
      const described = await Promise.all(
        batch.map(async (face) => {
          try {
            if (!face.thumbnail) throw new FacerecError('REEMBED_NOT_POSSIBLE', 'This face has no stored thumbnail');
            const analysis = await ctx.analyzer.analyze(face.thumbnail, { model: target.id, descriptors: true, minScore: 0.3 });
            const subject = centred(analysis.faces, analysis.width, analysis.height);
            if (!subject?.descriptor) throw new FacerecError('NO_FACE', 'No face was found in the stored thumbnail');
            return { face, descriptor: subject.descriptor };
          } catch (err) {
            // A user's photo problem is this face's; anything else (the engine, the database) stops the job, to resume later.
            if (!(err instanceof FacerecError) || !['NO_FACE', 'UNSUPPORTED_IMAGE', 'REEMBED_NOT_POSSIBLE'].includes(err.code)) throw err;
            failed.push({ faceId: face.faceId, personId: face.personId, code: err.code, message: err.message });
            return null;
          }
        }),
      );
      for (const d of described) if (d) await stageDescriptor(ctx.db, gallery.id, d.face.faceId, d.descriptor);
      job = (await getReembedJob(ctx.db, gallery.id)) ?? job;
      await options.onProgress?.(job.staged, job.total);
    }
    await recordFailures(ctx.db, gallery.id, failed);
    if (failed.length > 0 && !options.dropFailed) break;
    const switched = await ctx.db.transaction((tx) =>
      swapInStaged(
        tx,
        gallery.id,
        target.id,
        failed.map((f) => f.faceId),
      ),
    );
    if (switched) {
      galleriesChanged(ctx.db);
      const after = await findGallery(ctx.db, gallery.id);
      return { ...statusOf(after, null, false), state: 'done', target: target.id, total: job.total, staged: job.staged, failed };
    }
    // Faces enrolled meanwhile: describe them too, then try again.
  }
  return statusOf(gallery, await getReembedJob(ctx.db, gallery.id), false);
}

/** The face nearest the thumbnail's centre: the chip is centred on the enrolled face. */
function centred(faces: readonly Face[], width: number, height: number): Face | undefined {
  let best: Face | undefined;
  let bestDistance = Infinity;
  for (const f of faces) {
    const d = Math.hypot(f.box[0] + f.box[2] / 2 - width / 2, f.box[1] + f.box[3] / 2 - height / 2);
    if (d < bestDistance) [best, bestDistance] = [f, d];
  }
  return best;
}
