import { decodeImage } from '../image/decode.js';
import type { Runtime } from '../engine/backend.js';
import type { Face, FaceEngine } from '../engine/face-engine.js';

/**
 * The subject's descriptor under each alignment variant of the engine's descriptor model: aligned as its card says
 * (`dlib`, the name kept from when that was the only model), with its mirror image, and for face-api's net its box crop.
 */
export interface DescriptorVariants {
  dlib: number[];
  dlibMirror: number[];
  box?: number[];
}

/** The LFW subject of one image under every pipeline that `facerec eval` compares. */
export interface SubjectDescriptors {
  width: number;
  height: number;
  /** Faces the shipped detector found. */
  faces: number;
  /** The descriptor model's name (absent in runs saved before there were several). */
  model?: string;
  /** The subject's descriptor under each alignment variant of the engine; null when no face was found. */
  engine: DescriptorVariants | null;
  /** The subject's box and 68 landmarks, so that saved runs can be re-aligned without detecting again. */
  subject: { box: Face['box']; landmarks: Face['landmarks'] } | null;
  /** Plain face-api usage: detectAllFaces(SSD, minConfidence 0.3).withFaceLandmarks().withFaceDescriptors(). */
  plain: number[] | null;
  /**
   * The subject described again from its stored thumbnail (the JPEG of its 150×150 chip that enrollment keeps), as
   * re-embedding does (`chip`: no detection) and as it did before (`detected`: the thumbnail searched as a photo);
   * null where that gives no face. Only with `viaThumbnail`.
   */
  thumbnail?: { chip: number[] | null; detected: number[] | null };
}

// face-api's documented example threshold for SsdMobilenetv1Options.
const PLAIN_MIN_SCORE = 0.3;

export function nearestCentre<T>(
  items: T[],
  box: (item: T) => [number, number, number, number],
  width: number,
  height: number,
): T | undefined {
  let best: T | undefined;
  let bestDistance = Infinity;
  for (const item of items) {
    const [x, y, w, h] = box(item);
    const d = Math.hypot(x + w / 2 - width / 2, y + h / 2 - height / 2);
    if (d < bestDistance) [best, bestDistance] = [item, d];
  }
  return best;
}

/** Plain face-api's descriptor of the face nearest the centre, or null when it finds none. */
async function plainDescriptor(plain: Runtime, image: Awaited<ReturnType<typeof decodeImage>>): Promise<number[] | null> {
  const { faceapi, tf } = plain;
  const tensor = tf.tensor3d(image.data, [image.height, image.width, 3], 'int32');
  let plainResults;
  try {
    const input = tensor as unknown as Parameters<typeof faceapi.detectAllFaces>[0];
    plainResults = await faceapi
      .detectAllFaces(input, new faceapi.SsdMobilenetv1Options({ minConfidence: PLAIN_MIN_SCORE }))
      .withFaceLandmarks()
      .withFaceDescriptors();
  } finally {
    tensor.dispose();
  }
  const plainSubject = nearestCentre(
    plainResults,
    (r) => [r.detection.box.x, r.detection.box.y, r.detection.box.width, r.detection.box.height],
    image.width,
    image.height,
  );
  return plainSubject ? Array.from(plainSubject.descriptor) : null;
}

/**
 * Runs plain face-api (on tfjs, `plain`) and the engine (on its own runtime) on one image, and the engine's
 * alignment variants on the face nearest the centre. Without `plain` (identification needs only the engine's
 * descriptors) the baseline is skipped and `plain` is null: about a third of the time.
 */
export async function subjectDescriptors(
  engine: FaceEngine,
  plain: Runtime | null,
  bytes: Uint8Array,
  viaThumbnail = false,
): Promise<SubjectDescriptors> {
  const image = await decodeImage(bytes, engine.imageLimits);
  const plainResult = plain ? await plainDescriptor(plain, image) : null;
  const analysis = await engine.analyze(image, { descriptors: false, thumbnails: viaThumbnail });
  const subject = nearestCentre(analysis.faces, (f) => f.box, image.width, image.height);
  let variants: DescriptorVariants | null = null;
  if (subject) {
    const landmarks = [subject.landmarks];
    const builtin = 'builtin' in engine.models.default.weights;
    const [[dlib], [dlibMirror], box] = await Promise.all([
      engine.describe(image, landmarks, 'dlib', false),
      engine.describe(image, landmarks, 'dlib', true),
      builtin ? engine.describe(image, landmarks, 'box', false) : Promise.resolve([]),
    ]);
    variants = { dlib: dlib!, dlibMirror: dlibMirror!, ...(box[0] ? { box: box[0] } : {}) };
  }
  return {
    width: image.width,
    height: image.height,
    faces: analysis.faces.length,
    model: engine.models.default.name,
    engine: variants,
    subject: subject ? { box: subject.box, landmarks: subject.landmarks } : null,
    plain: plainResult,
    ...(viaThumbnail ? { thumbnail: await fromThumbnail(engine, subject?.thumbnail) } : {}),
  };
}

/** The subject's descriptor from its stored thumbnail: as re-embedding describes it, and searched as a photo. */
async function fromThumbnail(engine: FaceEngine, thumbnail: Uint8Array | undefined): Promise<SubjectDescriptors['thumbnail']> {
  if (!thumbnail) return { chip: null, detected: null };
  const chip = await engine.analyzeBytes(thumbnail, { storedChip: true });
  const searched = await engine.analyzeBytes(thumbnail, { minScore: 0.3 });
  const found = nearestCentre(searched.faces, (f) => f.box, searched.width, searched.height);
  return { chip: chip.faces[0]?.descriptor ?? null, detected: found?.descriptor ?? null };
}
