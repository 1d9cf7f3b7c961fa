/**
 * The detection benchmark (`facerec eval detect`): every annotated photo through the shipped detector and plain
 * face-api SSD, boxes matched one-to-one at IoU ≥ 0.4, recall, precision and false faces per photo for each set.
 */
import { existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import type { Box } from '../core/face.js';
import { boxIou as iou, type DetectionTuning } from '../engine/face-engine.js';

export type { DetectionTuning };
export { iou };
import type { WorkerPool } from '../engine/pool.js';
import { FacerecError } from '../errors.js';

/** The match criterion: a detection finds an annotated face when their IoU is at least this. */
export const MATCH_IOU = 0.4;

/** Photos whose long side is above this are searched in tiles by the engine (face-engine.ts TILE_ABOVE). */
export const LARGE_SIDE = 2048;

/** One annotated photo: its faces, and faces that count neither way (a face on a poster, a blurred head far away). */
export interface AnnotatedPhoto {
  set: string;
  name: string;
  faces: Box[];
  ignore: Box[];
  bytes: () => Promise<Uint8Array>;
}

/** What each pipeline found on one photo. */
export interface PhotoDetections {
  width: number;
  height: number;
  /** The shipped pipeline (the engine's defaults). */
  shipped: Array<{ box: Box; score: number }>;
  /** One SSD pass over the frame at score 0.3, as face-api's detectAllFaces does; 0.5 is the same pass filtered. */
  plain: Array<{ box: Box; score: number }>;
}

export const PIPELINES = [
  { key: 'shipped', label: 'facerec (shipped)' },
  { key: 'plain03', label: 'face-api SSD 0.3' },
  { key: 'plain05', label: 'face-api SSD 0.5' },
] as const;
export type PipelineKey = (typeof PIPELINES)[number]['key'];

/** The boxes of one pipeline in one photo's detections. */
export function pipelineBoxes(d: PhotoDetections, key: PipelineKey): Box[] {
  if (key === 'shipped') return d.shipped.map((f) => f.box);
  const min = key === 'plain03' ? 0.3 : 0.5;
  return d.plain.filter((f) => f.score >= min).map((f) => f.box);
}

export interface PhotoScore {
  /** Annotated faces found. */
  found: number;
  /** Annotated faces missed. */
  missed: number;
  /** Detections that are no annotated face (nor an ignored one). */
  falseFaces: number;
  /** Indices of the missed faces and the false detections, to say which. */
  missedFaces: Box[];
  falseBoxes: Box[];
}

/**
 * Matches detections to annotated faces one-to-one, greedily by IoU (the highest pair first), at `minIou`; a detection
 * left over that overlaps an ignored face at `minIou` counts neither way.
 */
export function scorePhoto(faces: readonly Box[], ignore: readonly Box[], detections: readonly Box[], minIou = MATCH_IOU): PhotoScore {
  const pairs: Array<[number, number, number]> = [];
  faces.forEach((f, i) =>
    detections.forEach((d, j) => {
      const v = iou(f, d);
      if (v >= minIou) pairs.push([v, i, j]);
    }),
  );
  pairs.sort((a, b) => b[0] - a[0]);
  const faceTaken = new Set<number>(),
    detTaken = new Set<number>();
  for (const [, i, j] of pairs) {
    if (faceTaken.has(i) || detTaken.has(j)) continue;
    faceTaken.add(i);
    detTaken.add(j);
  }
  const missedFaces = faces.filter((_, i) => !faceTaken.has(i));
  const falseBoxes = detections.filter((d, j) => !detTaken.has(j) && !ignore.some((g) => iou(g, d) >= minIou));
  return { found: faceTaken.size, missed: missedFaces.length, falseFaces: falseBoxes.length, missedFaces, falseBoxes };
}

export interface Tally {
  photos: number;
  faces: number;
  found: number;
  falseFaces: number;
  /** Photos with at least one false face. */
  photosWithFalseFaces: number;
  /** The photos' own pixels, in millions (false faces per 100 MP is the face-free sets' figure). */
  megapixels: number;
}

export const emptyTally = (): Tally => ({ photos: 0, faces: 0, found: 0, falseFaces: 0, photosWithFalseFaces: 0, megapixels: 0 });

export function addScore(t: Tally, s: PhotoScore, megapixels = 0): void {
  t.photos++;
  t.megapixels += megapixels;
  t.faces += s.found + s.missed;
  t.found += s.found;
  t.falseFaces += s.falseFaces;
  if (s.falseFaces > 0) t.photosWithFalseFaces++;
}

export const recall = (t: Tally): number => (t.faces === 0 ? 1 : t.found / t.faces);
export const precision = (t: Tally): number => (t.found + t.falseFaces === 0 ? 1 : t.found / (t.found + t.falseFaces));
/** False faces per 100 megapixels of the photos' own pixels. */
export const falsePer100Mp = (t: Tally): number => (t.megapixels === 0 ? 0 : (100 * t.falseFaces) / t.megapixels);

/** The face-free sets' rows start with this; their photos have no face, so every box is a false face. */
export const FACE_FREE_PREFIX = 'face-free:';
/** The row of every face-free photo together. */
export const FACE_FREE_ALL = 'face-free: all';

/** The face boxes of dlib's imglab XML (training.xml, testing.xml): `<image file=…>` holding `<box top left width height>`. */
export function parseImglabXml(text: string): Array<{ file: string; faces: Box[]; ignore: Box[] }> {
  // imglab writes one attribute layout; a regex reader keeps the project free of an XML dependency for these two files.
  const images = [];
  for (const [, file, body] of text.matchAll(/<image file='([^']+)'[^>]*>([\s\S]*?)<\/image>/g)) {
    const faces: Box[] = [],
      ignore: Box[] = [];
    for (const [tag] of body!.matchAll(/<box [^>]*>/g)) {
      const attr = (name: string) => Number(new RegExp(`\\b${name}='(-?\\d+)'`).exec(tag)?.[1]);
      const box: Box = [attr('left'), attr('top'), attr('width'), attr('height')];
      if (box.some((v) => !Number.isFinite(v))) throw new Error(`unreadable box in ${file}: ${tag}`);
      (/\bignore='1'/.test(tag) ? ignore : faces).push(box);
    }
    images.push({ file: file!, faces, ignore });
  }
  return images;
}

