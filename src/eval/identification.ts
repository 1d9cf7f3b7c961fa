/**
 * Open-set identification on LFW through the real store: gallery/probe splits, the rates at a threshold, and the
 * operating points at a fixed false-positive identification rate. Used to choose the per-person reduction.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { WorkerPool } from '../engine/pool.js';
import { matchFaces, type MatchOptions, type Outcome } from '../match/identify.js';
import { reducePerPerson, type PersonCandidate, type Reduction } from '../match/reduce.js';
import { DEFAULT_TOP_K, neighbourLimit } from '../service/identify.service.js';
import { openDatabase, type Database } from '../store/database.js';
import { insertFace, nearestFaces } from '../store/faces.repository.js';
import { createGallery, deleteGallery } from '../store/galleries.repository.js';
import { ensureDescriptorIndex } from '../store/descriptor-index.js';
import { migrate } from '../store/migrations.js';
import { insertPerson } from '../store/people.repository.js';
import { computeSubjects, loadSubjects, shippedDescriptor, type Subjects } from './lfw-runner.js';
import { sweepGallerySizes, type SizeResult, type SweepOptions } from './open-set-sweep.js';

// --- splits -------------------------------------------------------------------------------------------------------

/** One LFW image: `Name/Name_NNNN.jpg` relative to the images root. */
export interface LfwImage {
  file: string;
  name: string;
  index: number;
}

const LFW_FILE = /^([^/\\]+)[/\\]([^/\\]+)_(\d+)\.jpg$/;

/** Parses `Name/Name_NNNN.jpg`; null for any other path. */
export function parseLfwFile(file: string): LfwImage | null {
  const m = LFW_FILE.exec(file);
  if (!m || m[1] !== m[2]) return null;
  return { file, name: m[1]!, index: Number(m[3]) };
}

export type SplitName = 'A' | 'B';

/** A: one enrolled photo per person; B: two (only B can tell 'min' from 'mean2'). */
export const SPLITS: ReadonlyArray<{ name: SplitName; photosPerPerson: number }> = [
  { name: 'A', photosPerPerson: 1 },
  { name: 'B', photosPerPerson: 2 },
];

export interface Split {
  name: SplitName;
  photosPerPerson: number;
  /** People with more images than `photosPerPerson`, enrolled from their lowest-numbered ones. */
  gallery: Array<{ name: string; images: LfwImage[] }>;
  /** The enrolled people's other images. */
  mated: LfwImage[];
  /** Every image of a person with exactly one image: never enrolled in any split. */
  nonMated: LfwImage[];
  /** People with 2..photosPerPerson images: too few to be enrolled and probed, and not strangers either. */
  peopleLeftOut: number;
}

/** Builds a split: enrolled people (their first photos), mated probes (their other photos), non-mated probes. */
export function buildSplit(images: readonly LfwImage[], name: SplitName, photosPerPerson: number): Split {
  const byPerson = new Map<string, LfwImage[]>();
  for (const image of images) byPerson.set(image.name, [...(byPerson.get(image.name) ?? []), image]);
  const split: Split = { name, photosPerPerson, gallery: [], mated: [], nonMated: [], peopleLeftOut: 0 };
  for (const person of [...byPerson.keys()].sort()) {
    const own = byPerson.get(person)!.sort((a, b) => a.index - b.index);
    if (own.length === 1) split.nonMated.push(own[0]!);
    else if (own.length <= photosPerPerson) split.peopleLeftOut++;
    else {
      split.gallery.push({ name: person, images: own.slice(0, photosPerPerson) });
      split.mated.push(...own.slice(photosPerPerson));
    }
  }
  return split;
}

// --- metrics ------------------------------------------------------------------------------------------------------

/** A probe's search result, reduced per person; `candidates` is null when the probe image has no face. */
export interface ScoredProbe {
  file: string;
  /** The enrolled person the probe shows; null for a non-mated probe. */
  truth: string | null;
  candidates: PersonCandidate[] | null;
}

