/** Database-free use cases: compare two photos, detect faces, draw identification results. */
import type { Box, Face } from '../engine/face-engine.js';
import { NoFaceError } from '../errors.js';
import { euclidean } from '../eval/lfw.js';
import { decodeImage } from '../image/decode.js';
import { confidenceOf } from '../match/confidence.js';
import { annotateImage, type AnnotateFormat } from '../render/annotate.js';
import type { Analyzer } from './context.js';
import type { Config } from '../config/index.js';
import { round4, soleFace, type IdentifyResult } from './identify.service.js';

export interface CompareResult {
  match: boolean;
  distance: number;
  threshold: number;
  confidence: number;
  /** The compared face of each photo: its only one, or with `largestFace` its largest. */
  boxes: [Box, Box];
  /** Faces found in each photo; over 1 only with `largestFace`. */
  facesInPhotos: [number, number];
}

/** The face of a photo to compare, and how many it shows; NO_FACE or MULTIPLE_FACES name the photo. */
async function photoFace(analyzer: Analyzer, config: Config, bytes: Uint8Array, which: string, largestFace: boolean | undefined): Promise<{ face: Face; faces: number }> {
  // Every face, not just the largest: a photo of several must be told apart from a photo of one.
  const { faces } = await analyzer.analyze(bytes, { detector: config.detector, minScore: config.minScore });
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
  options: { threshold?: number; names?: [string, string]; largestFace?: boolean } = {},
): Promise<CompareResult> {
  const threshold = options.threshold ?? ctx.config.threshold;
  const [nameA, nameB] = options.names ?? ['image A', 'image B'];
  const [pa, pb] = await Promise.all([photoFace(ctx.analyzer, ctx.config, a, nameA, options.largestFace), photoFace(ctx.analyzer, ctx.config, b, nameB, options.largestFace)]);
  const distance = round4(euclidean(pa.face.descriptor!, pb.face.descriptor!));
  return {
    match: distance <= threshold,
    distance,
    threshold,
    confidence: round4(confidenceOf(distance)),
    boxes: [pa.face.box, pb.face.box],
    facesInPhotos: [pa.faces, pb.faces],
  };
}

export interface Detection {
  width: number;
  height: number;
  faces: Array<Pick<Face, 'box' | 'score' | 'quality'> & { landmarks?: Face['landmarks'] }>;
}

/** Every face with box, score and quality (and landmarks on request); no descriptors, no database. */
export async function detect(ctx: { analyzer: Analyzer; config: Config }, bytes: Uint8Array, options: { maxFaces?: number; includeLandmarks?: boolean } = {}): Promise<Detection> {
  const analysis = await ctx.analyzer.analyze(bytes, { descriptors: false, detector: ctx.config.detector, minScore: ctx.config.minScore, ...(options.maxFaces ? { maxFaces: options.maxFaces } : {}) });
  return {
    width: analysis.width,
    height: analysis.height,
    faces: analysis.faces.map((f) => ({ box: f.box, score: f.score, quality: f.quality, ...(options.includeLandmarks ? { landmarks: f.landmarks } : {}) })),
  };
}

/** The photo with each identified face boxed and labelled with its name (or Unknown) and distance. */
export async function drawIdentification(config: Config, bytes: Uint8Array, result: IdentifyResult, format: AnnotateFormat = 'jpeg'): Promise<Buffer> {
  const image = await decodeImage(bytes, { maxBytes: config.maxImageBytes, maxPixels: config.maxImagePixels });
  return annotateImage(
    image,
    result.faces.map((f) => ({ box: f.box, label: f.label, distance: f.distance ?? undefined, known: f.outcome === 'match', landmarks: f.landmarks })),
    { format },
  );
}
