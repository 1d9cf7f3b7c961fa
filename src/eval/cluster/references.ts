/**
 * The reference clustering algorithms that `facerec eval cluster` runs beside the product's, at their usual settings.
 * Measurement, not product: they may look at every pair (DBSCAN's region queries, the radius graph) and average
 * linkage even holds the n² distance matrix (4 bytes a pair: 50 MB at 5,000 faces, 2 GB at 32,000).
 */
import densityClustering from 'density-clustering';
import { rng } from '../../core/random.js';
import type { DescriptorMatrix } from './knn.js';

/** A label per face; faces a reference leaves unclustered (noise) get labels of their own. */
export type Labels = Int32Array;

/** Every pair closer than `radius` (each unordered pair once, i < j), by computing all n² / 2 distances. */
export function radiusPairs(m: DescriptorMatrix, radius: number): { a: Int32Array; b: Int32Array; distance: Float32Array } {
  const { n, dims, values } = m;
  const a: number[] = [],
    b: number[] = [],
    distance: number[] = [];
  const r2 = radius * radius;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      let sum = 0;
      for (let t = 0; t < dims; t++) {
        const diff = values[i * dims + t]! - values[j * dims + t]!;
        sum += diff * diff;
      }
      if (sum < r2) {
        a.push(i);
        b.push(j);
        distance.push(Math.sqrt(sum));
      }
    }
  }
  return { a: Int32Array.from(a), b: Int32Array.from(b), distance: Float32Array.from(distance) };
}

/** Noise (-1) becomes a singleton label of its own, after the largest label. */
function singletonsForNoise(labels: Int32Array): Labels {
  let next = labels.reduce((m, v) => Math.max(m, v), -1) + 1;
  return labels.map((v) => (v < 0 ? next++ : v));
}

/**
 * DBSCAN as the face_recognition tutorials run it (scikit-learn's defaults: eps 0.5, min_samples 5, Euclidean), with
 * the `density-clustering` package (a point counts itself among its neighbours, as scikit-learn's does). Noise points
 * are singletons.
 */
export function dbscan(m: DescriptorMatrix, eps: number, minPoints = 5): Labels {
  const rows = Array.from({ length: m.n }, (_, i) => Array.from(m.values.subarray(i * m.dims, (i + 1) * m.dims)));
  const euclidean = (p: number[], q: number[]) => {
    let sum = 0;
    for (let t = 0; t < p.length; t++) sum += (p[t]! - q[t]!) ** 2;
    return Math.sqrt(sum);
  };
  const clusters = new densityClustering.DBSCAN().run(rows, eps, minPoints, euclidean);
  const labels = new Int32Array(m.n).fill(-1);
  clusters.forEach((members, c) => members.forEach((i) => (labels[i] = c)));
  return singletonsForNoise(labels);
}

/**
 * dlib's chinese_whispers as `dlib.chinese_whispers_clustering(descriptors, threshold)` runs it: an unweighted edge
 * for every pair under the threshold (and each face to itself), then 100 × n times a random face takes the label most
 * common among its edges.
 */
export function chineseWhispers(m: DescriptorMatrix, threshold: number, options: { iterations?: number; seed?: number } = {}): Labels {
  const { n } = m;
  const pairs = radiusPairs(m, threshold);
  const degree = new Int32Array(n + 1);
  for (let e = 0; e < pairs.a.length; e++) {
    degree[pairs.a[e]! + 1]!++;
    degree[pairs.b[e]! + 1]!++;
  }
  for (let i = 0; i < n; i++) degree[i + 1]! += degree[i]!;
  const offsets = degree.slice();
  const adjacency = new Int32Array(pairs.a.length * 2);
  for (let e = 0; e < pairs.a.length; e++) {
    adjacency[offsets[pairs.a[e]!]!++] = pairs.b[e]!;
    adjacency[offsets[pairs.b[e]!]!++] = pairs.a[e]!;
  }
  const labels = Int32Array.from({ length: n }, (_, i) => i);
  const random = rng(options.seed ?? 1);
  const votes = new Map<number, number>();
  const steps = (options.iterations ?? 100) * n;
  for (let step = 0; step < steps; step++) {
    const i = Math.floor(random() * n);
    votes.clear();
    votes.set(labels[i]!, 1); // the edge to itself
    for (let e = degree[i]!; e < degree[i + 1]!; e++) {
      const l = labels[adjacency[e]!]!;
      votes.set(l, (votes.get(l) ?? 0) + 1);
    }
    // dlib counts the votes in a std::map, so a tie goes to the smallest label.
    let best = labels[i]!,
      bestVotes = 0;
    for (const [l, v] of votes) if (v > bestVotes || (v === bestVotes && l < best)) [best, bestVotes] = [l, v];
    labels[i] = best;
  }
  return labels;
}