/** What identification decided for one probe at one threshold. */
export interface ProbeDecision {
  truth: string | null;
  /** The closest person whatever the threshold (closed-set rank 1); null without a face or candidates. */
  best: string | null;
  outcome: Outcome;
  /** The person named, for a match. */
  named: string | null;
}

export interface IdentificationRates {
  matedProbes: number;
  nonMatedProbes: number;
  /** Closed-set: the closest person is the right one. */
  rank1: number;
  /** Detection and identification rate (TPIR): a match with the right person. */
  dir: number;
  /** A match with a wrong person. */
  misidentification: number;
  /** False-negative identification rate: anything but a match with the right person (1 − DIR). */
  fnir: number;
  /** False-positive identification rate: a non-mated probe matched to anyone. */
  fpir: number;
  ambiguousMated: number;
  ambiguousNonMated: number;
  /** The numerators of the rates above. */
  counts: { rank1: number; dir: number; misidentified: number; falsePositives: number; ambiguousMated: number; ambiguousNonMated: number };
}

/** Decides one probe exactly as the identify service does: matchFaces over its reduced candidates. */
export function decideProbe(probe: ScoredProbe, options: MatchOptions): ProbeDecision {
  if (!probe.candidates) return { truth: probe.truth, best: null, outcome: 'unknown', named: null };
  const [face] = matchFaces([probe.candidates], options);
  return { truth: probe.truth, best: face!.candidates[0]?.person.id ?? null, outcome: face!.outcome, named: face!.person?.id ?? null };
}

const rate = (count: number, total: number) => (total === 0 ? 0 : count / total);

/** The identification rates of a set of decisions; a mated probe without a face counts as a miss. */
export function identificationRates(decisions: readonly ProbeDecision[]): IdentificationRates {
  const mated = decisions.filter((d) => d.truth !== null);
  const nonMated = decisions.filter((d) => d.truth === null);
  const counts = {
    rank1: mated.filter((d) => d.best === d.truth).length,
    dir: mated.filter((d) => d.outcome === 'match' && d.named === d.truth).length,
    misidentified: mated.filter((d) => d.outcome === 'match' && d.named !== d.truth).length,
    falsePositives: nonMated.filter((d) => d.outcome === 'match').length,
    ambiguousMated: mated.filter((d) => d.outcome === 'ambiguous').length,
    ambiguousNonMated: nonMated.filter((d) => d.outcome === 'ambiguous').length,
  };
  return {
    matedProbes: mated.length,
    nonMatedProbes: nonMated.length,
    rank1: rate(counts.rank1, mated.length),
    dir: rate(counts.dir, mated.length),
    misidentification: rate(counts.misidentified, mated.length),
    fnir: rate(mated.length - counts.dir, mated.length),
    fpir: rate(counts.falsePositives, nonMated.length),
    ambiguousMated: rate(counts.ambiguousMated, mated.length),
    ambiguousNonMated: rate(counts.ambiguousNonMated, nonMated.length),
    counts,
  };
}

export function ratesAt(probes: readonly ScoredProbe[], options: MatchOptions): IdentificationRates {
  return identificationRates(probes.map((p) => decideProbe(p, options)));
}

export interface OperatingPoint {
  /** The FPIR asked for. */
  targetFpir: number;
  /** The highest threshold whose FPIR does not exceed the target (DIR only grows with the threshold). */
  threshold: number;
  rates: IdentificationRates;
}

/**
 * The threshold sweep: FPIR(t) only steps up where t reaches a non-mated probe's best distance (the ones that
 * would match at all, i.e. are not ambiguous), and DIR only grows with t, so the best point at FPIR ≤ target lies
 * just below the (k+1)-th such distance, k = ⌊target · non-mated⌋. The threshold is put midway between it and the
 * next smaller best distance of any probe, where every probe decides as just below it.
 */
