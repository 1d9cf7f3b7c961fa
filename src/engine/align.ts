/** Face alignment math: a least-squares similarity transform from 68 landmarks to dlib's canonical chip. */
import type { RgbImage } from '../image/decode.js';

import type { Point } from '../core/face.js';

export type { Point };

/** x' = a·x − b·y + tx, y' = b·x + a·y + ty: rotation, uniform scale and translation. */
export interface Similarity {
  a: number;
  b: number;
  tx: number;
  ty: number;
}

// dlib's mean face shape (image_transforms/interpolation.h) for landmarks 17..67, in a unit square.
const MEAN_FACE_X = [
  0.000213256, 0.0752622, 0.18113, 0.29077, 0.393397, 0.586856, 0.689483, 0.799124, 0.904991, 0.98004, 0.490127, 0.490127, 0.490127,
  0.490127, 0.36688, 0.426036, 0.490127, 0.554217, 0.613373, 0.121737, 0.187122, 0.265825, 0.334606, 0.260918, 0.182743, 0.645647, 0.714428,
  0.793132, 0.858516, 0.79751, 0.719335, 0.254149, 0.340985, 0.428858, 0.490127, 0.551395, 0.639268, 0.726104, 0.642159, 0.556721, 0.490127,
  0.423532, 0.338094, 0.290379, 0.428096, 0.490127, 0.552157, 0.689874, 0.553364, 0.490127, 0.42689,
];
const MEAN_FACE_Y = [
  0.106454, 0.038915, 0.0187482, 0.0344891, 0.0773906, 0.0773906, 0.0344891, 0.0187482, 0.038915, 0.106454, 0.203352, 0.307009, 0.409805,
  0.515625, 0.587326, 0.609345, 0.628106, 0.609345, 0.587326, 0.216423, 0.178758, 0.179852, 0.231733, 0.245099, 0.244077, 0.231733,
  0.179852, 0.178758, 0.216423, 0.244077, 0.245099, 0.780233, 0.745405, 0.727388, 0.742578, 0.727388, 0.745405, 0.780233, 0.864805,
  0.902192, 0.909281, 0.902192, 0.864805, 0.784792, 0.778746, 0.785343, 0.778746, 0.784792, 0.824182, 0.831803, 0.824182,
];

/** dlib's chip geometry for its ResNet: 150×150 with 0.25 padding (dlib.get_face_chip defaults). */
export const CHIP_SIZE = 150;
export const CHIP_PADDING = 0.25;

/**
 * Where the detector's box of a face falls in that face's own chip (150 px, padding 0.25), as fractions of the chip's
 * side: the median of 529 LFW faces' SSD boxes mapped into their chips (x 10.2, y −7.9, w 128.2, h 152.0 px; the
 * top reaches past the chip, as the forehead does). A stored chip is described again from the landmarks found in
 * this box, with no second detection, which misses 7% of 150 px chips (re-embedding, docs/models.md).
 */
export const CHIP_FACE_BOX: readonly [number, number, number, number] = [0.068, -0.053, 0.855, 1.013];

// Like dlib's get_face_chip_details: eyebrows (17-26) and the lower lip (55-59, 65-67) move too much to anchor on.
const ANCHORS = Array.from({ length: 51 }, (_, k) => k + 17).filter((i) => !(i <= 26 || (i >= 55 && i <= 59) || i >= 65));

/** Least-squares similarity transform taking `from[i]` onto `to[i]` (Umeyama, no reflection). */
export function similarityTransform(from: readonly Point[], to: readonly Point[]): Similarity {
  const n = from.length;
  if (n < 2 || n !== to.length) throw new Error('similarityTransform needs two or more matching point pairs');
  let mfx = 0,
    mfy = 0,
    mtx = 0,
    mty = 0;
  for (let i = 0; i < n; i++) {
    mfx += from[i]![0];
    mfy += from[i]![1];
    mtx += to[i]![0];
    mty += to[i]![1];
  }
  mfx /= n;
  mfy /= n;
  mtx /= n;
  mty /= n;
  let sxx = 0,
    sxy = 0,
    varFrom = 0;
  for (let i = 0; i < n; i++) {
    const fx = from[i]![0] - mfx,
      fy = from[i]![1] - mfy;
    const tx = to[i]![0] - mtx,
      ty = to[i]![1] - mty;
    sxx += fx * tx + fy * ty; // Σ f·t
    sxy += fx * ty - fy * tx; // Σ f×t
    varFrom += fx * fx + fy * fy;
  }
  if (varFrom === 0) throw new Error('similarityTransform: the source points coincide');
  const a = sxx / varFrom;
  const b = sxy / varFrom;
  return { a, b, tx: mtx - (a * mfx - b * mfy), ty: mty - (b * mfx + a * mfy) };
}

export function applySimilarity(t: Similarity, [x, y]: Point): Point {
  return [t.a * x - t.b * y + t.tx, t.b * x + t.a * y + t.ty];
}

export function invertSimilarity(t: Similarity): Similarity {
  const d = t.a * t.a + t.b * t.b;
  const a = t.a / d,
    b = -t.b / d;
  return { a, b, tx: -(a * t.tx - b * t.ty), ty: -(b * t.tx + a * t.ty) };
}

