/** The LFW verification protocol: pairs files, threshold choice, accuracy, TAR at fixed FAR and ROC. */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { InvalidArgumentError } from '../errors.js';

export interface Pair {
  a: string;
  b: string;
  same: boolean;
  fold: number;
}

export interface PairsFile {
  pairs: Pair[];
  /** Folds as declared by the header ("10 300"), 1 for the View 1 files ("1100"). */
  folds: number;
}

/** Image path of LFW's Name/Name_NNNN.jpg, relative to the images root. */
export function lfwImagePath(name: string, index: number): string {
  return path.join(name, `${name}_${String(index).padStart(4, '0')}.jpg`);
}

/** Parses a pairs file: `Name i j` is a same-person pair, `NameA i NameB j` a different-person one. */
export function parsePairs(text: string): PairsFile {
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean);
  const header = (lines.shift() ?? '').split(/\s+/).map(Number);
  if (header.length === 0 || header.some((n) => !Number.isInteger(n) || n <= 0))
    throw new InvalidArgumentError('The pairs file has no valid header line');
  const folds = header.length === 2 ? header[0]! : 1;
  const perFold = lines.length / folds;
  const pairs = lines.map((line, i): Pair => {
    const f = line.split(/\s+/);
    const fold = Math.floor(i / perFold);
    const bad = () => new InvalidArgumentError(`Pairs file line ${i + 2} is neither 'Name i j' nor 'NameA i NameB j': ${line}`);
    const index = (v: string | undefined) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n <= 0) throw bad();
      return n;
    };
    if (f.length === 3) return { a: lfwImagePath(f[0]!, index(f[1])), b: lfwImagePath(f[0]!, index(f[2])), same: true, fold };
    if (f.length === 4) return { a: lfwImagePath(f[0]!, index(f[1])), b: lfwImagePath(f[2]!, index(f[3])), same: false, fold };
    throw bad();
  });
  return { pairs, folds };
}

export async function readPairs(file: string): Promise<PairsFile> {
  return parsePairs(await readFile(file, 'utf8'));
}

export interface ScoredPair {
  same: boolean;
  /** Euclidean distance; Infinity when a face was missing, so the pair is decided 'different'. */
  distance: number;
  fold: number;
}

/** Accuracy of `distance < threshold` ⇒ same. */
export function accuracyAt(pairs: readonly ScoredPair[], threshold: number): number {
  let right = 0;
  for (const p of pairs) if (p.distance < threshold === p.same) right++;
  return pairs.length === 0 ? 0 : right / pairs.length;
}

/** The threshold with the best accuracy: midpoints between consecutive finite distances are tried. */
export function bestThreshold(pairs: readonly ScoredPair[]): { threshold: number; accuracy: number } {
  const sorted = pairs
    .map((p) => p.distance)
    .filter(Number.isFinite)
    .sort((x, y) => x - y);
  let best = { threshold: 0, accuracy: accuracyAt(pairs, 0) };
  // Sweep: accuracy(t) changes only when t passes a distance, so count incrementally.
  const ordered = pairs.filter((p) => Number.isFinite(p.distance)).sort((x, y) => x.distance - y.distance);
  let right = pairs.filter((p) => !p.same).length; // threshold below everything: all 'different'
  for (let i = 0; i < ordered.length; i++) {
    right += ordered[i]!.same ? 1 : -1;
    const next = sorted[i + 1];
    if (next !== undefined && next === sorted[i]) continue;
    const threshold = next === undefined ? sorted[i]! + 1e-6 : (sorted[i]! + next) / 2;
    const accuracy = right / pairs.length;
    if (accuracy > best.accuracy) best = { threshold, accuracy };
  }
  return best;
}

export interface RocPoint {
  far: number;
  tar: number;
  threshold: number;
}

/** ROC: one point per distinct finite distance; each point's threshold accepts exactly the pairs up to it (distance < threshold). */
export function rocCurve(pairs: readonly ScoredPair[]): RocPoint[] {
  const positives = pairs.filter((p) => p.same).length;
  const negatives = pairs.length - positives;
  const ordered = pairs.filter((p) => Number.isFinite(p.distance)).sort((x, y) => x.distance - y.distance);
  const points: RocPoint[] = [{ far: 0, tar: 0, threshold: 0 }];
  let tp = 0,
    fp = 0;
  for (let i = 0; i < ordered.length; i++) {
    if (ordered[i]!.same) tp++;
    else fp++;
    if (i + 1 < ordered.length && ordered[i + 1]!.distance === ordered[i]!.distance) continue;
    const next = ordered[i + 1]?.distance;
    const threshold = next === undefined ? ordered[i]!.distance + 1e-6 : (ordered[i]!.distance + next) / 2;
    points.push({ far: negatives ? fp / negatives : 0, tar: positives ? tp / positives : 0, threshold });
  }
  return points;
}

/** Highest TAR whose FAR does not exceed `far`. */
export function tarAtFar(roc: readonly RocPoint[], far: number): { tar: number; threshold: number } {
  let best = { tar: 0, threshold: 0 };
  for (const p of roc) if (p.far <= far && p.tar >= best.tar) best = { tar: p.tar, threshold: p.threshold };
  return best;
}

export interface VerificationReport {
  accuracy: number;
  /** Accuracy ± standard deviation over folds, when the protocol is 10-fold. */
  foldStd?: number;
  threshold: number;
  tarAtFar001: number;
  tarAtFar01: number;
  pairs: number;
  pairsMissingFace: number;
  roc: RocPoint[];
}

/**
 * Scores a pipeline: the threshold is chosen on `train` and applied to `test`; with no train split and several
 * folds, each fold is scored with the threshold chosen on the other nine.
 */
export function verificationReport(test: readonly ScoredPair[], train?: readonly ScoredPair[]): VerificationReport {
  let accuracy: number, threshold: number, foldStd: number | undefined;
  const folds = [...new Set(test.map((p) => p.fold))];
  if (train) {
    threshold = bestThreshold(train).threshold;
    accuracy = accuracyAt(test, threshold);
  } else if (folds.length > 1) {
    const accs = folds.map((f) =>
      accuracyAt(
        test.filter((p) => p.fold === f),
        bestThreshold(test.filter((p) => p.fold !== f)).threshold,
      ),
    );
    accuracy = accs.reduce((s, a) => s + a, 0) / accs.length;
    foldStd = Math.sqrt(accs.reduce((s, a) => s + (a - accuracy) ** 2, 0) / accs.length);
    threshold = bestThreshold(test).threshold;
  } else {
    ({ threshold, accuracy } = bestThreshold(test));
  }
  const roc = rocCurve(test);
  return {
    accuracy,
    foldStd,
    threshold,
    tarAtFar001: tarAtFar(roc, 0.001).tar,
    tarAtFar01: tarAtFar(roc, 0.01).tar,
    pairs: test.length,
    pairsMissingFace: test.filter((p) => !Number.isFinite(p.distance)).length,
    roc,
  };
}
