/**
 * The face-attribute evaluation (`facerec eval attributes`): every labelled set within reach through the engine with
 * both crops, then accuracy with a confidence interval by bootstrap over people, per-group figures, and calibration
 * (expected calibration error and the reliability bins its plot draws).
 *
 * Labels: expression from yalefaces' file names (YALE_EXPRESSIONS maps them to face-api's classes); gender from a
 * fixture labelled once by hand (test/fixtures/gender-labels.tsv). No set within reach labels age.
 */
import { existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { rng } from '../core/random.js';
import { EXPRESSIONS, type Expression, type FaceAttributes, type Gender } from '../core/face.js';
import { ATTRIBUTE_CROP, ATTRIBUTE_CROPS, type AttributeCrop } from '../engine/face-engine.js';

export { ATTRIBUTE_CROP, ATTRIBUTE_CROPS, type AttributeCrop };
import type { WorkerPool } from '../engine/pool.js';
import { FacerecError } from '../errors.js';

/**
 * yalefaces' expression labels (its file names) as face-api's classes where one corresponds; null where none does:
 * 'sleepy' (eyes half shut) and 'wink' are not expressions face-api knows. The other variants of the set (lighting,
 * glasses) carry no expression label and are not scored.
 */
export const YALE_EXPRESSIONS: Readonly<Record<string, Expression | null>> = Object.freeze({
  normal: 'neutral',
  happy: 'happy',
  sad: 'sad',
  surprised: 'surprised',
  sleepy: null,
  wink: null,
});

/** One photo of a labelled set: whose it is, and what is known of the face in it. */
export interface LabelledPhoto {
  set: string;
  /** The person (a folder or subject name): photos of one person are not independent, so intervals resample people. */
  person: string;
  file: string;
  gender?: Gender;
  /** face-api's class for the photo's expression label, or null for a label with none (sleepy, wink). */
  expression?: Expression | null;
  /** The set's own expression label (yalefaces), when it has one. */
  expressionLabel?: string;
}

/** The attributes the engine gave the photo's subject (the face nearest the centre) with each crop, or null without a face. */
export interface PhotoAttributes {
  faces: number;
  byCrop: Record<AttributeCrop, FaceAttributes> | null;
}

/** Reads the gender fixture: set → person → label; '-' (left out) is absent. */
export function parseGenderLabels(text: string): Map<string, Map<string, Gender>> {
  const labels = new Map<string, Map<string, Gender>>();
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const [set, person, label] = line.split('\t');
    if (!set || !person || !label || !['female', 'male', '-'].includes(label))
      throw new FacerecError('INVALID_ARGUMENT', `gender labels, line ${i + 1}: expected set<TAB>person<TAB>female|male|-`, {
        line: i + 1,
      });
    if (label === '-') continue;
    if (!labels.has(set)) labels.set(set, new Map());
    labels.get(set)!.set(person, label as Gender);
  }
  return labels;
}

const IMAGE = /\.(jpe?g|png|gif|bmp|pgm|webp)$/i;

async function filesIn(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((f) => IMAGE.test(f)).sort();
}

/**
 * The labelled photos within reach under `datasets`: yalefaces (expression), LFW View 1, the BBT characters and
 * face_recognition's k-NN people (gender, as `labels` says). A set whose folder is absent is left out.
 */
