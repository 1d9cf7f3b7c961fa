import { createCanvas } from '@napi-rs/canvas';
import sharp from 'sharp';
import type { RgbImage } from '../image/decode.js';
import { ensureFonts } from './fonts.js';

export type { RgbImage };

export interface AnnotationFace {
  box: [number, number, number, number]; // x, y, w, h in image pixels
  label?: string; // e.g. "Barack Obama" or "Unknown"; absent = no label (plain detection)
  distance?: number; // shown as "name 0.42" (2 decimals) when present
  known?: boolean; // true = known colour, false = unknown colour; undefined = neutral detection colour
  landmarks?: Array<[number, number]>; // 68 points, drawn as small dots when present
  detail?: string; // a second line under the box, e.g. the face's attributes ("~31 y · female 93% · happy 99%")
}
export type AnnotateFormat = 'jpeg' | 'png' | 'webp';

/** Box fill/stroke colour and the label text colour that contrasts with it. */
export const KNOWN_STYLE = { box: '#22c55e', text: '#000000' } as const;
export const UNKNOWN_STYLE = { box: '#ef4444', text: '#ffffff' } as const;
export const DETECTION_STYLE = { box: '#06b6d4', text: '#000000' } as const;
export const LANDMARK_COLOUR = '#facc15';
export const DEFAULT_JPEG_QUALITY = 90;

function styleFor(face: AnnotationFace): { box: string; text: string } {
  return face.known === undefined ? DETECTION_STYLE : face.known ? KNOWN_STYLE : UNKNOWN_STYLE;
}

/** Text shown above a face box, or undefined when the face has no label. */
export function labelText(face: AnnotationFace): string | undefined {
  if (!face.label) return undefined;
  return face.distance === undefined ? face.label : `${face.label} ${face.distance.toFixed(2)}`;
}

/** Line width and font size proportional to sqrt(area): ~2px / 12px at 250px, ~12px / 77px at 4000x3000. */
export function annotationScale(width: number, height: number): { lineWidth: number; fontSize: number } {
  const s = Math.sqrt(width * height);
  return { lineWidth: Math.max(2, Math.round(s / 300)), fontSize: Math.max(12, Math.round(s / 45)) };
}

/** An opaque patch of pixels to paint into the photo. */
interface Patch {
  x: number;
  y: number;
  width: number;
  height: number;
  rgba: Uint8ClampedArray | Uint8Array;
}

/**
 * The label's box and text, rendered alone: a canvas the size of the label, never of the photo. The name goes above
 * the box when it fits, otherwise just inside its top edge; a detail line (`below`) under the box when it fits,
 * otherwise just inside its bottom edge; kept inside the image.
 */
function labelPatch(
  face: AnnotationFace,
  text: string,
  image: RgbImage,
  lineWidth: number,
  fontSize: number,
  family: string,
  below = false,
): Patch {
  const [x, y, , bh] = face.box;
  const style = styleFor(face);
  const font = `${below ? '' : 'bold '}${fontSize}px ${family}`;
  const pad = Math.round(fontSize * 0.3);
  const measure = createCanvas(1, 1).getContext('2d');
  measure.font = font;
  const width = Math.min(image.width, Math.ceil(measure.measureText(text).width) + 2 * pad);
  const height = Math.min(image.height, Math.round(fontSize * 1.25));
  const top = y - lineWidth / 2;
  const bottom = y + bh + lineWidth / 2;
  const ly = Math.round(
    below
      ? bottom + height <= image.height
        ? bottom
        : Math.max(0, Math.min(image.height, bottom) - height)
      : top - height >= 0
        ? top - height
        : Math.max(0, Math.min(top, image.height - height)),
  );
  const lx = Math.round(Math.min(Math.max(0, x - lineWidth / 2), Math.max(0, image.width - width)));
  const canvas = createCanvas(width, height);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = style.box;
  ctx.fillRect(0, 0, width, height);
  ctx.font = font;
  ctx.textBaseline = 'middle';
  ctx.fillStyle = style.text;
  ctx.fillText(text, pad, height / 2);
  return { x: lx, y: ly, width, height, rgba: ctx.getImageData(0, 0, width, height).data };
}

