/**
 * The usual face-clustering measures of an assignment against true identities: pairwise precision, recall and F1
 * (over pairs of faces put together), and BCubed precision, recall and F1 (per face, averaged).
 */

export interface ClusterScores {
  faces: number;
  /** Clusters in the assignment (singletons included) and identities in the truth. */
  clusters: number;
  identities: number;
  pairwise: { precision: number; recall: number; f1: number; truePairs: number; predictedPairs: number; correctPairs: number };
  bcubed: { precision: number; recall: number; f1: number };
}

const pairs = (n: number) => (n * (n - 1)) / 2;
const f1 = (p: number, r: number) => (p + r === 0 ? 0 : (2 * p * r) / (p + r));

/**
 * Scores `predicted[i]` (a cluster label per face; faces the clustering left alone must have labels of their own)
 * against `truth[i]` (the identity per face). Precision is 1 when no pair was predicted.
 */
export function scoreClustering(predicted: ReadonlyArray<string | number>, truth: ReadonlyArray<string | number>): ClusterScores {
  if (predicted.length !== truth.length) throw new Error(`scoreClustering: ${predicted.length} labels for ${truth.length} faces`);
  const clusterSize = new Map<string | number, number>();
  const classSize = new Map<string | number, number>();
  const cell = new Map<string, number>();
  for (let i = 0; i < predicted.length; i++) {
    clusterSize.set(predicted[i]!, (clusterSize.get(predicted[i]!) ?? 0) + 1);
    classSize.set(truth[i]!, (classSize.get(truth[i]!) ?? 0) + 1);
    const key = `${String(predicted[i])}\u0000${String(truth[i])}`;
    cell.set(key, (cell.get(key) ?? 0) + 1);
  }
  let correctPairs = 0;
  for (const n of cell.values()) correctPairs += pairs(n);
  let predictedPairs = 0;
  for (const n of clusterSize.values()) predictedPairs += pairs(n);
  let truePairs = 0;
  for (const n of classSize.values()) truePairs += pairs(n);
  let bp = 0,
    br = 0;
  for (let i = 0; i < predicted.length; i++) {
    const both = cell.get(`${String(predicted[i])}\u0000${String(truth[i])}`)!;
    bp += both / clusterSize.get(predicted[i]!)!;
    br += both / classSize.get(truth[i]!)!;
  }
  const n = Math.max(1, predicted.length);
  const precision = predictedPairs === 0 ? 1 : correctPairs / predictedPairs;
  const recall = truePairs === 0 ? 1 : correctPairs / truePairs;
  return {
    faces: predicted.length,
    clusters: clusterSize.size,
    identities: classSize.size,
    pairwise: { precision, recall, f1: f1(precision, recall), truePairs, predictedPairs, correctPairs },
    bcubed: { precision: bp / n, recall: br / n, f1: f1(bp / n, br / n) },
  };
}
