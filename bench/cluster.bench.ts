/**
 * Clustering at scale: full re-clustering of 100,000 faces (the kNN graph included) and the cost of one incremental
 * decision. Figures only, no assertions.
 *   npm run bench:cluster [-- --faces 100000 --load .eval/lfw-view1-embed.jsonl --workers 2]
 *
 * Faces: synthetic people drawn from real descriptors (the `facerec embed` output of LFW View 1, --load): a person's
 * centre is the real mean plus half the sum of 4 random real deviations from it, shrunk so that the spread between
 * people matches the real one (total variance minus within-person variance); a face adds two random real
 * within-person deviations over √2. People's sizes follow a power law (P(s) ∝ s^-2.2, 1..200 faces: most people
 * once, a few hundreds of times), as in a photo library. Without the file, isotropic Gaussians of the same scale.
 *
 * The kNN graph comes from an in-memory HNSW index (hnswlib-node, a dev dependency: the same algorithm as pgvector's
 * index, which the product asks, one query per face); its recall is checked against exact search on a sample of rows.
 * Exact search over all pairs would take O(n²·d): ~5·10⁹ pair distances at 100,000 faces.
 */
import { existsSync } from 'node:fs';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import hnswlib from 'hnswlib-node';
import { rng } from '../src/core/random.js';
import { loadLabelledFaces } from '../src/eval/cluster/faces.js';
import { exactKnnGraph } from '../src/eval/cluster/knn.js';
import { scoreClustering } from '../src/eval/cluster/metrics.js';
import { clusterAll } from '../src/match/cluster/cluster-all.js';
import type { KnnGraph } from '../src/match/cluster/graph.js';
import { decideIncremental, type ClusterSummary, type SightingNeighbour } from '../src/match/cluster/incremental.js';
import { clusterParams } from '../src/match/cluster/params.js';

/**
 * The kNN graph through an in-memory HNSW index (hnswlib-node, the algorithm of pgvector's index): every face
 * inserted, then each asks for its k + 1 nearest (itself among them). hnswlib's 'l2' space gives squared distances.
 */
function hnswGraph(values: Float32Array, n: number, dims: number, k: number, options: { m: number; efConstruction: number; ef: number }) {
  const index = new hnswlib.HierarchicalNSW('l2', dims);
  index.initIndex(n, options.m, options.efConstruction, 1);
  let t = performance.now();
  for (let i = 0; i < n; i++) index.addPoint(Array.from(values.subarray(i * dims, (i + 1) * dims)), i);
  const buildSeconds = (performance.now() - t) / 1000;
  index.setEf(options.ef);
  const neighbours = new Int32Array(n * k).fill(-1);
  const distances = new Float32Array(n * k).fill(Infinity);
  t = performance.now();
  for (let i = 0; i < n; i++) {
    const found = index.searchKnn(Array.from(values.subarray(i * dims, (i + 1) * dims)), k + 1);
    let r = 0;
    found.neighbors.forEach((j, h) => {
      if (j === i || r >= k) return;
      neighbours[i * k + r] = j;
      distances[i * k + r] = Math.sqrt(found.distances[h]!);
      r++;
    });
  }
  const querySeconds = (performance.now() - t) / 1000;
  return { graph: { k, neighbours, distances } satisfies KnnGraph, buildSeconds, querySeconds };
}

/** Recall of the graph's rows against exact search, on `rows` random faces (each against all n). */
function graphRecall(graph: KnnGraph, values: Float32Array, n: number, dims: number, rows: number, random: () => number): number {
  let found = 0,
    wanted = 0;
  for (let q = 0; q < rows; q++) {
    const i = Math.floor(random() * n);
    const exact = exactKnnGraph({ n, dims, values }, graph.k, { from: i, to: i + 1 });
    const truth = new Set(exact.neighbours.subarray(i * graph.k, (i + 1) * graph.k));
    for (let r = 0; r < graph.k; r++) if (truth.has(graph.neighbours[i * graph.k + r]!)) found++;
    wanted += truth.size;
  }
  return found / wanted;
}

await main();

