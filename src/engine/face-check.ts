/**
 * Which of the detector's candidates are faces. Every extra look at a photo (a tile, a zoomed second look, a retry) is
 * one more chance for a texture to pass the detector's score, so one score threshold cannot hold the false-face rate
 * as the looks grow (issue 25). The evidence asked of a candidate grows with the looks that found it alone; each rule
 * was measured on annotated and face-free photos (docs/accuracy.md, False faces):
 * - one the whole-frame pass saw (plain face-api's one look) is judged by its score, as face-api judges it, and a
 *   doubtful one (under the minimum score) by a zoomed second look;
 * - one that only a tile saw is a small face or nothing: a box too large to have escaped the frame pass goes, and the
 *   rest must agree with a zoomed second look (at the minimum score: a threshold raised with the number of looks,
 *   tileConfirmStep, was measured and lost a real face, so it is off);
 * - every face's 68 landmarks must span its box as a face's do: on textures the landmark net's points collapse.
 */
import type { Box, Point } from '../core/face.js';
import { chipToImage, CHIP_SIZE } from './align.js';

export interface FaceCheckTuning {
  /** A face's landmark span (landmarkSpan) must be at least this; 0 turns the check off. */
  minLandmarkSpan: number;
  /**
   * A candidate only a tile saw goes when its box's long side would be this many pixels or more at the whole frame's
   * detector input: faces that large are seen by the frame pass. 0 turns the rule off.
   */
  tileOnlyMaxFramePx: number;
  /** A candidate only a tile saw needs the second look, whatever its score. */
  confirmTileOnly: boolean;
  /** The second look's zooms (its square, in multiples of the candidate's long side), tried in order until one agrees. */
  confirmZooms: number[];
  /**
   * The second look's score for a candidate only a tile saw, as an increase over the minimum score per doubling of the
   * photo's passes: the threshold corrected for the number of looks (confirmThreshold).
   */
  tileConfirmStep: number;
}

export const FACE_CHECK: Readonly<FaceCheckTuning> = Object.freeze({
  minLandmarkSpan: 0.7,
  tileOnlyMaxFramePx: 64,
  confirmTileOnly: true,
  confirmZooms: [2.5, 4],
  tileConfirmStep: 0,
});

/**
 * How wide a face the 68 landmarks describe, relative to the detection box: the side of dlib's aligned chip that they
 * call for (their similarity fit to dlib's mean face) over the box's width. Faces measured 0.74–1.85 (LFW View 1's
 * subjects) and 0.88–1.67 (the annotated sets); the landmark net's points collapse towards the middle of a texture's
 * box: 0.15–0.57.
 */
export function landmarkSpan(landmarks: readonly Point[], box: Box): number {
  const toImage = chipToImage(landmarks as Point[]);
  return (CHIP_SIZE * Math.hypot(toImage.a, toImage.b)) / box[2];
}

/** What a candidate needs before it is a face. */
export type FirstVerdict = 'face' | 'second look' | 'not a face';

/**
 * The first decision on a candidate of the frame and tile passes. `seenByFrame`: the whole-frame pass found it (or the
 * same box); `frameScale`: the frame pass's input pixels per photo pixel; `tiled`: the photo was also searched in tiles.
 */
export function firstVerdict(
  candidate: { box: Box; score: number },
  seenByFrame: boolean,
  frameScale: number,
  minScore: number,
  t: FaceCheckTuning & { confirm: boolean },
): FirstVerdict {
  if (!seenByFrame) {
    const framePx = Math.max(candidate.box[2], candidate.box[3]) * frameScale;
    if (t.tileOnlyMaxFramePx > 0 && framePx >= t.tileOnlyMaxFramePx) return 'not a face';
    if (t.confirmTileOnly) return t.confirm ? 'second look' : 'not a face';
  }
  if (candidate.score >= minScore) return 'face';
  return t.confirm ? 'second look' : 'not a face';
}

/**
 * The score a second look must reach: the minimum score for a candidate the frame pass saw; for one only a tile saw,
 * raised by `tileConfirmStep` per doubling of the photo's passes (capped below 1), as a multiple-comparisons correction.
 */
export function confirmThreshold(minScore: number, seenByFrame: boolean, passes: number, t: FaceCheckTuning): number {
  if (seenByFrame || t.tileConfirmStep <= 0) return minScore;
  return Math.min(0.99, minScore + t.tileConfirmStep * Math.log2(Math.max(1, passes)));
}
