/**
 * Incremental clustering: where one new face goes, at once, from its k nearest sightings (pgvector's HNSW query) and
 * small per-cluster summaries, by the same rule as full re-clustering (linkage.ts). Pure and cheap: O(k²) at most.
 *
 * The store keeps, per sighting, the distances to its k nearest sightings (`nearest`, k numbers, not their ids): the
 * rule reads a face's scale and reach from them at the gallery's current size. A new face enters the lists of the
 * neighbours it is nearer to than their k-th; decideIncremental returns those updated lists, for the store to write
 * with the new sighting. Without the updates a face's scale would stay what it was when the gallery was small, and
 * the rule would be lenient with old faces (pairwise precision 0.78 instead of 0.88, streaming LFW View 1's first 3,300
 * faces).
 */
import { InvalidArgumentError } from '../../errors.js';
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

/** One of the new face's nearest sightings, as the store returns it. */
export interface SightingNeighbour {
  id: string;
  distance: number;
  /** Its current cluster, or null while it waits alone. */
  cluster: string | null;
  /** Its photo's sha256. */
  photo: string;
  /** Its quality in 0..1 (as the new face's: see IncrementalFace.quality). */
  quality: number;
  /** The distances to its own k nearest sightings, as stored (ascending; shorter while the gallery is small). */
  nearest: readonly number[];
}

/** What the store keeps per cluster for the incremental rule. */
export interface ClusterSummary {
  size: number;
  /** 'suggested' (automatic), or what a user made of it: confirmed (named) or ignored. */
  state: 'suggested' | PinnedState;
}

/** The new face. */
export interface IncrementalFace {
  /** Its photo's sha256. */
  photo: string;
  /** 0..1; a face under params.minQuality is kept but never clustered (its descriptor is not trusted). */
  quality: number;
  /** Clusters that already hold another face of the same photo: never joined (one person appears once in a photo). */
  photoClusters?: readonly string[];
}

export type IncrementalDecision =
  /** Join this cluster (an ignored one too: the face then stays ignored; a confirmed one: the user's person). */
  | { action: 'join'; cluster: string; state: ClusterSummary['state']; linkage: number; threshold: number }
  /** Start a new cluster with this waiting sighting. */
  | { action: 'create'; with: string[]; linkage: number; threshold: number }
  /** Stay alone for now (no cluster within the rule, a low-quality face, or no neighbour yet). */
  | { action: 'wait'; reason: 'no-neighbour' | 'low-quality' | 'no-match' };

export interface IncrementalResult {
  decision: IncrementalDecision;
  /** The new face's own `nearest` list, to store with it. */
  nearest: number[];
  /** Its scale and reach at this gallery size (for display and tests). */
  scale: FaceScale;
  /** Neighbours whose `nearest` list the new face entered: store these lists. */
  updates: Array<{ id: string; nearest: number[] }>;
}

/** `list` with `distance` inserted in order, kept to k entries; null when it does not enter. */
export function insertNearest(list: readonly number[], distance: number, k: number): number[] | null {
  if (list.length >= k && !(distance < list[k - 1]!)) return null;
  const out = list.slice(0, k);
  let at = out.findIndex((d) => d > distance);
  if (at < 0) at = out.length;
  out.splice(at, 0, distance);
  return out.slice(0, k);
}

/**
 * Where a new face goes. `neighbours` are its k nearest sightings of the same gallery and model (any order; the face
 * itself excluded); `clusters` the summaries of the clusters they belong to; `params` clusterParams for the gallery's
 * size with the new face counted.
 *
 * The rule (linkage.ts): the face joins the cluster whose sparse average linkage to it is lowest and within
 * mergeThreshold(1, |cluster|), provided one of its pairs alone passes (within maxDistance and linkThreshold), no more
 * than maxConflict of its known pairs are beyond maxDistance, and the cluster holds no face of its photo. Failing
 * that, it starts a cluster with its nearest waiting sighting that passes alone. Otherwise it waits; a later face or a
 * full re-clustering may take it.
 */
export function decideIncremental(
  face: IncrementalFace,
  neighbours: readonly SightingNeighbour[],
  clusters: ReadonlyMap<string, ClusterSummary>,
  params: ClusterParams,
): IncrementalResult {
  const sorted = [...neighbours].sort((a, b) => a.distance - b.distance).slice(0, params.k);
  const nearest = sorted.map((x) => x.distance);
  const scale = faceScale(nearest, params);
  const updates: IncrementalResult['updates'] = [];
  const neighbourScales = sorted.map((x) => {
    if (!x.nearest.every((d, i) => d >= 0 && (i === 0 || d >= x.nearest[i - 1]!)))
      throw new InvalidArgumentError(`neighbour ${x.id}: its nearest distances must be ascending and non-negative`, { id: x.id });
    const list = insertNearest(x.nearest, x.distance, params.k);
    if (list) updates.push({ id: x.id, nearest: list });
    return faceScale(list ?? x.nearest, params);
  });
  const result = (decision: IncrementalDecision): IncrementalResult => ({ decision, nearest, scale, updates });
  if (sorted.length === 0) return result({ action: 'wait', reason: 'no-neighbour' });
  if (!(face.quality >= params.minQuality)) return result({ action: 'wait', reason: 'low-quality' });

  const barred = new Set(face.photoClusters ?? []);
  const perCluster = new Map<string, { count: number; sum: number; far: number; reach: number; trigger: boolean }>();
  let pair: { id: string; z: number } | undefined;
  sorted.forEach((x, r) => {
    const z = scaledDistance(x.distance, scale.scale, neighbourScales[r]!.scale, params);
    const passes = x.distance <= params.maxDistance && z <= params.linkThreshold && x.quality >= params.minQuality;
    if (x.photo === face.photo) {
      if (x.cluster !== null) barred.add(x.cluster);
      return;
    }
    if (x.cluster === null) {
      if (passes && (!pair || z < pair.z)) pair = { id: x.id, z };
      return;
    }
    const entry = perCluster.get(x.cluster) ?? { count: 0, sum: 0, far: 0, reach: 0, trigger: false };
    entry.count++;
    if (x.distance > params.maxDistance) entry.far++;
    entry.sum += z;
    entry.reach += finiteReach(neighbourScales[r]!.reach, params);
    entry.trigger ||= passes;
    perCluster.set(x.cluster, entry);
  });

  let best: Extract<IncrementalDecision, { action: 'join' }> | undefined;
  for (const [id, entry] of perCluster) {
    const summary = clusters.get(id);
    if (!summary) throw new InvalidArgumentError(`no summary for cluster ${id} of a neighbour`, { cluster: id });
    if (!entry.trigger || barred.has(id) || conflicted(entry.far, entry.count, params)) continue;
    const size = Math.max(summary.size, entry.count);
    // Pairs outside the lists at the larger of the face's reach and its known cluster mates' mean reach.
    const reach = Math.max(finiteReach(scale.reach, params), entry.reach / entry.count);
    const value = linkage(1, size, entry.count, entry.sum, reach);
    const threshold = mergeThreshold(1, size, params);
    if (value <= threshold && (!best || value < best.linkage))
      best = { action: 'join', cluster: id, state: summary.state, linkage: value, threshold };
  }
  if (best) return result(best);
  if (pair) return result({ action: 'create', with: [pair.id], linkage: pair.z, threshold: params.linkThreshold });
  return result({ action: 'wait', reason: 'no-match' });
}
