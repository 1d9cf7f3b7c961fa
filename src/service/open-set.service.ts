/**
 * identify's threshold per gallery: the target-FPIR rule of src/match/open-set.ts over the shipped impostor model,
 * re-centred on the gallery's own cross-person distances once it is large enough. Cached per gallery and worked out
 * again when the gallery's faces change (a cheap fingerprint query per identify tells).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { DEFAULT_MODELS_DIR } from '../engine/models.js';
import { FacerecError } from '../errors.js';
import {
  expectedFpir,
  genuineRate,
  GALLERY_SAMPLE_FACES,
  MIN_PEOPLE_FOR_GALLERY_CALIBRATION,
  operatingPoint,
  type ImpostorModel,
  type OperatingPoint,
  type ThresholdSource,
} from '../match/open-set.js';
import { galleryRevision, sampleGalleryFaces, type GalleryRevision } from '../store/faces.repository.js';
import type { Database, Queryable } from '../store/database.js';
import type { ServiceContext } from './context.js';
import type { ModelSettings } from './models.service.js';

export const IMPOSTOR_MODEL_FILE = 'impostor-model.json';

const models = new Map<string, Promise<ImpostorModel>>();

async function readModel(dirs: readonly string[], descriptorModelId: string): Promise<ImpostorModel> {
  const tried: string[] = [];
  for (const dir of dirs) {
    const file = path.join(dir, IMPOSTOR_MODEL_FILE);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch {
      tried.push(file);
      continue;
    }
    const model = (JSON.parse(text) as { models?: Record<string, ImpostorModel> }).models?.[descriptorModelId];
    if (model?.reductions?.min?.tail && model.reductions.mean2?.tail) return model;
    tried.push(`${file} (no model for ${descriptorModelId})`);
  }
  throw new FacerecError(
    'MODEL_LOAD_FAILED',
    `No impostor model for the descriptor model ${descriptorModelId} (tried ${tried.join(', ')}); make one with scripts/fit-impostor.ts, ` +
      'or pass a threshold with each identify request',
    { descriptorModelId },
  );
}

/**
 * The impostor model of a descriptor model (default: the configured one), from FACEREC_MODELS_DIR, else the shipped
 * models folder, else the folder of the model's card (a model the user brought may bring its own).
 */
export function impostorModel(
  ctx: Pick<ServiceContext, 'config' | 'analyzer'>,
  modelId = ctx.analyzer.descriptorModelId,
): Promise<ImpostorModel> {
  const cardDir = ctx.analyzer.models.has(modelId) ? [ctx.analyzer.models.get(modelId).dir] : [];
  const dirs = [...new Set([ctx.config.modelsDir ?? DEFAULT_MODELS_DIR, DEFAULT_MODELS_DIR, ...cardDir])];
  const key = `${dirs.join('\0')}\0${modelId}`;
  let model = models.get(key);
  if (!model) {
    model = readModel(dirs, modelId);
    models.set(key, model);
    model.catch(() => models.delete(key)); // a fixed file is read on the next call
  }
  return model;
}

/** identify's threshold for a gallery: the operating point, and the gallery's people and faces it was worked out for. */
export interface GalleryThreshold extends OperatingPoint {
  people: number;
  faces: number;
}

interface CacheEntry {
  fingerprint: string;
  settings: string;
  /** When the fingerprint was last read (performance.now()). */
  checkedAt: number;
  point: Promise<GalleryThreshold>;
}

// Per database, so that two contexts over different databases never share an entry.
const caches = new WeakMap<Database, Map<string, CacheEntry>>();

/**
 * How long a gallery's fingerprint is trusted without reading it again. Reading it scans the gallery's faces (an
 * aggregate over an index: milliseconds for thousands of faces, far more for a million), so a busy server reads it
 * once a second per gallery, not per request. This process's own changes apply at once (galleriesChanged); other
 * processes' (a CLI import, another replica) within a second.
 */
export const FINGERPRINT_CHECK_MS = 1000;

/** Every use case that adds or removes faces calls this after its commit: the next identify works its threshold out again. */
export function galleriesChanged(db: Database): void {
  caches.get(db)?.clear();
}

