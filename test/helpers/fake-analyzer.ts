/**
 * A deterministic stand-in for the face engine, for service tests without models (test/medium).
 *
 * A fake photo is a real PNG (made with sharp) whose first pixels carry a small JSON spec: the faces it shows, each
 * with an identity and its quality (size, score, sharpness, yaw, roll). The analyzer decodes the bytes with the real
 * decoder (so non-images are UNSUPPORTED_IMAGE and the byte and pixel limits hold as in the engine), reads the spec
 * back from the pixels and answers as the engine would: faces largest first, boxes, 68 landmarks that give the
 * spec's yaw and roll, quality, 128-d descriptors and thumbnails. A decodable image without a spec shows no face.
 *
 * Descriptors are a seeded function of the spec, and so of the bytes: each identity has a centre at norm 0.7 in a
 * random direction (two identities are ~1.0 apart), and each face lies `drift` away from its identity's centre in a
 * direction seeded by the photo's `take` (two default photos of one person are ~0.3 apart; drift 0 is the centre).
 */
import { createHash } from 'node:crypto';
import sharp from 'sharp';
import { EXPRESSIONS, type AttributeName, type Expression, type FaceAttributes, type Gender } from '../../src/core/face.js';
import type { Point } from '../../src/engine/align.js';
import type { Analysis, AnalyzeOptions, Box, Face } from '../../src/engine/face-engine.js';
import { REPLACEMENT_CAUSES, type ReplacementCause } from '../../src/engine/pool.js';
import { FacerecError, type ErrorCode } from '../../src/errors.js';
import { decodeImage, DEFAULT_IMAGE_LIMITS, type ImageLimits, type RgbImage } from '../../src/image/decode.js';
import type { Analyzer, AnalyzerStatus } from '../../src/service/context.js';
import { fakeRegistry } from './models.js';
import { rng } from './random.js';

export const DESCRIPTOR_DIMENSIONS = 128;
/** Norm of an identity's centre: two random centres of this norm in 128-d lie ~0.99 apart (sd ~0.06). */
export const IDENTITY_NORM = 0.7;
/** A face's default distance from its identity's centre: two default photos of one person lie ~0.3 apart. */
export const DEFAULT_DRIFT = 0.21;
export const FAKE_DESCRIPTOR_MODEL_ID = 'fake-seeded-128';

/** One face in a fake photo. */
export interface FakeFace {
  /** Who it is: faces of one identity have descriptors around one centre. */
  identity: string;
  /** Distance of the descriptor from the identity's centre (default DEFAULT_DRIFT; 0: exactly the centre). */
  drift?: number;
  /** Shorter side of the box, px (default 120; enrollment's gate is 40). */
  size?: number;
  /** Detector score (default 0.99); under the analyze call's minScore the face is not found at all. */
  score?: number;
  /** Laplacian variance of the chip (default 250; enrollment's gate is 10). */
  sharpness?: number;
  /** Head turn, degrees (default 0; enrollment's gate is ±45). */
  yaw?: number;
  /** Tilt of the eye line, degrees (default 0; enrollment's gate is ±45). */
  roll?: number;
  /** How wide a face the landmarks outline over the box width (default 1.2; enrollment's gate is 0.8). */
  landmarkSpan?: number;
  /** What the attribute nets would say, when asked (default: 35 years, male at 0.9, neutral at 0.8). */
  age?: number;
  gender?: Gender;
  expression?: Expression;
}

export interface FakePhotoSpec {
  faces?: FakeFace[];
  /**
   * Tells photos of the same faces apart: other bytes, other descriptor noise. Default: a new take per photo made, so
   * every call of fakePhoto gives a new photo; give the same take to make the same bytes again.
   */
  take?: number | string;
  /** Pixel size; default large enough for the faces (at least 320×240). */
  width?: number;
  height?: number;
  /** analyze() fails with a FacerecError of this code instead (a full queue, a crashed worker, an unhealthy engine). */
  error?: ErrorCode;
}

