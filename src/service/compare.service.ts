/** Database-free use cases: compare two photos, detect faces, draw identification results. */
import type { Box, Face } from '../engine/face-engine.js';
import { NoFaceError } from '../errors.js';
import { euclidean } from '../eval/lfw.js';
import { decodeImage } from '../image/decode.js';
import { confidenceOf } from '../match/confidence.js';
import { annotateImage, type AnnotateFormat } from '../render/annotate.js';
import type { Analyzer } from './context.js';
import type { Config } from '../config/index.js';
import { round4, type IdentifyResult } from './identify.service.js';

export interface CompareResult {
  match: boolean;
  distance: number;
  threshold: number;
  confidence: number;
  /** The compared face of each photo: its largest. */
  boxes: [Box, Box];
}

async function mainFace(analyzer: Analyzer, config: Config, bytes: Uint8Array, which: string): Promise<Face> {
  const { faces } = await analyzer.analyze(bytes, { maxFaces: 1, detector: config.detector, minScore: config.minScore });
  if (!faces[0]?.descriptor) throw new NoFaceError(which, { image: which });
  return faces[0];
}

/** Are the main faces of two photos the same person? No database involved. `names` say which photo had no face. */
export async function compare(
  ctx: { analyzer: Analyzer; config: Config },
  a: Uint8Array,
  b: Uint8Array,
  options: { threshold?: number; names?: [string, string] } = {},
): Promise<CompareResult> {
  const threshold = options.threshold ?? ctx.config.threshold;
  const [nameA, nameB] = options.names ?? ['image A', 'image B'];
  const [fa, fb] = await Promise.all([mainFace(ctx.analyzer, ctx.config, a, nameA), mainFace(ctx.analyzer, ctx.config, b, nameB)]);
  const distance = round4(euclidean(fa.descriptor!, fb.descriptor!));
  return { match: distance <= threshold, distance, threshold, confidence: round4(confidenceOf(distance)), boxes: [fa.box, fb.box] };
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