async function main(): Promise<void> {
  const { values: args } = parseArgs({
    options: {
      faces: { type: 'string', default: '100000' },
      load: { type: 'string', default: '.eval/lfw-view1-embed.jsonl' },
      m: { type: 'string', default: '16' },
      'ef-construction': { type: 'string', default: '100' },
      ef: { type: 'string', default: '100' },
      'recall-rows': { type: 'string', default: '200' },
      decisions: { type: 'string', default: '100000' },
      seed: { type: 'string', default: '1' },
    },
  });
  const n = Number(args.faces);
  const log = (msg: string) => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
  const random = rng(Number(args.seed));
  const gauss = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());

  // ---------- the real descriptors and the synthetic model ----------
  let dims = 128;
  let model = 'dlib-resnet-v1@face-api-1.7.15/chip150p25+mirror';
  let centre: () => Float64Array;
  let face: (c: Float64Array) => Float64Array;
  let source: string;
  if (existsSync(args.load)) {
    const real = await loadLabelledFaces(args.load);
    model = real.model;
    dims = real.faces[0]!.descriptor.length;
    const mu = new Float64Array(dims);
    for (const f of real.faces) for (let t = 0; t < dims; t++) mu[t]! += f.descriptor[t]! / real.faces.length;
    const byPerson = new Map<string, number[][]>();
    for (const f of real.faces) byPerson.set(f.identity, [...(byPerson.get(f.identity) ?? []), f.descriptor]);
    const within: Float64Array[] = [];
    let inside = 0;
    for (const faces of byPerson.values()) {
      if (faces.length < 2) continue;
      const m = new Float64Array(dims);
      for (const x of faces) for (let t = 0; t < dims; t++) m[t]! += x[t]! / faces.length;
      // Deviations from a mean of n faces are √((n−1)/n) too small: scaled back.
      const scale = Math.sqrt(faces.length / (faces.length - 1));
      for (const x of faces) {
        const w = Float64Array.from(x, (v, t) => (v - m[t]!) * scale);
        within.push(w);
        inside += w.reduce((s, v) => s + v * v, 0);
      }
    }
    inside /= within.length;
    const deviations = real.faces.map((f) => Float64Array.from(f.descriptor, (v, t) => v - mu[t]!));
    const total = deviations.reduce((s, d) => s + d.reduce((a, v) => a + v * v, 0), 0) / deviations.length;
    const shrink = Math.sqrt(Math.max(0, total - inside) / total);
    const pick = <T>(xs: T[]) => xs[Math.floor(random() * xs.length)]!;
    centre = () => {
      const c = Float64Array.from(mu);
      for (let r = 0; r < 4; r++) {
        const d = pick(deviations);
        for (let t = 0; t < dims; t++) c[t]! += (d[t]! / 2) * shrink;
      }
      return c;
    };
    face = (c) => {
      const a = pick(within),
        b = pick(within);
      return Float64Array.from(c, (v, t) => v + (a[t]! + b[t]!) / Math.SQRT2);
    };
    source = `${real.faces.length} real faces of ${args.load} (${model}): variance between people ${(total - inside).toFixed(3)}, within a person ${inside.toFixed(3)}`;
  } else {
    centre = () => Float64Array.from({ length: dims }, () => gauss() * 0.045);
    face = (c) => Float64Array.from(c, (v) => v + gauss() * 0.026);
    source = `isotropic Gaussians (no ${args.load}: make it with \`facerec embed\`, docs/performance.md)`;
  }

  // ---------- the synthetic library ----------
  const values = new Float32Array(n * dims);
  const truth = new Int32Array(n);
  const sizes: number[] = [];
  for (let i = 0; i < n;) {
    // P(s) ∝ s^-2.2 on 1..200, by inversion of the continuous law, rounded down.
    const s = Math.min(200, Math.floor((1 - random()) ** (-1 / 1.2)), n - i);
    const c = centre();
    for (let f = 0; f < s; f++, i++) {
      values.set(face(c), i * dims);
      truth[i] = sizes.length;
    }
    sizes.push(s);
  }
  const singles = sizes.filter((s) => s === 1).length;
  console.log(
    `faces: ${n} of ${sizes.length} synthetic people (${singles} with one face, the largest ${Math.max(...sizes)}), from ${source}`,
  );
  console.log(
    `machine: ${os.availableParallelism()} cores, load average ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')} at the start`,
  );

  const impostor = (await import('../models/impostor-model.json', { with: { type: 'json' } })).default as {
    models: Record<string, { reductions: { min: { tail: { mean: number; sd: number } } } }>;
  };
  const tail = impostor.models[model]?.reductions.min.tail;
  if (!tail) throw new Error(`no impostor model for ${model}`);
  const verifyThreshold = model.startsWith('dlib') ? 0.59 : 1.18;
  const params = clusterParams({ verifyThreshold, tail }, n);

  let peak = process.memoryUsage().rss;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 200);

  // ---------- full re-clustering ----------
  const hnsw = { m: Number(args.m), efConstruction: Number(args['ef-construction']), ef: Number(args.ef) };
  log(`kNN graph through HNSW (M ${hnsw.m}, ef_construction ${hnsw.efConstruction}, ef ${hnsw.ef}), k ${params.k}`);
  const { graph, buildSeconds, querySeconds } = hnswGraph(values, n, dims, params.k, hnsw);
  const knnSeconds = buildSeconds + querySeconds;
  log(`recall of the graph against exact search on ${args['recall-rows']} rows`);
  const recall = graphRecall(graph, values, n, dims, Number(args['recall-rows']), random);
  log(`clusterAll`);
  const t = performance.now();
  const nodes = Array.from({ length: n }, (_, i) => ({ photo: `photo-${i}`, quality: 1 }));
  const result = clusterAll(nodes, graph, params);
  const clusterSeconds = (performance.now() - t) / 1000;
  peak = Math.max(peak, process.memoryUsage().rss);
  const scores = scoreClustering(
    Array.from(result.cluster, (c, i) => (c < 0 ? -1 - i : c)),
    Array.from(truth),
  );

  // ---------- the incremental decision ----------
  const decisions = Math.min(Number(args.decisions), n);
  const summaries = new Map<string, ClusterSummary>(
    result.clusters.map((c, i) => [String(i), { size: c.members.length, state: 'suggested' }]),
  );
  const nearestOf = (j: number) => Array.from(graph.distances.subarray(j * params.k, (j + 1) * params.k)).filter(Number.isFinite);
  const micros: number[] = [];
  const actions = { join: 0, create: 0, wait: 0 };
  for (let q = 0; q < decisions; q++) {
    const i = Math.floor(random() * n);
    const neighbours: SightingNeighbour[] = [];
    for (let r = 0; r < params.k; r++) {
      const j = graph.neighbours[i * params.k + r]!;
      if (j < 0) continue;
      const c = result.cluster[j]!;
      neighbours.push({
        id: String(j),
        distance: graph.distances[i * params.k + r]!,
        cluster: c < 0 ? null : String(c),
        photo: `photo-${j}`,
        quality: 1,
        nearest: nearestOf(j),
      });
    }
    const start = performance.now();
    const { decision } = decideIncremental({ photo: `new-${q}`, quality: 1 }, neighbours, summaries, params);
    micros.push((performance.now() - start) * 1000);
    actions[decision.action]++;
  }
  clearInterval(sampler);
  micros.sort((a, b) => a - b);
  const mean = micros.reduce((s, v) => s + v, 0) / micros.length;

  const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MB`;
  console.log('');
  console.log(`full re-clustering of ${n} faces (${dims}-d, k ${params.k}):`);
  console.log(
    `  kNN graph (HNSW, one thread)          ${knnSeconds.toFixed(1)} s: index ${buildSeconds.toFixed(1)} s, ${n} queries ${querySeconds.toFixed(1)} s; recall@${params.k} ${recall.toFixed(3)} against exact`,
  );
  console.log(`  clusterAll                            ${clusterSeconds.toFixed(1)} s`);
  console.log(`  total                                 ${(knnSeconds + clusterSeconds).toFixed(1)} s`);
  console.log(
    `  peak RSS                              ${mb(peak)} (descriptors ${mb(values.byteLength)}, graph ${mb(graph.neighbours.byteLength + graph.distances.byteLength)})`,
  );
  console.log(
    `  result: ${result.clusters.length} clusters, ${result.cluster.filter((c) => c < 0).length} faces alone; against the synthetic people: pairwise P ${scores.pairwise.precision.toFixed(3)} R ${scores.pairwise.recall.toFixed(3)}, BCubed F1 ${scores.bcubed.f1.toFixed(3)}`,
  );
  console.log(
    `incremental decision (decideIncremental alone, k ${params.k} neighbours with their lists, ${decisions} faces of the graph):`,
  );
  console.log(
    `  ${mean.toFixed(1)} µs mean, ${micros[Math.floor(micros.length / 2)]!.toFixed(1)} µs p50, ${micros[Math.floor(0.99 * (micros.length - 1))]!.toFixed(1)} µs p99 (join ${actions.join}, create ${actions.create}, wait ${actions.wait})`,
  );
  console.log(
    `load average at the end: ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
}
