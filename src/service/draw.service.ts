/** Annotated photos: boxes, names, distances and landmarks drawn on the photo. */
import { imageLimits, type Config } from '../config/index.js';
import { decodeImage } from '../image/decode.js';
import { annotateImage, type AnnotateFormat } from '../render/annotate.js';
import type { Analyzer } from './context.js';
import { detect, type DetectOptions } from './detect.service.js';
import type { IdentifyResult } from './identify.service.js';

export type { AnnotateFormat };

/** The photo with each identified face boxed and labelled with its name (or Unknown) and distance. */
export async function drawIdentification(
  config: Config,
  bytes: Uint8Array,
  result: IdentifyResult,
  format: AnnotateFormat = 'jpeg',
): Promise<Buffer> {
  const image = await decodeImage(bytes, imageLimits(config));
  return annotateImage(
    image,
    result.faces.map((f) => ({
      box: f.box,
      label: f.label,
      distance: f.distance ?? undefined,
      known: f.outcome === 'match',
      landmarks: f.landmarks,
    })),
    { format },
  );
}

/** The photo with every face found boxed (and its landmarks, on request); no database. */
export async function drawDetections(
  ctx: { analyzer: Analyzer; config: Config },
  bytes: Uint8Array,
  options: Omit<DetectOptions, 'includeLandmarks'> & { landmarks?: boolean; format?: AnnotateFormat } = {},
): Promise<{ image: Buffer; faces: number }> {
  const { landmarks, format = 'jpeg', ...detectOptions } = options;
  const detection = await detect(ctx, bytes, { ...detectOptions, includeLandmarks: landmarks });
  const image = await annotateImage(
    await decodeImage(bytes, imageLimits(ctx.config)),
    detection.faces.map((f) => ({ box: f.box, landmarks: f.landmarks })),
    { format },
  );
  return { image, faces: detection.faces.length };
}
