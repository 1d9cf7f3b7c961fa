/** The web UI's label placement (src/web/labels.js): inside the photo, never over another label, near its face. */
import { describe, expect, it } from 'vitest';
import { rng } from '../../helpers/random.js';

interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}
interface Size {
  w: number;
  h: number;
}
interface Labels {
  placeLabels(faces: Rect[], sizes: Size[], frame: Size, options?: { gap?: number }): Array<{ x: number; y: number }>;
  readingOrder(boxes: number[][]): number[];
}
// A browser module in plain JS (type-checked by tsconfig.web.json), loaded as it is.
const { placeLabels, readingOrder } = (await import(`${'../../../src/web/labels.js'}`)) as Labels;

const overlaps = (a: Rect, b: Rect) => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
const rects = (positions: Array<{ x: number; y: number }>, sizes: Size[]): Rect[] => positions.map((p, i) => ({ ...p, ...sizes[i]! }));

function expectClear(labels: Rect[], frame: Size): void {
  for (const [i, a] of labels.entries()) {
    expect(a.x, `label ${i} left`).toBeGreaterThanOrEqual(0);
    expect(a.y, `label ${i} top`).toBeGreaterThanOrEqual(0);
    expect(a.x + a.w, `label ${i} right`).toBeLessThanOrEqual(frame.w + 0.5);
    expect(a.y + a.h, `label ${i} bottom`).toBeLessThanOrEqual(frame.h + 0.5);
    for (const [j, b] of labels.entries()) if (j > i) expect(overlaps(a, b), `labels ${i} and ${j} overlap`).toBe(false);
  }
}

describe('placeLabels', () => {
  it('puts a label just above its face, left-aligned, when there is room', () => {
    const [p] = placeLabels([{ x: 100, y: 80, w: 60, h: 70 }], [{ w: 90, h: 20 }], { w: 400, h: 300 });
    expect(p).toEqual({ x: 100, y: 57 });
  });

  it('goes below a face at the top edge, and is pulled inside at the right edge', () => {
    const frame = { w: 400, h: 300 };
    const [top, right] = placeLabels(
      [
        { x: 10, y: 5, w: 60, h: 70 },
        { x: 360, y: 150, w: 40, h: 50 },
      ],
      [
        { w: 80, h: 20 },
        { w: 80, h: 20 },
      ],
      frame,
    );
    expect(top).toEqual({ x: 10, y: 78 });
    expect(right).toEqual({ x: 320, y: 127 });
  });

  it('moves the label of a face next to another out of its way', () => {
    // Two faces side by side: the first label is wide enough to cover the space above the second.
    const faces = [
      { x: 50, y: 100, w: 50, h: 60 },
      { x: 105, y: 100, w: 50, h: 60 },
    ];
    const sizes = [
      { w: 120, h: 20 },
      { w: 120, h: 20 },
    ];
    const frame = { w: 400, h: 300 };
    const placed = placeLabels(faces, sizes, frame);
    expect(placed[0]).toEqual({ x: 50, y: 77 });
    expectClear(rects(placed, sizes), frame);
    // The second goes below its face, its next choice.
    expect(placed[1]).toEqual({ x: 105, y: 163 });
  });

  it('keeps every label inside the frame and apart, for crowds of random faces on a phone-sized photo', () => {
    const random = rng(7);
    for (let trial = 0; trial < 50; trial++) {
      const frame = { w: 358, h: 200 + Math.floor(random() * 200) };
      const n = 2 + Math.floor(random() * 9);
      const faces = Array.from({ length: n }, () => {
        const w = 20 + random() * 40;
        return { x: random() * (frame.w - w), y: random() * (frame.h - w * 1.2), w, h: w * 1.2 };
      });
      // Number badges, as a phone shows them.
      const sizes = faces.map(() => ({ w: 22, h: 20 }));
      expectClear(rects(placeLabels(faces, sizes, frame), sizes), frame);
    }
  });

  it('keeps long name labels apart on a desktop-sized group photo', () => {
    const random = rng(11);
    for (let trial = 0; trial < 30; trial++) {
      const frame = { w: 760, h: 500 };
      const faces = Array.from({ length: 6 }, (_, i) => ({ x: 40 + i * 115 + random() * 20, y: 60 + random() * 300, w: 70, h: 90 }));
      const sizes = faces.map(() => ({ w: 80 + random() * 80, h: 22 }));
      expectClear(rects(placeLabels(faces, sizes, frame), sizes), frame);
    }
  });

  it('never leaves the frame, even when a label is as wide as it', () => {
    const frame = { w: 100, h: 60 };
    const [p] = placeLabels([{ x: 30, y: 10, w: 40, h: 40 }], [{ w: 100, h: 20 }], frame);
    expect(p!.x).toBe(0);
    expectClear([{ ...p!, w: 100, h: 20 }], frame);
  });
});

describe('readingOrder', () => {
  it('numbers faces left to right by their centre, then top to bottom', () => {
    // Largest first, as the API lists them.
    const boxes = [
      [1147, 350, 173, 254],
      [761, 369, 174, 274],
      [1636, 1060, 151, 158],
      [761, 900, 174, 200],
    ];
    expect(readingOrder(boxes)).toEqual([1, 3, 0, 2]);
    expect(readingOrder([])).toEqual([]);
  });
});