interface EncodedSpec {
  faces: Array<Required<FakeFace>>;
  take: number | string;
  error?: ErrorCode;
}

const MAGIC = [0x46, 0x52, 0x46, 0x31]; // "FRF1"
const HEADER = MAGIC.length + 2; // magic, then the JSON's length (uint16, big-endian)
const MARGIN = 10;
const BACKGROUND = 0x6e;
const DEFAULTS: Omit<Required<FakeFace>, 'identity'> = {
  drift: DEFAULT_DRIFT,
  size: 120,
  score: 0.99,
  sharpness: 250,
  yaw: 0,
  roll: 0,
  landmarkSpan: 1.2,
  age: 35,
  gender: 'male',
  expression: 'neutral',
};

/** The attributes asked for, as the engine answers them (only those named), from the fake face's spec. */
function fakeAttributes(face: Required<FakeFace>, asked: readonly AttributeName[]): FaceAttributes {
  const attributes: FaceAttributes = {};
  if (asked.includes('age')) attributes.age = face.age;
  if (asked.includes('gender')) attributes.gender = { label: face.gender, probability: 0.9 };
  if (asked.includes('expression')) {
    const probabilities = Object.fromEntries(EXPRESSIONS.map((e) => [e, e === face.expression ? 0.8 : 0.2 / 6])) as Record<
      Expression,
      number
    >;
    attributes.expression = { label: face.expression, probability: 0.8, probabilities };
  }
  return attributes;
}

let takes = 0;

/** Boxes of the faces, in spec order: side by side on one row. */
function layout(faces: ReadonlyArray<Required<FakeFace>>): Box[] {
  let x = MARGIN;
  return faces.map((f) => {
    const box: Box = [x, MARGIN, f.size, Math.round(f.size * 1.2)];
    x += f.size + MARGIN;
    return box;
  });
}

/** A PNG showing `spec`'s faces, as the fake analyzer reads them. */
export async function fakePhoto(spec: FakePhotoSpec = {}): Promise<Uint8Array> {
  const encoded: EncodedSpec = {
    faces: (spec.faces ?? []).map((f) => ({ ...DEFAULTS, ...f })),
    take: spec.take ?? `auto-${++takes}`,
    ...(spec.error ? { error: spec.error } : {}),
  };
  const json = Buffer.from(JSON.stringify(encoded), 'utf8');
  if (json.length > 0xffff) throw new Error('fake photo spec too long');
  const boxes = layout(encoded.faces);
  const needWidth = boxes.reduce((w, [x, , bw]) => Math.max(w, x + bw + MARGIN), 0);
  const needHeight = boxes.reduce((h, [, y, , bh]) => Math.max(h, y + bh + MARGIN), 0);
  const width = spec.width ?? Math.max(320, needWidth);
  const height = spec.height ?? Math.max(240, needHeight);
  const payload = Buffer.concat([Buffer.from(MAGIC), Buffer.from([json.length >> 8, json.length & 0xff]), json]);
  if (payload.length > width * height * 3) throw new Error(`a ${width}×${height} fake photo cannot hold its ${payload.length}-byte spec`);
  const pixels = Buffer.alloc(width * height * 3, BACKGROUND);
  payload.copy(pixels);
  // Lossless RGB: the decoder gives back exactly these bytes.
  return new Uint8Array(
    await sharp(pixels, { raw: { width, height, channels: 3 } })
      .png({ palette: false })
      .toBuffer(),
  );
}

/** A photo of one person (one face); `face` overrides its quality or drift. */
export const portrait = (
  identity: string,
  face: Omit<FakeFace, 'identity'> = {},
  photo: Omit<FakePhotoSpec, 'faces'> = {},
): Promise<Uint8Array> => fakePhoto({ ...photo, faces: [{ identity, ...face }] });