export function operatingPointAtFpir(
  probes: readonly ScoredProbe[],
  targetFpir: number,
  options: Omit<MatchOptions, 'threshold'>,
): OperatingPoint {
  const nonMated = probes.filter((p) => p.truth === null);
  const allowed = Math.floor(targetFpir * nonMated.length + 1e-9);
  // At an unbounded threshold a non-mated probe either matches (at its best distance) or is ambiguous for good.
  const falseMatchAt = nonMated
    .filter((p) => decideProbe(p, { ...options, threshold: Number.MAX_VALUE }).outcome === 'match')
    .map((p) => p.candidates![0]!.distance)
    .sort((a, b) => a - b);
  const bests = probes.flatMap((p) => (p.candidates?.[0] ? [p.candidates[0].distance] : [])).sort((a, b) => a - b);
  let threshold: number;
  const first = falseMatchAt[allowed];
  if (first === undefined) {
    threshold = (bests.at(-1) ?? 1) + 1e-6; // the target is met at any threshold: accept everything
  } else {
    const below = bests.filter((d) => d < first).at(-1) ?? 0;
    threshold = Math.max((below + first) / 2, Number.MIN_VALUE);
  }
  return { targetFpir, threshold, rates: ratesAt(probes, { ...options, threshold }) };
}

/** Mated probes identified (a match with the right person) under one reduction but not the other. */
export function discordantProbes(
  min: { probes: readonly ScoredProbe[]; threshold: number },
  mean2: { probes: readonly ScoredProbe[]; threshold: number },
  options: Omit<MatchOptions, 'threshold'>,
): { onlyMin: number; onlyMean2: number } {
  const right = (p: ScoredProbe, threshold: number) => {
    const d = decideProbe(p, { ...options, threshold });
    return d.truth !== null && d.outcome === 'match' && d.named === d.truth;
  };
  let onlyMin = 0,
    onlyMean2 = 0;
  min.probes.forEach((p, i) => {
    const q = mean2.probes[i]!;
    const a = right(p, min.threshold),
      b = right(q, mean2.threshold);
    if (a && !b) onlyMin++;
    if (b && !a) onlyMean2++;
  });
  return { onlyMin, onlyMean2 };
}

/**
 * Two-sided exact McNemar test on the discordant probes: the chance of a split at least this uneven if both
 * reductions were equally good. Above ~0.05 the difference is noise.
 */
export function mcnemarExactP(onlyA: number, onlyB: number): number {
  const n = onlyA + onlyB;
  if (n === 0) return 1;
  // Sum of C(n, k) / 2^n for k ≤ min, in logs so that large n does not underflow.
  const logFactorial = [0];
  for (let i = 1; i <= n; i++) logFactorial.push(logFactorial[i - 1]! + Math.log(i));
  let tail = 0;
  for (let k = 0; k <= Math.min(onlyA, onlyB); k++)
    tail += Math.exp(logFactorial[n]! - logFactorial[k]! - logFactorial[n - k]! - n * Math.LN2);
  return Math.min(1, 2 * tail);
}

// --- runner -------------------------------------------------------------------------------------------------------

export const REDUCTIONS: readonly Reduction[] = ['min', 'mean2'];
export const TARGET_FPIRS: readonly number[] = [0.01, 0.001];

export interface ReductionResult {
  reduction: Reduction;
  atThreshold: IdentificationRates;
  atFpir: OperatingPoint[];
}

export interface Comparison {
  /** DIR of each reduction at its own threshold for the point; better is null on a tie. */
  min: number;
  mean2: number;
  better: Reduction | null;
  /** Mated probes right with one reduction and not the other: the evidence behind a difference. */
  onlyMin: number;
  onlyMean2: number;
  /** Exact McNemar p-value of onlyMin vs onlyMean2. */
  pValue: number;
}

export interface SplitResult {
  split: SplitName;
  photosPerPerson: number;
  people: {
    /** People with enough images to be enrolled. */
    eligible: number;
    enrolled: number;
    /** Not enrolled because a gallery photo has no face (enrollment is all or nothing); their probes are left out. */
    notEnrolled: string[];
    /** People with 2..photosPerPerson images, in neither gallery nor probes. */
    leftOut: number;
  };
  probes: { mated: number; matedWithoutFace: number; nonMated: number; nonMatedWithoutFace: number; ofNotEnrolled: number };
  reductions: ReductionResult[];
  /** min vs mean2 by DIR at the configured threshold and at FPIR 1%; equal by construction with one photo each. */
  comparison: { atThreshold: Comparison; atFpir1: Comparison };
  seconds: { enroll: number; search: number };
}

