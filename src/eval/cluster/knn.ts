/**
 * An exact in-memory k-nearest-neighbour graph for the evaluation and the benchmark: every pair's distance is computed
 * once (i < j) and offered to both rows, and only the k best of each row are kept. O(n² · d) time, O(n · k) memory:
 * the n² distances are never held. The product asks pgvector instead (one HNSW query per face).
 */
import type { KnnGraph } from '../../match/cluster/graph.js';

/** Descriptors as one Float32Array of n × dims. */
export interface DescriptorMatrix {
  n: number;
  dims: number;
  values: Float32Array;
}

export function descriptorMatrix(descriptors: ReadonlyArray<ArrayLike<number>>): DescriptorMatrix {
  const dims = descriptors[0]?.length ?? 0;
  const values = new Float32Array(descriptors.length * dims);
  descriptors.forEach((d, i) => {
    if (d.length !== dims) throw new Error(`descriptor ${i} has ${d.length} dimensions, the first has ${dims}`);
    values.set(Array.from(d), i * dims);
  });
  return { n: descriptors.length, dims, values };
}

/** Inserts (index, distance) into row `row` (sorted ascending, k wide) if it beats the row's worst. */
function offer(neighbours: Int32Array, distances: Float32Array, k: number, row: number, index: number, distance: number): void {
  const base = row * k;
  if (distance >= distances[base + k - 1]!) return;
  let r = k - 1;
  while (r > 0 && distances[base + r - 1]! > distance) {
    distances[base + r] = distances[base + r - 1]!;
    neighbours[base + r] = neighbours[base + r - 1]!;
    r--;
  }
  distances[base + r] = distance;
  neighbours[base + r] = index;
}

/**
 * The exact kNN graph of rows [from, to) against all rows (for splitting the work between threads), or of all rows.
 * Distances are Euclidean, as the store's index measures them.
 */
export function exactKnnGraph(m: DescriptorMatrix, k: number, range: { from: number; to: number } = { from: 0, to: m.n }): KnnGraph {
  const { n, dims, values } = m;
  const kk = Math.max(1, Math.min(k, n - 1));
  const neighbours = new Int32Array(n * kk).fill(-1);
  const distances = new Float32Array(n * kk).fill(Infinity);
  const whole = range.from === 0 && range.to === n;
  for (let i = range.from; i < range.to; i++) {
    const a = i * dims;
    // The whole graph computes each pair once; a range computes its rows against everyone.
    for (let j = whole ? i + 1 : 0; j < n; j++) {
      if (j === i) continue;
      const b = j * dims;
      let sum = 0;
      for (let t = 0; t < dims; t++) {
        const diff = values[a + t]! - values[b + t]!;
        sum += diff * diff;
      }
      const d = Math.sqrt(sum);
      offer(neighbours, distances, kk, i, j, d);
      if (whole) offer(neighbours, distances, kk, j, i, d);
    }
  }
  return { k: kk, neighbours, distances };
}