/** Works the operating point out from the gallery itself (its revision, and a sample of its faces once it is large enough). */
async function computePoint(
  ctx: ServiceContext,
  q: Queryable,
  galleryId: string,
  modelId: string,
  revision: GalleryRevision,
): Promise<GalleryThreshold> {
  const model = await impostorModel(ctx, modelId);
  const sample =
    revision.people >= MIN_PEOPLE_FOR_GALLERY_CALIBRATION
      ? await sampleGalleryFaces(q, galleryId, modelId, GALLERY_SAMPLE_FACES)
      : undefined;
  const point = operatingPoint(model, ctx.config.reduction, ctx.config.targetFpir, { ...revision, ...(sample ? { sample } : {}) });
  return { ...point, people: revision.people, faces: revision.faces };
}

/**
 * The threshold identify uses for a gallery at FACEREC_TARGET_FPIR: cached while the gallery's faces stay the same
 * (a face added or removed anywhere in it changes its fingerprint), worked out again otherwise. The fingerprint is
 * read at most once per FINGERPRINT_CHECK_MS.
 */
export async function galleryThreshold(
  ctx: ServiceContext,
  galleryId: string,
  modelId: string,
  q: Queryable = ctx.db,
): Promise<GalleryThreshold> {
  let cache = caches.get(ctx.db);
  if (!cache) caches.set(ctx.db, (cache = new Map()));
  const key = `${galleryId}\0${modelId}`;
  const settings = `${ctx.config.targetFpir}\0${ctx.config.reduction}\0${ctx.config.modelsDir ?? ''}`;
  const cached = cache.get(key);
  const now = performance.now();
  if (cached && cached.settings === settings && now - cached.checkedAt < FINGERPRINT_CHECK_MS) return cached.point;
  const revision = await galleryRevision(q, galleryId, modelId);
  if (cached && cached.fingerprint === revision.fingerprint && cached.settings === settings) {
    cached.checkedAt = now;
    return cached.point;
  }
  const point = computePoint(ctx, q, galleryId, modelId, revision);
  cache.set(key, { fingerprint: revision.fingerprint, settings, checkedAt: now, point });
  point.catch(() => cache.delete(key));
  return point;
}

/** What identify tells about the threshold it used: the value, where it came from, and what it promises here. */
export interface ThresholdUsed {
  threshold: number;
  thresholdSource: ThresholdSource;
  /** The FPIR the impostor model predicts at this threshold for this gallery (null: no model for a caller's threshold). */
  expectedFpir: number | null;
}

/** The threshold for one identify call: the caller's (`request`), else the gallery's at the target FPIR. */
export async function identifyThreshold(
  ctx: ServiceContext,
  galleryId: string,
  model: ModelSettings,
  requested: number | undefined,
): Promise<ThresholdUsed> {
  if (requested === undefined) {
    const point = await galleryThreshold(ctx, galleryId, model.card.id).catch((err: unknown) => {
      // A model brought without impostor statistics: its card's threshold, and no promise about strangers.
      if (err instanceof FacerecError && err.code === 'MODEL_LOAD_FAILED' && !model.card.shipped) return null;
      throw err;
    });
    if (!point) return { threshold: model.verifyThreshold, thresholdSource: 'model-card', expectedFpir: null };
    return { threshold: point.threshold, thresholdSource: point.source, expectedFpir: point.expectedFpir };
  }
  // The caller's threshold needs no model; what it promises does (null without one).
  const point = await galleryThreshold(ctx, galleryId, model.card.id).catch(() => null);
  return {
    threshold: requested,
    thresholdSource: 'request',
    expectedFpir: point ? expectedFpir(point.tail, requested, point.units) : null,
  };
}

/** The expected DIR at another threshold, from the shipped genuine distances (for reports). */
export async function expectedDirAt(ctx: ServiceContext, modelId: string, threshold: number): Promise<number> {
  const model = await impostorModel(ctx, modelId);
  return genuineRate(model.reductions[ctx.config.reduction].genuinePercentiles, threshold);
}