export interface IdentificationReport {
  images: number;
  imagesWithoutFace: number;
  /** Files that are not Name/Name_NNNN.jpg, left out. */
  ignoredFiles: number;
  threshold: number;
  ambiguityMargin: number;
  /** Enrolled faces fetched per probe, as the identify service does. */
  neighbours: number;
  database: { kind: Database['kind']; location: string };
  splits: SplitResult[];
}

export interface EvaluateOptions {
  threshold: number;
  ambiguityMargin: number;
  /** Stored with the enrolled faces and filtered on, as the service does. */
  modelId: string;
  /** The model's dimensions (its index). */
  dims: number;
  /** HNSW candidate list, as FACEREC_EF_SEARCH gives it to identify. */
  efSearch: number;
  topK?: number;
  /** A phase starts: its label and how many steps it has. */
  onPhase?: (label: string, total: number) => void;
  onProgress?: (done: number) => void;
}

const seconds = (since: number) => (performance.now() - since) / 1000;

// Enrollment through the store needs a photo hash and detection details; only the descriptor is searched.
const PLACEHOLDER_QUALITY = { size: 0, score: 1, sharpness: 0, yaw: 0, roll: 0 };

async function evaluateSplit(
  db: Database,
  images: readonly LfwImage[],
  descriptors: ReadonlyMap<string, number[] | null>,
  spec: (typeof SPLITS)[number],
  options: EvaluateOptions,
): Promise<SplitResult> {
  const split = buildSplit(images, spec.name, spec.photosPerPerson);
  const descriptorOf = (image: LfwImage) => descriptors.get(image.file) ?? null;
  const enrollable = split.gallery.filter((p) => p.images.every((i) => descriptorOf(i)));
  const notEnrolled = split.gallery.filter((p) => !p.images.every((i) => descriptorOf(i))).map((p) => p.name);
  const topK = options.topK ?? DEFAULT_TOP_K;
  const limit = neighbourLimit(topK);
  const matchOptions = { ambiguityMargin: options.ambiguityMargin, topK };

  const t0 = performance.now();
  const { galleryId, personOf } = await db.transaction(async (tx) => {
    await ensureDescriptorIndex(tx, { id: options.modelId, output: { dims: options.dims } });
    const gallery = await createGallery(tx, `eval-identify-${spec.name}-${randomUUID()}`, options.modelId);
    const personOf = new Map<string, string>();
    for (const person of enrollable) {
      const { id } = await insertPerson(tx, { galleryId: gallery.id, name: person.name });
      personOf.set(person.name, id);
      for (const image of person.images) {
        await insertFace(tx, {
          personId: id,
          galleryId: gallery.id,
          descriptor: descriptorOf(image)!,
          modelId: options.modelId,
          box: [0, 0, 0, 0],
          score: 1,
          quality: PLACEHOLDER_QUALITY,
          imageSha256: createHash('sha256').update(image.file).digest('hex'),
          thumbnail: null,
        });
      }
    }
    return { galleryId: gallery.id, personOf };
  });
  const enrollSeconds = seconds(t0);

  try {
    const probes = [
      ...split.mated.filter((i) => personOf.has(i.name)).map((i) => ({ image: i, truth: personOf.get(i.name)! })),
      ...split.nonMated.map((i) => ({ image: i, truth: null })),
    ];
    const scored = new Map<Reduction, ScoredProbe[]>(REDUCTIONS.map((r) => [r, []]));
    const t1 = performance.now();
    options.onPhase?.(`split ${spec.name}`, probes.length);
    let done = 0;
    for (const { image, truth } of probes) {
      const descriptor = descriptorOf(image);
      // One search per probe, reduced both ways: the query does not depend on the reduction.
      const hits = descriptor
        ? await db.transaction((tx) =>
            nearestFaces(tx, { galleryId, modelId: options.modelId, dims: options.dims, descriptor, limit, efSearch: options.efSearch }),
          )
        : null;
      for (const reduction of REDUCTIONS)
        scored.get(reduction)!.push({ file: image.file, truth, candidates: hits && reducePerPerson(hits, reduction) });
      options.onProgress?.(++done);
    }
    const searchSeconds = seconds(t1);

    const reductions = REDUCTIONS.map((reduction): ReductionResult => {
      const list = scored.get(reduction)!;
      return {
        reduction,
        atThreshold: ratesAt(list, { ...matchOptions, threshold: options.threshold }),
        atFpir: TARGET_FPIRS.map((target) => operatingPointAtFpir(list, target, matchOptions)),
      };
    });
    const byName = (reduction: Reduction) => reductions.find((r) => r.reduction === reduction)!;
    const compare = (pick: (r: ReductionResult) => { dir: number; threshold: number }): Comparison => {
      const min = pick(byName('min')),
        mean2 = pick(byName('mean2'));
      const { onlyMin, onlyMean2 } = discordantProbes(
        { probes: scored.get('min')!, threshold: min.threshold },
        { probes: scored.get('mean2')!, threshold: mean2.threshold },
        matchOptions,
      );
      const better = min.dir === mean2.dir ? null : min.dir > mean2.dir ? 'min' : 'mean2';
      return { min: min.dir, mean2: mean2.dir, better, onlyMin, onlyMean2, pValue: mcnemarExactP(onlyMin, onlyMean2) };
    };
    const mated = probes.filter((p) => p.truth !== null);
    const nonMated = probes.filter((p) => p.truth === null);
    return {
      split: spec.name,
      photosPerPerson: spec.photosPerPerson,
      people: { eligible: split.gallery.length, enrolled: enrollable.length, notEnrolled, leftOut: split.peopleLeftOut },
      probes: {
        mated: mated.length,
        matedWithoutFace: mated.filter((p) => !descriptorOf(p.image)).length,
        nonMated: nonMated.length,
        nonMatedWithoutFace: nonMated.filter((p) => !descriptorOf(p.image)).length,
        ofNotEnrolled: split.mated.length - mated.length,
      },
      reductions,
      comparison: {
        atThreshold: compare((r) => ({ dir: r.atThreshold.dir, threshold: options.threshold })),
        atFpir1: compare((r) => {
          const point = r.atFpir.find((p) => p.targetFpir === 0.01)!;
          return { dir: point.rates.dir, threshold: point.threshold };
        }),
      },
      seconds: { enroll: enrollSeconds, search: searchSeconds },
    };
  } finally {
    // The eval's own gallery goes, so that --db may point at a database that holds other galleries.
    await db.transaction((tx) => deleteGallery(tx, galleryId, true));
  }
}

