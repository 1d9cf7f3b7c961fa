/**
 * Time per face of each descriptor model in the registry, on the shipped runtime (ONNX Runtime, one thread, one
 * worker): the same photos, detected and landmarked once, then described by each model with and without its mirror
 * image. Detection and landmarks are the same for every model, so only the description differs.
 * Then the extra time per face of the attribute nets (age and gender, expression, both), on ONNX Runtime and on
 * face-api's own tfjs (WASM) in the same run: what `attributes=…` adds to a request; one that does not ask runs neither.
 *   npm run bench:models [-- --lfw 60]
 */
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ATTRIBUTE_NAMES, type AttributeName } from '../src/core/face.js';
import { ATTRIBUTE_CROP, FaceEngine } from '../src/engine/face-engine.js';
import { parsePairs } from '../src/eval/lfw.js';
import { decodeImage } from '../src/image/decode.js';

const { values } = parseArgs({ options: { lfw: { type: 'string', default: '60' }, rounds: { type: 'string', default: '3' } } });
const ROOT = path.resolve(import.meta.dirname, '..');
const DATASETS = process.env.FACEREC_DATASETS ?? path.resolve(ROOT, '..', 'shared', 'datasets');
const demo = path.join(ROOT, 'node_modules', '@vladmandic', 'face-api', 'demo');
const files = [1, 2, 3, 4, 5, 6].map((i) => path.join(demo, `sample${i}.jpg`));
const pairs = path.join(DATASETS, 'lfw-view1', 'pairsDevTest.txt');
if (existsSync(pairs)) {
  const images = [...new Set(parsePairs(readFileSync(pairs, 'utf8')).pairs.map((p) => p.a))].slice(0, Number(values.lfw));
  files.push(...images.map((f) => path.join(DATASETS, 'lfw-view1', 'images', f)));
}

const engine = await FaceEngine.create({ threads: 1 });
const photos: Array<{ image: Awaited<ReturnType<typeof decodeImage>>; landmarks: Array<Array<[number, number]>> }> = [];
for (const f of files) {
  const image = await decodeImage(await readFile(f), engine.imageLimits);
  const { faces } = await engine.analyze(image, { descriptors: false });
  photos.push({ image, landmarks: faces.map((x) => x.landmarks) });
}
const faces = photos.reduce((n, p) => n + p.landmarks.length, 0);
console.log(`${files.length} photos, ${faces} faces; ONNX Runtime, 1 thread; best of ${values.rounds} rounds`);
console.log(`${'model'.padEnd(18)} ${'dims'.padStart(5)} ${'ms/face'.padStart(8)} ${'+mirror'.padStart(8)}`);
for (const card of engine.models.cards) {
  const time = async (mirror: boolean) => {
    let best = Infinity;
    for (let r = 0; r < Number(values.rounds); r++) {
      const t0 = performance.now();
      for (const p of photos) await engine.describe(p.image, p.landmarks, 'dlib', mirror, card.id);
      best = Math.min(best, (performance.now() - t0) / faces);
    }
    return best;
  };
  await time(false); // warm-up: session creation and first runs
  const plain = await time(false),
    mirrored = await time(true);
  console.log(
    `${card.name.padEnd(18)} ${String(card.output.dims).padStart(5)} ${plain.toFixed(1).padStart(8)} ${mirrored.toFixed(1).padStart(8)}`,
  );
}

// The attribute nets: extra ms per face, on the engine's landmarks, as analyze() runs them when a request asks.
const tfjs = await FaceEngine.create({ runtime: 'tfjs', backend: 'wasm', threads: 1 });
const asks: Array<[string, AttributeName[]]> = [
  ['age,gender', ['age', 'gender']],
  ['expression', ['expression']],
  ['all', [...ATTRIBUTE_NAMES]],
];
console.log(`\nattributes (crop ${ATTRIBUTE_CROP}), extra ms per face, best of ${values.rounds} rounds`);
console.log(`${'attributes'.padEnd(18)} ${'ONNX Rt'.padStart(8)} ${'tfjs'.padStart(8)} ${'ratio'.padStart(6)}`);
for (const [label, asked] of asks) {
  const time = async (e: FaceEngine) => {
    await e.attributesOf(photos[0]!.image, photos[0]!.landmarks, new Set(asked), ATTRIBUTE_CROP); // warm-up: loads the nets
    let best = Infinity;
    for (let r = 0; r < Number(values.rounds); r++) {
      const t0 = performance.now();
      for (const p of photos) await e.attributesOf(p.image, p.landmarks, new Set(asked), ATTRIBUTE_CROP);
      best = Math.min(best, (performance.now() - t0) / faces);
    }
    return best;
  };
  const onnx = await time(engine),
    reference = await time(tfjs);
  console.log(
    `${label.padEnd(18)} ${onnx.toFixed(1).padStart(8)} ${reference.toFixed(1).padStart(8)} ${(reference / onnx).toFixed(1).padStart(5)}×`,
  );
}
await tfjs.dispose();
await engine.dispose();
