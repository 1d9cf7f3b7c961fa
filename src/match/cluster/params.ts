/**
 * The clustering settings of a descriptor model, from its card and its impostor statistics (models/descriptors/*.json,
 * models/impostor-model.json): no distance here is a constant tuned for one model.
 */
import { InvalidArgumentError } from '../../errors.js';
import { normalQuantile, type ImpostorTail } from '../open-set.js';
import type { ClusterParams } from './linkage.js';

/** The dimensionless settings of the rule, the same for every model. */
export interface ClusterRule {
  k: number;
  scaleRank: number;
  scaleFloor: number;
  scaleCeiling: number;
  linkThreshold: number;
  linkGrowth: number;
  minFaces: number;
  maxConflict: number;
  minQuality: number;
  minClusterSize: number;
}

/** The rule's settings, chosen on LFW View 1's people A–M (docs/accuracy.md, Clustering). */
export const CLUSTER_RULE: Readonly<ClusterRule> = {
  /** Neighbours asked per face. */
  k: 30,
  /** The neighbour whose distance is a face's scale. */
  scaleRank: 20,
  /** A face's scale is clamped into [floor, ceiling] × the distance its scaleRank-th stranger has, per the model. */
  scaleFloor: 0.85,
  scaleCeiling: 1.15,
  /** Mean scaled distance at which two groups merge: below 1, i.e. closer than a face's usual strangers. */
  linkThreshold: 0.76,
  /** The threshold's growth with the number of pairs behind a mean (mergeThreshold). */
  linkGrowth: 0.15,
  /** A gallery is judged as if it held at least this many faces: a small one starts as strict as a mid-sized one. */
  minFaces: 1000,
  /** The share of a merge's known pairs that may lie beyond the verify threshold (ClusterParams.maxConflict). */
  maxConflict: 0.25,
  /**
   * Faces under this quality are kept alone. The product's quality of a sighting: 1 when it passes the enrollment
   * gates (size, score, sharpness, pose), 0 when it fails one: a cluster is a suggestion to enroll, and a face that
   * could not be enrolled should neither start nor grow one. LFW's subject faces all pass.
   */
  minQuality: 0.5,
  /** Clusters smaller than this are not suggested to a user (they wait for more faces). */
  minClusterSize: 2,
};

/**
 * The distance at which a face's `rank`-th nearest stranger is expected among `faces` faces: the impostor tail's
 * quantile at rank / faces (the open-set model of src/match/open-set.ts, one stranger per face).
 */
export function expectedStrangerDistance(tail: ImpostorTail, faces: number, rank: number): number {
  const p = Math.min(0.5, rank / Math.max(faces, rank * 2));
  return tail.mean + tail.sd * normalQuantile(p);
}

/**
 * The settings for a gallery of `faces` sightings of one descriptor model: `verifyThreshold` from its card (no pair
 * farther than that is ever linked) and the lower tail of its impostor distances ('min' reduction of its entry in
 * models/impostor-model.json). The scale range follows the gallery's size: more faces, closer strangers, stricter
 * clusters (the open-set rule's logic). `overrides` change the dimensionless rule (evaluation, tests).
 */
export function clusterParams(
  model: { verifyThreshold: number; tail: ImpostorTail },
  faces: number,
  overrides: Partial<ClusterRule> = {},
): ClusterParams {
  const rule = { ...CLUSTER_RULE, ...overrides };
  if (!(model.verifyThreshold > 0) || !(model.tail.sd > 0))
    throw new InvalidArgumentError('clusterParams needs a positive verify threshold and impostor spread', { ...model });
  if (!(rule.scaleRank >= 1 && rule.scaleRank <= rule.k))
    throw new InvalidArgumentError(`scaleRank must be within 1..k (${rule.k}), got ${rule.scaleRank}`);
  const expected = expectedStrangerDistance(model.tail, Math.max(faces, rule.minFaces), rule.scaleRank);
  return {
    k: rule.k,
    scaleRank: rule.scaleRank,
    expectedScale: expected,
    scaleFloor: rule.scaleFloor,
    scaleCeiling: rule.scaleCeiling,
    maxDistance: model.verifyThreshold,
    linkThreshold: rule.linkThreshold,
    linkGrowth: rule.linkGrowth,
    maxConflict: rule.maxConflict,
    minQuality: rule.minQuality,
    minClusterSize: rule.minClusterSize,
  };
}