export async function labelledPhotos(datasets: string, labels: Map<string, Map<string, Gender>>): Promise<LabelledPhoto[]> {
  const photos: LabelledPhoto[] = [];
  const yale = path.join(datasets, 'yalefaces');
  if (existsSync(yale)) {
    for (const subject of (await readdir(yale)).sort()) {
      if (!existsSync(path.join(yale, subject)) || !subject.startsWith('subject')) continue;
      for (const file of await filesIn(path.join(yale, subject))) {
        const label = file.split('.')[1] ?? '';
        if (label in YALE_EXPRESSIONS)
          photos.push({
            set: 'yalefaces',
            person: subject,
            file: path.join(yale, subject, file),
            expression: YALE_EXPRESSIONS[label],
            expressionLabel: label,
          });
      }
    }
  }
  const genderSets: Array<[string, string]> = [
    ['lfw-view1', path.join(datasets, 'lfw-view1', 'images')],
    ['bbt', path.join(datasets, 'bbt', 'identities')],
    ['face-recognition-examples', path.join(datasets, 'face-recognition-examples', 'knn_examples', 'train')],
  ];
  for (const [set, root] of genderSets) {
    const people = labels.get(set);
    if (!people || !existsSync(root)) continue;
    for (const person of (await readdir(root)).sort()) {
      const gender = people.get(person);
      if (!gender) continue;
      for (const file of await filesIn(path.join(root, person))) photos.push({ set, person, file: path.join(root, person, file), gender });
    }
  }
  return photos;
}

/** Every photo through the pool ('attributes' of the evaluation's worker), two at a time per worker, in order. */
export async function measurePhotos(
  pool: WorkerPool,
  photos: readonly LabelledPhoto[],
  onProgress: (done: number) => void = () => {},
): Promise<PhotoAttributes[]> {
  const results: PhotoAttributes[] = new Array(photos.length);
  let next = 0,
    done = 0;
  const worker = async () => {
    while (next < photos.length) {
      const index = next++;
      results[index] = await pool.runExtra<PhotoAttributes>('attributes', { bytes: new Uint8Array(await readFile(photos[index]!.file)) });
      onProgress(++done);
    }
  };
  await Promise.all(Array.from({ length: pool.size * 2 }, worker));
  return results;
}

/** A photo's key in a saved run: its set, person and path under the datasets folder (not the machine's own path). */
export const photoKey = (datasets: string, photo: LabelledPhoto): string =>
  `${photo.set}\t${photo.person}\t${path.relative(datasets, photo.file)}`;

/** A run as JSON lines (`--save`): one photo's key and what the engine gave it per line. */
export function savedRun(datasets: string, photos: readonly LabelledPhoto[], measured: readonly PhotoAttributes[]): string {
  return photos.map((p, i) => `${JSON.stringify({ key: photoKey(datasets, p), ...measured[i] })}\n`).join('');
}

/**
 * What a saved run (`--load`) gave each photo, in the photos' order; the labels come from the sets as they are now, so
 * that labels corrected after a run score again without computing anything. A photo the run lacks is refused.
 */
export function loadRun(datasets: string, photos: readonly LabelledPhoto[], text: string): PhotoAttributes[] {
  const byKey = new Map<string, PhotoAttributes>();
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const { key, ...result } = JSON.parse(line) as PhotoAttributes & { key: string };
    byKey.set(key, result);
  }
  return photos.map((p) => {
    const found = byKey.get(photoKey(datasets, p));
    if (!found)
      throw new FacerecError('INVALID_ARGUMENT', `The saved run has no result for ${path.relative(datasets, p.file)}: run without --load`, {
        file: p.file,
      });
    return found;
  });
}

// ---- scoring (pure) -------------------------------------------------------------------------------------------------

/** One decision: whose face it was (the bootstrap's cluster), whether it was right, and the probability given to the answer. */
export interface Outcome {
  person: string;
  correct: boolean;
  confidence: number;
}

export interface Accuracy {
  n: number;
  correct: number;
  accuracy: number;
  /** 95% interval by bootstrap over people (photos of one person are not independent). */
  ci: [number, number];
  people: number;
}

export const BOOTSTRAP_DRAWS = 2000;

/** Each person's outcomes as [right, total]: the units a bootstrap over people resamples. */
function perPerson(outcomes: readonly Outcome[]): Array<[number, number]> {
  const byPerson = new Map<string, [number, number]>();
  for (const o of outcomes) {
    const c = byPerson.get(o.person) ?? [0, 0];
    c[0] += o.correct ? 1 : 0;
    c[1] += 1;
    byPerson.set(o.person, c);
  }
  return [...byPerson.values()];
}

