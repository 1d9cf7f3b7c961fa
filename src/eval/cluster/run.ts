/**
 * `facerec eval cluster`: the product's clustering (src/match/cluster) on the subject faces of an embed output, scored
 * against the folder-name identities, beside the reference algorithms on the same descriptors; and the incremental
 * mode streamed in random orders.
 */
import { performance } from 'node:perf_hooks';
import { rng } from '../../core/random.js';
import type { ImpostorTail } from '../../match/open-set.js';
import { clusterAll } from '../../match/cluster/cluster-all.js';
import { decideIncremental, type ClusterSummary, type SightingNeighbour } from '../../match/cluster/incremental.js';
import type { KnnGraph } from '../../match/cluster/graph.js';
import type { ClusterParams } from '../../match/cluster/linkage.js';
import { CLUSTER_RULE, clusterParams, type ClusterRule } from '../../match/cluster/params.js';
import type { LabelledFace } from './faces.js';
import { descriptorMatrix, exactKnnGraph, type DescriptorMatrix } from './knn.js';
import { scoreClustering, type ClusterScores } from './metrics.js';
import { averageLinkage, chineseWhispers, dbscan, immichRule } from './references.js';

/**
 * The references' usual distances are dlib's (0.5): on another model they are taken at the same share of its verify
 * threshold, 0.5 / 0.59 (dlib's card). immich's maxDistance 0.5 is a cosine distance of an ArcFace model, Euclidean
 * 1.0 on its unit descriptors, which is 0.85 of the 512-d ArcFace-class card's 1.18: the same share.
 */
export const REFERENCE_SHARE = 0.5 / 0.59;

/** Average linkage is cut at these shares of the verify threshold (0.44 … 0.50 on dlib's distances). */
const AVERAGE_LINKAGE_SHARES = [0.44, 0.46, 0.48, 0.5].map((d) => d / 0.59);

/** Faces above which average linkage (the n² matrix) is left out. */
export const AVERAGE_LINKAGE_MAX_FACES = 20_000;

export interface AlgorithmResult {
  name: string;
  /** The product's own clustering (full mode), or a reference. */
  product: boolean;
  /** Holds every pairwise distance (n² time or memory): a reference only. */
  quadratic: boolean;
  scores: ClusterScores;
  ms: number;
}

export interface SplitResult {
  name: string;
  faces: number;
  identities: number;
  results: AlgorithmResult[];
}

/** A stream's policy: the incremental rule alone, or with a full re-clustering whenever the faces grew by `growth`. */
export interface StreamPolicy {
  name: string;
  /** Re-cluster when the faces seen reach growth × the count at the last full run (from RECLUSTER_FROM faces on). */
  growth?: number;
}

export const STREAM_POLICIES: readonly StreamPolicy[] = [
  { name: 'incremental alone' },
  { name: 're-clustered at ×2 faces', growth: 2 },
  { name: 're-clustered at ×1.25 faces', growth: 1.25 },
];

/** The first full re-clustering of a stream runs at this many faces. */
export const RECLUSTER_FROM = 100;

export interface IncrementalResult {
  orders: number;
  /** Per policy, the mean over the orders of the final assignment's scores. */
  policies: Array<{
    name: string;
    pairwise: { precision: number; recall: number };
    bcubed: { f1: number };
    /** Full runs per stream, and faces added by the incremental rule alone since the last one (mean). */
    reclusters: number;
    sinceLast: number;
  }>;
  /** decideIncremental alone, per face: mean and 99th percentile (µs). */
  decisionMicros: { mean: number; p99: number };
}

export interface ClusterEvalResult {
  model: string;
  faces: number;
  withoutFace: number;
  params: ClusterParams;
  rule: ClusterRule;
  verifyThreshold: number;
  referenceDistance: number;
  splits: SplitResult[];
  incremental?: IncrementalResult;
  /** The product's assignment of every face (full mode, all faces): a label per face. */
  assignment: string[];
}

