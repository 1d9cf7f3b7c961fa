import { createWriteStream, existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { FacerecError } from '../errors.js';
import { DEFAULT_ANALYZE_OPTIONS } from '../engine/face-engine.js';
import type { WorkerPool } from '../engine/pool.js';
import type { SubjectDescriptors } from './variants.js';
import { euclidean } from '../match/distance.js';
import { accuracyAt, readPairs, verificationReport, type Pair, type ScoredPair, type VerificationReport } from './lfw.js';

export interface PipelineResult {
  name: string;
  shipped: boolean;
  imagesWithoutFace: number;
  report: VerificationReport;
  /** Accuracy on the reported pairs at the threshold the service is configured with. */
  accuracyAtConfigured: number;
}

export interface LfwEvalResult {
  images: number;
  /** The descriptor model evaluated. */
  model: string;
  unreadable: string[];
  pipelines: PipelineResult[];
}

/** Each image's subject descriptors, keyed by its path relative to the images root; null when it could not be read. */
export type Subjects = Map<string, SubjectDescriptors | null>;

const PIPELINES: Array<{ name: string; shipped: boolean; pick: (s: SubjectDescriptors) => number[] | null | undefined }> = [
  { name: 'plain face-api (SSD 0.3, box crop)', shipped: false, pick: (s) => s.plain },
  { name: 'engine, box crop', shipped: false, pick: (s) => s.engine?.box },
  { name: 'engine, dlib chip', shipped: !DEFAULT_ANALYZE_OPTIONS.mirror, pick: (s) => s.engine?.dlib },
  { name: 'engine, dlib chip + mirror', shipped: DEFAULT_ANALYZE_OPTIONS.mirror, pick: (s) => s.engine?.dlibMirror },
  // --via-thumbnail: what re-embedding gives a gallery, from the 150 px thumbnail stored at enrollment.
  { name: 'stored thumbnail, no detection (reembed)', shipped: false, pick: (s) => s.thumbnail?.chip },
  { name: 'stored thumbnail, detected again', shipped: false, pick: (s) => s.thumbnail?.detected },
];

const SHIPPED = PIPELINES.find((p) => p.shipped)!;

/** The subject's descriptor under the shipped pipeline (what the service stores and searches); null without a face. */
export function shippedDescriptor(subject: SubjectDescriptors | null | undefined): number[] | null {
  return (subject && SHIPPED.pick(subject)) ?? null;
}

/**
 * Computes the subject descriptors of `files` (relative to `root`) on the pool, two requests per worker in flight,
 * optionally saving them as JSONL for `loadSubjects`. Shared by `eval lfw` and `eval identify`.
 */
export async function computeSubjects(options: {
  pool: WorkerPool;
  root: string;
  files: readonly string[];
  save?: string;
  /** Also run plain face-api, the baseline (default true); identification needs only the engine. */
  baseline?: boolean;
  /** Also describe each subject again from its stored thumbnail, as re-embedding does. */
  viaThumbnail?: boolean;
  onStart?: (images: number) => void;
  onProgress?: (done: number) => void;
}): Promise<{ subjects: Subjects; unreadable: string[] }> {
  const { pool, root, files, save } = options;
  const onProgress = options.onProgress ?? (() => {});
  if (files.length > 0 && !existsSync(path.join(root, files[0]!))) {
    throw new FacerecError(
      'FILE_NOT_FOUND',
      `${path.join(root, files[0]!)} does not exist: is --root the folder that holds the Name/ folders?`,
      { root },
    );
  }
  options.onStart?.(files.length);
  const subjects: Subjects = new Map();
  const unreadable: string[] = [];
  const out = save ? createWriteStream(save) : undefined;
  let next = 0,
    done = 0;
  const worker = async () => {
    while (next < files.length) {
      const f = files[next++]!;
      try {
        const s = await pool.runExtra<SubjectDescriptors>('subject', {
          bytes: await readFile(path.join(root, f)),
          baseline: options.baseline ?? true,
          viaThumbnail: options.viaThumbnail ?? false,
        });
        subjects.set(f, s);
        out?.write(`${JSON.stringify({ f, ...s })}\n`);
      } catch (err) {
        if (err instanceof FacerecError && (err.code === 'QUEUE_FULL' || err.code === 'POOL_CLOSED')) throw err;
        unreadable.push(f);
        subjects.set(f, null);
      }
      onProgress(++done);
    }
  };
  await Promise.all(Array.from({ length: pool.size * 2 }, worker));
  await new Promise<void>((resolve) => (out ? out.end(resolve) : resolve()));
  return { subjects, unreadable };
}

/** Reads descriptors saved by `computeSubjects` (`facerec eval lfw --save`). */
export async function loadSubjects(file: string): Promise<Subjects> {
  const subjects: Subjects = new Map();
  for (const line of (await readFile(file, 'utf8')).split('\n')) {
    if (!line.trim()) continue;
    const { f, ...s } = JSON.parse(line) as SubjectDescriptors & { f: string };
    subjects.set(f, s);
  }
  return subjects;
}

function score(pairs: Pair[], subjects: Subjects, pick: (s: SubjectDescriptors) => number[] | null | undefined): ScoredPair[] {
  return pairs.map((p) => {
    const a = subjects.get(p.a),
      b = subjects.get(p.b);
    const da = a ? pick(a) : null,
      db = b ? pick(b) : null;
    return { same: p.same, fold: p.fold, distance: da && db ? euclidean(da, db) : Infinity };
  });
}

/**
 * The LFW protocol over the engine's pool: every pipeline is scored on the same run, with the threshold chosen
 * on `train` (or 10-fold) and accuracy reported on `pairs`.
 */
export async function runLfwEval(options: {
  pool?: WorkerPool;
  pairs: string;
  root: string;
  train?: string;
  /** The configured threshold, also scored. */
  threshold: number;
  save?: string;
  load?: string;
  /** Also run plain face-api, the baseline (default true; three times the time). */
  baseline?: boolean;
  /** Also score the subjects described again from their stored thumbnails (re-embedding). */
  viaThumbnail?: boolean;
  onStart?: (images: number) => void;
  onProgress?: (done: number) => void;
}): Promise<LfwEvalResult> {
  const test = await readPairs(options.pairs);
  const train = options.train ? await readPairs(options.train) : undefined;
  const files = [...new Set([...test.pairs, ...(train?.pairs ?? [])].flatMap((p) => [p.a, p.b]))].sort();
  let subjects: Subjects,
    unreadable: string[] = [];
  if (options.load) {
    subjects = await loadSubjects(options.load);
  } else {
    if (!options.pool) throw new Error('runLfwEval needs a pool unless descriptors are loaded');
    ({ subjects, unreadable } = await computeSubjects({ ...options, pool: options.pool, files }));
  }
  // The descriptor model the subjects were described with (face-api's net in runs saved before there were several).
  const model = [...subjects.values()].find((s) => s?.model)?.model;
  const present = PIPELINES.filter(({ pick }) => [...subjects.values()].some((s) => s && pick(s)));
  const pipelines = present.map(({ name, shipped, pick }) => {
    const scored = score(test.pairs, subjects, pick);
    return {
      name:
        model && model !== 'face-api-128' && name.startsWith('engine, dlib chip') ? name.replace('dlib chip', `${model}, aligned`) : name,
      shipped,
      imagesWithoutFace: files.filter((f) => {
        const s = subjects.get(f);
        return !s || !pick(s);
      }).length,
      report: verificationReport(scored, train ? score(train.pairs, subjects, pick) : undefined),
      accuracyAtConfigured: accuracyAt(scored, options.threshold),
    };
  });
  return { images: files.length, unreadable, pipelines, model: model ?? 'face-api-128' };
}