/** The accuracy of one resample of `people` (with replacement). */
function resampledRate(people: ReadonlyArray<[number, number]>, random: () => number): number {
  let right = 0,
    total = 0;
  for (let k = 0; k < people.length; k++) {
    const [r, t] = people[Math.floor(random() * people.length)]!;
    right += r;
    total += t;
  }
  return right / total;
}

/** The 2.5th and 97.5th percentiles of `values` (sorted in place). */
function interval95(values: number[]): [number, number] {
  values.sort((x, y) => x - y);
  const at = (q: number) => values[Math.round(q * (values.length - 1))]!;
  return [at(0.025), at(0.975)];
}

/** Accuracy with a 95% percentile interval from `draws` resamples of the people (with replacement), seeded. */
export function accuracyOf(outcomes: readonly Outcome[], draws = BOOTSTRAP_DRAWS, seed = 27): Accuracy {
  const people = perPerson(outcomes);
  const correct = outcomes.filter((o) => o.correct).length;
  const n = outcomes.length;
  if (n === 0) return { n: 0, correct: 0, accuracy: NaN, ci: [NaN, NaN], people: 0 };
  const random = rng(seed);
  const rates: number[] = [];
  for (let d = 0; d < draws; d++) rates.push(resampledRate(people, random));
  return { n, correct, accuracy: correct / n, ci: interval95(rates), people: people.length };
}

/** The difference between two groups' accuracies (a − b) with a 95% interval, each group resampled by its people. */
export function gapOf(
  a: readonly Outcome[],
  b: readonly Outcome[],
  draws = BOOTSTRAP_DRAWS,
  seed = 27,
): { gap: number; ci: [number, number] } {
  const random = rng(seed);
  const [pa, pb] = [perPerson(a), perPerson(b)];
  const gaps: number[] = [];
  for (let d = 0; d < draws; d++) gaps.push(resampledRate(pa, random) - resampledRate(pb, random));
  const share = (outcomes: readonly Outcome[]) => outcomes.filter((o) => o.correct).length / outcomes.length;
  return { gap: share(a) - share(b), ci: interval95(gaps) };
}

/**
 * The difference in accuracy between two answers on the same photos (a − b), with a 95% interval from resampling the
 * people: `a[i]` and `b[i]` are the same photo, so each person's photos move together.
 */
export function pairedDifferenceOf(
  a: readonly Outcome[],
  b: readonly Outcome[],
  draws = BOOTSTRAP_DRAWS,
  seed = 27,
): { difference: number; ci: [number, number] } {
  const byPerson = new Map<string, [number, number, number]>();
  a.forEach((o, i) => {
    const c = byPerson.get(o.person) ?? [0, 0, 0];
    c[0] += o.correct ? 1 : 0;
    c[1] += b[i]!.correct ? 1 : 0;
    c[2] += 1;
    byPerson.set(o.person, c);
  });
  const clusters = [...byPerson.values()];
  const random = rng(seed);
  const differences: number[] = [];
  for (let d = 0; d < draws; d++) {
    let ra = 0,
      rb = 0,
      total = 0;
    for (let k = 0; k < clusters.length; k++) {
      const [x, y, t] = clusters[Math.floor(random() * clusters.length)]!;
      ra += x;
      rb += y;
      total += t;
    }
    differences.push((ra - rb) / total);
  }
  const right = (outcomes: readonly Outcome[]) => outcomes.filter((o) => o.correct).length;
  return { difference: (right(a) - right(b)) / a.length, ci: interval95(differences) };
}

export interface ReliabilityBin {
  /** The bin's confidence range [from, to). */
  from: number;
  to: number;
  n: number;
  /** Mean confidence and accuracy of the answers in the bin. */
  confidence: number;
  accuracy: number;
}

