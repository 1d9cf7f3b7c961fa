/**
 * Full re-clustering: the whole assignment from each face's k nearest neighbours (a KnnGraph), by the rule of
 * linkage.ts. No n² matrix: memory and time grow with n · k.
 *
 * Agglomeration over the graph's edges, closest (scaled) first: an edge whose two faces are in different groups
 * proposes their merge, which happens when the groups' sparse average linkage is within the threshold, they share no
 * photo and at most one of them is pinned. Proposals are revisited in passes until nothing merges, since a merge can
 * bring a group within reach of another.
 */
import { InvalidArgumentError } from '../../errors.js';
import type { KnnGraph } from './graph.js';
import {
  conflicted,
  faceScale,
  finiteReach,
  linkage,
  mergeThreshold,
  scaledDistance,
  type ClusterParams,
  type FaceScale,
  type PinnedState,
} from './linkage.js';

/** One face as full re-clustering sees it (index i of the array is row i of the graph). */
export interface ClusterNode {
  /** The photo's sha256: faces of one photo are different people and never share a cluster. */
  photo: string;
  /** 0..1; a face under params.minQuality stays alone (unless pinned). */
  quality: number;
  /** The cluster a user confirmed (named) or ignored this face in; such faces stay together, under that id. */
  pinned?: { cluster: string; state: PinnedState };
}

/** A group of faces the rule put together (size ≥ 2), or a pinned group of any size. */
export interface FoundCluster {
  /** Indices of its faces. */
  members: number[];
  /** The pinned cluster it continues, if any (its faces and the new ones that joined it). */
  pinned?: { cluster: string; state: PinnedState };
  /** Mean scaled distance over its pairs (known pairs measured, the others imputed): lower is tighter. */
  linkage: number;
  /** Share of its faces' possible in-cluster neighbours that are within the threshold (0..1): higher is tighter. */
  cohesion: number;
  /** Shown to a user as a suggested person: not pinned, and at least params.minClusterSize faces. */
  suggested: boolean;
}

export interface ClusterAssignment {
  /** Per face: index into `clusters`, or -1 when it is alone (waiting for more faces of its person). */
  cluster: Int32Array;
  clusters: FoundCluster[];
  /** Per face: its scale and reach, as the store keeps them for the incremental rule. */
  scales: FaceScale[];
}

class UnionFind {
  readonly parent: Int32Array;
  constructor(n: number) {
    this.parent = Int32Array.from({ length: n }, (_, i) => i);
  }
  find(x: number): number {
    const p = this.parent;
    while (p[x] !== x) x = p[x] = p[p[x]!]!;
    return x;
  }
}