/** A photo of several people, in the order given (sizes decreasing unless said otherwise, so the first is largest). */
export const groupPhoto = (faces: ReadonlyArray<string | FakeFace>, photo: Omit<FakePhotoSpec, 'faces'> = {}): Promise<Uint8Array> =>
  fakePhoto({ ...photo, faces: faces.map((f, i) => (typeof f === 'string' ? { identity: f, size: 140 - 10 * i } : f)) });

/** A real image without any face (the fake analyzer's photo of cars). */
export const faceless = (photo: Omit<FakePhotoSpec, 'faces'> = {}): Promise<Uint8Array> => fakePhoto(photo);

/** Bytes that are no image at all: the real decoder says UNSUPPORTED_IMAGE. */
export const notAnImage = (text = 'these bytes are not a photo'): Uint8Array => new Uint8Array(Buffer.from(text, 'utf8'));

// --- descriptors ----------------------------------------------------------------------------------------------------

function seedOf(text: string): number {
  return createHash('sha256').update(text).digest().readUInt32LE(0);
}

/** A vector of `norm` in a direction drawn from `seed` (uniform on the sphere: normalised Gaussians). */
function seededVector(seed: string, norm: number): number[] {
  const random = rng(seedOf(seed));
  const v: number[] = [];
  while (v.length < DESCRIPTOR_DIMENSIONS) {
    // Box-Muller: two Gaussians per pair of uniforms.
    const r = Math.sqrt(-2 * Math.log(1 - random())),
      t = 2 * Math.PI * random();
    v.push(r * Math.cos(t), r * Math.sin(t));
  }
  const length = Math.hypot(...v);
  return v.map((x) => (x / length) * norm);
}

/** The centre of an identity's descriptors. */
export const identityCentre = (identity: string): number[] => seededVector(`identity:${identity}`, IDENTITY_NORM);

/** The descriptor of the `index`-th face of a photo of `take`. */
export function fakeDescriptor(face: Pick<FakeFace, 'identity' | 'drift'>, take: number | string = 0, index = 0): number[] {
  const centre = identityCentre(face.identity);
  const drift = face.drift ?? DEFAULT_DRIFT;
  if (drift === 0) return centre;
  const noise = seededVector(`noise:${face.identity}:${String(take)}:${index}`, drift);
  return centre.map((c, k) => c + noise[k]!);
}

// --- landmarks ------------------------------------------------------------------------------------------------------

// 68 iBUG points of a frontal face in a unit box (x right, y down): jaw 0-16, brows 17-26, nose 27-35, eyes 36-47, mouth 48-67.
const TEMPLATE: Point[] = [
  ...Array.from({ length: 17 }, (_, i): Point => {
    const a = Math.PI * (i / 16);
    return [0.5 - 0.45 * Math.cos(a), 0.35 + 0.6 * Math.sin(a)];
  }),
  ...Array.from({ length: 10 }, (_, i): Point => [0.15 + (i < 5 ? i : i + 1) * 0.065, 0.28]),
  ...[0.34, 0.42, 0.5, 0.58].map((y): Point => [0.5, y]),
  ...[0.42, 0.46, 0.5, 0.54, 0.58].map((x): Point => [x, 0.62]),
  ...eye(0.3),
  ...eye(0.7),
  ...Array.from({ length: 12 }, (_, i): Point => [0.5 - 0.16 * Math.cos((Math.PI * i) / 6), 0.78 + 0.06 * Math.sin((Math.PI * i) / 6)]),
  ...Array.from({ length: 8 }, (_, i): Point => [0.5 - 0.1 * Math.cos((Math.PI * i) / 4), 0.78 + 0.03 * Math.sin((Math.PI * i) / 4)]),
];

function eye(cx: number): Point[] {
  return Array.from({ length: 6 }, (_, i): Point => [cx - 0.08 * Math.cos((Math.PI * i) / 3), 0.4 + 0.03 * Math.sin((Math.PI * i) / 3)]);
}

