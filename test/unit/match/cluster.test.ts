import { describe, expect, it } from 'vitest';
import { clusterAll, type ClusterNode } from '../../../src/match/cluster/cluster-all.js';
import { knnGraphFromLists } from '../../../src/match/cluster/graph.js';
import { decideIncremental, insertNearest, type SightingNeighbour } from '../../../src/match/cluster/incremental.js';
import { faceScale, mergeThreshold } from '../../../src/match/cluster/linkage.js';
import { CLUSTER_RULE, clusterParams, expectedStrangerDistance } from '../../../src/match/cluster/params.js';
import { descriptorMatrix, exactKnnGraph } from '../../../src/eval/cluster/knn.js';
import { scoreClustering } from '../../../src/eval/cluster/metrics.js';
import { rng } from '../../helpers/random.js';
import { codeOf } from '../../helpers/errors.js';

// A synthetic model: 32-d descriptors, people's centres ~0.9 apart, a person's faces ~0.3 apart. Its impostor tail and
// verify threshold play the role of a model card's (a stranger's distance ~ N(0.93, 0.05), verify at 0.6).
const DIMS = 32;
const MODEL = { verifyThreshold: 0.6, tail: { mean: 0.93, sd: 0.05 } };

function gaussian(random: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

/** A centre per person (per-dimension sd 0.9 / √(2·32), so two centres are ~0.9 apart; none closer than 0.8). */
function centres(count: number, seed: number): number[][] {
  const g = gaussian(rng(seed));
  const out: number[][] = [];
  while (out.length < count) {
    const c = Array.from({ length: DIMS }, () => (g() * 0.9) / Math.sqrt(2 * DIMS));
    if (out.every((o) => Math.hypot(...o.map((v, i) => v - c[i]!)) >= 0.8)) out.push(c);
  }
  return out;
}

/** A face of a person: the centre plus noise putting two faces of one person ~0.3 apart. */
function faceOf(centre: readonly number[], g: () => number, spread = 0.3): number[] {
  return centre.map((v) => v + (g() * spread) / Math.sqrt(2 * DIMS));
}

interface Synthetic {
  descriptors: number[][];
  truth: string[];
  nodes: ClusterNode[];
}

/** `people` people with `faces` faces each, and `strangers` people with one face: every face in its own photo. */
function population(people: number, faces: number, strangers: number, seed: number): Synthetic {
  const g = gaussian(rng(seed + 1));
  const cs = centres(people + strangers, seed);
  const descriptors: number[][] = [],
    truth: string[] = [];
  cs.forEach((c, p) => {
    for (let f = 0; f < (p < people ? faces : 1); f++) {
      descriptors.push(faceOf(c, g));
      truth.push(`person-${p}`);
    }
  });
  return { descriptors, truth, nodes: descriptors.map((_, i) => ({ photo: `photo-${i}`, quality: 1 })) };
}

function cluster(s: Synthetic, overrides = {}) {
  const params = clusterParams(MODEL, s.descriptors.length, overrides);
  const graph = exactKnnGraph(descriptorMatrix(s.descriptors), params.k);
  return { params, graph, result: clusterAll(s.nodes, graph, params) };
}

const labels = (c: Int32Array) => Array.from(c, (v, i) => (v < 0 ? `alone-${i}` : `c${v}`));

describe('full clustering on synthetic descriptors with a known answer', () => {
  it('finds well-separated people exactly and leaves the people with one face alone', () => {
    const s = population(8, 6, 20, 11);
    const { result } = cluster(s);
    const scores = scoreClustering(labels(result.cluster), s.truth);
    expect(scores.pairwise.precision).toBe(1);
    expect(scores.pairwise.recall).toBe(1);
    expect(result.clusters).toHaveLength(8);
    // The 20 strangers (the last 20 faces) are unclustered.
    expect(Array.from(result.cluster.subarray(48))).toEqual(new Array(20).fill(-1));
    for (const c of result.clusters) {
      expect(c.members).toHaveLength(6);
      expect(c.cohesion).toBe(1);
      expect(c.suggested).toBe(true);
      expect(c.linkage).toBeLessThan(CLUSTER_RULE.linkThreshold);
    }
  });

  it('does not merge two people through a chain of faces between them', () => {
    const g = gaussian(rng(5));
    const [x, y, ...others] = centres(12, 21);
    const descriptors: number[][] = [],
      truth: string[] = [];
    const add = (descriptor: number[], who: string) => {
      descriptors.push(descriptor);
      truth.push(who);
    };
    for (let f = 0; f < 6; f++) add(faceOf(x!, g, 0.25), 'x');
    for (let f = 0; f < 6; f++) add(faceOf(y!, g, 0.25), 'y');
    // Three faces on the segment from x to y, at 1/4, 1/2 and 3/4: each within ~0.25 of the next.
    for (const t of [0.25, 0.5, 0.75])
      add(
        x!.map((v, i) => v + t * (y![i]! - v)),
        `chain-${t}`,
      );
    others.forEach((c, p) => {
      for (let f = 0; f < 4; f++) add(faceOf(c, g), `other-${p}`);
    });
    const s = { descriptors, truth, nodes: descriptors.map((_, i) => ({ photo: `p${i}`, quality: 1 })) };
    // The chain is real: linking every pair under the verify threshold (single linkage) joins x and y.
    const d = (a: number[], b: number[]) => Math.hypot(...a.map((v, i) => v - b[i]!));
    const steps = [descriptors[0]!, descriptors[12]!, descriptors[13]!, descriptors[14]!, descriptors[6]!];
    const nearestX = Math.min(...descriptors.slice(0, 6).map((a) => d(a, descriptors[12]!)));
    expect(nearestX).toBeLessThan(MODEL.verifyThreshold);
    expect(d(steps[1]!, steps[2]!)).toBeLessThan(MODEL.verifyThreshold);
    expect(d(steps[2]!, steps[3]!)).toBeLessThan(MODEL.verifyThreshold);
    expect(Math.min(...descriptors.slice(6, 12).map((b) => d(b, descriptors[14]!)))).toBeLessThan(MODEL.verifyThreshold);
    const { result } = cluster(s);
    const xCluster = new Set(descriptors.slice(0, 6).map((_, i) => result.cluster[i]));
    const yCluster = new Set(descriptors.slice(6, 12).map((_, i) => result.cluster[6 + i]));
    expect(xCluster.size).toBe(1);
    expect(yCluster.size).toBe(1);
    expect([...xCluster][0]).not.toBe(-1);
    expect([...xCluster][0]).not.toBe([...yCluster][0]);
  });

  it('leaves outliers alone and keeps two faces of one photo apart however close they are', () => {
    const s = population(4, 5, 0, 31);
    const g = gaussian(rng(32));
    const [far] = centres(1, 99);
    // An outlier far from everyone, and a look-alike of person 0's first face in the same photo.
    s.descriptors.push(far!.map((v) => v * 3));
    s.truth.push('outlier');
    s.nodes.push({ photo: 'outlier-photo', quality: 1 });
    s.descriptors.push(s.descriptors[0]!.map((v) => v + g() * 0.001));
    s.truth.push('twin');
    s.nodes.push({ photo: s.nodes[0]!.photo, quality: 1 });
    const { result } = cluster(s);
    expect(result.cluster[20]).toBe(-1);
    expect(result.cluster[21]).not.toBe(result.cluster[0]);
    expect(result.cluster[0]).not.toBe(-1);
    // Without the shared photo the twin would have joined person 0.
    s.nodes[21] = { photo: 'another', quality: 1 };
    expect(cluster(s).result.cluster[21]).toBe(cluster(s).result.cluster[0]);
  });

  it('keeps a face under minQuality alone', () => {
    const s = population(3, 5, 0, 41);
    s.nodes[0] = { photo: 'p0', quality: 0.2 };
    const { result } = cluster(s, { minQuality: 0.5 });
    expect(result.cluster[0]).toBe(-1);
    expect(new Set(Array.from(result.cluster.subarray(1, 5))).size).toBe(1);
  });

  it('never breaks up, relabels or merges what a user confirmed, and lets new faces join it', () => {
    const s = population(3, 6, 0, 51);
    // The user confirmed person 0's first three faces and, by mistake, person 2's first face in one cluster 'named';
    // and confirmed person 0's last face as another cluster 'again' (the same person named twice).
    for (const i of [0, 1, 2, 12]) s.nodes[i] = { ...s.nodes[i]!, pinned: { cluster: 'named', state: 'confirmed' } };
    s.nodes[5] = { ...s.nodes[5]!, pinned: { cluster: 'again', state: 'confirmed' } };
    const { result } = cluster(s);
    const named = result.clusters[result.cluster[0]!]!;
    expect(named.pinned).toEqual({ cluster: 'named', state: 'confirmed' });
    expect([0, 1, 2, 12].every((i) => result.cluster[i] === result.cluster[0])).toBe(true);
    expect(result.clusters[result.cluster[5]!]!.pinned?.cluster).toBe('again');
    expect(result.cluster[5]).not.toBe(result.cluster[0]);
    // Person 0's unconfirmed faces 3 and 4 join one of the two confirmed clusters, never a new one.
    for (const i of [3, 4]) expect([result.cluster[0], result.cluster[5]]).toContain(result.cluster[i]);
    // Person 1 is still found, apart.
    expect(new Set(Array.from(result.cluster.subarray(6, 12))).size).toBe(1);
    expect(result.clusters[result.cluster[6]!]!.pinned).toBeUndefined();
    expect(result.clusters[result.cluster[6]!]!.suggested).toBe(true);
    expect(named.suggested).toBe(false);
    // minClusterSize: person 1's six faces are not suggested under a minimum of seven.
    expect(cluster(s, { minClusterSize: 7 }).result.clusters.find((c) => c.members.includes(6))!.suggested).toBe(false);
  });

  it('gives the same assignment for any model scale: distances come from the model, not constants', () => {
    const s = population(6, 5, 15, 61);
    const base = cluster(s).result.cluster;
    const scaled = { ...s, descriptors: s.descriptors.map((d) => d.map((v) => v * 2.5)) };
    const model = { verifyThreshold: MODEL.verifyThreshold * 2.5, tail: { mean: MODEL.tail.mean * 2.5, sd: MODEL.tail.sd * 2.5 } };
    const params = clusterParams(model, scaled.descriptors.length);
    const other = clusterAll(scaled.nodes, exactKnnGraph(descriptorMatrix(scaled.descriptors), params.k), params).cluster;
    expect(Array.from(other)).toEqual(Array.from(base));
  });

  it('needs no n² matrix: a kNN graph of k neighbours per face, however obtained', () => {
    const s = population(5, 4, 5, 71);
    const params = clusterParams(MODEL, s.descriptors.length, { k: 6, scaleRank: 5 });
    const exact = exactKnnGraph(descriptorMatrix(s.descriptors), 6);
    // The same graph, given as per-face lists in a scrambled order (as a store would hand them over).
    const lists = s.descriptors.map((_, i) =>
      Array.from({ length: 6 }, (_, r) => ({ index: exact.neighbours[i * 6 + r]!, distance: exact.distances[i * 6 + r]! })).reverse(),
    );
    const graph = knnGraphFromLists(lists, 6);
    expect(Array.from(graph.neighbours)).toEqual(Array.from(exact.neighbours));
    expect(Array.from(clusterAll(s.nodes, graph, params).cluster)).toEqual(Array.from(clusterAll(s.nodes, exact, params).cluster));
    expect(codeOf(() => knnGraphFromLists([[{ index: 5, distance: 0.1 }]], 3))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => clusterAll(s.nodes.slice(1), graph, params))).toBe('INVALID_ARGUMENT');
  });
});

