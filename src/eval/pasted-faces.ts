/**
 * Phone-sized photos with faces of many sizes for the detection benchmark: LFW faces (test/fixtures/pasted-faces.json,
 * half of them ones the detector scored under 0.9: turned, occluded, dark) pasted with a soft oval edge onto
 * face-free textures of 12–36 MP, 12 per photo, from 2% to 10% of the photo's long side (small faces that only
 * the tiles find, up to large ones). Made at run time from a seed; the boxes follow the faces.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import type { Box } from '../core/face.js';
import { rng } from '../core/random.js';
import type { AnnotatedPhoto } from './detection.js';
import { texture } from './synthetic.js';

export const PASTED_SET = 'large: faces pasted on textures';

/** The fixture's LFW images and the box of each one's face, in its 250×250 pixels. */
export interface PastedFacesFile {
  faces: Record<string, Box>;
}

// Photo sizes (12–36 MP) and the textures behind the faces: the synthetic ones that show no false face themselves.
const CANVASES: ReadonlyArray<readonly [number, number, string]> = [
  [4032, 3024, 'colour clouds 7360×4912'],
  [6000, 4000, 'stones 6000×4000'],
  [3024, 4032, 'grey fine fBm 6000×4000'],
  [5712, 4284, 'discs 7752×5814'],
  [8000, 4500, 'pebbles 4000×6000'],
  [4032, 3024, 'grey gradient 6000×4000'],
  [6000, 4000, 'colour clouds 7360×4912'],
  [4000, 6000, 'stones 6000×4000'],
  [4624, 3468, 'basket weave 6000×4000'],
  [6000, 4000, 'grey fine fBm 6000×4000'],
  [4032, 3024, 'many small discs 6000×4000'],
  [7200, 4800, 'colour clouds 7360×4912'],
];

const FACES_PER_PHOTO = 12;
// Face widths, as a fraction of the photo's long side: log-uniform between these.
const SMALLEST = 0.02;
const LARGEST = 0.1;

/** A soft-edged oval mask over a w×h patch (the face and some hair and neck around it), as an alpha channel. */
function ovalAlpha(w: number, h: number): Uint8Array {
  const alpha = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const r = Math.hypot((x + 0.5 - w / 2) / (w / 2), (y + 0.5 - h / 2) / (h / 2));
      alpha[y * w + x] = Math.round(255 * Math.max(0, Math.min(1, (1 - r) / 0.25)));
    }
  }
  return alpha;
}

interface Placement {
  file: string;
  /** The patch of the LFW image that is pasted (the face's box grown by half its size on each side, within the image). */
  crop: Box;
  face: Box;
  scale: number;
  left: number;
  top: number;
  flip: boolean;
  brightness: number;
}

/** Where each photo's faces go: sizes and places drawn from `seed`, patches not overlapping. */
function place(faces: Array<[string, Box]>, width: number, height: number, random: () => number): Placement[] {
  const long = Math.max(width, height);
  const taken: Box[] = [];
  const out: Placement[] = [];
  for (const [file, face] of faces) {
    const [fx, fy, fw, fh] = face;
    const cx0 = Math.max(0, Math.floor(fx - fw / 2)),
      cy0 = Math.max(0, Math.floor(fy - fh / 2));
    const crop: Box = [cx0, cy0, Math.min(250, Math.ceil(fx + 1.5 * fw)) - cx0, Math.min(250, Math.ceil(fy + 1.5 * fh)) - cy0];
    const target = long * SMALLEST * (LARGEST / SMALLEST) ** random();
    const scale = target / fw;
    const pw = Math.round(crop[2] * scale),
      ph = Math.round(crop[3] * scale);
    const flip = random() < 0.5,
      brightness = 0.8 + 0.4 * random();
    for (let attempt = 0; attempt < 200; attempt++) {
      const left = Math.round(random() * (width - pw)),
        top = Math.round(random() * (height - ph));
      const box: Box = [left, top, pw, ph];
      const clear = taken.every((t) => left + pw < t[0] || t[0] + t[2] < left || top + ph < t[1] || t[1] + t[3] < top);
      if (!clear) continue;
      taken.push(box);
      out.push({ file, crop, face, scale, left, top, flip, brightness });
      break;
    }
  }
  return out;
}

/** The face's box in the photo, after its patch was scaled, maybe mirrored, and placed. */
function placedBox(p: Placement): Box {
  const [fx, fy, fw, fh] = p.face;
  const [cx, cy, cw] = p.crop;
  const x = p.flip ? cw - (fx - cx) - fw : fx - cx;
  return [p.left + x * p.scale, p.top + (fy - cy) * p.scale, fw * p.scale, fh * p.scale];
}

/** The pasted-faces photos: faces from `lfwRoot` (LFW View 1's images folder) per `boxesFile`, rendered when read. */
export async function pastedFacePhotos(options: { lfwRoot: string; boxesFile: string; seed?: number }): Promise<AnnotatedPhoto[]> {
  const { faces } = JSON.parse(await readFile(options.boxesFile, 'utf8')) as PastedFacesFile;
  const entries = Object.entries(faces);
  const random = rng(options.seed ?? 25);
  return CANVASES.map(([width, height, background], k) => {
    const chosen = entries
      .slice((k * FACES_PER_PHOTO) % entries.length)
      .concat(entries)
      .slice(0, FACES_PER_PHOTO);
    const placements = place(chosen, width, height, random);
    const textureSeed = Math.floor(random() * 2 ** 31);
    return {
      set: PASTED_SET,
      name: `#${k + 1} ${width}×${height} on ${background.replace(/ \d+×\d+$/, '')}`,
      faces: placements.map(placedBox),
      ignore: [],
      bytes: async () => {
        // The texture is made at half size and enlarged: it is smooth, and this keeps the benchmark's set-up short.
        const half = texture(background, Math.ceil(width / 2), Math.ceil(height / 2), textureSeed);
        const base = await sharp(half, { raw: { width: Math.ceil(width / 2), height: Math.ceil(height / 2), channels: 3 } })
          .resize(width, height, { kernel: 'cubic' })
          .png({ compressionLevel: 1 })
          .toBuffer();
        const patches = await Promise.all(
          placements.map(async (p) => {
            const pw = Math.round(p.crop[2] * p.scale),
              ph = Math.round(p.crop[3] * p.scale);
            let patch = sharp(await readFile(path.join(options.lfwRoot, p.file)))
              .extract({ left: p.crop[0], top: p.crop[1], width: p.crop[2], height: p.crop[3] })
              .resize(pw, ph, { kernel: 'lanczos3' })
              .modulate({ brightness: p.brightness });
            if (p.flip) patch = patch.flop();
            const rgb = await patch.removeAlpha().raw().toBuffer();
            const rgba = Buffer.alloc(pw * ph * 4);
            const alpha = ovalAlpha(pw, ph);
            for (let i = 0; i < pw * ph; i++) {
              rgba[i * 4] = rgb[i * 3]!;
              rgba[i * 4 + 1] = rgb[i * 3 + 1]!;
              rgba[i * 4 + 2] = rgb[i * 3 + 2]!;
              rgba[i * 4 + 3] = alpha[i]!;
            }
            return { input: rgba, raw: { width: pw, height: ph, channels: 4 as const }, left: p.left, top: p.top };
          }),
        );
        return sharp(base).composite(patches).jpeg({ quality: 90 }).toBuffer();
      },
    };
  });
}
