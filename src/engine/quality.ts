import type { Point } from './align.js';

/**
 * Per-face quality measures, used to gate enrollment.
 * - size: the shorter side of the detection box, in image pixels.
 * - score: the detector's confidence, 0..1.
 * - sharpness: variance of the Laplacian of the grey 150×150 aligned chip; below ~30 is visibly blurred,
 *   sharp photos give hundreds.
 * - yaw: rough head turn in degrees from the landmarks, 0 frontal, ±90 profile (sign: + = subject's left).
 * - roll: in-plane tilt of the eye line in degrees, 0 upright.
 */
export type { FaceQuality } from '../core/face.js';

/** Variance of the 4-neighbour Laplacian of an RGB chip's luma. */
export function laplacianVariance(chip: Float32Array, size: number): number {
  const grey = new Float32Array(size * size);
  for (let i = 0; i < size * size; i++) grey[i] = 0.299 * chip[i * 3]! + 0.587 * chip[i * 3 + 1]! + 0.114 * chip[i * 3 + 2]!;
  let sum = 0,
    sumSq = 0,
    n = 0;
  for (let y = 1; y < size - 1; y++) {
    for (let x = 1; x < size - 1; x++) {
      const i = y * size + x;
      const lap = grey[i - 1]! + grey[i + 1]! + grey[i - size]! + grey[i + size]! - 4 * grey[i]!;
      sum += lap;
      sumSq += lap * lap;
      n++;
    }
  }
  const mean = sum / n;
  return sumSq / n - mean * mean;
}

function centroid(points: readonly Point[], from: number, to: number): Point {
  let x = 0,
    y = 0;
  for (let i = from; i <= to; i++) {
    x += points[i]![0];
    y += points[i]![1];
  }
  const n = to - from + 1;
  return [x / n, y / n];
}

/** Rough yaw and roll in degrees from 68 landmarks (iBUG order). */
export function headPose(landmarks: readonly Point[]): { yaw: number; roll: number } {
  const leftEye = centroid(landmarks, 36, 41); // image left
  const rightEye = centroid(landmarks, 42, 47);
  const roll = (Math.atan2(rightEye[1] - leftEye[1], rightEye[0] - leftEye[0]) * 180) / Math.PI;
  // Undo roll, then compare the nose tip's horizontal offset with the half-width between the jaw ends.
  const c = Math.cos((-roll * Math.PI) / 180),
    s = Math.sin((-roll * Math.PI) / 180);
  const rx = (p: Point) => c * p[0] - s * p[1];
  const jawLeft = rx(landmarks[0]!),
    jawRight = rx(landmarks[16]!),
    nose = rx(landmarks[30]!);
  const half = (jawRight - jawLeft) / 2;
  const offset = half > 0 ? (nose - (jawLeft + jawRight) / 2) / half : 0;
  const yaw = (Math.asin(Math.max(-1, Math.min(1, offset))) * 180) / Math.PI;
  return { yaw: Math.round(yaw * 10) / 10, roll: Math.round(roll * 10) / 10 };
}