describe('the rule', () => {
  it('takes its scale from the gallery: more faces, closer strangers, a smaller expected scale', () => {
    const small = clusterParams(MODEL, 1000),
      large = clusterParams(MODEL, 100_000);
    expect(large.expectedScale).toBeLessThan(small.expectedScale);
    expect(small.expectedScale).toBeCloseTo(expectedStrangerDistance(MODEL.tail, 1000, CLUSTER_RULE.scaleRank), 10);
    // A small gallery is judged as one of minFaces faces.
    expect(clusterParams(MODEL, 10).expectedScale).toBe(small.expectedScale);
    expect(small.maxDistance).toBe(MODEL.verifyThreshold);
    expect(codeOf(() => clusterParams({ verifyThreshold: 0, tail: MODEL.tail }, 10))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => clusterParams(MODEL, 10, { scaleRank: 40 }))).toBe('INVALID_ARGUMENT');
  });

  it('scales a face by its own strangers, within the clamp, and lets a mean over more pairs sit higher', () => {
    const params = clusterParams(MODEL, 1000, { k: 4, scaleRank: 2 });
    const e = params.expectedScale;
    expect(faceScale([0.1, e, e, e], params).scale).toBe(1);
    expect(faceScale([0.1, e * 0.5, e, e], params).scale).toBe(params.scaleFloor);
    expect(faceScale([0.1, e * 3, e * 3, e * 3], params).scale).toBe(params.scaleCeiling);
    expect(faceScale([0.1], params)).toEqual({ scale: 1, reach: Infinity });
    expect(faceScale([0.1, e, e, 2 * e], params).reach).toBeCloseTo(2, 10);
    expect(mergeThreshold(1, 1, params)).toBe(params.linkThreshold);
    expect(mergeThreshold(3, 3, params)).toBeGreaterThan(mergeThreshold(1, 3, params));
    expect(mergeThreshold(100, 100, params)).toBeLessThan(params.linkThreshold + params.linkGrowth);
  });
});

