/** Use cases on a photo alone, no database: what the engine is, and where the faces are. */
import { z } from 'zod';
import { imageLimits, type Config } from '../config/index.js';
import { FaceEngine, type DetectorName, type EngineInfo, type Face } from '../engine/face-engine.js';
import type { AttributeName, FaceAttributes } from '../core/face.js';
import type { Analyzer } from './context.js';
import { Attributes, boolish, decimalNumber, MaxFaces } from './input.js';
import { checkRange, LIMITS } from './limits.js';
import { photoWarnings, withWarnings, type PhotoWarning } from './warnings.js';

/** detect's options, as the HTTP API and the CLI take them. */
export const DetectInput = z.object({ maxFaces: MaxFaces, includeLandmarks: boolish.optional(), attributes: Attributes });

/** The detector and its minimum score, which the CLI's detect and annotate may choose per call (the API uses the configured ones). */
export const DetectorInput = z.object({
  detector: z.enum(['ssd', 'tiny']).optional() satisfies z.ZodType<DetectorName | undefined>,
  minScore: decimalNumber(0, 1).optional(),
});

/**
 * Why a face that was found cannot be recognised: FACE_TOO_SMALL, a face under the size that enrollment accepts
 * (FACEREC_ENROLL_MIN_FACE_SIZE, shorter box side), whose descriptor is not to be trusted to name anyone.
 */
export type FaceReason = 'FACE_TOO_SMALL';
export const FACE_REASONS = ['FACE_TOO_SMALL'] as const satisfies readonly FaceReason[];

/** The reason a face cannot be recognised, or undefined when it can. */
export function faceReason(face: Pick<Face, 'quality'>, config: Pick<Config, 'enrollment'>): FaceReason | undefined {
  return face.quality.size < config.enrollment.minFaceSize ? 'FACE_TOO_SMALL' : undefined;
}

export interface Detection {
  width: number;
  height: number;
  faces: Array<
    Pick<Face, 'box' | 'score' | 'quality'> & { landmarks?: Face['landmarks']; reason?: FaceReason; attributes?: FaceAttributes }
  >;
  /** Present when the photo was not used whole (FIRST_FRAME_ONLY). */
  warnings?: PhotoWarning[];
}

export interface DetectOptions {
  maxFaces?: number;
  includeLandmarks?: boolean;
  /** Age, gender, expression per face: only those named are computed (none by default). */
  attributes?: readonly AttributeName[];
  /** Default: the configured detector and minimum score. */
  detector?: DetectorName;
  minScore?: number;
}

/**
 * Every face with box, score, quality and, for a face too small to recognise, its reason (landmarks and attributes on
 * request); no database.
 */
export async function detect(
  ctx: { analyzer: Analyzer; config: Config },
  bytes: Uint8Array,
  options: DetectOptions = {},
): Promise<Detection> {
  if (options.maxFaces !== undefined) checkRange(options.maxFaces, LIMITS.maxFaces, 'maxFaces', true);
  const [analysis, warnings] = await Promise.all([
    ctx.analyzer.analyze(bytes, {
      descriptors: false,
      detector: options.detector ?? ctx.config.detector,
      minScore: options.minScore ?? ctx.config.minScore,
      ...(options.maxFaces ? { maxFaces: options.maxFaces } : {}),
      ...(options.attributes?.length ? { attributes: options.attributes } : {}),
    }),
    photoWarnings(bytes),
  ]);
  return {
    width: analysis.width,
    height: analysis.height,
    faces: analysis.faces.map((f) => {
      const reason = faceReason(f, ctx.config);
      return {
        box: f.box,
        score: f.score,
        quality: f.quality,
        ...(reason ? { reason } : {}),
        ...(options.includeLandmarks ? { landmarks: f.landmarks } : {}),
        ...(f.attributes ? { attributes: f.attributes } : {}),
      };
    }),
    ...withWarnings(warnings),
  };
}

export interface EngineReport extends EngineInfo {
  selfTest: { passed: true; ms: number };
}

/**
 * The engine this configuration loads, in this process: runtime, models and descriptor space, after a real analysis
 * of the known photo (ENGINE_UNHEALTHY when it fails, so that an image build on a broken engine fails).
 */
export async function engineReport(config: Config): Promise<EngineReport> {
  const engine = await FaceEngine.create({
    ...config.runtime,
    modelsDir: config.modelsDir,
    limits: imageLimits(config),
  });
  const { ms } = await engine.selfTest({ attributes: true });
  return { ...engine.info(), selfTest: { passed: true, ms } };
}
