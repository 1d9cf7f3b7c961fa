/** Fits DEFAULT_CONFIDENCE (src/match/confidence.ts) on LFW pairs, from descriptors saved by `facerec eval lfw --save`. */
import { readFileSync } from 'node:fs';
import { euclidean } from '../src/match/distance.js';
import { readPairs } from '../src/eval/lfw.js';
import { confidenceOf, fitConfidence } from '../src/match/confidence.js';

const [descriptorsFile = '.eval/lfw-view1-final.jsonl', pairsFile = '../shared/datasets/lfw-view1/pairsDevTrain.txt'] =
  process.argv.slice(2);

// The shipped pipeline's descriptor: dlib chip averaged with its mirror (see src/eval/lfw-runner.ts).
const descriptors = new Map<string, number[]>();
for (const line of readFileSync(descriptorsFile, 'utf8').split('\n')) {
  if (!line.trim()) continue;
  const { f, engine } = JSON.parse(line) as { f: string; engine: { dlibMirror?: number[] | null } | null };
  if (engine?.dlibMirror) descriptors.set(f, engine.dlibMirror);
}

const distances: number[] = [];
const same: boolean[] = [];
let skipped = 0;
for (const pair of (await readPairs(pairsFile)).pairs) {
  const a = descriptors.get(pair.a),
    b = descriptors.get(pair.b);
  if (!a || !b) {
    skipped++;
    continue;
  }
  distances.push(euclidean(a, b));
  same.push(pair.same);
}

const model = fitConfidence(distances, same);
console.log(`${distances.length} pairs (${same.filter(Boolean).length} same), ${skipped} skipped for a missing face`);
console.log(`DEFAULT_CONFIDENCE = { slope: ${model.slope.toFixed(4)}, intercept: ${model.intercept.toFixed(4)} }`);
for (const d of [0.4, 0.5, 0.59, 0.7]) console.log(`confidence(${d}) = ${confidenceOf(d, model).toFixed(4)}`);
