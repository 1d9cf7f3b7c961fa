import { readFileSync } from 'node:fs';
import { describe, it, expect } from 'vitest';
import sharp from 'sharp';
import { crc32 } from 'node:zlib';
import { decodeImage, extraFrames, type DecodedImage } from '../../../src/image/decode.js';
import { dataset, describeWithDatasets } from '../../helpers/datasets.js';

const FORMATS = dataset('image-formats');
const read = (name: string): Uint8Array => readFileSync(`${FORMATS}/${name}`);
const NO_LIMITS = { maxBytes: Number.MAX_SAFE_INTEGER, maxPixels: Number.MAX_SAFE_INTEGER };

type Rgb = [number, number, number];

function px(image: DecodedImage, x: number, y: number): Rgb {
  const i = (y * image.width + x) * 3;
  return [image.data[i]!, image.data[i + 1]!, image.data[i + 2]!];
}

function meanAbsDiff(a: Uint8Array, b: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!);
  return sum / a.length;
}

/** Raw 8-bit pixels of `width`×`height` with `channels` bands, coloured by `colour(x, y)`. */
function raw(width: number, height: number, channels: 1 | 3 | 4, colour: (x: number, y: number) => number[]): Buffer {
  const data = Buffer.alloc(width * height * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) data.set(colour(x, y), (y * width + x) * channels);
  }
  return data;
}

// Probed once: some sharp builds ship without an AV1 encoder.
const avifSample = await sharp(
  raw(32, 16, 3, () => [200, 40, 40]),
  { raw: { width: 32, height: 16, channels: 3 } },
)
  .avif()
  .toBuffer()
  .catch((err: Error) => {
    console.warn(`skipping the AVIF decode test: this sharp cannot encode AVIF (${err.message})`);
    return undefined;
  });

describeWithDatasets('decodeImage on the image-formats dataset', () => {
  const valid = ['bmp', 'gif', 'ico', 'jpeg', 'png', 'tiff', 'webp'];

  it.each(valid)('decodes einstein.%s to 256x256 packed RGB', async (ext) => {
    const image = await decodeImage(read(`einstein.${ext}`));
    expect(image.width).toBe(256);
    expect(image.height).toBe(256);
    expect(image.data).toHaveLength(256 * 256 * 3);
  });

  it.each(valid)('einstein.%s shows the same picture as the PNG (not flipped, no channel swap)', async (ext) => {
    const reference = await decodeImage(read('einstein.png'));
    const image = await decodeImage(read(`einstein.${ext}`));
    // Lossy formats (JPEG, WebP, GIF's palette) differ by a few levels; an upside-down or BGR image by tens.
    expect(meanAbsDiff(image.data, reference.data)).toBeLessThan(6);
  });

  it.each(['corrupted.png', 'empty.png', 'truncated.jpg'])('rejects the broken file %s with UNSUPPORTED_IMAGE', async (name) => {
    await expect(decodeImage(read(name))).rejects.toMatchObject({ code: 'UNSUPPORTED_IMAGE' });
  });

  it('rejects a text file with UNSUPPORTED_IMAGE', async () => {
    await expect(decodeImage(read('LICENSE'))).rejects.toMatchObject({ code: 'UNSUPPORTED_IMAGE' });
  });

  it('rejects a file over the byte limit with IMAGE_TOO_LARGE, and accepts one exactly at it', async () => {
    const bytes = read('einstein.png');
    await expect(decodeImage(bytes, { maxBytes: bytes.length - 1, maxPixels: 1e9 })).rejects.toMatchObject({
      code: 'IMAGE_TOO_LARGE',
      details: { maxBytes: bytes.length - 1, bytes: bytes.length },
    });
    await expect(decodeImage(bytes, { maxBytes: bytes.length, maxPixels: 1e9 })).resolves.toMatchObject({ width: 256 });
  });

  it.each(['png', 'jpeg', 'bmp'])('rejects einstein.%s over the pixel limit with IMAGE_TOO_LARGE', async (ext) => {
    await expect(decodeImage(read(`einstein.${ext}`), { maxBytes: 1e9, maxPixels: 10_000 })).rejects.toMatchObject({
      code: 'IMAGE_TOO_LARGE',
      details: { maxPixels: 10_000 },
    });
  });

  // The icon's PNG entry goes back through sharp: its IMAGE_TOO_LARGE must not become UNSUPPORTED_IMAGE.
  it('rejects einstein.ico over the pixel limit with IMAGE_TOO_LARGE', async () => {
    await expect(decodeImage(read('einstein.ico'), { maxBytes: 1e9, maxPixels: 10_000 })).rejects.toMatchObject({
      code: 'IMAGE_TOO_LARGE',
      details: { maxPixels: 10_000 },
    });
  });

  it('accepts an image of exactly the pixel limit', async () => {
    await expect(decodeImage(read('einstein.png'), { maxBytes: 1e9, maxPixels: 256 * 256 })).resolves.toMatchObject({ height: 256 });
  });
});