/**
 * Enrolls each split's gallery into `db` (migrated first) through the store and runs every probe through
 * nearestFaces → reducePerPerson → matchFaces, as the identify service does. `descriptors` maps each image
 * (Name/Name_NNNN.jpg) to its subject's descriptor, or null when it has no face.
 */
export async function evaluateIdentification(
  db: Database,
  descriptors: ReadonlyMap<string, number[] | null>,
  options: EvaluateOptions,
): Promise<IdentificationReport> {
  await migrate(db);
  const parsed = [...descriptors.keys()].map(parseLfwFile);
  const images = parsed.filter((i): i is LfwImage => i !== null);
  const splits: SplitResult[] = [];
  for (const spec of SPLITS) splits.push(await evaluateSplit(db, images, descriptors, spec, options));
  return {
    images: images.length,
    imagesWithoutFace: images.filter((i) => !descriptors.get(i.file)).length,
    ignoredFiles: parsed.length - images.length,
    threshold: options.threshold,
    ambiguityMargin: options.ambiguityMargin,
    neighbours: neighbourLimit(options.topK ?? DEFAULT_TOP_K),
    database: { kind: db.kind, location: db.location },
    splits,
  };
}

/** Name/Name_NNNN.jpg of every image under `root`, sorted. */
export async function listLfwImages(root: string): Promise<string[]> {
  const files: string[] = [];
  for (const dir of await readdir(root, { withFileTypes: true })) {
    if (!dir.isDirectory()) continue;
    for (const file of await readdir(path.join(root, dir.name))) {
      const relative = path.join(dir.name, file);
      if (parseLfwFile(relative)) files.push(relative);
    }
  }
  return files.sort();
}

