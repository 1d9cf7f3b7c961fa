/**
 * The one decision rule of clustering, shared by the incremental and the full mode: sparse average linkage on
 * locally scaled distances.
 *
 * - A gallery of N faces has an **expected scale**: the distance at which a face meets its `scaleRank`-th nearest
 *   stranger, per the model's impostor tail (params.ts). It shrinks as the gallery grows: more faces, closer strangers.
 * - A face's **relative scale** ρ is its own distance to its `scaleRank`-th nearest face over the expected scale,
 *   clamped into [scaleFloor, scaleCeiling]: a generic-looking or poor face sits among many strangers (ρ < 1), a
 *   distinctive one far from them (ρ > 1). The clamp keeps a person with many photos, whose nearest faces are all
 *   their own, from being judged against their own faces. Relative, so a stored ρ stays valid as the gallery grows.
 * - A pair's **scaled distance** is z = d / (expected · √(ρ_a · ρ_b)).
 * - Two groups of faces (a face and a cluster, or two clusters) are one person when their **linkage**, the mean z over
 *   all |A| · |B| pairs, is within mergeThreshold. Pairs that the kNN lists do not hold are not computed (no n²
 *   matrix): they are imputed at the groups' mean **reach** (the z of a face's k-th neighbour, a lower bound of any
 *   pair outside its list), the larger of the two.
 * - Never together: two faces of one photo; two clusters a user confirmed or ignored (two pinned clusters); two groups
 *   more than maxConflict of whose known pairs are beyond the model's verify threshold (a chain of faces bridging two
 *   people brings their mean down, not their far pairs).
 */

/** What a user decided about a cluster: kept by every automatic pass. */
export type PinnedState = 'confirmed' | 'ignored';

/** Per face, what the rule needs besides its neighbours: the store keeps these two numbers per sighting. */
export interface FaceScale {
  /** ρ: distance to the scaleRank-th nearest face over the gallery's expected scale, clamped (dimensionless). */
  scale: number;
  /** z of the k-th (last) neighbour: every face beyond the kNN list is at least this far, in z. */
  reach: number;
}

/** Settings of the rule for one gallery (made by clusterParams in params.ts from the model's card and impostor tail). */
export interface ClusterParams {
  /** Neighbours per face that the rule expects (the store's k). */
  k: number;
  /** The neighbour whose distance is a face's scale (1-based). */
  scaleRank: number;
  /** The gallery's expected distance to a face's scaleRank-th stranger (model units). */
  expectedScale: number;
  /** Relative scales are clamped into [scaleFloor, scaleCeiling]. */
  scaleFloor: number;
  scaleCeiling: number;
  /** No pair farther than this (model units) ever links, whatever the scales: the model's verify threshold. */
  maxDistance: number;
  /** Merge two single faces when their scaled distance is at most this (dimensionless). */
  linkThreshold: number;
  /** The threshold for a mean over m = |A| · |B| pairs is linkThreshold + linkGrowth · (1 − 1/√m) (mergeThreshold). */
  linkGrowth: number;
  /**
   * Groups never merge when more than this share of their known pairs are farther apart than maxDistance: the model
   * itself says those are different people, however close a bridge of faces between them brings the mean.
   */
  maxConflict: number;
  /** Faces under this quality (0..1) neither start nor join a cluster: they are kept, alone. */
  minQuality: number;
  /** Clusters smaller than this are not suggested to a user (they wait for more faces). */
  minClusterSize: number;
}

/**
 * The threshold on the mean scaled distance of two groups: a mean over more pairs is surer evidence (its spread
 * shrinks as 1/√m), so it may sit a little higher than one pair's.
 */
export function mergeThreshold(sizeA: number, sizeB: number, params: ClusterParams): number {
  return params.linkThreshold + params.linkGrowth * (1 - 1 / Math.sqrt(sizeA * sizeB));
}

/**
 * A face's relative scale and reach from its neighbour distances, sorted, nearest first (Infinity or a shorter array
 * past the end). A face with fewer than scaleRank neighbours (a small gallery) gets ρ = 1, the model's expectation.
 */
export function faceScale(distances: ArrayLike<number>, params: ClusterParams): FaceScale {
  let count = 0;
  while (count < distances.length && Number.isFinite(distances[count]!)) count++;
  const scale =
    count < params.scaleRank
      ? 1
      : Math.min(params.scaleCeiling, Math.max(params.scaleFloor, distances[params.scaleRank - 1]! / params.expectedScale));
  if (count === 0) return { scale, reach: Infinity };
  // A short list holds every face there is: beyond it there is nothing, imputed at the threshold's far side.
  const reach = count < params.k ? Infinity : distances[count - 1]! / (params.expectedScale * scale);
  return { scale, reach };
}

/** z of one pair at distance d, from the two faces' relative scales. */
export function scaledDistance(distance: number, a: number, b: number, params: ClusterParams): number {
  return distance / (params.expectedScale * Math.sqrt(a * b));
}

/**
 * Sparse average linkage between two groups: `known` scaled distances of pairs found in the kNN lists (each pair
 * once), the other |A| · |B| − known pairs imputed at `reach`.
 */
export function linkage(sizeA: number, sizeB: number, knownCount: number, knownSum: number, reach: number): number {
  const pairs = sizeA * sizeB;
  const unknown = Math.max(0, pairs - knownCount);
  return (knownSum + unknown * reach) / pairs;
}

/** Whether `far` of `known` pairs is too large a share of conflicts for a merge. */
export function conflicted(far: number, known: number, params: ClusterParams): boolean {
  return known > 0 && far / known > params.maxConflict;
}

/** A reach for imputation; a face whose list is not full (a small gallery) is imputed beyond any merge threshold. */
export function finiteReach(reach: number, params: ClusterParams): number {
  return Number.isFinite(reach) ? reach : params.linkThreshold + params.linkGrowth + 1;
}
