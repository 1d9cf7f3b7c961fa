import { describe, it, expect } from 'vitest';
import sharp from 'sharp';
import { GlobalFonts } from '@napi-rs/canvas';
import {
  annotateImage,
  annotationScale,
  labelText,
  DETECTION_STYLE,
  KNOWN_STYLE,
  LANDMARK_COLOUR,
  UNKNOWN_STYLE,
  type AnnotationFace,
  type RgbImage,
} from '../../../src/render/annotate.js';

const W = 200;
const H = 160;
const GREY = 128;
const BOX: AnnotationFace['box'] = [40, 40, 60, 60];

type Rgb = [number, number, number];

function greyImage(): RgbImage {
  return { width: W, height: H, data: new Uint8Array(W * H * 3).fill(GREY) };
}

function hex(c: string): Rgb {
  const n = parseInt(c.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

async function decode(buf: Buffer): Promise<{ px: (x: number, y: number) => Rgb; width: number; height: number }> {
  const { data, info } = await sharp(buf).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const px = (x: number, y: number): Rgb => {
    const i = (y * info.width + x) * 3;
    return [data[i]!, data[i + 1]!, data[i + 2]!];
  };
  return { px, width: info.width, height: info.height };
}

const dist = (a: Rgb, b: Rgb): number => Math.max(...a.map((v, i) => Math.abs(v - b[i]!)));

/** Counts pixels within `tol` of `colour` in the inclusive rect. */
function count(px: (x: number, y: number) => Rgb, x0: number, y0: number, x1: number, y1: number, colour: Rgb, tol = 40): number {
  let n = 0;
  for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) if (dist(px(x, y), colour) <= tol) n++;
  return n;
}

describe('annotateImage', () => {
  it('draws the box edges in the known colour and leaves distant pixels untouched', async () => {
    const { px } = await decode(await annotateImage(greyImage(), [{ box: BOX, label: 'Ada 0.42', known: true }], { format: 'png' }));
    const green = hex(KNOWN_STYLE.box);
    for (const [x, y] of [
      [40, 70],
      [99, 70],
      [70, 99],
      [60, 40],
    ] as const) {
      expect(dist(px(x, y), [GREY, GREY, GREY])).toBeGreaterThan(60);
      expect(dist(px(x, y), green)).toBeLessThan(30);
    }
    for (const [x, y] of [
      [5, 150],
      [190, 150],
      [150, 100],
      [70, 70],
    ] as const)
      expect(px(x, y)).toEqual([GREY, GREY, GREY]);
  });

  it('renders the label text in a filled rectangle above the box', async () => {
    const { px } = await decode(await annotateImage(greyImage(), [{ box: BOX, label: 'Ada 0.42', known: true }], { format: 'png' }));
    // Label rect sits just above the box top (y < 40), starting at the box's left edge.
    const fill = count(px, 39, 20, 120, 38, hex(KNOWN_STYLE.box), 10);
    const text = count(px, 39, 20, 120, 38, hex(KNOWN_STYLE.text), 60);
    expect(fill).toBeGreaterThan(200);
    expect(text).toBeGreaterThan(30); // glyphs actually rendered
    expect(GlobalFonts.has('FacerecSans')).toBe(true);
  });

  it('uses different colours for known, unknown and plain detections', async () => {
    const edge = async (face: Partial<AnnotationFace>): Promise<Rgb> =>
      (await decode(await annotateImage(greyImage(), [{ box: BOX, ...face }], { format: 'png' }))).px(40, 70);
    const known = await edge({ label: 'Ada', known: true });
    const unknown = await edge({ label: 'Unknown', known: false });
    const plain = await edge({});
    expect(dist(known, unknown)).toBeGreaterThan(60);
    expect(dist(known, plain)).toBeGreaterThan(60);
    expect(dist(unknown, plain)).toBeGreaterThan(60);
    expect(dist(unknown, hex(UNKNOWN_STYLE.box))).toBeLessThan(30);
    expect(dist(plain, hex(DETECTION_STYLE.box))).toBeLessThan(30);
  });

  it('puts the label inside the box when there is no room above, and keeps it inside the image', async () => {
    const face: AnnotationFace = { box: [150, 0, 45, 45], label: 'A rather long name', distance: 0.5, known: false };
    const { px } = await decode(await annotateImage(greyImage(), [face], { format: 'png' }));
    const red = hex(UNKNOWN_STYLE.box);
    expect(dist(px(199, 3), red)).toBeLessThan(30); // clamped against the right edge
    expect(count(px, 0, 0, 199, 14, hex(UNKNOWN_STYLE.text), 60)).toBeGreaterThan(30);
  });

  it('draws landmark dots when given', async () => {
    const landmarks: Array<[number, number]> = [
      [60, 60],
      [80, 80],
    ];
    const { px } = await decode(await annotateImage(greyImage(), [{ box: BOX, landmarks }], { format: 'png' }));
    for (const [x, y] of landmarks) expect(dist(px(x, y), hex(LANDMARK_COLOUR))).toBeLessThan(30);
    expect(px(70, 70)).toEqual([GREY, GREY, GREY]);
  });

  it('encodes JPEG by default and PNG on request', async () => {
    const faces: AnnotationFace[] = [{ box: BOX, label: 'Ada', known: true }];
    const jpeg = await annotateImage(greyImage(), faces);
    expect([...jpeg.subarray(0, 3)]).toEqual([0xff, 0xd8, 0xff]);
    const png = await annotateImage(greyImage(), faces, { format: 'png' });
    expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const { px, width, height } = await decode(await annotateImage(greyImage(), faces, { format: 'jpeg', quality: 95 }));
    expect([width, height]).toEqual([W, H]);
    expect(dist(px(5, 150), [GREY, GREY, GREY])).toBeLessThanOrEqual(3);
  });

  it('rejects RGB data of the wrong length', async () => {
    await expect(annotateImage({ width: 10, height: 10, data: new Uint8Array(10) }, [])).rejects.toThrow(/length/);
  });
});

describe('labelText / annotationScale', () => {
  it('formats the distance with two decimals', () => {
    expect(labelText({ box: BOX, label: 'Ada', distance: 0.4167 })).toBe('Ada 0.42');
    expect(labelText({ box: BOX, label: 'Ada' })).toBe('Ada');
    expect(labelText({ box: BOX })).toBeUndefined();
  });

  it('scales line width and font size with the image', () => {
    const small = annotationScale(250, 250);
    const large = annotationScale(4000, 3000);
    expect(small.fontSize).toBeGreaterThanOrEqual(12);
    expect(large.lineWidth).toBeGreaterThan(small.lineWidth * 4);
    expect(large.fontSize).toBeGreaterThan(small.fontSize * 4);
  });
});