const rgbOf = (colour: string): [number, number, number] => {
  const n = parseInt(colour.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
};

/** Fills [x0, x1) × [y0, y1), clipped to the image, with `rgb`. */
function fillRect(image: RgbImage, x0: number, y0: number, x1: number, y1: number, rgb: [number, number, number]): void {
  const left = Math.max(0, Math.round(x0)),
    right = Math.min(image.width, Math.round(x1));
  const top = Math.max(0, Math.round(y0)),
    bottom = Math.min(image.height, Math.round(y1));
  for (let y = top; y < bottom; y++) {
    for (let i = (y * image.width + left) * 3, end = (y * image.width + right) * 3; i < end; i += 3) {
      image.data[i] = rgb[0];
      image.data[i + 1] = rgb[1];
      image.data[i + 2] = rgb[2];
    }
  }
}

/** A disc of radius `r` around (cx, cy), clipped to the image. */
function fillDisc(image: RgbImage, cx: number, cy: number, r: number, rgb: [number, number, number]): void {
  for (let y = Math.max(0, Math.floor(cy - r)); y <= Math.min(image.height - 1, Math.ceil(cy + r)); y++) {
    for (let x = Math.max(0, Math.floor(cx - r)); x <= Math.min(image.width - 1, Math.ceil(cx + r)); x++) {
      if ((x + 0.5 - cx) ** 2 + (y + 0.5 - cy) ** 2 > r * r) continue;
      const i = (y * image.width + x) * 3;
      image.data[i] = rgb[0];
      image.data[i + 1] = rgb[1];
      image.data[i + 2] = rgb[2];
    }
  }
}

/** Copies an opaque patch into the image, clipped. */
function paint(image: RgbImage, patch: Patch): void {
  for (let row = 0; row < patch.height; row++) {
    const y = patch.y + row;
    if (y < 0 || y >= image.height) continue;
    for (let col = 0; col < patch.width; col++) {
      const x = patch.x + col;
      if (x < 0 || x >= image.width) continue;
      const from = (row * patch.width + col) * 4,
        to = (y * image.width + x) * 3;
      image.data[to] = patch.rgba[from]!;
      image.data[to + 1] = patch.rgba[from + 1]!;
      image.data[to + 2] = patch.rgba[from + 2]!;
    }
  }
}

/**
 * Draws boxes, labels and optional landmarks into the photo's own pixels, in place, and encodes it. Nothing the size
 * of the photo is allocated beyond the photo itself: boxes and dots are written into its RGB data, each label is
 * rendered on a canvas of its own size, and sharp encodes the result (issue 22: a canvas and an RGBA copy of a 45 MP
 * photo took 350 MB per annotation).
 */
export async function annotateImage(
  image: RgbImage,
  faces: AnnotationFace[],
  options: { format?: AnnotateFormat; quality?: number } = {},
): Promise<Buffer> {
  const { width, height, data } = image;
  if (data.length !== width * height * 3) throw new Error(`RGB data length ${data.length} != ${width}x${height}x3`);
  const family = ensureFonts();
  const { lineWidth, fontSize } = annotationScale(width, height);
  const half = lineWidth / 2;
  // Each edge of a box is a strip lineWidth wide, centred on the edge (as a canvas stroke is).
  for (const face of faces) {
    const [x, y, w, h] = face.box;
    const rgb = rgbOf(styleFor(face).box);
    fillRect(image, x - half, y - half, x + w + half, y + half, rgb);
    fillRect(image, x - half, y + h - half, x + w + half, y + h + half, rgb);
    fillRect(image, x - half, y - half, x + half, y + h + half, rgb);
    fillRect(image, x + w - half, y - half, x + w + half, y + h + half, rgb);
  }
  const r = Math.max(1, lineWidth * 0.6);
  for (const face of faces) for (const [px, py] of face.landmarks ?? []) fillDisc(image, px, py, r, rgbOf(LANDMARK_COLOUR));
  // Labels last so neighbouring boxes never cover them.
  for (const face of faces) {
    const text = labelText(face);
    if (text) paint(image, labelPatch(face, text, image, lineWidth, fontSize, family));
  }
  // The detail line is smaller: it is read after the name.
  const detailSize = Math.max(10, Math.round(fontSize * 0.8));
  for (const face of faces) if (face.detail) paint(image, labelPatch(face, face.detail, image, lineWidth, detailSize, family, true));
  const raw = sharp(Buffer.from(data.buffer, data.byteOffset, data.byteLength), { raw: { width, height, channels: 3 } });
  if (options.format === 'png') return raw.png().toBuffer();
  if (options.format === 'webp') return raw.webp({ quality: options.quality ?? DEFAULT_JPEG_QUALITY }).toBuffer();
  return raw.jpeg({ quality: options.quality ?? DEFAULT_JPEG_QUALITY }).toBuffer();
}

/** The faces' boxes and landmarks in a photo drawn `scale` times its own size (the working resolution). */
export function scaleAnnotations(faces: readonly AnnotationFace[], scale: number): AnnotationFace[] {
  if (scale === 1) return [...faces];
  return faces.map((f) => ({
    ...f,
    box: f.box.map((v) => v * scale) as AnnotationFace['box'],
    ...(f.landmarks ? { landmarks: f.landmarks.map(([x, y]) => [x * scale, y * scale] as [number, number]) } : {}),
  }));
}
