import { describe, expect, it } from 'vitest';
import { anchorsFor, gridAnchors, SSD_SIDES, ssdInputSide } from '../../../src/engine/detector-size.js';

/** face-api's 512² anchors as its graph hands them over: six maps, 3 anchors per cell on the first, 6 on the others. */
function faceApiAnchors(): Float32Array {
  const maps = [32, 16, 8, 4, 2, 1];
  const sizes: [number, number][][] = [
    [
      [0.1, 0.1],
      [0.1414, 0.2828],
      [0.2828, 0.1414],
    ],
    ...[0.35, 0.5, 0.65, 0.8, 0.95].map((s): [number, number][] => [
      [s, s],
      [s * 1.2, s * 1.2],
      [s * 0.7, s * 1.4],
      [s * 1.4, s * 0.7],
      [s * 0.58, s * 1.73],
      [s * 1.73, s * 0.58],
    ]),
  ];
  const out: number[] = [];
  maps.forEach((cells, k) => {
    for (let i = 0; i < cells; i++)
      for (let j = 0; j < cells; j++)
        for (const [h, w] of sizes[k]!) {
          const cy = (i + 0.5) / cells,
            cx = (j + 0.5) / cells;
          out.push(cy - h / 2, cx - w / 2, cy + h / 2, cx + w / 2);
        }
  });
  return Float32Array.from(out);
}

describe('SSD input sized to the region', () => {
  it('is the smallest side that holds the region, 512 beyond', () => {
    expect(ssdInputSide(80)).toBe(256);
    expect(ssdInputSide(250)).toBe(256);
    expect(ssdInputSide(256)).toBe(256);
    expect(ssdInputSide(257)).toBe(320);
    expect(ssdInputSide(400)).toBe(448);
    expect(ssdInputSide(500)).toBe(512);
    expect(ssdInputSide(1920)).toBe(512);
    expect(ssdInputSide(12_000)).toBe(512);
  });

  it('only ever gives multiples of 32 up to 512, which the graph takes', () => {
    for (let side = 1; side < 3000; side += 7) {
      const s = ssdInputSide(side);
      expect(SSD_SIDES).toContain(s);
      expect(s % 32).toBe(0);
    }
  });

  it("keeps face-api's own anchors at 512, and its grid formula gives them back", () => {
    const anchors = faceApiAnchors();
    expect(anchorsFor(512, anchors)).toBe(anchors);
    const again = gridAnchors(512, anchors);
    expect(again.length).toBe(anchors.length);
    expect(Math.max(...again.map((v, i) => Math.abs(v - anchors[i]!)))).toBeLessThan(1e-6);
  });

  it('scales the anchors to the same size in pixels, on the smaller grid', () => {
    const anchors = faceApiAnchors();
    const at256 = anchorsFor(256, anchors);
    // Maps of 16, 8, 4, 2, 1, 1 cells: a quarter of the anchors on the first five maps, the last one whole.
    expect(at256.length / 4).toBe(16 * 16 * 3 + (8 * 8 + 4 * 4 + 2 * 2 + 1 + 1) * 6);
    // The first anchor of the first map: 0.1 of 512 px is 0.2 of 256, centred on the first of 16 cells.
    const [y0, x0, y1, x1] = at256.slice(0, 4);
    expect(y1! - y0!).toBeCloseTo(0.2, 5);
    expect(x1! - x0!).toBeCloseTo(0.2, 5);
    expect((y0! + y1!) / 2).toBeCloseTo(0.5 / 16, 6);
    expect(anchorsFor(256, anchors)).toBe(at256);
    // 320: maps of 20, 10, 5, 3, 2, 1 cells ('same' padding rounds up).
    expect(anchorsFor(320, anchors).length / 4).toBe(20 * 20 * 3 + (10 * 10 + 5 * 5 + 3 * 3 + 2 * 2 + 1) * 6);
  });
});