const NOSE = new Set([27, 28, 29, 30, 31, 32, 33, 34, 35]);

/** Landmarks in `box` from which the engine's headPose reads back `yaw` and `roll`. */
function landmarksOf([x, y, w, h]: Box, yaw: number, roll: number): Point[] {
  // headPose: yaw = asin(nose offset from the jaw's middle / half the jaw's width); the jaw ends are 0.9 wide.
  const shift = Math.sin((Math.max(-90, Math.min(90, yaw)) * Math.PI) / 180) * 0.45;
  const cos = Math.cos((roll * Math.PI) / 180),
    sin = Math.sin((roll * Math.PI) / 180);
  const cx = x + w / 2,
    cy = y + h / 2;
  return TEMPLATE.map(([u, v], i): Point => {
    const dx = (u + (NOSE.has(i) ? shift : 0)) * w + x - cx,
      dy = v * h + y - cy;
    return [round(cx + cos * dx - sin * dy, 1), round(cy + sin * dx + cos * dy, 1)];
  });
}

const round = (v: number, digits: number): number => Math.round(v * 10 ** digits) / 10 ** digits;

// --- the analyzer ---------------------------------------------------------------------------------------------------

/** What one analyze() call was asked. */
export interface AnalyzeCall {
  sha256: string;
  options: AnalyzeOptions;
}

export interface FakeAnalyzer extends Analyzer {
  /** Every analyze() call, in order. */
  readonly calls: AnalyzeCall[];
}

export interface FakeAnalyzerOptions {
  /** The configured descriptor model: what analyze describes with unless told (default FAKE_DESCRIPTOR_MODEL_ID). */
  descriptorModelId?: string;
  /** More models it can describe with (by id); another model's descriptors lie elsewhere in the space. */
  otherModels?: string[];
  /** Upload limits, as the engine is given them (default the engine's). */
  limits?: ImageLimits;
}

/** A descriptor as another model would give it: the primary fake model's as is, any other's with seeded sign flips. */
function inSpaceOf(modelId: string, descriptor: number[]): number[] {
  if (modelId === FAKE_DESCRIPTOR_MODEL_ID) return descriptor;
  const signs = seededVector(`model:${modelId}`, 1);
  return descriptor.map((v, k) => (signs[k]! < 0 ? -v : v));
}

/** The spec a decoded fake photo carries in its first pixels, or undefined for any other image. */
function readSpec(image: RgbImage): EncodedSpec | undefined {
  const { data } = image;
  if (data.length < HEADER || MAGIC.some((b, i) => data[i] !== b)) return undefined;
  const length = (data[4]! << 8) | data[5]!;
  if (HEADER + length > data.length) return undefined;
  return JSON.parse(Buffer.from(data.subarray(HEADER, HEADER + length)).toString('utf8')) as EncodedSpec;
}

// The identity each thumbnail shows, by its hash: analysing a stored thumbnail again (re-embedding) finds that face,
// at its identity's centre, as the engine finds the face of a stored chip.
const thumbnails = new Map<string, string>();

function thumbnailOf(identity: string): Promise<Uint8Array> {
  const seed = seedOf(identity);
  const background = { r: seed & 0xff, g: (seed >> 8) & 0xff, b: (seed >> 16) & 0xff };
  return sharp({ create: { width: 32, height: 32, channels: 3, background } })
    .jpeg()
    .toBuffer()
    .then((b) => {
      thumbnails.set(createHash('sha256').update(b).digest('hex'), identity);
      return new Uint8Array(b);
    });
}

function thumbnailSpec(bytes: Uint8Array): EncodedSpec | undefined {
  const identity = thumbnails.get(createHash('sha256').update(bytes).digest('hex'));
  return identity ? { faces: [{ ...DEFAULTS, identity, drift: 0, size: 24 }], take: 'thumbnail' } : undefined;
}