/**
 * Expected calibration error: the answers binned by the probability given to them into `bins` equal bins over
 * [low, 1], and the mean |accuracy − confidence| of the bins weighted by their share of answers. `low` is the least
 * confidence an answer can have (0.5 for two classes, 1/7 for seven).
 */
export function calibrationOf(outcomes: readonly Outcome[], low: number, bins = 10): { ece: number; bins: ReliabilityBin[] } {
  const width = (1 - low) / bins;
  const cells = Array.from({ length: bins }, (_, i) => ({ from: low + i * width, to: low + (i + 1) * width, n: 0, conf: 0, right: 0 }));
  for (const o of outcomes) {
    const i = Math.min(bins - 1, Math.max(0, Math.floor((o.confidence - low) / width)));
    const cell = cells[i]!;
    cell.n++;
    cell.conf += o.confidence;
    cell.right += o.correct ? 1 : 0;
  }
  const total = outcomes.length;
  let ece = 0;
  const out: ReliabilityBin[] = [];
  for (const c of cells) {
    if (c.n === 0) continue;
    const confidence = c.conf / c.n,
      accuracy = c.right / c.n;
    ece += (c.n / total) * Math.abs(accuracy - confidence);
    out.push({ from: round(c.from, 4), to: round(c.to, 4), n: c.n, confidence, accuracy });
  }
  return { ece, bins: out };
}

const round = (v: number, digits: number): number => Math.round(v * 10 ** digits) / 10 ** digits;

/** Age bands of the net's own estimate: the only age there is (no set within reach labels age). */
export const AGE_BANDS = [
  { label: 'under 30', below: 30 },
  { label: '30–44', below: 45 },
  { label: '45–59', below: 60 },
  { label: '60 and over', below: Infinity },
] as const;

export const ageBandOf = (age: number): string => AGE_BANDS.find((b) => age < b.below)!.label;

export interface GenderReport {
  photos: number;
  noFace: number;
  overall: Accuracy;
  bySet: Record<string, Accuracy>;
  /** By the labelled gender: the group gap the docs must state when over 5 points. */
  byGender: Record<Gender, Accuracy>;
  gap: { gap: number; ci: [number, number] };
  /** By the net's own age estimate. */
  byAgeBand: Record<string, Accuracy>;
  byAgeBandAndGender: Record<string, Record<Gender, Accuracy>>;
  ece: number;
  reliability: ReliabilityBin[];
}

export interface ExpressionReport {
  photos: number;
  noFace: number;
  /** The photos whose label maps to a face-api class. */
  overall: Accuracy;
  byClass: Partial<Record<Expression, Accuracy>>;
  /** Label (the set's own) → face-api's answer → photos. */
  confusion: Record<string, Partial<Record<Expression, number>>>;
  ece: number;
  reliability: ReliabilityBin[];
}

export interface CropReport {
  crop: AttributeCrop;
  gender: GenderReport;
  expression: ExpressionReport;
}

const personKey = (p: LabelledPhoto) => `${p.set}/${p.person}`;

