import { describe, expect, it } from 'vitest';
import type { Box, Point } from '../../../src/core/face.js';
import { templatePoint } from '../../../src/engine/align.js';
import { confirmThreshold, FACE_CHECK, firstVerdict, landmarkSpan } from '../../../src/engine/face-check.js';

// dlib's mean face on its 150 px chip (the jaw, 0-16, plays no part in the fit), moved and scaled into a photo.
const meanFace = (scale: number, dx: number, dy: number, shrink = 1): Point[] =>
  Array.from({ length: 68 }, (_, i): Point => {
    const [x, y] = i < 17 ? [75, 75] : templatePoint(i);
    return [dx + scale * (75 + (x - 75) * shrink), dy + scale * (75 + (y - 75) * shrink)];
  });

describe('landmarkSpan', () => {
  it('is the aligned chip side the landmarks call for, over the box width, whatever the scale and place', () => {
    // The chip's face spans about its middle two thirds: a box around it of 100 px per 150 px chip.
    expect(landmarkSpan(meanFace(1, 0, 0), [25, 25, 100, 100])).toBeCloseTo(1.5, 6);
    expect(landmarkSpan(meanFace(4, 1000, 300), [1100, 400, 400, 400])).toBeCloseTo(1.5, 6);
  });

  it('falls when the points collapse towards the middle of the box, as the landmark net does on a texture', () => {
    const box: Box = [25, 25, 100, 100];
    expect(landmarkSpan(meanFace(1, 0, 0, 0.3), box)).toBeCloseTo(0.45, 6);
    expect(landmarkSpan(meanFace(1, 0, 0, 0.3), box)).toBeLessThan(FACE_CHECK.minLandmarkSpan);
    expect(landmarkSpan(meanFace(1, 0, 0), box)).toBeGreaterThan(FACE_CHECK.minLandmarkSpan);
  });
});

describe('firstVerdict', () => {
  const t = { ...FACE_CHECK, confirm: true };
  // A 4000 px photo: the frame pass sees it at 512 px, 0.128 input px per photo px; 64 input px are 500 photo px.
  const scale = 512 / 4000;
  const small: Box = [100, 100, 200, 240];
  const large: Box = [100, 100, 400, 520];

  it('judges a candidate the frame pass saw by its score, and a doubtful one by a second look', () => {
    expect(firstVerdict({ box: large, score: 0.6 }, true, scale, 0.5, t)).toBe('face');
    expect(firstVerdict({ box: large, score: 0.4 }, true, scale, 0.5, t)).toBe('second look');
    expect(firstVerdict({ box: large, score: 0.4 }, true, scale, 0.5, { ...t, confirm: false })).toBe('not a face');
  });

  it('drops a candidate only a tile saw that the frame pass could not have missed, and asks a second look of the others', () => {
    expect(firstVerdict({ box: large, score: 0.95 }, false, scale, 0.5, t)).toBe('not a face');
    expect(firstVerdict({ box: small, score: 0.95 }, false, scale, 0.5, t)).toBe('second look');
    expect(firstVerdict({ box: small, score: 0.35 }, false, scale, 0.5, t)).toBe('second look');
  });

  it('keeps the rules of issue 15 with the levers off', () => {
    const off = { ...t, tileOnlyMaxFramePx: 0, confirmTileOnly: false };
    expect(firstVerdict({ box: large, score: 0.95 }, false, scale, 0.5, off)).toBe('face');
    expect(firstVerdict({ box: small, score: 0.35 }, false, scale, 0.5, off)).toBe('second look');
  });
});

describe('confirmThreshold', () => {
  it('is the minimum score for a candidate the frame pass saw, and rises with the passes for one only a tile saw', () => {
    const t = { ...FACE_CHECK, tileConfirmStep: 0.05 };
    expect(confirmThreshold(0.5, true, 10, t)).toBe(0.5);
    expect(confirmThreshold(0.5, false, 1, t)).toBe(0.5);
    expect(confirmThreshold(0.5, false, 4, t)).toBeCloseTo(0.6, 9);
    expect(confirmThreshold(0.5, false, 16, t)).toBeCloseTo(0.7, 9);
    expect(confirmThreshold(0.9, false, 1 << 20, t)).toBe(0.99);
  });
});
