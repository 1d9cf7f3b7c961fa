import { describe, it, expect } from 'vitest';
import { templatePoint, type Point } from '../../../src/engine/align.js';
import { headPose, laplacianVariance } from '../../../src/engine/quality.js';
import { rng } from '../../helpers/random.js';

const SIZE = 150;

/** An RGB chip whose three channels all hold `grey(x, y)`. */
function chip(grey: (x: number, y: number) => number): Float32Array {
  const out = new Float32Array(SIZE * SIZE * 3);
  for (let y = 0; y < SIZE; y++) {
    for (let x = 0; x < SIZE; x++) out.fill(grey(x, y), (y * SIZE + x) * 3, (y * SIZE + x) * 3 + 3);
  }
  return out;
}

function boxBlur(src: Float32Array): Float32Array {
  const out = new Float32Array(src.length);
  for (let y = 0; y < SIZE; y++) {
    for (let x = 0; x < SIZE; x++) {
      for (let c = 0; c < 3; c++) {
        let sum = 0,
          n = 0;
        for (let dy = -1; dy <= 1; dy++) {
          for (let dx = -1; dx <= 1; dx++) {
            const xx = x + dx,
              yy = y + dy;
            if (xx < 0 || yy < 0 || xx >= SIZE || yy >= SIZE) continue;
            sum += src[(yy * SIZE + xx) * 3 + c]!;
            n++;
          }
        }
        out[(y * SIZE + x) * 3 + c] = sum / n;
      }
    }
  }
  return out;
}

describe('laplacianVariance', () => {
  it('is 0 on a flat chip', () => {
    expect(
      laplacianVariance(
        chip(() => 128),
        SIZE,
      ),
    ).toBe(0);
  });

  it('scores a checkerboard far above a smooth gradient', () => {
    const checker = laplacianVariance(
      chip((x, y) => ((x + y) % 2 ? 255 : 0)),
      SIZE,
    );
    const gradient = laplacianVariance(
      chip((x) => (x * 255) / (SIZE - 1)),
      SIZE,
    );
    // A linear ramp has a zero Laplacian everywhere; the checkerboard has the largest possible one.
    expect(gradient).toBeLessThan(1e-3);
    expect(checker).toBeGreaterThan(1000);
  });

  it('scores a blurred copy of a noisy chip lower than the original', () => {
    const random = rng(11);
    const noisy = chip(() => random() * 255);
    const original = laplacianVariance(noisy, SIZE);
    const blurred = laplacianVariance(boxBlur(noisy), SIZE);
    expect(blurred).toBeGreaterThan(0);
    expect(blurred).toBeLessThan(original / 2);
  });

  it('weights the channels as luma, so a pattern in blue alone scores lower than in green alone', () => {
    const pattern = (channel: number) => {
      const c = new Float32Array(SIZE * SIZE * 3);
      for (let i = 0; i < SIZE * SIZE; i++) c[i * 3 + channel] = (i % SIZE) % 2 ? 255 : 0;
      return c;
    };
    expect(laplacianVariance(pattern(2), SIZE)).toBeLessThan(laplacianVariance(pattern(1), SIZE));
  });
});

describe('headPose', () => {
  // The dlib template is symmetric about its nose line (x = templatePoint(30)[0]), not about SIZE / 2.
  const centreX = templatePoint(30)[0];
  const halfWidth = 0.45 * SIZE;

  /** A frontal, left-right symmetric face: dlib's template plus a jaw symmetric about the nose line. */
  function frontalFace(): Point[] {
    return Array.from({ length: 68 }, (_, i): Point => {
      if (i >= 17) return templatePoint(i);
      const angle = Math.PI * (i / 16); // jaw from image left (0) under the chin (8) to image right (16)
      // Jaw ends at ear height, well above the nose tip, so an un-undone roll would skew yaw.
      return [centreX - halfWidth * Math.cos(angle), 0.3 * SIZE + 0.6 * SIZE * Math.sin(angle)];
    });
  }

  function rotate(points: readonly Point[], degrees: number): Point[] {
    const r = (degrees * Math.PI) / 180,
      c = Math.cos(r),
      s = Math.sin(r);
    const [cx, cy] = [SIZE / 2, SIZE / 2];
    return points.map(([x, y]): Point => [cx + c * (x - cx) - s * (y - cy), cy + s * (x - cx) + c * (y - cy)]);
  }

  it('gives yaw 0 and roll 0 for a frontal, symmetric face', () => {
    const { yaw, roll } = headPose(frontalFace());
    expect(Math.abs(yaw)).toBeLessThanOrEqual(0.1);
    expect(Math.abs(roll)).toBeLessThanOrEqual(0.1);
  });

  it('measures in-plane tilt as roll, positive when the image-right eye is lower, and leaves yaw at 0', () => {
    const tilted = rotate(frontalFace(), 20);
    // Image y grows downwards: a +20° rotation moves the image-right eye (42..47) down.
    expect(tilted[45]![1]).toBeGreaterThan(tilted[36]![1]);
    const pose = headPose(tilted);
    expect(pose.roll).toBeCloseTo(20, 1);
    expect(Math.abs(pose.yaw)).toBeLessThanOrEqual(0.1);
    expect(headPose(rotate(frontalFace(), -20)).roll).toBeCloseTo(-20, 1);
  });

  it('measures a nose tip moved towards one jaw end as a clear yaw, signed by the side', () => {
    const towardsRight = frontalFace();
    const towardsLeft = frontalFace();
    const nose = towardsRight[30]!;
    // 70% of the way from the face centre to a jaw end: sin(yaw) = 0.7, about 44°.
    towardsRight[30] = [nose[0] + 0.7 * halfWidth, nose[1]];
    towardsLeft[30] = [nose[0] - 0.7 * halfWidth, nose[1]];
    const right = headPose(towardsRight).yaw;
    const left = headPose(towardsLeft).yaw;
    expect(right).toBeGreaterThan(15);
    expect(right).toBeCloseTo((Math.asin(0.7) * 180) / Math.PI, 0);
    expect(left).toBeLessThan(-15);
    expect(left).toBeCloseTo(-right, 5);
  });

  it('keeps measuring yaw after undoing roll', () => {
    const face = frontalFace();
    face[30] = [face[30]![0] + 0.5 * halfWidth, face[30]![1]];
    // The same head turn photographed with a tilted camera reads the same yaw (asin 0.5 = 30°).
    const pose = headPose(rotate(face, 25));
    expect(pose.roll).toBeCloseTo(25, 1);
    expect(pose.yaw).toBeCloseTo(30, 0);
  });
});
