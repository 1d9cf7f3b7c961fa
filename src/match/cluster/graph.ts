/** The k-nearest-neighbour graph that full re-clustering reads: each face's k nearest other faces, nearest first. */
import { InvalidArgumentError } from '../../errors.js';

/**
 * Each face's nearest neighbours among the other faces, nearest first, however they were found (pgvector's HNSW
 * index in the product, one query per face; an in-memory index in the evaluation). Row i holds face i's neighbours:
 * `neighbours[i * k + r]` is the index of its (r + 1)-th nearest face, or -1 past the end of a shorter row, and
 * `distances[i * k + r]` its distance. A face is never its own neighbour. Memory: n · k · 8 bytes (100,000 faces at
 * k = 30: 24 MB), never n².
 */
export interface KnnGraph {
  readonly k: number;
  readonly neighbours: Int32Array;
  readonly distances: Float32Array;
}

/** Builds a graph from per-face lists (indices into the faces, any order); keeps the k nearest of each, sorted. */
export function knnGraphFromLists(lists: ReadonlyArray<ReadonlyArray<{ index: number; distance: number }>>, k: number): KnnGraph {
  if (!(Number.isInteger(k) && k >= 1)) throw new InvalidArgumentError(`k must be a positive whole number, got ${k}`, { k });
  const n = lists.length;
  const neighbours = new Int32Array(n * k).fill(-1);
  const distances = new Float32Array(n * k).fill(Infinity);
  lists.forEach((list, i) => {
    const sorted = list.filter((x) => x.index !== i).sort((a, b) => a.distance - b.distance);
    const seen = new Set<number>();
    let r = 0;
    for (const x of sorted) {
      if (r >= k) break;
      if (!(Number.isInteger(x.index) && x.index >= 0 && x.index < n))
        throw new InvalidArgumentError(`neighbour index ${x.index} of face ${i} is not one of the ${n} faces`, { face: i, index: x.index });
      if (!(x.distance >= 0)) throw new InvalidArgumentError(`distance ${x.distance} of face ${i} is not a distance`, { face: i });
      if (seen.has(x.index)) continue;
      seen.add(x.index);
      neighbours[i * k + r] = x.index;
      distances[i * k + r] = x.distance;
      r++;
    }
  });
  return { k, neighbours, distances };
}
