/**
 * Compares two `facerec embed` runs over the LFW View 1 images (one made with FACEREC_PRECISION=fp32
 * FACEREC_SSD_INPUT=512, the reference; the other with the setting under test): each image's subject (the face
 * nearest the centre, as `facerec eval lfw` takes it), its box and its descriptor against the reference's, and the
 * LFW protocol on both (threshold chosen on DevTrain, DevTest reported), plus "cross": a gallery described by the
 * reference and probes by the other, which is what a gallery enrolled before a switch meets after it.
 *   npx tsx scripts/compare-embeddings.ts REFERENCE.jsonl OTHER.jsonl [--pairs DIR] [--threshold 0.59]
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parsePairs, verificationReport, type Pair, type ScoredPair } from '../src/eval/lfw.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    pairs: { type: 'string', default: path.resolve(import.meta.dirname, '..', '..', 'shared', 'datasets', 'lfw-view1') },
    threshold: { type: 'string', default: '0.59' },
  },
});
if (positionals.length !== 2) throw new Error('usage: compare-embeddings.ts REFERENCE.jsonl OTHER.jsonl');

type Box = [number, number, number, number];
interface Line {
  f: string;
  w: number;
  h: number;
  faces: { box: Box; score: number; descriptor: number[] }[];
}

/** Each image's subject: the face nearest the centre, or null. */
function subjects(file: string): Map<string, { box: Box; descriptor: number[]; faces: number } | null> {
  const out = new Map<string, { box: Box; descriptor: number[]; faces: number } | null>();
  for (const text of readFileSync(file, 'utf8').split('\n')) {
    if (!text.trim()) continue;
    const line = JSON.parse(text) as Line;
    let best: Line['faces'][number] | undefined,
      bestDistance = Infinity;
    for (const face of line.faces) {
      const [x, y, w, h] = face.box;
      const d = Math.hypot(x + w / 2 - line.w / 2, y + h / 2 - line.h / 2);
      if (d < bestDistance) [best, bestDistance] = [face, d];
    }
    out.set(line.f, best ? { box: best.box, descriptor: best.descriptor, faces: line.faces.length } : null);
  }
  return out;
}

const distance = (a: number[], b: number[]) => Math.hypot(...a.map((v, i) => v - b[i]!));
function iou(a: Box, b: Box): number {
  const ix = Math.max(0, Math.min(a[0] + a[2], b[0] + b[2]) - Math.max(a[0], b[0]));
  const iy = Math.max(0, Math.min(a[1] + a[3], b[1] + b[3]) - Math.max(a[1], b[1]));
  return (ix * iy) / (a[2] * a[3] + b[2] * b[3] - ix * iy);
}
const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
const pct = (v: number) => `${(v * 100).toFixed(2)}%`;

const [ref, other] = positionals.map(subjects) as [ReturnType<typeof subjects>, ReturnType<typeof subjects>];
const threshold = Number(values.threshold);

const distances: number[] = [],
  ious: number[] = [];
let lostFace = 0,
  gainedFace = 0,
  otherSubject = 0,
  faceCountChanged = 0;
for (const [f, a] of ref) {
  const b = other.get(f);
  if (b === undefined) throw new Error(`${f} is in the reference but not in the other run`);
  if (a && !b) lostFace++;
  else if (!a && b) gainedFace++;
  else if (a && b) {
    if (a.faces !== b.faces) faceCountChanged++;
    const overlap = iou(a.box, b.box);
    if (overlap < 0.5) otherSubject++;
    else {
      ious.push(overlap);
      distances.push(distance(a.descriptor, b.descriptor));
    }
  }
}
distances.sort((p, q) => p - q);
ious.sort((p, q) => p - q);
console.log(
  `${ref.size} images: the other run found no face in ${lostFace} where the reference did, a face in ${gainedFace} where it did not`,
);
console.log(`  faces per image changed in ${faceCountChanged}; the subject is another face in ${otherSubject}`);
console.log(
  `  subject box IoU with the reference: median ${quantile(ious, 0.5).toFixed(3)}, 1st percentile ${quantile(ious, 0.01).toFixed(3)}, min ${ious[0]!.toFixed(3)}`,
);
console.log(
  `  descriptor distance to the reference: median ${quantile(distances, 0.5).toFixed(4)}, p90 ${quantile(distances, 0.9).toFixed(4)}, p99 ${quantile(distances, 0.99).toFixed(4)}, max ${distances.at(-1)!.toFixed(4)}; over 0.02: ${distances.filter((d) => d > 0.02).length}, over 0.05: ${distances.filter((d) => d > 0.05).length}`,
);

