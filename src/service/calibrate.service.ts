/** Threshold calibration on the user's own gallery. */
import { z } from 'zod';
import { renderDistancePlot } from '../render/distance-plot.js';
import { calibrate as calibrateDistances, type CalibrationReport } from '../match/calibrate.js';
import { galleryDescriptors } from '../store/faces.repository.js';
import { findGallery } from '../store/galleries.repository.js';
import type { ServiceContext } from './context.js';
import { decimalNumber, GalleryRef } from './input.js';

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
  const byPerson = await galleryDescriptors(ctx.db, gallery.id, ctx.analyzer.descriptorModelId);
  const report = calibrateDistances(
    [...byPerson].map(([personId, descriptors]) => ({ personId, descriptors })),
    options.far ?? DEFAULT_FAR,
    ctx.config.reduction,
  );
  const t = ctx.config.threshold;
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