/** The annotation file of the sets without boxes of their own (test/fixtures/detection-boxes.json). */
export interface BoxesFile {
  sets: Record<string, { root: string; photos: Record<string, { faces: Box[]; ignore?: Box[] }> }>;
}

const fileBytes = (file: string) => () => readFile(file);

/**
 * Every annotated photo: dlib's PASCAL examples (`<datasets>/dlib-examples/faces`, boxes from its XML) and the sets of
 * `boxesFile`, whose roots are relative to `datasets`, except `face-api-demo`, which lives in `demoDir`.
 */
export async function annotatedPhotos(options: { datasets: string; boxesFile: string; demoDir: string }): Promise<AnnotatedPhoto[]> {
  const dlib = path.join(options.datasets, 'dlib-examples', 'faces');
  if (!existsSync(dlib))
    throw new FacerecError('FILE_NOT_FOUND', `${dlib} does not exist: is --datasets the shared datasets folder?`, {
      datasets: options.datasets,
    });
  const photos: AnnotatedPhoto[] = [];
  for (const xml of ['training.xml', 'testing.xml']) {
    for (const { file, faces, ignore } of parseImglabXml(await readFile(path.join(dlib, xml), 'latin1')))
      photos.push({ set: 'dlib-faces', name: file, faces, ignore, bytes: fileBytes(path.join(dlib, file)) });
  }
  const boxes = JSON.parse(await readFile(options.boxesFile, 'utf8')) as BoxesFile;
  for (const [set, { root, photos: listed }] of Object.entries(boxes.sets)) {
    const dir = set === 'face-api-demo' ? options.demoDir : path.join(options.datasets, root);
    for (const [name, { faces, ignore = [] }] of Object.entries(listed))
      photos.push({ set, name, faces, ignore, bytes: fileBytes(path.join(dir, name)) });
  }
  return photos;
}