/**
 * immich's facial recognition job (server/src/services/person.service.ts, handleRecognizeFaces) with its defaults
 * maxDistance and minFaces (3), faces handled in `order`. A face whose minFaces nearest faces (itself included) are all
 * within maxDistance is "core": it joins the person of the nearest of them that has one, else of the nearest face with
 * a person within maxDistance, else starts a new person. A non-core face is deferred to a second pass, where it joins
 * the person of the nearest face with one within maxDistance, or stays alone. A face with no other face within
 * maxDistance is skipped.
 */
export function immichRule(m: DescriptorMatrix, maxDistance: number, minFaces = 3, order?: ArrayLike<number>): Labels {
  const { n } = m;
  const pairs = radiusPairs(m, maxDistance);
  // Each face's neighbours within maxDistance, nearest first.
  const lists: Array<Array<[number, number]>> = Array.from({ length: n }, () => []);
  for (let e = 0; e < pairs.a.length; e++) {
    lists[pairs.a[e]!]!.push([pairs.b[e]!, pairs.distance[e]!]);
    lists[pairs.b[e]!]!.push([pairs.a[e]!, pairs.distance[e]!]);
  }
  for (const list of lists) list.sort((x, y) => x[1] - y[1]);
  const person = new Int32Array(n).fill(-1);
  let people = 0;
  const recognise = (i: number, deferred: boolean): boolean => {
    const list = lists[i]!;
    // searchFaces(numResults: minFaces) returns the face itself and its minFaces − 1 nearest within maxDistance.
    const matches = Math.min(minFaces, 1 + list.length);
    if (minFaces > 1 && matches <= 1) return true;
    let personId = -1;
    for (let r = 0; r < matches - 1 && personId < 0; r++) personId = person[list[r]![0]]!;
    if (personId < 0) personId = nearestWithPerson(list);
    const isCore = matches >= minFaces;
    if (!isCore && !deferred) return false;
    if (isCore && personId < 0) personId = people++;
    if (personId >= 0) person[i] = personId;
    return true;
  };
  const nearestWithPerson = (list: Array<[number, number]>) => {
    for (const [j] of list) if (person[j]! >= 0) return person[j]!;
    return -1;
  };
  const sequence = order ? Array.from(order) : Array.from({ length: n }, (_, i) => i);
  const later = sequence.filter((i) => !recognise(i, false));
  for (const i of later) recognise(i, true);
  return singletonsForNoise(person);
}

/**
 * Average-linkage agglomerative clustering, cut at `thresholds` (one labelling per threshold from one dendrogram):
 * the nearest-neighbour-chain algorithm over the full condensed distance matrix, O(n²) time and memory.
 */
export function averageLinkage(m: DescriptorMatrix, thresholds: readonly number[]): Labels[] {
  const { n, dims, values } = m;
  if (n > 32_000) throw new Error(`average linkage holds the n² matrix: ${n} faces need ${((n * n * 2) / 2 ** 30).toFixed(1)} GB`);
  const at = (i: number, j: number) => (i < j ? i * n - (i * (i + 1)) / 2 + (j - i - 1) : j * n - (j * (j + 1)) / 2 + (i - j - 1));
  const d = new Float32Array((n * (n - 1)) / 2);
  for (let i = 0; i < n; i++)
    for (let j = i + 1; j < n; j++) {
      let sum = 0;
      for (let t = 0; t < dims; t++) {
        const diff = values[i * dims + t]! - values[j * dims + t]!;
        sum += diff * diff;
      }
      d[at(i, j)] = Math.sqrt(sum);
    }
  const size = new Int32Array(n).fill(1);
  const active = new Uint8Array(n).fill(1);
  const merges: Array<[number, number, number]> = [];
  const chain: number[] = [];
  let remaining = n;
  while (remaining > 1) {
    if (chain.length === 0) chain.push(active.indexOf(1));
    const a = chain.at(-1)!;
    const previous = chain.length > 1 ? chain.at(-2)! : -1;
    let b = previous,
      best = previous >= 0 ? d[at(a, previous)]! : Infinity;
    for (let c = 0; c < n; c++) {
      if (!active[c] || c === a) continue;
      const v = d[at(a, c)]!;
      if (v < best) [b, best] = [c, v];
    }
    if (b === previous) {
      chain.pop();
      chain.pop();
      // Lance–Williams for average linkage; the merged cluster lives in a's slot.
      for (let c = 0; c < n; c++) {
        if (!active[c] || c === a || c === b) continue;
        d[at(a, c)] = (size[a]! * d[at(a, c)]! + size[b]! * d[at(b, c)]!) / (size[a]! + size[b]!);
      }
      merges.push([a, b, best]);
      size[a]! += size[b]!;
      active[b] = 0;
      remaining--;
    } else chain.push(b);
  }
  return thresholds.map((t) => {
    const parent = Int32Array.from({ length: n }, (_, i) => i);
    const find = (x: number): number => {
      while (parent[x] !== x) x = parent[x] = parent[parent[x]!]!;
      return x;
    };
    for (const [a, b, h] of merges) if (h <= t) parent[find(b)] = find(a);
    return Int32Array.from({ length: n }, (_, i) => find(i));
  });
}