it('rejects empty input and random bytes with UNSUPPORTED_IMAGE', async () => {
  await expect(decodeImage(new Uint8Array(0))).rejects.toMatchObject({ code: 'UNSUPPORTED_IMAGE' });
  // Fixed pseudo-random bytes (no image magic number at the start).
  const noise = Uint8Array.from({ length: 4096 }, (_, i) => (i * 2654435761) >>> 24);
  expect([noise[0], noise[1]]).not.toEqual([0x42, 0x4d]);
  await expect(decodeImage(noise)).rejects.toMatchObject({ code: 'UNSUPPORTED_IMAGE' });
});

/** A bottom-up BMP with a 40-byte BITMAPINFOHEADER, no compression (BI_RGB), every pixel `bytes` (B, G, R[, X]). */
function bmp(width: number, height: number, bytes: number[]): Buffer {
  const stride = Math.ceil((width * bytes.length) / 4) * 4;
  const file = Buffer.alloc(54 + stride * height);
  file.write('BM', 0, 'latin1');
  file.writeUInt32LE(file.length, 2);
  file.writeUInt32LE(54, 10);
  file.writeUInt32LE(40, 14);
  file.writeInt32LE(width, 18);
  file.writeInt32LE(height, 22);
  file.writeUInt16LE(1, 26);
  file.writeUInt16LE(bytes.length * 8, 28);
  file.writeUInt32LE(stride * height, 34);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) file.set(bytes, 54 + y * stride + x * bytes.length);
  }
  return file;
}

it('decodes a 24-bit BMP', async () => {
  const image = await decodeImage(bmp(5, 3, [10, 20, 200]), NO_LIMITS);
  expect([image.width, image.height]).toEqual([5, 3]);
  expect(px(image, 4, 2)).toEqual([200, 20, 10]);
});

// In a 32-bit BI_RGB BMP the 4th byte is reserved and usually 0: it must not read as transparent (white).
it('decodes a 32-bit BMP whose reserved 4th byte is 0 as opaque', async () => {
  const image = await decodeImage(bmp(4, 4, [10, 20, 200, 0]), NO_LIMITS);
  expect(px(image, 1, 1)).toEqual([200, 20, 10]);
});

it('turns a greyscale PNG into 3 equal channels with the original levels', async () => {
  const grey = raw(16, 8, 1, (x, y) => [x * 15 + y]);
  const png = await sharp(grey, { raw: { width: 16, height: 8, channels: 1 } })
    .toColourspace('b-w')
    .png()
    .toBuffer();
  expect((await sharp(png).metadata()).channels).toBe(1);
  const image = await decodeImage(png, NO_LIMITS);
  expect(image.data).toHaveLength(16 * 8 * 3);
  for (const [x, y] of [
    [0, 0],
    [5, 3],
    [15, 7],
  ] as const) {
    const [r, g, b] = px(image, x, y);
    expect(g).toBe(r);
    expect(b).toBe(r);
    expect(Math.abs(r - (x * 15 + y))).toBeLessThanOrEqual(1);
  }
});

