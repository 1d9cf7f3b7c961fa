/**
 * The detectors' post-processing for runtimes other than tfjs: face-api's own code (src/ssdMobilenetv1/
 * nonMaxSuppression.ts and SsdMobilenetv1.locateFaces; src/tinyYolov2/TinyYolov2Base.extractBoxes and
 * src/ops/nonMaxSuppression.ts) ported to plain arrays, so that both runtimes keep the same faces.
 */
import type { Box } from '../core/face.js';

/** A detection in the pixels of the detector's square input. */
export interface Detection {
  box: Box;
  score: number;
}

// face-api's fixed suppression thresholds per detector.
const SSD_IOU = 0.5;
const TINY_IOU = 0.4;

/** IoU of two [ymin, xmin, ymax, xmax] boxes as face-api's SSD suppression computes it. */
function cornerIou(b: Float32Array, i: number, j: number): number {
  const yminI = Math.min(b[i * 4]!, b[i * 4 + 2]!),
    xminI = Math.min(b[i * 4 + 1]!, b[i * 4 + 3]!);
  const ymaxI = Math.max(b[i * 4]!, b[i * 4 + 2]!),
    xmaxI = Math.max(b[i * 4 + 1]!, b[i * 4 + 3]!);
  const yminJ = Math.min(b[j * 4]!, b[j * 4 + 2]!),
    xminJ = Math.min(b[j * 4 + 1]!, b[j * 4 + 3]!);
  const ymaxJ = Math.max(b[j * 4]!, b[j * 4 + 2]!),
    xmaxJ = Math.max(b[j * 4 + 1]!, b[j * 4 + 3]!);
  const areaI = (ymaxI - yminI) * (xmaxI - xminI);
  const areaJ = (ymaxJ - yminJ) * (xmaxJ - xminJ);
  if (areaI <= 0 || areaJ <= 0) return 0;
  const inter = Math.max(Math.min(ymaxI, ymaxJ) - Math.max(yminI, yminJ), 0) * Math.max(Math.min(xmaxI, xmaxJ) - Math.max(xminI, xminJ), 0);
  return inter / (areaI + areaJ - inter);
}

/** face-api's decodeBoxesLayer for one anchor: the encoding's centre and size offsets, scaled by 10 and 5. */
function decodeBox(encodings: Float32Array, anchors: Float32Array, i: number, out: Float32Array, at: number): void {
  const f = Math.fround;
  for (const k of [0, 1]) {
    const size = f(anchors[i * 4 + k + 2]! - anchors[i * 4 + k]!);
    const centre = f(anchors[i * 4 + k]! + f(size / 2));
    const half = f(f(f(Math.exp(f(encodings[i * 4 + k + 2]! / 5))) * size) / 2);
    const middle = f(f(f(encodings[i * 4 + k]! / 10) * size) + centre);
    out[at * 4 + k] = f(middle - half);
    out[at * 4 + k + 2] = f(middle + half);
  }
}

/**
 * SSD's answer for one square input of `size`: `encodings` [anchors × 4] and `scores` [anchors] against face-api's
 * `anchors` ([ymin, xmin, ymax, xmax], relative). The boxes scoring above `minScore` are decoded, then suppressed
 * greedily; at most `maxResults`, in input pixels.
 */
export function ssdDetections(
  encodings: Float32Array,
  scores: Float32Array,
  anchors: Float32Array,
  minScore: number,
  maxResults: number,
  size: number,
): Detection[] {
  const outputSize = Math.min(maxResults, scores.length);
  const candidates: { score: number; index: number }[] = [];
  for (let i = 0; i < scores.length; i++) if (scores[i]! > minScore) candidates.push({ score: scores[i]!, index: i });
  candidates.sort((a, b) => b.score - a.score);
  const boxes = new Float32Array(candidates.length * 4);
  candidates.forEach((c, k) => decodeBox(encodings, anchors, c.index, boxes, k));
  const selected: number[] = [];
  for (let k = 0; k < candidates.length; k++) {
    if (selected.length >= outputSize) break;
    const score = candidates[k]!.score;
    let kept = true;
    for (let j = selected.length - 1; j >= 0; --j) {
      const iou = cornerIou(boxes, k, selected[j]!);
      if (iou === 0) continue;
      // face-api zeroes the score of a box that overlaps a kept one too much; a zeroed box is never kept.
      if (iou > SSD_IOU || score <= minScore) {
        kept = false;
        break;
      }
    }
    if (kept) selected.push(k);
  }
  return selected.map((k) => {
    const top = Math.max(0, boxes[k * 4]!),
      bottom = Math.min(1, boxes[k * 4 + 2]!);
    const left = Math.max(0, boxes[k * 4 + 1]!),
      right = Math.min(1, boxes[k * 4 + 3]!);
    return { box: [left * size, top * size, (right - left) * size, (bottom - top) * size], score: candidates[k]!.score };
  });
}

// The tiny face detector's anchors (face-api src/tinyFaceDetector/const.ts), in grid cells.
const TINY_ANCHORS: ReadonlyArray<readonly [number, number]> = [
  [1.603231, 2.094468],
  [6.041143, 7.080126],
  [2.882459, 3.518061],
  [4.266906, 5.178857],
  [9.041765, 10.66308],
];

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** The tiny detector's grid for one image ([cells × cells × anchors × 5], NHWC) decoded and suppressed. */
export function tinyDetections(grid: Float32Array, cells: number, minScore: number, size: number): Detection[] {
  // face-api's TinyYolov2Options replace a zero threshold by its default.
  const threshold = minScore || 0.5;
  const found: { x: number; y: number; w: number; h: number; score: number }[] = [];
  const anchors = TINY_ANCHORS.length;
  for (let row = 0; row < cells; row++) {
    for (let col = 0; col < cells; col++) {
      for (let a = 0; a < anchors; a++) {
        const o = ((row * cells + col) * anchors + a) * 5;
        const score = sigmoid(grid[o + 4]!);
        if (!(score > threshold)) continue;
        const cx = (col + sigmoid(grid[o]!)) / cells,
          cy = (row + sigmoid(grid[o + 1]!)) / cells;
        const w = (Math.exp(grid[o + 2]!) * TINY_ANCHORS[a]![0]) / cells,
          h = (Math.exp(grid[o + 3]!) * TINY_ANCHORS[a]![1]) / cells;
        found.push({ x: cx - w / 2, y: cy - h / 2, w, h, score });
      }
    }
  }
  // face-api's generic suppression, on the boxes in input pixels, strongest first.
  const px = found.map((f) => ({ left: f.x * size, top: f.y * size, right: (f.x + f.w) * size, bottom: (f.y + f.h) * size }));
  const area = (b: (typeof px)[number]) => (b.right - b.left) * (b.bottom - b.top);
  let order = found
    .map((f, i) => ({ score: f.score, i }))
    .sort((a, b) => a.score - b.score)
    .map((c) => c.i);
  const pick: number[] = [];
  while (order.length > 0) {
    const curr = order.pop()!;
    pick.push(curr);
    const a = px[curr]!;
    order = order.filter((j) => {
      const b = px[j]!;
      const inter =
        Math.max(0, Math.min(a.right, b.right) - Math.max(a.left, b.left)) *
        Math.max(0, Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top));
      return inter / (area(a) + area(b) - inter) <= TINY_IOU;
    });
  }
  return pick.map((i) => {
    const f = found[i]!;
    return { box: [f.x * size, f.y * size, f.w * size, f.h * size], score: f.score };
  });
}