export interface IdentificationEvalResult extends Partial<IdentificationReport> {
  /** Images the engine could not read (counted as without a face). */
  unreadable: string[];
  seconds: { descriptors: number; total: number };
  /** The gallery-size sweep, when asked for. */
  sweep?: { images: number; cohort: number; results: SizeResult[] };
}

/** The gallery-size sweep of `eval identify`: on which images, against which cohort, with which impostor model. */
export interface SweepRequest extends Omit<SweepOptions, 'cohort'> {
  /** The images to evaluate on (the held-out side); default every image. */
  images?: ReadonlySet<string>;
  /** Images of other people for Z-norm's cohort (the fit side). */
  cohort?: ReadonlySet<string>;
  onGallery?: (label: string) => void;
}

/**
 * `facerec eval identify`: descriptors loaded from a `facerec eval lfw --save` file or computed on the pool for
 * the images under `root`, then evaluated in `db`, or in a throwaway PGlite in a temporary directory.
 */
export async function runIdentificationEval(
  options: EvaluateOptions & {
    root: string;
    load?: string;
    save?: string;
    pool?: WorkerPool;
    db?: Database;
    /** Run the two splits through the store (default true). */
    splits?: boolean;
    sweep?: SweepRequest;
  },
): Promise<IdentificationEvalResult> {
  const t0 = performance.now();
  let subjects: Subjects,
    unreadable: string[] = [];
  if (options.load) {
    subjects = await loadSubjects(options.load);
  } else {
    if (!options.pool) throw new Error('runIdentificationEval needs a pool unless descriptors are loaded');
    const files = await listLfwImages(options.root);
    ({ subjects, unreadable } = await computeSubjects({
      pool: options.pool,
      root: options.root,
      files,
      baseline: false,
      ...(options.save ? { save: options.save } : {}),
      onStart: (n) => options.onPhase?.('descriptors', n),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    }));
  }
  const descriptors = new Map([...subjects].map(([file, subject]) => [file, shippedDescriptor(subject)]));
  const descriptorSeconds = seconds(t0);

  let sweep: IdentificationEvalResult['sweep'];
  if (options.sweep) {
    const { images: only, cohort: cohortFiles, onGallery, ...sweepOptions } = options.sweep;
    const images = [...descriptors.keys()]
      .filter((f) => !only || only.has(f))
      .map(parseLfwFile)
      .filter((i): i is LfwImage => i !== null);
    const cohortDescriptors = cohortFiles ? [...cohortFiles].map((f) => descriptors.get(f)).filter((d): d is number[] => !!d) : [];
    sweep = {
      images: images.length,
      cohort: cohortDescriptors.length,
      results: sweepGallerySizes(images, descriptors, { ...sweepOptions, cohort: cohortDescriptors }, onGallery),
    };
  }
  if (options.splits === false) return { unreadable, sweep, seconds: { descriptors: descriptorSeconds, total: seconds(t0) } };

  let db = options.db;
  let tmp: string | undefined;
  try {
    if (!db) {
      tmp = await mkdtemp(path.join(os.tmpdir(), 'facerec-eval-identify-'));
      db = await openDatabase({ dataDir: tmp });
    }
    const report = await evaluateIdentification(db, descriptors, options);
    return { ...report, unreadable, ...(sweep ? { sweep } : {}), seconds: { descriptors: descriptorSeconds, total: seconds(t0) } };
  } finally {
    if (tmp) {
      await db?.close();
      await rm(tmp, { recursive: true, force: true });
    }
  }
}
