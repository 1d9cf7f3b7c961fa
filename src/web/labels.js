/**
 * Where the labels of the faces in a photo go: each near its face, inside the photo, and never over another label.
 * Pure functions of rectangles (no DOM), so that they are tested on their own (test/unit/web/labels.test.ts).
 */

/**
 * @typedef {{ x: number, y: number, w: number, h: number }} Rect
 * @typedef {{ w: number, h: number }} Size
 */

/**
 * The order in which to number faces: left to right by the centre of their box, then top to bottom.
 * @param {number[][]} boxes [x, y, w, h]
 */
export function readingOrder(boxes) {
  const centre = (/** @type {number[]} */ b) => [(b[0] ?? 0) + (b[2] ?? 0) / 2, (b[1] ?? 0) + (b[3] ?? 0) / 2];
  return boxes
    .map((box, index) => ({ index, c: centre(box) }))
    .sort((a, b) => (a.c[0] ?? 0) - (b.c[0] ?? 0) || (a.c[1] ?? 0) - (b.c[1] ?? 0))
    .map((f) => f.index);
}

/** @param {Rect} a @param {Rect} b */
const overlap = (a, b) =>
  Math.max(0, Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x)) * Math.max(0, Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y));

/** @param {number} v @param {number} lo @param {number} hi */
const clamp = (v, lo, hi) => Math.min(Math.max(v, lo), Math.max(lo, hi));

/**
 * A position for each label (its top-left corner, in the frame's coordinates). Each label prefers the spot just
 * above its face, left-aligned with it, then just below it, then inside its top or bottom edge, then beside it; when
 * none of those is free, the free spot nearest to the one above its face. A spot is free when the label lies wholly
 * in the frame and overlaps no label placed before it; spots that would cover another face count as a last resort.
 * Labels are placed in the order given; a label that cannot fit anywhere (the frame is too small for it) goes to its
 * first choice, clamped into the frame.
 * @param {Rect[]} faces the faces' boxes in the frame
 * @param {Size[]} sizes each face's label size
 * @param {Size} frame
 * @param {{ gap?: number }} [options] space between a face's edge and its label
 * @returns {Array<{ x: number, y: number }>}
 */
export function placeLabels(faces, sizes, frame, { gap = 3 } = {}) {
  /** @type {Rect[]} */
  const placed = [];
  // Grid steps for the fallback search: fine enough to find gaps a label fits in, coarse enough to stay fast.
  const step = Math.max(2, Math.round(Math.min(frame.w, frame.h) / 120));
  return faces.map((face, i) => {
    const size = sizes[i] ?? { w: 0, h: 0 };
    const left = clamp(face.x, 0, frame.w - size.w);
    /** @type {Array<{ x: number, y: number }>} */
    const preferred = [
      { x: left, y: face.y - size.h - gap },
      { x: left, y: face.y + face.h + gap },
      { x: clamp(face.x + gap, 0, frame.w - size.w), y: face.y + gap },
      { x: clamp(face.x + gap, 0, frame.w - size.w), y: face.y + face.h - size.h - gap },
      { x: face.x - size.w - gap, y: clamp(face.y, 0, frame.h - size.h) },
      { x: face.x + face.w + gap, y: clamp(face.y, 0, frame.h - size.h) },
    ];
    const fits = (/** @type {{ x: number, y: number }} */ p) => {
      const r = { x: p.x, y: p.y, w: size.w, h: size.h };
      return r.x >= 0 && r.y >= 0 && r.x + r.w <= frame.w + 0.5 && r.y + r.h <= frame.h + 0.5 && placed.every((q) => overlap(r, q) === 0);
    };
    const coversFace = (/** @type {{ x: number, y: number }} */ p) =>
      faces.some((other, j) => j !== i && overlap({ x: p.x, y: p.y, w: size.w, h: size.h }, other) > 0);

    let best = preferred.find((p) => fits(p) && !coversFace(p));
    if (!best) {
      // The free spot nearest to the first choice, one that covers no other face if there is one.
      const target = { x: left, y: clamp(face.y - size.h - gap, 0, frame.h - size.h) };
      let bestScore = Infinity;
      for (let y = 0; y + size.h <= frame.h + 0.5; y += step) {
        for (let x = 0; x + size.w <= frame.w + 0.5; x += step) {
          const p = { x, y };
          if (!fits(p)) continue;
          const score = Math.hypot(x - target.x, y - target.y) + (coversFace(p) ? 1e6 : 0);
          if (score < bestScore) [best, bestScore] = [p, score];
        }
      }
      best ??= preferred.find(fits) ?? { x: left, y: clamp(face.y - size.h - gap, 0, frame.h - size.h) };
    }
    placed.push({ x: best.x, y: best.y, w: size.w, h: size.h });
    return best;
  });
}
