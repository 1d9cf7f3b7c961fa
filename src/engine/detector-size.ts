/**
 * SSD's input sized to the region it searches. face-api's SSD always sees a 512² square, so a 250 px photo is
 * upsampled twice for nothing; its graph takes any multiple of 32, so a small region gets a smaller square (a quarter
 * of the work at 256²). The rule and its sizes were chosen by measurement (docs/performance.md, Detector input).
 */
import { SSD_INPUT } from './nets.js';

/** The sizes a region can get, smallest first: multiples of 32 up to face-api's 512. */
export const SSD_SIDES = [256, 320, 384, 448, 512] as const;

/**
 * The SSD input side for a region whose long side is `longSide` photo pixels: the smallest of SSD_SIDES that holds the
 * region at `upscale` times its size or more, so that small faces keep the pixels they need; 512 past that.
 */
export function ssdInputSide(longSide: number, upscale = SSD_UPSCALE): number {
  return SSD_SIDES.find((side) => side >= longSide * upscale) ?? SSD_INPUT;
}

// A region is seen at least this much larger than it is (measured: docs/performance.md).
export const SSD_UPSCALE = 1;

// face-api's SSD: six feature maps, the first at stride 16, each next one half the size ('same' padding rounds up).
function featureMaps(side: number): number[] {
  const maps = [Math.ceil(side / 16), Math.ceil(side / 32)];
  while (maps.length < 6) maps.push(Math.ceil(maps.at(-1)! / 2));
  return maps;
}

const cache = new Map<number, Float32Array>();

/**
 * face-api's anchors ([ymin, xmin, ymax, xmax] relative to the 512² input, as SSD's graph hands them over) for another
 * input side: the same grid formula (centres at (i + 0.5) / cells of each feature map) and the same sizes in pixels,
 * since a feature map's cells see faces of a size in pixels whatever the input's side. 512 gets the anchors unchanged.
 */
export function anchorsFor(side: number, anchors512: Float32Array): Float32Array {
  if (side === SSD_INPUT) return anchors512;
  let anchors = cache.get(side);
  if (!anchors) cache.set(side, (anchors = gridAnchors(side, anchors512)));
  return anchors;
}

/** The anchors of `side` by the grid formula (at 512 it gives face-api's own to about 1e-4: they are stored quantised). */
export function gridAnchors(side: number, anchors512: Float32Array): Float32Array {
  const maps512 = featureMaps(SSD_INPUT);
  const maps = featureMaps(side);
  const scale = SSD_INPUT / side;
  const out: number[] = [];
  let at = 0;
  for (let k = 0; k < maps512.length; k++) {
    const cells512 = maps512[k]!;
    const perCell = anchorsPerCell(k);
    // Each anchor's size at this map, read from its first cell.
    const sizes: [number, number][] = [];
    for (let a = 0; a < perCell; a++) {
      const o = (at + a) * 4;
      sizes.push([(anchors512[o + 2]! - anchors512[o]!) * scale, (anchors512[o + 3]! - anchors512[o + 1]!) * scale]);
    }
    const cells = maps[k]!;
    for (let i = 0; i < cells; i++)
      for (let j = 0; j < cells; j++)
        for (const [h, w] of sizes) {
          const cy = (i + 0.5) / cells,
            cx = (j + 0.5) / cells;
          out.push(cy - h / 2, cx - w / 2, cy + h / 2, cx + w / 2);
        }
    at += cells512 * cells512 * perCell;
  }
  return Float32Array.from(out);
}

// face-api's SSD: 3 anchors per cell on the first feature map, 6 on the others.
const anchorsPerCell = (map: number) => (map === 0 ? 3 : 6);