/** The report of one crop over every labelled photo and what the engine gave each. */
export function scoreCrop(photos: readonly LabelledPhoto[], measured: readonly PhotoAttributes[], crop: AttributeCrop): CropReport {
  const gender: Array<Outcome & { set: string; truth: Gender; age: number }> = [];
  const expression: Array<Outcome & { truth: Expression; label: string; answer: Expression }> = [];
  const confusion: Record<string, Partial<Record<Expression, number>>> = {};
  let genderPhotos = 0,
    genderMissed = 0,
    expressionPhotos = 0,
    expressionMissed = 0;
  photos.forEach((photo, i) => {
    const found = measured[i]?.byCrop?.[crop];
    if (photo.gender) {
      genderPhotos++;
      if (!found?.gender) genderMissed++;
      else
        gender.push({
          person: personKey(photo),
          set: photo.set,
          truth: photo.gender,
          age: found.age ?? NaN,
          correct: found.gender.label === photo.gender,
          confidence: found.gender.probability,
        });
    }
    if (photo.expressionLabel !== undefined) {
      expressionPhotos++;
      if (!found?.expression) {
        expressionMissed++;
        return;
      }
      const answer = found.expression.label;
      const row = (confusion[photo.expressionLabel] ??= {});
      row[answer] = (row[answer] ?? 0) + 1;
      if (photo.expression)
        expression.push({
          person: personKey(photo),
          truth: photo.expression,
          label: photo.expressionLabel,
          answer,
          correct: answer === photo.expression,
          confidence: found.expression.probability,
        });
    }
  });
  const group = <T extends Outcome>(items: T[], key: (o: T) => string) => {
    const groups: Record<string, T[]> = {};
    for (const o of items) (groups[key(o)] ??= []).push(o);
    return groups;
  };
  const accuracies = (groups: Record<string, Outcome[]>) =>
    Object.fromEntries(Object.entries(groups).map(([k, v]) => [k, accuracyOf(v)])) as Record<string, Accuracy>;
  const byTruth = group(gender, (o) => o.truth);
  const bands = group(gender, (o) => ageBandOf(o.age));
  const genderCalibration = calibrationOf(gender, 0.5);
  const expressionCalibration = calibrationOf(expression, 1 / EXPRESSIONS.length);
  const orderedBands = Object.fromEntries(AGE_BANDS.filter((b) => bands[b.label]).map((b) => [b.label, bands[b.label]!]));
  return {
    crop,
    gender: {
      photos: genderPhotos,
      noFace: genderMissed,
      overall: accuracyOf(gender),
      bySet: accuracies(group(gender, (o) => o.set)),
      byGender: accuracies(byTruth) as Record<Gender, Accuracy>,
      gap: gapOf(byTruth.male ?? [], byTruth.female ?? []),
      byAgeBand: accuracies(orderedBands),
      byAgeBandAndGender: Object.fromEntries(
        Object.entries(orderedBands).map(([band, items]) => [band, accuracies(group(items, (o) => o.truth)) as Record<Gender, Accuracy>]),
      ),
      ece: genderCalibration.ece,
      reliability: genderCalibration.bins,
    },
    expression: {
      photos: expressionPhotos,
      noFace: expressionMissed,
      overall: accuracyOf(expression),
      byClass: accuracies(group(expression, (o) => o.truth)),
      confusion,
      ece: expressionCalibration.ece,
      reliability: expressionCalibration.bins,
    },
  };
}

export interface CropComparison {
  a: AttributeCrop;
  b: AttributeCrop;
  /** Accuracy of a − accuracy of b on the same faces, with a 95% interval (bootstrap over people). */
  gender: { difference: number; ci: [number, number] };
  expression: { difference: number; ci: [number, number] };
}

/** Two crops on the same faces: the paired difference of their gender and expression accuracies. */
export function compareCrops(
  photos: readonly LabelledPhoto[],
  measured: readonly PhotoAttributes[],
  a: AttributeCrop,
  b: AttributeCrop,
): CropComparison {
  const gender: [Outcome[], Outcome[]] = [[], []],
    expression: [Outcome[], Outcome[]] = [[], []];
  photos.forEach((photo, i) => {
    const found = measured[i]?.byCrop;
    if (!found) return;
    const person = personKey(photo);
    [a, b].forEach((crop, k) => {
      const f = found[crop];
      if (photo.gender && f.gender) gender[k]!.push({ person, correct: f.gender.label === photo.gender, confidence: f.gender.probability });
      if (photo.expression && f.expression)
        expression[k]!.push({ person, correct: f.expression.label === photo.expression, confidence: f.expression.probability });
    });
  });
  return { a, b, gender: pairedDifferenceOf(...gender), expression: pairedDifferenceOf(...expression) };
}
