import { createCanvas, ImageData, type SKRSContext2D } from '@napi-rs/canvas';
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

function drawLabel(
  ctx: SKRSContext2D,
  face: AnnotationFace,
  text: string,
  img: RgbImage,
  lineWidth: number,
  fontSize: number,
  below = false,
): void {
  const [x, y, , bh] = face.box;
  const style = styleFor(face);
  const pad = Math.round(fontSize * 0.3);
  const w = Math.ceil(ctx.measureText(text).width) + 2 * pad;
  const h = Math.round(fontSize * 1.25);
  const top = y - lineWidth / 2;
  const bottom = y + bh + lineWidth / 2;
  // The label above the box when it fits, otherwise just inside its top edge; the detail under the box when it fits,
  // otherwise just inside its bottom edge.
  const ly = below
    ? bottom + h <= img.height
      ? bottom
      : Math.max(0, Math.min(img.height, bottom) - h)
    : top - h >= 0
      ? top - h
      : Math.max(0, top);
  const lx = Math.min(Math.max(0, x - lineWidth / 2), Math.max(0, img.width - w));
  ctx.fillStyle = style.box;
  ctx.fillRect(lx, ly, w, h);
  ctx.fillStyle = style.text;
  ctx.fillText(text, lx + pad, ly + h / 2);
}

/** Draws boxes, labels and optional landmarks on the image and encodes it. */
export async function annotateImage(
  image: RgbImage,
  faces: AnnotationFace[],
  options: { format?: AnnotateFormat; quality?: number } = {},
): Promise<Buffer> {
  const { width, height, data } = image;
  if (data.length !== width * height * 3) throw new Error(`RGB data length ${data.length} != ${width}x${height}x3`);
  const family = ensureFonts();
  const rgba = new Uint8ClampedArray(width * height * 4);
  for (let i = 0, j = 0; i < data.length; i += 3, j += 4) {
    rgba[j] = data[i]!;
    rgba[j + 1] = data[i + 1]!;
    rgba[j + 2] = data[i + 2]!;
    rgba[j + 3] = 255;
  }
  const canvas = createCanvas(width, height);
  const ctx = canvas.getContext('2d');
  ctx.putImageData(new ImageData(rgba, width, height), 0, 0);

  const { lineWidth, fontSize } = annotationScale(width, height);
  ctx.lineWidth = lineWidth;
  for (const face of faces) {
    ctx.strokeStyle = styleFor(face).box;
    ctx.strokeRect(...face.box);
  }
  const r = Math.max(1, lineWidth * 0.6);
  ctx.fillStyle = LANDMARK_COLOUR;
  for (const face of faces) {
    for (const [px, py] of face.landmarks ?? []) {
      ctx.beginPath();
      ctx.arc(px, py, r, 0, 2 * Math.PI);
      ctx.fill();
    }
  }
  // Labels last so neighbouring boxes never cover them.
  ctx.font = `bold ${fontSize}px ${family}`;
  ctx.textBaseline = 'middle';
  for (const face of faces) {
    const text = labelText(face);
    if (text) drawLabel(ctx, face, text, image, lineWidth, fontSize);
  }
  // The detail line is smaller: it is read after the name.
  ctx.font = `${Math.max(10, Math.round(fontSize * 0.8))}px ${family}`;
  for (const face of faces)
    if (face.detail) drawLabel(ctx, face, face.detail, image, lineWidth, Math.max(10, Math.round(fontSize * 0.8)), true);
  if (options.format === 'png') return canvas.encode('png');
  return canvas.encode(options.format ?? 'jpeg', options.quality ?? DEFAULT_JPEG_QUALITY);
}
