/** Threshold calibration on the user's own gallery. */
import { z } from 'zod';
import { renderDistancePlot } from '../render/distance-plot.js';
import { calibrate as calibrateDistances, type CalibrationReport } from '../match/calibrate.js';
import { galleryDescriptors } from '../store/faces.repository.js';
import { findGallery } from '../store/galleries.repository.js';
import type { ServiceContext } from './context.js';
import { FacerecError } from '../errors.js';
import { expectedFpir, MIN_PEOPLE_FOR_GALLERY_CALIBRATION, type ImpostorTail, type ThresholdSource } from '../match/open-set.js';
import { decimalNumber, GalleryRef } from './input.js';
import { expectedDirAt, galleryThreshold, impostorModel } from './open-set.service.js';
import { galleryModel } from './models.service.js';

const DEFAULT_FAR = 0.001;

/** calibrate's input, as the CLI takes it: the gallery, and the target false-accept rate. */
export const CalibrateInput = z.object({ gallery: GalleryRef.optional(), far: decimalNumber(0, 1).prefault(DEFAULT_FAR) });

export interface GalleryCalibration extends CalibrationReport {
  gallery: { id: string; name: string };
  /** The threshold in use now, and the rates it gives on this gallery. */
  current: { threshold: number; tar: number; far: number };
}

const rateAtOrBelow = (distances: readonly number[], t: number): number =>
  distances.length ? distances.filter((d) => d <= t).length / distances.length : 0;

/** The threshold for a target false-accept rate on the gallery's people with two or more faces. */
export async function calibrateGallery(ctx: ServiceContext, options: { gallery?: string; far?: number } = {}): Promise<GalleryCalibration> {
  const gallery = await findGallery(ctx.db, options.gallery ?? 'default');
  const model = galleryModel(ctx, gallery);
  const byPerson = await galleryDescriptors(ctx.db, gallery.id, model.card.id);
  const report = calibrateDistances(
    [...byPerson].map(([personId, descriptors]) => ({ personId, descriptors })),
    options.far ?? DEFAULT_FAR,
    ctx.config.reduction,
  );
  const t = model.verifyThreshold;
  return {
    ...report,
    gallery: { id: gallery.id, name: gallery.name },
    current: { threshold: t, tar: rateAtOrBelow(report.genuine, t), far: rateAtOrBelow(report.impostor, t) },
  };
}

/** The genuine and impostor distance distributions of a calibration, with its threshold, as a PNG. */
export function calibrationPlot(report: GalleryCalibration): Promise<Buffer> {
  return renderDistancePlot(
    { genuine: report.genuine, impostor: report.impostor, threshold: report.threshold },
    { title: `Gallery ${report.gallery.name}` },
  );
}

/** What identification does in a gallery: the threshold in force at the target FPIR, where it comes from, what it promises. */
export interface IdentifyCalibration {
  gallery: { id: string; name: string };
  /** The gallery's descriptor model. */
  model: string;
  /** People and faces of the current descriptor model. */
  people: number;
  faces: number;
  targetFpir: number;
  reduction: 'min' | 'mean2';
  /** The threshold identify uses now (when the caller passes none), and its source. */
  threshold: number;
  source: Exclude<ThresholdSource, 'request'>;
  /** The FPIR the impostor model in force predicts at that threshold for this gallery's size. */
  expectedFpir: number;
  /** Mated probes expected within the threshold: the gallery's own same-person distances when it calibrated itself, else LFW's. */
  expectedDir: number;
  impostor: {
    /** The shipped tail (LFW View 1, DevTrain side) and the one in force (re-centred on this gallery, or the same). */
    shipped: ImpostorTail;
    inForce: ImpostorTail;
    /** How the shipped model was made. */
    fittedOn: string;
    /** Cross-person distances of the gallery's own faces behind the re-centring (0: not re-centred). */
    crossPersonDistances: number;
    /** The re-centred mean's standard error (a jackknife over the gallery's people), which widens inForce.sd; 0 if not re-centred. */
    tailMeanSe: number;
    /** People a gallery needs before it calibrates itself. */
    minPeopleForGallery: number;
    /** Pairs of the gallery's sample that are one face under two names (the same photo twice), left out of it. */
    sameFacePairs: number;
    /** Why the gallery keeps the shipped tail although it has the people to calibrate itself, when it does. */
    notCalibrated?: string;
  };
  /** The model's 1:1 threshold (its card's, or FACEREC_THRESHOLD) used for identification here would give this FPIR and DIR. */
  fixedThreshold: { threshold: number; expectedFpir: number; expectedDir: number };
}

/** The identify threshold in force for a gallery at FACEREC_TARGET_FPIR, with the impostor fit behind it. */
export async function calibrateIdentify(ctx: ServiceContext, options: { gallery?: string } = {}): Promise<IdentifyCalibration> {
  const gallery = await findGallery(ctx.db, options.gallery ?? 'default');
  const settings = galleryModel(ctx, gallery);
  const modelId = settings.card.id;
  const model = await impostorModel(ctx, modelId);
  const point = await galleryThreshold(ctx, gallery.id, modelId);
  const fixed = settings.verifyThreshold;
  return {
    gallery: { id: gallery.id, name: gallery.name },
    model: settings.card.name,
    people: point.people,
    faces: point.faces,
    targetFpir: point.targetFpir,
    reduction: ctx.config.reduction,
    // Rounded as identify rounds it before deciding: the very threshold its answers carry.
    threshold: Math.round(point.threshold * 10000) / 10000,
    source: point.source as IdentifyCalibration['source'],
    expectedFpir: point.expectedFpir,
    expectedDir: point.expectedDir,
    impostor: {
      shipped: model.reductions[ctx.config.reduction].tail,
      inForce: point.tail,
      fittedOn: model.source,
      crossPersonDistances: point.crossPersonDistances,
      tailMeanSe: point.tailMeanSe,
      minPeopleForGallery: MIN_PEOPLE_FOR_GALLERY_CALIBRATION,
      sameFacePairs: point.sameFacePairs,
      ...(point.notCalibrated ? { notCalibrated: point.notCalibrated } : {}),
    },
    fixedThreshold: {
      threshold: fixed,
      expectedFpir: expectedFpir(point.tail, fixed, point.units),
      expectedDir: await expectedDirAt(ctx, modelId, fixed),
    },
  };
}

/** A gallery's calibration for identification, and for 1:1 verification when it has the faces for it. */
export interface CalibrationSummary {
  identify: IdentifyCalibration;
  /** The 1:1 threshold at `far` from the gallery's genuine and impostor pairs (counts, not the distances themselves). */
  verification: (Omit<GalleryCalibration, 'genuine' | 'impostor'> & { genuinePairs: number; impostorPairs: number }) | null;
  /** Why there is no verification calibration (too few people with two faces). */
  verificationUnavailable?: string;
}

/** POST /v1/galleries/{id}/calibrate and `facerec calibrate`: identification's threshold in force, and the 1:1 calibration. */
export async function calibrationSummary(
  ctx: ServiceContext,
  options: { gallery?: string; far?: number } = {},
): Promise<CalibrationSummary> {
  const identify = await calibrateIdentify(ctx, options);
  try {
    const { genuine, impostor, ...rest } = await calibrateGallery(ctx, options);
    return { identify, verification: { ...rest, genuinePairs: genuine.length, impostorPairs: impostor.length } };
  } catch (err) {
    if (err instanceof FacerecError && err.code === 'INVALID_ARGUMENT' && 'peopleWithTwoFaces' in err.details)
      return { identify, verification: null, verificationUnavailable: err.message };
    throw err;
  }
}
