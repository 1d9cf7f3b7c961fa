import type { RgbImage } from '../image/decode.js';

/** A rectangle of the source image in whole pixels; the parts outside the image read as black. */
export interface Region {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * What face-api's `NetInput.toBatchTensor(size, center)` makes of a region of the photo: the region padded with
 * zeros to a square (at the right and bottom, or on both sides when `center`), then resized to size×size by tfjs's
 * `resizeBilinear` (no corner alignment, no half-pixel centres). It is computed here from the decoded pixels, so
 * that no tensor larger than the net's own input exists, whatever the photo's resolution: a net that sees 512×512
 * is never handed a 24-megapixel tensor to shrink.
 */
export function squareInput(image: RgbImage, region: Region, size: number, center: boolean): Float32Array {
  const { width: w, height: h } = region;
  const side = Math.max(w, h);
  // face-api's padToSquare: the larger half of the padding goes after the image.
  const diff = Math.abs(w - h);
  const before = center ? diff - Math.round(diff * 0.5) : 0;
  const offsetX = region.x - (w < h ? before : 0);
  const offsetY = region.y - (h < w ? before : 0);
  // In float32, as tfjs's kernels compute it: the source positions then agree to the last bit that matters.
  const scale = Math.fround(side / size);
  // Per output column: the two source columns (-1 outside the padded region or the image) and the weight between.
  const x0 = new Int32Array(size),
    x1 = new Int32Array(size),
    fx = new Float32Array(size);
  for (let u = 0; u < size; u++) {
    const src = Math.fround(u * scale);
    const lo = Math.floor(src);
    fx[u] = src - lo;
    x0[u] = column(lo, offsetX, region, image.width);
    x1[u] = column(Math.min(side - 1, Math.ceil(src)), offsetX, region, image.width);
  }
  const out = new Float32Array(size * size * 3);
  const { data } = image;
  for (let v = 0; v < size; v++) {
    const src = Math.fround(v * scale);
    const lo = Math.floor(src);
    const fy = src - lo;
    const r0 = row(lo, offsetY, region, image.height, image.width);
    const r1 = row(Math.min(side - 1, Math.ceil(src)), offsetY, region, image.height, image.width);
    let o = v * size * 3;
    if (r0 < 0 && r1 < 0) continue; // a row of padding: zeros
    for (let u = 0; u < size; u++, o += 3) {
      const a = x0[u]!,
        b = x1[u]!,
        f = fx[u]!;
      if (a < 0 && b < 0) continue;
      // Four neighbours per channel; padding and pixels off the image read as zero.
      const ta = r0 >= 0 && a >= 0 ? r0 + a : -1,
        tb = r0 >= 0 && b >= 0 ? r0 + b : -1;
      const ba = r1 >= 0 && a >= 0 ? r1 + a : -1,
        bb = r1 >= 0 && b >= 0 ? r1 + b : -1;
      for (let c = 0; c < 3; c++) {
        const tl = ta >= 0 ? data[ta + c]! : 0,
          tr = tb >= 0 ? data[tb + c]! : 0;
        const bl = ba >= 0 ? data[ba + c]! : 0,
          br = bb >= 0 ? data[bb + c]! : 0;
        const top = tl + (tr - tl) * f,
          bottom = bl + (br - bl) * f;
        out[o + c] = top + (bottom - top) * fy;
      }
    }
  }
  return out;
}

/** Byte offset of a square column's pixel within a row, or -1 where the square holds padding or lies off the image. */
function column(squareX: number, offsetX: number, region: Region, imageWidth: number): number {
  const x = offsetX + squareX;
  return x < region.x || x >= region.x + region.width || x < 0 || x >= imageWidth ? -1 : x * 3;
}

/** Byte offset of a square row's first pixel, or -1 where the square holds padding or lies off the image. */
function row(squareY: number, offsetY: number, region: Region, imageHeight: number, imageWidth: number): number {
  const y = offsetY + squareY;
  return y < region.y || y >= region.y + region.height || y < 0 || y >= imageHeight ? -1 : y * imageWidth * 3;
}

/** The scale from a net's size×size input back to the region's pixels (the padded square's side over size). */
export function inputScale(region: Region, size: number): number {
  return Math.max(region.width, region.height) / size;
}