/** A stored chip, as the engine reads one: always one face, no detection; one the fake did not make shows a stranger. */
function storedChipSpec(bytes: Uint8Array): EncodedSpec {
  const sha = createHash('sha256').update(bytes).digest('hex');
  return thumbnailSpec(bytes) ?? { faces: [{ ...DEFAULTS, identity: `chip:${sha}`, drift: 0, size: 24 }], take: 'thumbnail' };
}

/** An Analyzer whose faces and descriptors come from fake photos (fakePhoto), on the calling thread. */
export function fakeAnalyzer(options: FakeAnalyzerOptions = {}): FakeAnalyzer {
  const limits = options.limits ?? DEFAULT_IMAGE_LIMITS;
  const calls: AnalyzeCall[] = [];
  let closed = false;
  const descriptorModelId = options.descriptorModelId ?? FAKE_DESCRIPTOR_MODEL_ID;
  const models = fakeRegistry(descriptorModelId, ...(options.otherModels ?? []));
  return {
    calls,
    descriptorModelId,
    models,
    async analyze(bytes, analyzeOptions = {}): Promise<Analysis> {
      calls.push({ sha256: createHash('sha256').update(bytes).digest('hex'), options: { ...analyzeOptions } });
      if (closed) throw new FacerecError('POOL_CLOSED', 'The engine pool is closed');
      const image = await decodeImage(bytes, limits);
      const spec = analyzeOptions.storedChip ? storedChipSpec(bytes) : (readSpec(image) ?? thumbnailSpec(bytes) ?? { faces: [], take: 0 });
      if (spec.error) throw new FacerecError(spec.error, `fake analyzer: ${spec.error} on cue`);
      const minScore = analyzeOptions.minScore ?? 0.5;
      const modelId = models.get(analyzeOptions.model ?? descriptorModelId).id;
      const withDescriptors = analyzeOptions.descriptors ?? true;
      const boxes = layout(spec.faces);
      let found = spec.faces.map((face, index) => ({ face, index, box: boxes[index]! })).filter(({ face }) => face.score >= minScore);
      // The engine lists faces largest first (stable for equal sizes).
      found.sort((a, b) => b.box[2] * b.box[3] - a.box[2] * a.box[3]);
      if (analyzeOptions.maxFaces !== undefined) found = found.slice(0, analyzeOptions.maxFaces);
      const faces = await Promise.all(
        found.map(async ({ face, index, box }): Promise<Face> => {
          const out: Face = {
            box,
            score: round(face.score, 4),
            landmarks: landmarksOf(box, face.yaw, face.roll),
            quality: {
              size: Math.min(box[2], box[3]),
              score: round(face.score, 4),
              sharpness: round(face.sharpness, 1),
              yaw: round(face.yaw, 1),
              roll: round(face.roll, 1),
              landmarkSpan: round(face.landmarkSpan, 2),
            },
          };
          // Each model its own space: the same face, rotated by a model-seeded sign flip per dimension.
          if (withDescriptors) out.descriptor = inSpaceOf(modelId, fakeDescriptor(face, spec.take, index));
          if (analyzeOptions.thumbnails) out.thumbnail = await thumbnailOf(face.identity);
          if (analyzeOptions.attributes?.length) out.attributes = fakeAttributes(face, analyzeOptions.attributes);
          return out;
        }),
      );
      // No clock: answers are reproducible.
      return {
        width: image.width,
        height: image.height,
        faces,
        timings: { decode: 0, detect: 0, landmarks: 0, describe: 0 },
        ...(withDescriptors ? { descriptorModelId: modelId } : {}),
      };
    },
    status: (): AnalyzerStatus => ({
      workers: 0,
      healthy: closed ? 0 : 1,
      queueDepth: 0,
      closed,
      selfTestAgeMs: null,
      replacements: Object.fromEntries(REPLACEMENT_CAUSES.map((c) => [c, 0])) as Record<ReplacementCause, number>,
      startFailures: 0,
    }),
    close: async () => {
      closed = true;
    },
  };
}
