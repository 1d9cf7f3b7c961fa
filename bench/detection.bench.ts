/**
 * Detection recall where the detector's fixed 512×512 input hurts: small faces in a large photo, and one face
 * filling a small photo. Compares one full-frame pass (plain face-api usage) with the engine's search.
 *   npx tsx bench/detection.bench.ts [-- --lfw 150]
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { FaceEngine, type AnalyzeOptions, type Box } from '../src/engine/face-engine.js';
import { parseImglabXml } from '../src/eval/detection.js';
import { parsePairs } from '../src/eval/lfw.js';
import { decodeImage, type RgbImage } from '../src/image/decode.js';

const { values } = parseArgs({ options: { lfw: { type: 'string', default: '150' } } });
const DATASETS = process.env.FACEREC_DATASETS ?? path.resolve(import.meta.dirname, '..', '..', 'shared', 'datasets');
const FACES = path.join(DATASETS, 'dlib-examples', 'faces');

/** Annotated face boxes of dlib's PASCAL examples (training.xml + testing.xml). */
function annotated(): Map<string, Box[]> {
  const boxes = new Map<string, Box[]>();
  for (const xml of ['training.xml', 'testing.xml'])
    for (const { file, faces } of parseImglabXml(readFileSync(path.join(FACES, xml), 'latin1'))) boxes.set(file, faces);
  return boxes;
}

// An annotated face counts as found when a detection's centre falls inside it (dlib's boxes are tighter and square).
function found(truth: Box[], detections: Box[]): number {
  return truth.filter(([x, y, w, h]) =>
    detections.some(([dx, dy, dw, dh]) => dx + dw / 2 > x && dx + dw / 2 < x + w && dy + dh / 2 > y && dy + dh / 2 < y + h),
  ).length;
}

async function onCanvas(image: RgbImage, width: number, height: number): Promise<RgbImage> {
  const photo = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .png()
    .toBuffer();
  const data = await sharp({ create: { width, height, channels: 3, background: '#808080' } })
    .composite([{ input: photo, left: 0, top: 0 }])
    .removeAlpha()
    .raw()
    .toBuffer();
  return { width, height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
}

const engine = await FaceEngine.create();
const modes: Array<[string, AnalyzeOptions]> = [
  ['one full-frame pass', { singlePass: true, descriptors: false }],
  ['engine search', { descriptors: false }],
];

const truth = annotated();
let total = 0;
const hits = { native: [0, 0], large: [0, 0] };
const seconds = { native: [0, 0], large: [0, 0] };
for (const [file, boxes] of truth) {
  const image = await decodeImage(readFileSync(path.join(FACES, file)));
  const large = await onCanvas(image, 4032, 3024); // the same faces inside a phone-sized photo
  total += boxes.length;
  for (const [i, [, options]] of modes.entries()) {
    for (const [key, img] of [
      ['native', image],
      ['large', large],
    ] as const) {
      const t0 = performance.now();
      const a = await engine.analyze(img, options);
      seconds[key][i]! += (performance.now() - t0) / 1000;
      hits[key][i]! += found(
        boxes,
        a.faces.map((f) => f.box),
      );
    }
  }
}
console.log(`dlib PASCAL examples: ${total} annotated faces (37-109 px) in ${truth.size} photos`);
for (const [i, [name]] of modes.entries()) {
  console.log(
    `  ${name.padEnd(20)} native ~500px: ${hits.native[i]}/${total} found (${seconds.native[i]!.toFixed(1)} s)   inside 4032x3024: ${hits.large[i]}/${total} found (${seconds.large[i]!.toFixed(1)} s)`,
  );
}

// Small photos: LFW images shrunk so that the face fills a tiny frame.
const pairs = parsePairs(readFileSync(path.join(DATASETS, 'lfw-view1', 'pairsDevTest.txt'), 'utf8')).pairs;
const lfw = [...new Set(pairs.map((p) => p.a))].slice(0, Number(values.lfw));
for (const size of [250, 120, 80]) {
  const counts = modes.map(() => 0);
  for (const f of lfw) {
    const bytes = await sharp(readFileSync(path.join(DATASETS, 'lfw-view1', 'images', f)))
      .resize(size)
      .jpeg({ quality: 92 })
      .toBuffer();
    const image = await decodeImage(bytes);
    for (const [i, [, options]] of modes.entries()) if ((await engine.analyze(image, options)).faces.length > 0) counts[i]!++;
  }
  console.log(
    `LFW at ${size}x${size} (${lfw.length} images): ${modes.map(([name], i) => `${name} finds a face in ${counts[i]}`).join(', ')}`,
  );
}
