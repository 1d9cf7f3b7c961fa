import { describe, it, expect } from 'vitest';
import sharp from 'sharp';
import { renderRocPlot, CURVE_COLOURS, type RocCurve } from '../../../src/render/roc-plot.js';

const curve = (label: string, k: number): RocCurve => ({
  label,
  points: [0, 1e-4, 1e-3, 1e-2, 0.05, 0.1, 0.5, 1].map((far) => ({ far, tar: Math.min(1, 0.5 + k * Math.sqrt(far)) })),
});

describe('renderRocPlot', () => {
  it('renders a non-blank PNG of the requested size', async () => {
    const png = await renderRocPlot([curve('ssd', 2), curve('tiny', 1)], { title: 'ROC', width: 640, height: 480 });
    expect([...png.subarray(0, 4)]).toEqual([0x89, 0x50, 0x4e, 0x47]);
    const meta = await sharp(png).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', 640, 480]);

    const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const colours = new Set<number>();
    let nonWhite = 0;
    let firstCurve = 0;
    const [cr, cg, cb] = [1, 3, 5].map((i) => parseInt(CURVE_COLOURS[0]!.slice(i, i + 2), 16));
    for (let i = 0; i < data.length; i += 3) {
      const [r, g, b] = [data[i]!, data[i + 1]!, data[i + 2]!];
      colours.add((r << 16) | (g << 8) | b);
      if (r < 250 || g < 250 || b < 250) nonWhite++;
      if (Math.abs(r - cr!) < 20 && Math.abs(g - cg!) < 20 && Math.abs(b - cb!) < 20) firstCurve++;
    }
    expect(info.channels).toBe(3);
    expect(data[0]).toBe(255); // white background, not transparent/black
    expect(colours.size).toBeGreaterThan(20);
    expect(nonWhite).toBeGreaterThan(2000);
    expect(firstCurve).toBeGreaterThan(200);
  });

  it('uses a default size and copes with no curves', async () => {
    const meta = await sharp(await renderRocPlot([])).metadata();
    expect(meta.width).toBeGreaterThan(0);
    expect(meta.height).toBeGreaterThan(0);
  });
});
