/**
 * Time per face of each descriptor model in the registry, on the shipped runtime (ONNX Runtime, one thread, one
 * worker): the same photos, detected and landmarked once, then described by each model with and without its mirror
 * image. Detection and landmarks are the same for every model, so only the description differs.
 *   npm run bench:models [-- --lfw 60]
 */
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { FaceEngine } from '../src/engine/face-engine.js';
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
await engine.dispose();