/** Photos of a folder (for proposing boxes to annotate). */
export async function imagesIn(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).filter((f) => /\.(jpe?g|png)$/i.test(f)).sort();
}

const scaleBox = ([x, y, w, h]: Box, s: number, dx = 0, dy = 0): Box => [x * s + dx, y * s + dy, w * s, h * s];

/** `photo` resized so that its long side is `side` (a photo from a high-resolution camera), boxes with it. */
export async function upscaled(photo: AnnotatedPhoto, side: number): Promise<AnnotatedPhoto> {
  const bytes = await photo.bytes();
  const meta = await sharp(bytes).rotate().metadata();
  const s = side / Math.max(meta.width, meta.height);
  return {
    set: 'large: upscaled',
    name: `${photo.name}@${side}`,
    faces: photo.faces.map((b) => scaleBox(b, s)),
    ignore: photo.ignore.map((b) => scaleBox(b, s)),
    bytes: async () =>
      sharp(bytes)
        .rotate()
        .resize(Math.round(meta.width * s), Math.round(meta.height * s), { kernel: 'lanczos3' })
        .jpeg({ quality: 90 })
        .toBuffer(),
  };
}

/** Four photos in a 2×2 grid of `width`×`height`, each scaled to fit its cell and centred on grey, boxes with them. */
export async function mosaic(photos: readonly AnnotatedPhoto[], width: number, height: number): Promise<AnnotatedPhoto> {
  const cw = Math.floor(width / 2),
    ch = Math.floor(height / 2);
  const cells = await Promise.all(
    photos.map(async (p, k) => {
      const bytes = await p.bytes();
      const meta = await sharp(bytes).rotate().metadata();
      const s = Math.min(cw / meta.width, ch / meta.height);
      const w = Math.round(meta.width * s),
        h = Math.round(meta.height * s);
      const left = (k % 2) * cw + Math.floor((cw - w) / 2),
        top = Math.floor(k / 2) * ch + Math.floor((ch - h) / 2);
      return { p, s, w, h, left, top, bytes };
    }),
  );
  return {
    set: 'large: 2×2 mosaics',
    name: photos.map((p) => p.name).join('+'),
    faces: cells.flatMap((c) => c.p.faces.map((b) => scaleBox(b, c.s, c.left, c.top))),
    ignore: cells.flatMap((c) => c.p.ignore.map((b) => scaleBox(b, c.s, c.left, c.top))),
    bytes: async () => {
      const inputs = await Promise.all(
        cells.map(async (c) => ({
          input: await sharp(c.bytes).rotate().resize(c.w, c.h, { kernel: 'lanczos3' }).png().toBuffer(),
          left: c.left,
          top: c.top,
        })),
      );
      return sharp({ create: { width, height, channels: 3, background: '#808080' } })
        .composite(inputs)
        .jpeg({ quality: 90 })
        .toBuffer();
    },
  };
}

// Upscaled at most this much: beyond, a small photo's unannotated background (5–10 px heads, faces on posters) becomes
// faces of 40–80 px that its annotation never marked.
const MAX_UPSCALE = 4;

/**
 * Where the engine searches tiles: each photo that can reach `side` px without more than MAX_UPSCALE (portraits and group
 * photos alike), and 2×2 mosaics at side×¾side of the group photos (2+ annotated faces), four by four in a fixed order.
 */