export interface ClusterEvalOptions {
  faces: readonly LabelledFace[];
  withoutFace: number;
  model: string;
  verifyThreshold: number;
  tail: ImpostorTail;
  /** Random stream orders for the incremental mode (0: skip it). */
  orders: number;
  /** Also run the reference algorithms (default true). */
  references?: boolean;
  /** Rule overrides (evaluation of other settings). */
  rule?: Partial<ClusterRule>;
  onPhase?: (label: string) => void;
}

/** Labels of a product assignment: `cluster-N`, or `single-N` for a face left alone. */
export function assignmentLabels(cluster: Int32Array): string[] {
  return Array.from(cluster, (c, i) => (c < 0 ? `single-${i}` : `cluster-${c}`));
}

function timed<T>(fn: () => T): { value: T; ms: number } {
  const t = performance.now();
  const value = fn();
  return { value, ms: performance.now() - t };
}

/** The product's full mode on `faces`: exact kNN graph (the eval's in-memory index) then clusterAll. */
export function productFull(m: DescriptorMatrix, faces: readonly LabelledFace[], params: ClusterParams, graph?: KnnGraph) {
  return clusterAll(
    faces.map((f) => ({ photo: f.file, quality: 1 })),
    graph && graph.k === params.k ? graph : exactKnnGraph(m, params.k),
    params,
  );
}

function runSplit(name: string, faces: readonly LabelledFace[], options: ClusterEvalOptions): { split: SplitResult; labels: string[] } {
  const truth = faces.map((f) => f.identity);
  const m = descriptorMatrix(faces.map((f) => f.descriptor));
  const model = { verifyThreshold: options.verifyThreshold, tail: options.tail };
  const params = clusterParams(model, faces.length, options.rule);
  const results: AlgorithmResult[] = [];
  const add = (label: string, product: boolean, quadratic: boolean, run: () => ArrayLike<number | string>) => {
    options.onPhase?.(`${name}: ${label}`);
    const { value, ms } = timed(run);
    results.push({ name: label, product, quadratic, scores: scoreClustering(Array.from(value), truth), ms });
  };
  let labels: string[] = [];
  // The product's time includes its graph; the other settings reuse that graph.
  let graph: KnnGraph | undefined;
  add(`facerec (k ${params.k}, link ${params.linkThreshold} + ${params.linkGrowth})`, true, false, () => {
    graph = exactKnnGraph(m, params.k);
    labels = assignmentLabels(productFull(m, faces, params, graph).cluster);
    return labels;
  });
  // The rule's curve: other link thresholds, same shape.
  for (const delta of [-0.04, -0.02, 0.02, 0.04]) {
    const linkThreshold = Math.round((params.linkThreshold + delta) * 100) / 100;
    add(`facerec, link ${linkThreshold}`, false, false, () =>
      assignmentLabels(productFull(m, faces, clusterParams(model, faces.length, { ...options.rule, linkThreshold }), graph).cluster),
    );
  }
  if (options.references !== false) {
    const r = REFERENCE_SHARE * options.verifyThreshold;
    const at = (d: number) => d.toFixed(3);
    add(`DBSCAN eps ${at(r)}, minPts 5`, false, true, () => dbscan(m, r, 5));
    add(`DBSCAN eps ${at((0.4 / 0.59) * options.verifyThreshold)}, minPts 5`, false, true, () =>
      dbscan(m, (0.4 / 0.59) * options.verifyThreshold, 5),
    );
    add(`Chinese whispers ${at(r)}`, false, true, () => chineseWhispers(m, r));
    add(`Chinese whispers ${at((0.45 / 0.59) * options.verifyThreshold)}`, false, true, () =>
      chineseWhispers(m, (0.45 / 0.59) * options.verifyThreshold),
    );
    add(`immich (maxDistance ${at(r)}, minFaces 3)`, false, true, () => immichRule(m, r, 3));
    if (faces.length <= AVERAGE_LINKAGE_MAX_FACES) {
      options.onPhase?.(`${name}: average linkage`);
      const thresholds = AVERAGE_LINKAGE_SHARES.map((s) => s * options.verifyThreshold);
      const { value, ms } = timed(() => averageLinkage(m, thresholds));
      value.forEach((l, i) =>
        results.push({
          name: `average linkage ${at(thresholds[i]!)} (n² matrix)`,
          product: false,
          quadratic: true,
          scores: scoreClustering(Array.from(l), truth),
          ms: ms / thresholds.length,
        }),
      );
    }
  }
  return { split: { name, faces: faces.length, identities: new Set(truth).size, results }, labels };
}

