import { describe, it, expect } from 'vitest';
import {
  applySimilarity,
  chipToImage,
  extractChip,
  invertSimilarity,
  similarityTransform,
  templatePoint,
  type Point,
  type RgbImage,
  type Similarity,
} from '../../../src/engine/align.js';
import { rng } from '../../helpers/random.js';

function variance(values: ArrayLike<number>): number {
  let sum = 0,
    sumSq = 0;
  for (let i = 0; i < values.length; i++) {
    sum += values[i]!;
    sumSq += values[i]! ** 2;
  }
  return sumSq / values.length - (sum / values.length) ** 2;
}

function similarity(degrees: number, scale: number, tx: number, ty: number): Similarity {
  const r = (degrees * Math.PI) / 180;
  return { a: scale * Math.cos(r), b: scale * Math.sin(r), tx, ty };
}

function expectSimilarity(actual: Similarity, expected: Similarity, tolerance: number): void {
  expect(Math.abs(actual.a - expected.a)).toBeLessThan(tolerance);
  expect(Math.abs(actual.b - expected.b)).toBeLessThan(tolerance);
  expect(Math.abs(actual.tx - expected.tx)).toBeLessThan(tolerance);
  expect(Math.abs(actual.ty - expected.ty)).toBeLessThan(tolerance);
}

function sumSquaredResiduals(t: Similarity, from: readonly Point[], to: readonly Point[]): number {
  return from.reduce((s, p, i) => {
    const [x, y] = applySimilarity(t, p);
    return s + (x - to[i]![0]) ** 2 + (y - to[i]![1]) ** 2;
  }, 0);
}

const KNOWN = similarity(23, 1.7, 40, -12);

describe('similarityTransform', () => {
  const random = rng(42);
  const from: Point[] = Array.from({ length: 10 }, () => [random() * 200, random() * 200]);

  it('recovers a known rotation, scale and translation exactly from noiseless points', () => {
    const to = from.map((p) => applySimilarity(KNOWN, p));
    expectSimilarity(similarityTransform(from, to), KNOWN, 1e-9);
  });

  it('stays close to the true transform under small symmetric noise and is the least-squares optimum', () => {
    const noise = rng(7);
    // Uniform noise in [-0.5, 0.5] px: zero-mean, so the estimate should stay near the truth.
    const to = from.map((p): Point => {
      const [x, y] = applySimilarity(KNOWN, p);
      return [x + noise() - 0.5, y + noise() - 0.5];
    });
    const fit = similarityTransform(from, to);
    expect(Math.hypot(fit.a, fit.b)).toBeCloseTo(1.7, 2);
    expect((Math.atan2(fit.b, fit.a) * 180) / Math.PI).toBeCloseTo(23, 1);
    expect(Math.abs(fit.tx - 40)).toBeLessThan(1);
    expect(Math.abs(fit.ty + 12)).toBeLessThan(1);
    // Least squares: no nearby transform (including the true one) fits the noisy points better.
    const best = sumSquaredResiduals(fit, from, to);
    expect(best).toBeLessThanOrEqual(sumSquaredResiduals(KNOWN, from, to));
    for (const [da, db, dtx, dty] of [
      [1e-3, 0, 0, 0],
      [0, 1e-3, 0, 0],
      [0, 0, 0.05, 0],
      [0, 0, 0, -0.05],
    ] as const) {
      const nudged = { a: fit.a + da, b: fit.b + db, tx: fit.tx + dtx, ty: fit.ty + dty };
      expect(sumSquaredResiduals(nudged, from, to)).toBeGreaterThan(best);
    }
  });

  it('rejects too few, mismatched or coincident points', () => {
    expect(() => similarityTransform([[0, 0]], [[1, 1]])).toThrow();
    expect(() => similarityTransform(from, from.slice(1))).toThrow();
    expect(() =>
      similarityTransform(
        [
          [3, 3],
          [3, 3],
        ],
        [
          [0, 0],
          [1, 1],
        ],
      ),
    ).toThrow();
  });
});

describe('invertSimilarity', () => {
  it('undoes the transform on arbitrary points, in both orders', () => {
    const inverse = invertSimilarity(KNOWN);
    for (const p of [
      [0, 0],
      [10, -3],
      [123.5, 77.25],
      [-40, 500],
    ] as Point[]) {
      const back = applySimilarity(inverse, applySimilarity(KNOWN, p));
      expect(back[0]).toBeCloseTo(p[0], 9);
      expect(back[1]).toBeCloseTo(p[1], 9);
      const forth = applySimilarity(KNOWN, applySimilarity(inverse, p));
      expect(forth[0]).toBeCloseTo(p[0], 9);
      expect(forth[1]).toBeCloseTo(p[1], 9);
    }
  });
});