it('flattens transparency onto white', async () => {
  // Left third transparent black, middle half-transparent black, right third opaque red.
  const rgba = raw(30, 10, 4, (x) => (x < 10 ? [0, 0, 0, 0] : x < 20 ? [0, 0, 0, 128] : [255, 0, 0, 255]));
  const png = await sharp(rgba, { raw: { width: 30, height: 10, channels: 4 } })
    .png()
    .toBuffer();
  const image = await decodeImage(png, NO_LIMITS);
  expect(image.data).toHaveLength(30 * 10 * 3);
  expect(px(image, 2, 5)).toEqual([255, 255, 255]);
  for (const v of px(image, 15, 5)) expect(Math.abs(v - 127)).toBeLessThanOrEqual(2);
  expect(px(image, 25, 5)).toEqual([255, 0, 0]);
});

it('reduces a 16-bit PNG to 8-bit RGB with the same colours', async () => {
  const colour = (x: number, y: number) => [x * 8, y * 8, 200];
  const png = await sharp(raw(32, 32, 3, colour), { raw: { width: 32, height: 32, channels: 3 } })
    .toColourspace('rgb16')
    .png()
    .toBuffer();
  expect((await sharp(png).metadata()).depth).toBe('ushort');
  const image = await decodeImage(png, NO_LIMITS);
  expect(image.data).toHaveLength(32 * 32 * 3);
  for (const [x, y] of [
    [0, 0],
    [10, 20],
    [31, 31],
  ] as const) {
    px(image, x, y).forEach((v, c) => expect(Math.abs(v - colour(x, y)[c]!)).toBeLessThanOrEqual(2));
  }
});

it('converts a CMYK JPEG to RGB close to the original colour', async () => {
  const jpeg = await sharp(
    raw(24, 24, 3, () => [230, 20, 20]),
    { raw: { width: 24, height: 24, channels: 3 } },
  )
    .toColourspace('cmyk')
    .jpeg()
    .toBuffer();
  expect((await sharp(jpeg).metadata()).space).toBe('cmyk');
  const image = await decodeImage(jpeg, NO_LIMITS);
  expect(image.data).toHaveLength(24 * 24 * 3);
  const [r, g, b] = px(image, 12, 12);
  expect(r).toBeGreaterThan(150);
  expect(g).toBeLessThan(100);
  expect(b).toBeLessThan(100);
});

it('takes the first frame of an animated GIF', async () => {
  // Two 8x8 frames stacked vertically: red, then blue.
  const frames = raw(8, 16, 3, (_x, y) => (y < 8 ? [255, 0, 0] : [0, 0, 255]));
  const gif = await sharp(frames, { raw: { width: 8, height: 16, channels: 3, pageHeight: 8 } })
    .gif()
    .toBuffer();
  expect((await sharp(gif).metadata()).pages).toBe(2);
  const image = await decodeImage(gif, NO_LIMITS);
  expect([image.width, image.height]).toEqual([8, 8]);
  const [r, g, b] = px(image, 4, 4);
  expect(r).toBeGreaterThan(200);
  expect(g).toBeLessThan(50);
  expect(b).toBeLessThan(50);
});

it('applies EXIF orientation so the picture is upright as a viewer shows it', async () => {
  // 40x20, left half red, right half blue; orientation 6 = rotate 90° clockwise to display, so left goes to the top.
  const stored = raw(40, 20, 3, (x) => (x < 20 ? [255, 0, 0] : [0, 0, 255]));
  const jpeg = await sharp(stored, { raw: { width: 40, height: 20, channels: 3 } })
    .jpeg()
    .withMetadata({ orientation: 6 })
    .toBuffer();
  expect((await sharp(jpeg).metadata()).orientation).toBe(6);
  const image = await decodeImage(jpeg, NO_LIMITS);
  expect([image.width, image.height]).toEqual([20, 40]);
  const top = px(image, 10, 5);
  const bottom = px(image, 10, 35);
  expect(top[0]).toBeGreaterThan(200);
  expect(top[2]).toBeLessThan(60);
  expect(bottom[2]).toBeGreaterThan(200);
  expect(bottom[0]).toBeLessThan(60);
});

