/** What a found face is, shared by the engine that finds it, the store that keeps it and the adapters that show it. */

/** [x, y, width, height] in the photo's pixels. */
export type Box = [x: number, y: number, width: number, height: number];

/** [x, y] in the photo's pixels. */
export type Point = [x: number, y: number];

/** Per face: its size (shorter box side, px), detector score, sharpness of the aligned chip, and head pose (degrees). */
export interface FaceQuality {
  size: number;
  score: number;
  sharpness: number;
  yaw: number;
  roll: number;
  /** How wide a face the landmarks outline, over the box's width (engine/face-check.ts); absent on faces enrolled before it. */
  landmarkSpan?: number;
}
