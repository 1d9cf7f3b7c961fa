/** Annotated photos: boxes, names, distances and landmarks drawn on the photo. */
import { imageLimits, type Config } from '../config/index.js';
import { attributesText } from '../core/face.js';
import { decodeImage } from '../image/decode.js';
import { annotateImage, type AnnotateFormat, type AnnotationFace } from '../render/annotate.js';
import type { Analyzer } from './context.js';
import { detect, type DetectOptions, type FaceReason } from './detect.service.js';
import type { IdentifyResult } from './identify.service.js';

export type { AnnotateFormat };

/** How an annotated image labels a face that cannot be recognised. */
export const REASON_TEXT: Record<FaceReason, string> = { FACE_TOO_SMALL: 'too small' };

/**
 * What an annotated identification draws per face: its box, its name (or Unknown, and why if it cannot be recognised),
 * distance, and under the box the attributes the request asked for.
 */
export function identificationAnnotations(result: IdentifyResult): AnnotationFace[] {
  return result.faces.map((f) => ({
    box: f.box,
    label: f.reason ? `${f.label} (${REASON_TEXT[f.reason]})` : f.label,
    distance: f.distance ?? undefined,
    known: f.outcome === 'match',
    landmarks: f.landmarks,
    ...(f.attributes ? { detail: attributesText(f.attributes) } : {}),
  }));
}

/** The photo with each identified face boxed and labelled as identificationAnnotations says. */
export async function drawIdentification(
  config: Config,
  bytes: Uint8Array,
  result: IdentifyResult,
  format: AnnotateFormat = 'jpeg',
): Promise<Buffer> {
  const image = await decodeImage(bytes, imageLimits(config));
  return annotateImage(image, identificationAnnotations(result), { format });
}

/**
 * The photo with every face found boxed, a face too small to recognise labelled so (and landmarks and attributes, on
 * request); no database.
 */
export async function drawDetections(
  ctx: { analyzer: Analyzer; config: Config },
  bytes: Uint8Array,
  options: Omit<DetectOptions, 'includeLandmarks'> & { landmarks?: boolean; format?: AnnotateFormat } = {},
): Promise<{ image: Buffer; faces: number }> {
  const { landmarks, format = 'jpeg', ...detectOptions } = options;
  const detection = await detect(ctx, bytes, { ...detectOptions, includeLandmarks: landmarks });
  const image = await annotateImage(
    await decodeImage(bytes, imageLimits(ctx.config)),
    detection.faces.map((f) => ({
      box: f.box,
      landmarks: f.landmarks,
      ...(f.reason ? { label: REASON_TEXT[f.reason] } : {}),
      ...(f.attributes ? { detail: attributesText(f.attributes) } : {}),
    })),
    { format },
  );
  return { image, faces: detection.faces.length };
}
