/** Compare: are the faces of two photos the same person? No database involved. */
import { z } from 'zod';
import type { Box, Face } from '../engine/face-engine.js';
import { NoFaceError } from '../errors.js';
import { euclidean } from '../match/distance.js';
import { confidenceOf } from '../match/confidence.js';
import type { Analyzer } from './context.js';
import type { Config } from '../config/index.js';
import { round4, soleFace } from './identify.service.js';
import { LargestFace, ModelRef, Threshold } from './input.js';
import { chosenModel } from './models.service.js';
import { thresholdOf } from './limits.js';
import { photoWarnings, withWarnings, type PhotoWarning } from './warnings.js';

/** compare's options, as the HTTP API and the CLI take them. */
export const CompareInput = z.object({ threshold: Threshold, largestFace: LargestFace, model: ModelRef });

export interface CompareResult {
  match: boolean;
  distance: number;
  threshold: number;
  confidence: number;
  /** The descriptor model both faces were described with. */
  model: string;
  /** The compared face of each photo: its only one, or with `largestFace` its largest. */
  boxes: [Box, Box];
  /** Faces found in each photo; over 1 only with `largestFace`. */
  facesInPhotos: [number, number];
  /** Present when a photo was not used whole (FIRST_FRAME_ONLY), naming it. */
  warnings?: PhotoWarning[];
}

/** The face of a photo to compare, and how many it shows; NO_FACE or MULTIPLE_FACES name the photo. */
async function photoFace(
  analyzer: Analyzer,
  config: Config,
  model: string,
  bytes: Uint8Array,
  which: string,
  largestFace: boolean | undefined,
): Promise<{ face: Face; faces: number }> {
  // Every face, not just the largest: a photo of several must be told apart from a photo of one.
  const { faces } = await analyzer.analyze(bytes, { detector: config.detector, minScore: config.minScore, model });
  if (!faces[0]?.descriptor) throw new NoFaceError(which, { image: which });
  return { face: soleFace(faces, { largestFace, what: which, details: { image: which } }), faces: faces.length };
}

/**
 * Are the faces of two photos the same person? No database involved. Each photo must show one face, or with
 * `largestFace` its largest is taken. `names` say which photo had no face, or several.
 */
export async function compare(
  ctx: { analyzer: Analyzer; config: Config },
  a: Uint8Array,
  b: Uint8Array,
  options: { threshold?: number; names?: [string, string]; largestFace?: boolean; model?: string } = {},
): Promise<CompareResult> {
  const model = chosenModel(ctx, options.model);
  const threshold = thresholdOf(options.threshold, model.verifyThreshold);
  const [nameA, nameB] = options.names ?? ['image A', 'image B'];
  const [pa, pb, warnedA, warnedB] = await Promise.all([
    photoFace(ctx.analyzer, ctx.config, model.card.id, a, nameA, options.largestFace),
    photoFace(ctx.analyzer, ctx.config, model.card.id, b, nameB, options.largestFace),
    photoWarnings(a, nameA),
    photoWarnings(b, nameB),
  ]);
  const distance = round4(euclidean(pa.face.descriptor!, pb.face.descriptor!));
  return {
    match: distance <= threshold,
    distance,
    threshold,
    confidence: round4(confidenceOf(distance, model.confidence)),
    model: model.card.name,
    boxes: [pa.face.box, pb.face.box],
    facesInPhotos: [pa.faces, pb.faces],
    ...withWarnings([...warnedA, ...warnedB]),
  };
}