/** The whole assignment of `nodes` from their kNN graph. */
export function clusterAll(nodes: readonly ClusterNode[], graph: KnnGraph, params: ClusterParams): ClusterAssignment {
  const n = nodes.length;
  const { k, neighbours, distances } = graph;
  if (neighbours.length !== n * k || distances.length !== n * k)
    throw new InvalidArgumentError(`the kNN graph has ${neighbours.length / Math.max(1, k)} rows for ${n} faces`, { faces: n });
  const scales = Array.from({ length: n }, (_, i) => faceScale(distances.subarray(i * k, (i + 1) * k), params));

  // Reverse lists: who holds face j in their kNN row, so that a group's cross pairs are found from its own members.
  const inDegree = new Int32Array(n + 1);
  for (let e = 0; e < n * k; e++) if (neighbours[e]! >= 0) inDegree[neighbours[e]! + 1]!++;
  for (let i = 0; i < n; i++) inDegree[i + 1]! += inDegree[i]!;
  const reverse = new Int32Array(inDegree[n]!);
  const reverseDistance = new Float32Array(inDegree[n]!);
  const fill = inDegree.slice(0, n);
  for (let i = 0; i < n; i++)
    for (let r = 0; r < k; r++) {
      const j = neighbours[i * k + r]!;
      if (j < 0) continue;
      reverse[fill[j]!] = i;
      reverseDistance[fill[j]!++] = distances[i * k + r]!;
    }

  const sets = new UnionFind(n);
  const members: number[][] = Array.from({ length: n }, (_, i) => [i]);
  const photos: Array<Set<string>> = nodes.map((node) => new Set([node.photo]));
  const reachSum = Float64Array.from(scales, (s) => finiteReach(s.reach, params));
  const pinned: Array<ClusterNode['pinned']> = nodes.map((node) => node.pinned);

  const union = (a: number, b: number) => {
    // The larger group absorbs the smaller (members, photos), so every face moves O(log n) times.
    const [big, small] = members[a]!.length >= members[b]!.length ? [a, b] : [b, a];
    sets.parent[small] = big;
    for (const i of members[small]!) members[big]!.push(i);
    for (const p of photos[small]!) photos[big]!.add(p);
    members[small] = [];
    photos[small] = new Set();
    reachSum[big]! += reachSum[small]!;
    pinned[big] ??= pinned[small];
    return big;
  };

  // Pinned faces: one group per pinned cluster id, whatever their distances.
  const pinnedRoot = new Map<string, number>();
  nodes.forEach((node, i) => {
    if (!node.pinned) return;
    const root = pinnedRoot.get(node.pinned.cluster);
    if (root === undefined) pinnedRoot.set(node.pinned.cluster, i);
    else pinnedRoot.set(node.pinned.cluster, union(sets.find(root), sets.find(i)));
  });

  /** Known cross pairs between groups a and b: their count and the sum of their scaled distances. */
  const cross = (a: number, b: number): { count: number; sum: number; far: number } => {
    const [small, other] = members[a]!.length <= members[b]!.length ? [a, b] : [b, a];
    let count = 0,
      sum = 0,
      far = 0;
    const seen = new Set<number>();
    for (const i of members[small]!) {
      seen.clear();
      const visit = (j: number, d: number) => {
        if (seen.has(j) || sets.find(j) !== other) return;
        seen.add(j);
        count++;
        if (d > params.maxDistance) far++;
        sum += scaledDistance(d, scales[i]!.scale, scales[j]!.scale, params);
      };
      for (let r = 0; r < k; r++) {
        const j = neighbours[i * k + r]!;
        if (j >= 0) visit(j, distances[i * k + r]!);
      }
      for (let e = inDegree[i]!; e < inDegree[i + 1]!; e++) visit(reverse[e]!, reverseDistance[e]!);
    }
    return { count, sum, far };
  };

  /** The rule: may groups a and b merge? */
  const mayMerge = (a: number, b: number): boolean => {
    if (pinned[a] && pinned[b]) return false;
    const [pa, pb] = [photos[a]!, photos[b]!];
    const [fewer, more] = pa.size <= pb.size ? [pa, pb] : [pb, pa];
    for (const p of fewer) if (more.has(p)) return false;
    const { count, sum, far } = cross(a, b);
    if (conflicted(far, count, params)) return false;
    const sizeA = members[a]!.length,
      sizeB = members[b]!.length;
    const reach = Math.max(reachSum[a]! / sizeA, reachSum[b]! / sizeB);
    return linkage(sizeA, sizeB, count, sum, reach) <= mergeThreshold(sizeA, sizeB, params);
  };

  const trusted = (i: number) => nodes[i]!.quality >= params.minQuality;
  // Candidate edges: pairs within maxDistance whose own z is within the threshold, each once, closest first.
  const edges: Array<[number, number, number]> = [];
  for (let i = 0; i < n; i++)
    for (let r = 0; r < k; r++) {
      const j = neighbours[i * k + r]!;
      const d = distances[i * k + r]!;
      if (j < 0 || d > params.maxDistance || !trusted(i) || !trusted(j)) continue;
      const z = scaledDistance(d, scales[i]!.scale, scales[j]!.scale, params);
      if (z > params.linkThreshold) continue;
      // Each pair once: from the lower index, or from the higher one when the lower does not list it.
      if (j < i && listed(j, i)) continue;
      edges.push([i, j, z]);
    }
  function listed(i: number, j: number): boolean {
    for (let r = 0; r < k; r++) if (neighbours[i * k + r] === j) return true;
    return false;
  }
  edges.sort((x, y) => x[2] - y[2] || x[0] - y[0] || x[1] - y[1]);

  const refused = new Map<string, true>();
  for (let pass = 0; pass < 4; pass++) {
    let merged = 0;
    for (const [i, j] of edges) {
      const a = sets.find(i),
        b = sets.find(j);
      if (a === b) continue;
      // A refused pair of groups is asked again only once either has changed (its size is part of the key).
      const key = a < b ? `${a}:${members[a]!.length}/${b}:${members[b]!.length}` : `${b}:${members[b]!.length}/${a}:${members[a]!.length}`;
      if (refused.has(key)) continue;
      if (mayMerge(a, b)) {
        union(a, b);
        merged++;
      } else refused.set(key, true);
    }
    if (merged === 0) break;
  }

  // The assignment: groups of two or more, and pinned groups of any size.
  const cluster = new Int32Array(n).fill(-1);
  const clusters: FoundCluster[] = [];
  for (let root = 0; root < n; root++) {
    if (sets.find(root) !== root) continue;
    const group = members[root]!;
    if (group.length < 2 && !pinned[root]) continue;
    const index = clusters.length;
    for (const i of group) cluster[i] = index;
    clusters.push({
      members: group.slice().sort((x, y) => x - y),
      ...(pinned[root] ? { pinned: pinned[root] } : {}),
      linkage: 0,
      cohesion: 0,
      suggested: !pinned[root] && group.length >= params.minClusterSize,
    });
  }
  for (const c of clusters) Object.assign(c, tightness(c.members, cluster, graph, scales, params));
  return { cluster, clusters, scales };
}

/** A cluster's linkage (mean scaled distance, imputed as the rule does) and cohesion (share of in-cluster links). */
export function tightness(
  group: readonly number[],
  cluster: Int32Array,
  graph: KnnGraph,
  scales: readonly FaceScale[],
  params: ClusterParams,
): { linkage: number; cohesion: number } {
  if (group.length < 2) return { linkage: 0, cohesion: 1 };
  const { k, neighbours, distances } = graph;
  const label = cluster[group[0]!]!;
  let count = 0,
    sum = 0,
    reach = 0,
    links = 0,
    possible = 0;
  for (const i of group) {
    reach += finiteReach(scales[i]!.reach, params);
    possible += Math.min(k, group.length - 1);
    for (let r = 0; r < k; r++) {
      const j = neighbours[i * k + r]!;
      if (j < 0 || cluster[j] !== label) continue;
      const z = scaledDistance(distances[i * k + r]!, scales[i]!.scale, scales[j]!.scale, params);
      count++;
      sum += z;
      if (z <= params.linkThreshold && distances[i * k + r]! <= params.maxDistance) links++;
    }
  }
  // Directed pairs: each unordered pair counted from both sides when both list it.
  const pairs = group.length * (group.length - 1);
  return { linkage: (sum + Math.max(0, pairs - count) * (reach / group.length)) / pairs, cohesion: links / possible };
}