describe('incremental decision', () => {
  const params = clusterParams(MODEL, 1000, { k: 5, scaleRank: 3 });
  const e = params.expectedScale;
  // A neighbour with a typical scale (its 3rd nearest at the expected distance) and a full list.
  const typical = [0.2, 0.3, e, e, e];
  const neighbour = (id: string, distance: number, cluster: string | null, photo = `photo-${id}`): SightingNeighbour => ({
    id,
    distance,
    cluster,
    photo,
    quality: 1,
    nearest: typical,
  });
  const clusters = new Map([
    ['a', { size: 2, state: 'suggested' as const }],
    ['b', { size: 2, state: 'ignored' as const }],
    ['c', { size: 1, state: 'confirmed' as const }],
  ]);
  const face = { photo: 'new', quality: 1 };
  const far = 0.95 * e;

  it('joins the cluster whose members it is close to', () => {
    const { decision } = decideIncremental(
      face,
      [neighbour('1', 0.3, 'a'), neighbour('2', 0.35, 'a'), neighbour('3', far, null)],
      clusters,
      params,
    );
    expect(decision).toMatchObject({ action: 'join', cluster: 'a', state: 'suggested' });
  });

  it('stays ignored when it matches an ignored cluster, and joins a confirmed one', () => {
    expect(decideIncremental(face, [neighbour('1', 0.3, 'b'), neighbour('2', 0.3, 'b')], clusters, params).decision).toMatchObject({
      action: 'join',
      cluster: 'b',
      state: 'ignored',
    });
    expect(decideIncremental(face, [neighbour('1', 0.3, 'c')], clusters, params).decision).toMatchObject({
      action: 'join',
      state: 'confirmed',
    });
  });

  it('does not join on one close member of a cluster whose other members are far', () => {
    const big = new Map([['a', { size: 6, state: 'suggested' as const }]]);
    const { decision } = decideIncremental(
      face,
      [neighbour('1', 0.4, 'a'), neighbour('2', far, 'a'), neighbour('3', far, 'a'), neighbour('4', far, 'a'), neighbour('5', far, 'a')],
      big,
      params,
    );
    expect(decision).toEqual({ action: 'wait', reason: 'no-match' });
  });

  it('starts a cluster with its nearest waiting face, or waits', () => {
    expect(decideIncremental(face, [neighbour('1', 0.3, null), neighbour('2', 0.2, null)], clusters, params).decision).toMatchObject({
      action: 'create',
      with: ['2'],
    });
    expect(decideIncremental(face, [neighbour('1', far, null)], clusters, params).decision).toEqual({ action: 'wait', reason: 'no-match' });
    expect(decideIncremental(face, [], clusters, params).decision).toEqual({ action: 'wait', reason: 'no-neighbour' });
    expect(
      decideIncremental({ ...face, quality: 0.1 }, [neighbour('1', 0.2, null)], clusters, { ...params, minQuality: 0.5 }).decision,
    ).toEqual({
      action: 'wait',
      reason: 'low-quality',
    });
  });

  it('never joins a cluster that holds a face of its own photo', () => {
    const close = [neighbour('1', 0.3, 'a'), neighbour('2', 0.3, 'a')];
    expect(decideIncremental({ ...face, photoClusters: ['a'] }, close, clusters, params).decision.action).toBe('wait');
    // A neighbour from the same photo bars its cluster too, and is never paired with.
    const samePhoto = [neighbour('1', 0.1, 'a', 'new'), neighbour('2', 0.3, 'a'), neighbour('3', 0.1, null, 'new')];
    expect(decideIncremental(face, samePhoto, clusters, params).decision.action).toBe('wait');
  });

  it('returns its own nearest distances and the neighbours whose lists it enters', () => {
    const result = decideIncremental(face, [neighbour('1', 0.25, null), neighbour('2', e * 2, null)], clusters, params);
    expect(result.nearest).toEqual([0.25, e * 2]);
    expect(result.updates).toEqual([{ id: '1', nearest: [0.2, 0.25, 0.3, e, e] }]);
    expect(insertNearest([1, 2, 3], 0.5, 3)).toEqual([0.5, 1, 2]);
    expect(insertNearest([1, 2, 3], 4, 3)).toBeNull();
    expect(insertNearest([1, 2], 4, 3)).toEqual([1, 2, 4]);
    expect(codeOf(() => decideIncremental(face, [{ ...neighbour('1', 0.3, null), nearest: [0.5, 0.1] }], clusters, params))).toBe(
      'INVALID_ARGUMENT',
    );
    expect(codeOf(() => decideIncremental(face, [neighbour('1', 0.3, 'unknown')], clusters, params))).toBe('INVALID_ARGUMENT');
  });
});