/** A deterministic shuffle (Fisher–Yates on the project's seeded generator). */
function shuffled(n: number, seed: number): number[] {
  const random = rng(seed);
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

/**
 * Streams the faces one by one in `order`, as the product would: each new face gets its exact k nearest among the
 * faces already seen, with their cluster, photo and the scale stored when they were clustered, and the summaries of
 * their clusters; decideIncremental decides. With `reclusterGrowth`, a full re-clustering runs whenever the faces seen
 * have grown by that factor since the last one (from RECLUSTER_FROM faces on) and replaces the assignment.
 */
export function streamIncremental(
  m: DescriptorMatrix,
  faces: readonly LabelledFace[],
  model: { verifyThreshold: number; tail: ImpostorTail },
  order: readonly number[],
  options: { rule?: Partial<ClusterRule>; reclusterGrowth?: number } = {},
): { labels: string[]; micros: number[]; reclusters: number; sinceLast: number } {
  const n = faces.length;
  const { dims, values } = m;
  const cluster: Array<string | null> = new Array<string | null>(n).fill(null);
  const nearest: number[][] = Array.from({ length: n }, () => []);
  const summaries = new Map<string, ClusterSummary>();
  const seen: number[] = [];
  const micros: number[] = [];
  let nextCluster = 0,
    reclusters = 0,
    lastRecluster = 0;
  for (const i of order) {
    const params = clusterParams(model, seen.length + 1, options.rule);
    // Exact k nearest among the faces seen (the product asks pgvector's HNSW index).
    const k = params.k;
    const top: Array<[number, number]> = [];
    for (const j of seen) {
      let sum = 0;
      for (let t = 0; t < dims; t++) {
        const diff = values[i * dims + t]! - values[j * dims + t]!;
        sum += diff * diff;
      }
      const d = Math.sqrt(sum);
      if (top.length < k || d < top[top.length - 1]![1]) {
        let at = top.length;
        while (at > 0 && top[at - 1]![1] > d) at--;
        top.splice(at, 0, [j, d]);
        if (top.length > k) top.pop();
      }
    }
    const neighbours: SightingNeighbour[] = top.map(([j, distance]) => ({
      id: String(j),
      distance,
      cluster: cluster[j]!,
      photo: faces[j]!.file,
      quality: 1,
      nearest: nearest[j]!,
    }));
    const t = performance.now();
    const result = decideIncremental({ photo: faces[i]!.file, quality: 1 }, neighbours, summaries, params);
    micros.push((performance.now() - t) * 1000);
    const { decision } = result;
    nearest[i] = result.nearest;
    for (const u of result.updates) nearest[Number(u.id)] = u.nearest;
    if (decision.action === 'join') {
      cluster[i] = decision.cluster;
      const s = summaries.get(decision.cluster)!;
      summaries.set(decision.cluster, { ...s, size: s.size + 1 });
    } else if (decision.action === 'create') {
      const id = `c${nextCluster++}`;
      cluster[i] = id;
      for (const other of decision.with) cluster[Number(other)] = id;
      summaries.set(id, { size: 1 + decision.with.length, state: 'suggested' });
    }
    seen.push(i);
    if (options.reclusterGrowth && seen.length >= RECLUSTER_FROM && seen.length >= options.reclusterGrowth * lastRecluster) {
      // The full mode over the faces seen so far replaces the assignment.
      const sub = descriptorMatrix(seen.map((j) => faces[j]!.descriptor));
      const full = productFull(
        sub,
        seen.map((j) => faces[j]!),
        clusterParams(model, seen.length, options.rule),
      );
      summaries.clear();
      full.clusters.forEach((c, index) => summaries.set(`r${reclusters}-${index}`, { size: c.members.length, state: 'suggested' }));
      seen.forEach((j, position) => {
        const c = full.cluster[position]!;
        cluster[j] = c < 0 ? null : `r${reclusters}-${c}`;
      });
      reclusters++;
      lastRecluster = seen.length;
    }
  }
  return { labels: cluster.map((c, i) => c ?? `single-${i}`), micros, reclusters, sinceLast: seen.length - lastRecluster };
}

function mean(values: number[]): number {
  return values.reduce((s, v) => s + v, 0) / Math.max(1, values.length);
}

/** Runs the whole evaluation: splits all, A–M (the side the rule was chosen on) and N–Z; the incremental streams on all. */
export function runClusterEval(options: ClusterEvalOptions): ClusterEvalResult {
  const faces = options.faces;
  const model = { verifyThreshold: options.verifyThreshold, tail: options.tail };
  const firstLetter = (f: LabelledFace) => f.identity.charAt(0).toUpperCase();
  const all = runSplit('all', faces, options);
  const splits = [all.split];
  const am = faces.filter((f) => firstLetter(f) <= 'M');
  const nz = faces.filter((f) => firstLetter(f) > 'M');
  if (am.length > 1 && nz.length > 1)
    splits.push(runSplit('A–M (tuned on)', am, options).split, runSplit('N–Z (held out)', nz, options).split);

  let incremental: IncrementalResult | undefined;
  if (options.orders > 0) {
    const m = descriptorMatrix(faces.map((f) => f.descriptor));
    const truth = faces.map((f) => f.identity);
    const micros: number[] = [];
    const runs = STREAM_POLICIES.map(() => ({ scores: [] as ClusterScores[], reclusters: 0, sinceLast: 0 }));
    for (let seed = 1; seed <= options.orders; seed++) {
      const order = shuffled(faces.length, seed);
      STREAM_POLICIES.forEach((policy, p) => {
        options.onPhase?.(`stream ${seed} of ${options.orders}: ${policy.name}`);
        const stream = streamIncremental(m, faces, model, order, {
          ...(options.rule ? { rule: options.rule } : {}),
          ...(policy.growth ? { reclusterGrowth: policy.growth } : {}),
        });
        runs[p]!.scores.push(scoreClustering(stream.labels, truth));
        runs[p]!.reclusters += stream.reclusters / options.orders;
        runs[p]!.sinceLast += stream.sinceLast / options.orders;
        if (!policy.growth) micros.push(...stream.micros);
      });
    }
    const sorted = micros.slice().sort((a, b) => a - b);
    incremental = {
      orders: options.orders,
      policies: STREAM_POLICIES.map((policy, p) => {
        const scores = runs[p]!.scores;
        return {
          name: policy.name,
          pairwise: { precision: mean(scores.map((s) => s.pairwise.precision)), recall: mean(scores.map((s) => s.pairwise.recall)) },
          bcubed: { f1: mean(scores.map((s) => s.bcubed.f1)) },
          reclusters: runs[p]!.reclusters,
          sinceLast: runs[p]!.sinceLast,
        };
      }),
      decisionMicros: { mean: mean(micros), p99: sorted[Math.floor(0.99 * (sorted.length - 1))] ?? 0 },
    };
  }
  return {
    model: options.model,
    faces: faces.length,
    withoutFace: options.withoutFace,
    params: clusterParams(model, faces.length, options.rule),
    rule: { ...CLUSTER_RULE, ...options.rule },
    verifyThreshold: options.verifyThreshold,
    referenceDistance: REFERENCE_SHARE * options.verifyThreshold,
    splits,
    ...(incremental ? { incremental } : {}),
    assignment: all.labels,
  };
}