/** Template position of landmark i (17..67) in a chip of `size` pixels with `padding`, as dlib places it. */
export function templatePoint(i: number, size = CHIP_SIZE, padding = CHIP_PADDING): Point {
  return [((padding + MEAN_FACE_X[i - 17]!) / (2 * padding + 1)) * size, ((padding + MEAN_FACE_Y[i - 17]!) / (2 * padding + 1)) * size];
}

/** The transform from chip pixels to image pixels for 68 landmarks (dlib's get_face_chip_details). */
export function chipToImage(landmarks: readonly Point[], size = CHIP_SIZE, padding = CHIP_PADDING): Similarity {
  if (landmarks.length !== 68) throw new Error(`expected 68 landmarks, got ${landmarks.length}`);
  return similarityTransform(
    ANCHORS.map((i) => templatePoint(i, size, padding)),
    ANCHORS.map((i) => landmarks[i]!),
  );
}

export type { RgbImage };

/**
 * Samples a size×size RGB chip (float 0..255) through `toImage`. Bilinear; when the chip shrinks the face by
 * more than 1.5×, each chip pixel averages a k×k grid of samples so that large photos do not alias.
 */
export function extractChip(image: RgbImage, toImage: Similarity, size = CHIP_SIZE, mirror = false): Float32Array {
  const out = new Float32Array(size * size * 3);
  const scale = Math.hypot(toImage.a, toImage.b);
  const k = scale > 1.5 ? Math.min(8, Math.ceil(scale)) : 1;
  const { width, height, data } = image;
  const px = [0, 0, 0];
  for (let v = 0; v < size; v++) {
    for (let u = 0; u < size; u++) {
      let r = 0,
        g = 0,
        bl = 0;
      for (let sy = 0; sy < k; sy++) {
        for (let sx = 0; sx < k; sx++) {
          const cu = u + (sx + 0.5) / k - 0.5,
            cv = v + (sy + 0.5) / k - 0.5;
          const x = toImage.a * cu - toImage.b * cv + toImage.tx;
          const y = toImage.b * cu + toImage.a * cv + toImage.ty;
          sampleBilinear(data, width, height, x, y, px);
          r += px[0]!;
          g += px[1]!;
          bl += px[2]!;
        }
      }
      const o = (v * size + (mirror ? size - 1 - u : u)) * 3;
      const kk = k * k;
      out[o] = r / kk;
      out[o + 1] = g / kk;
      out[o + 2] = bl / kk;
    }
  }
  return out;
}

// Outside the image counts as black, as in dlib's extract_image_chip.
function sampleBilinear(data: Uint8Array, width: number, height: number, x: number, y: number, out: number[]): void {
  const x0 = Math.floor(x),
    y0 = Math.floor(y);
  const fx = x - x0,
    fy = y - y0;
  for (let c = 0; c < 3; c++) {
    const p00 = pixel(data, width, height, x0, y0, c),
      p10 = pixel(data, width, height, x0 + 1, y0, c);
    const p01 = pixel(data, width, height, x0, y0 + 1, c),
      p11 = pixel(data, width, height, x0 + 1, y0 + 1, c);
    out[c] = (p00 * (1 - fx) + p10 * fx) * (1 - fy) + (p01 * (1 - fx) + p11 * fx) * fy;
  }
}

function pixel(data: Uint8Array, width: number, height: number, x: number, y: number, c: number): number {
  return x < 0 || y < 0 || x >= width || y >= height ? 0 : data[(y * width + x) * 3 + c]!;
}

/**
 * The 5-point template of ArcFace-class nets (insightface's arcface_dst) at 112×112: left eye centre, right eye centre,
 * nose tip, left and right mouth corners, in the image's left-to-right order.
 */
export const ARCFACE_TEMPLATE: readonly Point[] = [
  [38.2946, 51.6963],
  [73.5318, 51.5014],
  [56.0252, 71.7366],
  [41.5493, 92.3655],
  [70.7299, 92.2041],
];

const centroid = (points: Point[]): Point => [
  points.reduce((s, p) => s + p[0], 0) / points.length,
  points.reduce((s, p) => s + p[1], 0) / points.length,
];

/** The five ArcFace points from 68 landmarks: each eye's six-point centroid, the nose tip (30), each mouth corner (48/60, 54/64). */
export function fivePoints(landmarks: readonly Point[]): Point[] {
  const l = (i: number) => landmarks[i]!;
  const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, k) => l(from + k));
  return [centroid(range(36, 41)), centroid(range(42, 47)), l(30), centroid([l(48), l(60)]), centroid([l(54), l(64)])];
}

/** The transform from an ArcFace-aligned chip of `size` pixels to image pixels (least squares on the five points). */
export function arcfaceToImage(landmarks: readonly Point[], size = 112): Similarity {
  if (landmarks.length !== 68) throw new Error(`expected 68 landmarks, got ${landmarks.length}`);
  const k = size / 112;
  return similarityTransform(
    ARCFACE_TEMPLATE.map(([x, y]): Point => [x * k, y * k]),
    fivePoints(landmarks),
  );
}