it('decodes a photo over maxSide at maxSide, upright, and reports its own size', async () => {
  // 400x200 stored, orientation 6: upright it is 200x400; at maxSide 100 it decodes to 50x100, top red, bottom blue.
  const stored = raw(400, 200, 3, (x) => (x < 200 ? [255, 0, 0] : [0, 0, 255]));
  const jpeg = await sharp(stored, { raw: { width: 400, height: 200, channels: 3 } })
    .jpeg()
    .withMetadata({ orientation: 6 })
    .toBuffer();
  const image = await decodeImage(jpeg, NO_LIMITS, { maxSide: 100 });
  expect([image.width, image.height]).toEqual([50, 100]);
  expect(image.original).toEqual({ width: 200, height: 400 });
  expect(px(image, 25, 10)[0]).toBeGreaterThan(200);
  expect(px(image, 25, 90)[2]).toBeGreaterThan(200);
  // At or under maxSide nothing changes; BMPs (decoded without sharp) follow the same rule.
  const small = await decodeImage(jpeg, NO_LIMITS, { maxSide: 400 });
  expect([small.width, small.height, small.original.width, small.original.height]).toEqual([200, 400, 200, 400]);
  const bmp = await decodeImage(read('einstein.bmp'), NO_LIMITS, { maxSide: 64 });
  expect(Math.max(bmp.width, bmp.height)).toBe(64);
  expect(Math.max(bmp.original.width, bmp.original.height)).toBeGreaterThan(64);
});

it.skipIf(!avifSample)('decodes AVIF (HEIF container)', async () => {
  const image = await decodeImage(avifSample!, NO_LIMITS);
  expect(['heif', 'avif']).toContain(image.format);
  expect([image.width, image.height]).toEqual([32, 16]);
  const [r, g, b] = px(image, 16, 8);
  expect(Math.abs(r - 200)).toBeLessThan(20);
  expect(Math.abs(g - 40)).toBeLessThan(20);
  expect(Math.abs(b - 40)).toBeLessThan(20);
});

describe('extraFrames: photos of which only the first frame is decoded', () => {
  const solid = (background: string) =>
    sharp({ create: { width: 48, height: 32, channels: 3, background } })
      .png()
      .toBuffer();

  /** A PNG with an acTL chunk (frames, plays) after IHDR: an APNG whose still image libvips reads. */
  async function apng(frames: number): Promise<Buffer> {
    const png = await solid('#c33');
    const data = Buffer.alloc(8);
    data.writeUInt32BE(frames, 0);
    const type = Buffer.from('acTL', 'latin1');
    const chunk = Buffer.alloc(12 + data.length);
    chunk.writeUInt32BE(data.length, 0);
    type.copy(chunk, 4);
    data.copy(chunk, 8);
    chunk.writeUInt32BE(crc32(Buffer.concat([type, data])), 8 + data.length);
    const ihdrEnd = 8 + 12 + png.readUInt32BE(8);
    return Buffer.concat([png.subarray(0, ihdrEnd), chunk, png.subarray(ihdrEnd)]);
  }

  it('counts the frames of animated GIF, WebP and PNG, and the pages of a TIFF', async () => {
    const frames = [await solid('#c33'), await solid('#3c3'), await solid('#33c')];
    for (const format of ['gif', 'webp', 'tiff'] as const) {
      const animated = await sharp(frames, { join: { animated: true } })
        .toFormat(format)
        .toBuffer();
      expect(await extraFrames(animated), format).toEqual({ format, frames: 3 });
      // decodeImage reads the first frame only, at the frame's size.
      const decoded = await decodeImage(animated, NO_LIMITS);
      expect([decoded.width, decoded.height]).toEqual([48, 32]);
    }
    const animatedPng = await apng(4);
    expect(await extraFrames(animatedPng)).toEqual({ format: 'png', frames: 4 });
    expect([(await decodeImage(animatedPng, NO_LIMITS)).width]).toEqual([48]);
  });

  it('says nothing of still photos, one-frame animations and bytes that are no image', async () => {
    const still = await solid('#888');
    for (const bytes of [
      still,
      await sharp(still).jpeg().toBuffer(),
      await sharp(still).gif().toBuffer(),
      await sharp(still).webp().toBuffer(),
      await sharp(still).tiff().toBuffer(),
      await apng(1),
      Buffer.from('GIF89a but not really a GIF'),
      Buffer.from('not an image'),
    ])
      expect(await extraFrames(bytes)).toBeUndefined();
  });
});