describe('chipToImage', () => {
  const truth = similarity(15, 2, 120, 45);

  // Face landmarks 17..67 are the template pushed through `t`; the jaw (0..16) is arbitrary.
  function landmarksThrough(t: Similarity): Point[] {
    return Array.from({ length: 68 }, (_, i): Point => (i < 17 ? [i * 7, 300 - i * 3] : applySimilarity(t, templatePoint(i))));
  }

  it('returns the similarity that maps the dlib template onto the landmarks', () => {
    expectSimilarity(chipToImage(landmarksThrough(truth)), truth, 1e-6);
  });

  it('ignores the jaw, the eyebrows and the lower lip, as dlib does', () => {
    const landmarks = landmarksThrough(truth);
    // Those points move with expression; shifting them must not change the alignment.
    for (const i of [0, 8, 16, 17, 21, 26, 55, 57, 59, 65, 67]) landmarks[i] = [landmarks[i]![0] + 25, landmarks[i]![1] - 30];
    expectSimilarity(chipToImage(landmarks), truth, 1e-6);
  });

  it('rejects a landmark count other than 68', () => {
    expect(() => chipToImage(landmarksThrough(truth).slice(0, 67))).toThrow(/68/);
  });
});

describe('extractChip', () => {
  const W = 256;
  const H = 256;
  const BLUE = 100;
  // Red = x and green = y: a pixel's colour says where it was sampled from.
  const gradient: RgbImage = (() => {
    const data = new Uint8Array(W * H * 3);
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) data.set([x, y, BLUE], (y * W + x) * 3);
    }
    return { width: W, height: H, data };
  })();
  const SIZE = 50;
  const at = (chip: Float32Array, u: number, v: number): number[] => Array.from(chip.slice((v * SIZE + u) * 3, (v * SIZE + u) * 3 + 3));

  it('with a pure translation, chip pixel (u,v) is the image pixel (u+tx, v+ty)', () => {
    const chip = extractChip(gradient, { a: 1, b: 0, tx: 40, ty: 30 }, SIZE);
    expect(chip).toHaveLength(SIZE * SIZE * 3);
    for (const [u, v] of [
      [0, 0],
      [7, 3],
      [49, 49],
      [25, 10],
    ] as const)
      expect(at(chip, u, v)).toEqual([u + 40, v + 30, BLUE]);
  });

  it('interpolates bilinearly between pixels at fractional positions', () => {
    const chip = extractChip(gradient, { a: 1, b: 0, tx: 40.5, ty: 30.25 }, SIZE);
    const [r, g, b] = at(chip, 5, 6);
    expect(r).toBeCloseTo(45.5, 4);
    expect(g).toBeCloseTo(36.25, 4);
    expect(b).toBeCloseTo(BLUE, 4);
  });

  it('mirror=true flips the chip horizontally', () => {
    const t = { a: 1, b: 0, tx: 40, ty: 30 };
    const plain = extractChip(gradient, t, SIZE);
    const mirrored = extractChip(gradient, t, SIZE, true);
    for (const [u, v] of [
      [0, 0],
      [7, 3],
      [49, 20],
    ] as const)
      expect(at(mirrored, SIZE - 1 - u, v)).toEqual(at(plain, u, v));
    expect(at(mirrored, 0, 0)).toEqual([40 + SIZE - 1, 30, BLUE]);
  });

  it('samples outside the image as black', () => {
    // tx = -10: chip columns 0..9 fall left of the image; ty = 230: rows 26.. fall below it.
    const chip = extractChip(gradient, { a: 1, b: 0, tx: -10, ty: 230 }, SIZE);
    expect(at(chip, 0, 0)).toEqual([0, 0, 0]);
    expect(at(chip, 9, 5)).toEqual([0, 0, 0]);
    expect(at(chip, 20, 26)).toEqual([0, 0, 0]);
    expect(at(chip, 10, 5)).toEqual([0, 235, BLUE]);
    expect(at(chip, 20, 25)).toEqual([10, 255, BLUE]);
  });

  it('when downsampling (scale 3) averages samples: values stay finite, in range and centred', () => {
    const chip = extractChip(gradient, { a: 3, b: 0, tx: 10, ty: 12 }, SIZE);
    // The 3×3 samples are symmetric around 3u+tx on a linear ramp, so their mean is exact.
    expect(at(chip, 4, 5)[0]).toBeCloseTo(3 * 4 + 10, 4);
    expect(at(chip, 4, 5)[1]).toBeCloseTo(3 * 5 + 12, 4);
    const random = rng(3);
    const N = 128;
    const noise: RgbImage = { width: N, height: N, data: Uint8Array.from({ length: N * N * 3 }, () => Math.floor(random() * 256)) };
    const rotated = extractChip(noise, { a: 3 * Math.cos(0.3), b: 3 * Math.sin(0.3), tx: 5, ty: -20 }, 30);
    expect(rotated.every((x) => Number.isFinite(x) && x >= 0 && x <= 255)).toBe(true);
    // Fully inside the image, each chip pixel averages 9 distinct noise pixels: variance drops ~9x (no aliasing).
    const averaged = extractChip(noise, { a: 3, b: 0, tx: 5, ty: 5 }, 30);
    expect(variance(averaged)).toBeLessThan(variance(noise.data) / 4);
    expect(variance(averaged)).toBeGreaterThan(0);
  });
});
