import { describe, it, expect } from 'vitest';
import sharp from 'sharp';
import { renderDistancePlot, GENUINE_COLOUR, IMPOSTOR_COLOUR, THRESHOLD_COLOUR } from '../../../src/render/distance-plot.js';
import { rng } from '../../helpers/random.js';

const random = rng(3);
const around = (centre: number, n: number) => Array.from({ length: n }, () => centre + (random() + random() + random() - 1.5) * 0.15);

function rgb(hex: string): [number, number, number] {
  const n = parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

/** Columns holding at least `min` pixels close to `colour`. */
async function columnsWith(png: Buffer, colour: [number, number, number], min: number): Promise<number[]> {
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const columns: number[] = [];
  for (let x = 0; x < info.width; x++) {
    let n = 0;
    for (let y = 0; y < info.height; y++) {
      const i = (y * info.width + x) * 3;
      if (colour.every((c, k) => Math.abs(data[i + k]! - c) < 30)) n++;
    }
    if (n >= min) columns.push(x);
  }
  return columns;
}

describe('renderDistancePlot', () => {
  it('renders both histograms and the threshold line, left of the impostors and right of the genuine pairs', async () => {
    const png = await renderDistancePlot(
      { genuine: around(0.4, 300), impostor: around(0.85, 5000), threshold: 0.6 },
      { title: 'Distances', width: 640, height: 480 },
    );
    const meta = await sharp(png).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', 640, 480]);

    // Bar borders are drawn in the opaque colours; the dashed threshold line spans most of the plot height.
    const genuine = await columnsWith(png, rgb(GENUINE_COLOUR), 20);
    const impostor = await columnsWith(png, rgb(IMPOSTOR_COLOUR), 20);
    const threshold = await columnsWith(png, rgb(THRESHOLD_COLOUR), 150);
    expect(genuine.length).toBeGreaterThan(5);
    expect(impostor.length).toBeGreaterThan(5);
    expect(threshold.length).toBeGreaterThan(0);
    expect(Math.max(...genuine)).toBeLessThan(threshold[0]!);
    expect(Math.min(...impostor)).toBeGreaterThan(threshold.at(-1)!);
  });

  it('uses a default size and copes with empty distributions', async () => {
    const meta = await sharp(await renderDistancePlot({ genuine: [], impostor: [], threshold: 0.5 })).metadata();
    expect([meta.width, meta.height]).toEqual([800, 600]);
  });
});