const pairs = (name: string): Pair[] => parsePairs(readFileSync(path.join(values.pairs!, name), 'utf8')).pairs;
const [train, test] = [pairs('pairsDevTrain.txt'), pairs('pairsDevTest.txt')];
type Sub = ReturnType<typeof subjects>;
const scored = (list: Pair[], ga: Sub, pb: Sub): ScoredPair[] =>
  list.map((p) => {
    const a = ga.get(p.a),
      b = pb.get(p.b);
    return { same: p.same, fold: p.fold, distance: a && b ? distance(a.descriptor, b.descriptor) : Infinity };
  });
const runs: [string, Sub, Sub][] = [
  ['reference', ref, ref],
  ['other', other, other],
  ['cross (reference gallery, other probe)', ref, other],
];
console.log(`\nLFW View 1, threshold chosen on DevTrain, DevTest reported; decisions at ${threshold} (the model card's threshold)`);
console.log(
  `${'run'.padEnd(40)} ${'accuracy'.padStart(9)} ${'TAR@0.1%'.padStart(9)} ${'TAR@1%'.padStart(8)} ${'threshold'.padStart(9)} ${'decided otherwise'.padStart(18)}   DevTrain: ${'TAR@0.1%'.padStart(9)} ${'TAR@1%'.padStart(8)}`,
);
const refDecisions = scored(test, ref, ref).map((p) => p.distance <= threshold);
for (const [name, g, p] of runs) {
  const testPairs = scored(test, g, p);
  const report = verificationReport(testPairs, scored(train, g, p));
  const flips = testPairs.filter((q, i) => q.distance <= threshold !== refDecisions[i]).length;
  // DevTrain's TARs too (threshold-free, 1100 + 1100 pairs): a second, larger look at the strict end.
  const trainReport = verificationReport(scored(train, g, p));
  console.log(
    `${name.padEnd(40)} ${pct(report.accuracy).padStart(9)} ${pct(report.tarAtFar001).padStart(9)} ${pct(report.tarAtFar01).padStart(8)} ${report.threshold.toFixed(4).padStart(9)} ${`${flips} of ${testPairs.length}`.padStart(18)}             ${pct(trainReport.tarAtFar001).padStart(9)} ${pct(trainReport.tarAtFar01).padStart(8)}`,
  );
}
// DevTest's TAR at FAR 0.1% is the share of its 500 genuine pairs closer than its single closest impostor pair (0 of
// 500 accepted): one pair moves it by points. All 3,200 pairs together (1,600 impostors, one accepted) are steadier.
console.log(`\nall View 1 pairs (DevTrain + DevTest: 1,600 genuine, 1,600 impostor), threshold-free`);
console.log(
  `${'run'.padEnd(40)} ${'TAR@0.1%'.padStart(9)} ${'TAR@1%'.padStart(8)} ${'genuine median'.padStart(15)} ${'impostor 1st pct'.padStart(17)}`,
);
for (const [name, g, p] of runs) {
  const all = scored([...train, ...test], g, p);
  const report = verificationReport(all);
  const genuine = all
    .filter((q) => q.same)
    .map((q) => q.distance)
    .sort((x, y) => x - y);
  const impostor = all
    .filter((q) => !q.same)
    .map((q) => q.distance)
    .sort((x, y) => x - y);
  console.log(
    `${name.padEnd(40)} ${pct(report.tarAtFar001).padStart(9)} ${pct(report.tarAtFar01).padStart(8)} ${quantile(genuine, 0.5).toFixed(4).padStart(15)} ${quantile(impostor, 0.01).toFixed(4).padStart(17)}`,
  );
}
