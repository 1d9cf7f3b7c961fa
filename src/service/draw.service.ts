/**
 * Annotated photos: boxes, names, distances and landmarks drawn on the photo, at the engine's working resolution (at
 * most WORKING_SIDE on the long side), so that drawing holds no more pixels than analysing does.
 */
import { imageLimits, type Config } from '../config/index.js';
import { WORKING_SIDE } from '../engine/face-engine.js';
import { attributesText } from '../core/face.js';
import { decodeImage } from '../image/decode.js';
import { annotateImage, scaleAnnotations, type AnnotateFormat, type AnnotationFace } from '../render/annotate.js';
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

/**
 * One drawing at a time in this process: each holds a decoded photo (at most WORKING_SIDE² × 3 bytes, 48 MiB) and
 * libvips' working memory, and libvips already spreads one over the cores, so more at once only adds memory (18
 * drawings of 45 MP photos: 24.5 s one at a time, 25.5 s two at a time, peak RSS +205 MB against +370 MB). The others
 * wait for their turn holding only their upload.
 */
let drawing = false;
const waiting: Array<() => void> = [];

async function inTurn<T>(draw: () => Promise<T>): Promise<T> {
  // A waiter is woken with the turn already its own: `drawing` stays true from one to the next.
  if (drawing) await new Promise<void>((resolve) => waiting.push(resolve));
  else drawing = true;
  try {
    return await draw();
  } finally {
    const next = waiting.shift();
    if (next) next();
    else drawing = false;
  }
}

/**
 * The photo at the working resolution with `faces` (in the photo's own pixels) drawn on it. A photo larger than
 * WORKING_SIDE on its long side is answered that large, as the engine saw it: its boxes are no more precise than that.
 */
async function drawOn(config: Config, bytes: Uint8Array, faces: AnnotationFace[], format: AnnotateFormat): Promise<Buffer> {
  return inTurn(async () => {
    const image = await decodeImage(bytes, imageLimits(config), { maxSide: WORKING_SIDE });
    return annotateImage(image, scaleAnnotations(faces, image.width / image.original.width), { format });
  });
}

/** The photo with each identified face boxed and labelled as identificationAnnotations says. */
export async function drawIdentification(
  config: Config,
  bytes: Uint8Array,
  result: IdentifyResult,
  format: AnnotateFormat = 'jpeg',
): Promise<Buffer> {
  return drawOn(config, bytes, identificationAnnotations(result), format);
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
  const image = await drawOn(
    ctx.config,
    bytes,
    detection.faces.map((f) => ({
      box: f.box,
      landmarks: f.landmarks,
      ...(f.reason ? { label: REASON_TEXT[f.reason] } : {}),
      ...(f.attributes ? { detail: attributesText(f.attributes) } : {}),
    })),
    format,
  );
  return { image, faces: detection.faces.length };
}