export async function largePhotos(photos: readonly AnnotatedPhoto[], side = 4000): Promise<AnnotatedPhoto[]> {
  const out: AnnotatedPhoto[] = [];
  for (const p of photos) {
    const meta = await sharp(await p.bytes()).metadata();
    if (p.faces.length > 0 && Math.max(meta.width, meta.height) * MAX_UPSCALE >= side) out.push(await upscaled(p, side));
  }
  const groups = photos.filter((p) => p.faces.length >= 2);
  for (let i = 0; i + 4 <= groups.length; i += 4) out.push(await mosaic(groups.slice(i, i + 4), side, Math.round((side * 3) / 4)));
  return out;
}

export interface PhotoResult {
  photo: AnnotatedPhoto;
  width: number;
  height: number;
  scores: Record<PipelineKey, PhotoScore>;
  seconds: number;
}

export interface SetResult {
  set: string;
  tallies: Record<PipelineKey, Tally>;
}

export interface DetectionEvalResult {
  photos: PhotoResult[];
  /** Per set; then native photos above LARGE_SIDE, then each synthesised set. */
  sets: SetResult[];
  seconds: number;
}

/**
 * Tallies of `results` per row: each annotated set, native photos above LARGE_SIDE apart, each synthesised large set,
 * then each face-free set and all of them together.
 */
export function tallyRows(results: readonly PhotoResult[]): SetResult[] {
  const rows = new Map<string, SetResult>();
  const add = (set: string, r: PhotoResult) => {
    let row = rows.get(set);
    if (!row) rows.set(set, (row = { set, tallies: { shipped: emptyTally(), plain03: emptyTally(), plain05: emptyTally() } }));
    for (const { key } of PIPELINES) addScore(row.tallies[key], r.scores[key], (r.width * r.height) / 1e6);
  };
  const large = (r: PhotoResult) => r.photo.set.startsWith('large:');
  const faceFree = (r: PhotoResult) => r.photo.set.startsWith(FACE_FREE_PREFIX);
  const native = results.filter((r) => !large(r) && !faceFree(r));
  for (const r of native) add(r.photo.set, r);
  for (const r of native) if (Math.max(r.width, r.height) > LARGE_SIDE) add(`native above ${LARGE_SIDE} px`, r);
  for (const r of results.filter(large)) add(r.photo.set, r);
  for (const r of results.filter(faceFree)) add(r.photo.set, r);
  for (const r of results.filter(faceFree)) add(FACE_FREE_ALL, r);
  return [...rows.values()];
}

/** Runs every pipeline on every photo on the pool's workers ('detect' of src/eval/worker.ts), two in flight per worker. */
export async function runDetectionEval(options: {
  pool: WorkerPool;
  photos: readonly AnnotatedPhoto[];
  /** Levers of the engine's detection to try instead of its own (DetectionTuning). */
  tuning?: Partial<DetectionTuning>;
  onStart?: (photos: number) => void;
  onProgress?: (done: number) => void;
}): Promise<DetectionEvalResult> {
  const t0 = performance.now();
  const { pool, photos } = options;
  options.onStart?.(photos.length);
  const results: PhotoResult[] = new Array(photos.length);
  let next = 0,
    done = 0;
  const worker = async () => {
    while (next < photos.length) {
      const index = next++;
      const photo = photos[index]!;
      const t = performance.now();
      const d = await pool.runExtra<PhotoDetections>('detect', { bytes: await photo.bytes(), tuning: options.tuning });
      const scores = Object.fromEntries(
        PIPELINES.map(({ key }) => [key, scorePhoto(photo.faces, photo.ignore, pipelineBoxes(d, key))]),
      ) as Record<PipelineKey, PhotoScore>;
      results[index] = { photo, width: d.width, height: d.height, scores, seconds: (performance.now() - t) / 1000 };
      options.onProgress?.(++done);
    }
  };
  await Promise.all(Array.from({ length: pool.size * 2 }, worker));
  return { photos: results, sets: tallyRows(results), seconds: (performance.now() - t0) / 1000 };
}
