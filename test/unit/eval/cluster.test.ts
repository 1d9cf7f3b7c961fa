import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { identityOf, loadLabelledFaces } from '../../../src/eval/cluster/faces.js';
import { descriptorMatrix, exactKnnGraph } from '../../../src/eval/cluster/knn.js';
import { scoreClustering } from '../../../src/eval/cluster/metrics.js';
import { averageLinkage, chineseWhispers, dbscan, immichRule, radiusPairs } from '../../../src/eval/cluster/references.js';
import { rng } from '../../helpers/random.js';

function randomPoints(n: number, dims: number, seed: number): number[][] {
  const random = rng(seed);
  return Array.from({ length: n }, () => Array.from({ length: dims }, () => random()));
}

const distance = (a: readonly number[], b: readonly number[]) => Math.hypot(...a.map((v, i) => v - b[i]!));

/** Two tight blobs far apart, and one point far from both. */
const BLOBS = [
  [0, 0],
  [0.1, 0],
  [0, 0.1],
  [0.1, 0.1],
  [5, 5],
  [5.1, 5],
  [5, 5.1],
  [5.1, 5.1],
  [20, 20],
];

/** The partition a labelling makes, as sorted groups of indices (labels themselves are arbitrary). */
function partition(labels: ArrayLike<number>): number[][] {
  const groups = new Map<number, number[]>();
  Array.from(labels).forEach((l, i) => groups.set(l, [...(groups.get(l) ?? []), i]));
  return [...groups.values()].sort((a, b) => a[0]! - b[0]!);
}

describe('clustering scores', () => {
  it('computes pairwise and BCubed precision and recall by their definitions', () => {
    const s = scoreClustering([1, 1, 2, 2, 2], ['a', 'a', 'a', 'b', 'b']);
    // Predicted pairs: 1 + 3; true pairs: 3 + 1; correct: (0,1) and (3,4).
    expect(s.pairwise).toMatchObject({ predictedPairs: 4, truePairs: 4, correctPairs: 2, precision: 0.5, recall: 0.5, f1: 0.5 });
    expect(s.bcubed.precision).toBeCloseTo(11 / 15, 12);
    expect(s.bcubed.recall).toBeCloseTo(11 / 15, 12);
    expect(s).toMatchObject({ faces: 5, clusters: 2, identities: 2 });
  });

  it('is perfect for the truth itself, and singletons have precision 1 and no pair recall', () => {
    const truth = ['a', 'a', 'b', 'c', 'c', 'c'];
    const same = scoreClustering(truth, truth);
    expect([same.pairwise.precision, same.pairwise.recall, same.bcubed.f1]).toEqual([1, 1, 1]);
    const alone = scoreClustering([0, 1, 2, 3, 4, 5], truth);
    expect(alone.pairwise.precision).toBe(1);
    expect(alone.pairwise.recall).toBe(0);
    expect(alone.bcubed.precision).toBe(1);
    expect(() => scoreClustering([1], ['a', 'b'])).toThrow();
  });
});

describe('the exact kNN graph', () => {
  it('holds each row’s k nearest other points, nearest first, whole or by row ranges', () => {
    const points = randomPoints(60, 5, 3);
    const m = descriptorMatrix(points);
    const g = exactKnnGraph(m, 7);
    const half = exactKnnGraph(m, 7, { from: 0, to: 30 });
    for (let i = 0; i < points.length; i++) {
      const brute = points
        .map((p, j) => ({ j, d: distance(points[i]!, p) }))
        .filter((x) => x.j !== i)
        .sort((a, b) => a.d - b.d)
        .slice(0, 7);
      expect(Array.from(g.neighbours.subarray(i * 7, i * 7 + 7))).toEqual(brute.map((x) => x.j));
      brute.forEach((x, r) => expect(g.distances[i * 7 + r]).toBeCloseTo(x.d, 5));
      if (i < 30) expect(Array.from(half.neighbours.subarray(i * 7, i * 7 + 7))).toEqual(brute.map((x) => x.j));
    }
  });
});

describe('reference algorithms', () => {
  const m = descriptorMatrix(BLOBS);

  it('radius pairs are exactly the pairs under the radius', () => {
    const pairs = radiusPairs(m, 0.12);
    // Within each blob: 4 sides of 0.1 (the diagonals are 0.141).
    expect(pairs.a.length).toBe(8);
  });

  it('DBSCAN finds the blobs and leaves the far point as noise, a singleton', () => {
    expect(partition(dbscan(m, 0.2, 3))).toEqual([[0, 1, 2, 3], [4, 5, 6, 7], [8]]);
    // minPts counts the point itself (scikit-learn's min_samples): 5 is more than a blob holds.
    expect(partition(dbscan(m, 0.2, 5))).toHaveLength(9);
  });

  it('Chinese whispers spreads labels along edges under the threshold', () => {
    expect(partition(chineseWhispers(m, 0.2))).toEqual([[0, 1, 2, 3], [4, 5, 6, 7], [8]]);
    expect(partition(chineseWhispers(m, 0.05))).toHaveLength(9);
  });

  it('immich’s rule: core faces start people, the others join in the deferred pass or stay alone', () => {
    // A tight pair: with minFaces 3 neither is core (2 matches each, itself included) and nobody has a person: alone.
    const pair = descriptorMatrix([
      [0, 0],
      [0.1, 0],
      [9, 9],
    ]);
    expect(partition(immichRule(pair, 0.5, 3))).toHaveLength(3);
    // The blobs: each face has 3 others within 0.2, so every one is core; a blob becomes one person.
    expect(partition(immichRule(m, 0.2, 3))).toEqual([[0, 1, 2, 3], [4, 5, 6, 7], [8]]);
    // A face near a blob but not core itself joins it in the deferred pass.
    const tail = descriptorMatrix([...BLOBS, [0.25, 0.25]]);
    const labels = immichRule(tail, 0.25, 3, [9, 0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(labels[9]).toBe(labels[3]);
  });

  it('average linkage matches the naive algorithm at every cut', () => {
    const points = randomPoints(25, 3, 9);
    const cuts = [0.3, 0.45, 0.6];
    const fast = averageLinkage(descriptorMatrix(points), cuts);
    cuts.forEach((t, c) => {
      // Naive: merge the closest pair of clusters by mean pairwise distance while it is within t.
      let clusters = points.map((_, i) => [i]);
      for (;;) {
        let best: [number, number, number] | undefined;
        for (let a = 0; a < clusters.length; a++)
          for (let b = a + 1; b < clusters.length; b++) {
            let sum = 0;
            for (const i of clusters[a]!) for (const j of clusters[b]!) sum += distance(points[i]!, points[j]!);
            const mean = sum / (clusters[a]!.length * clusters[b]!.length);
            if (!best || mean < best[2]) best = [a, b, mean];
          }
        if (!best || best[2] > t) break;
        const [a, b] = best;
        clusters = [...clusters.filter((_, k) => k !== a && k !== b), [...clusters[a]!, ...clusters[b]!]];
      }
      const naive = clusters.map((g) => g.sort((x, y) => x - y)).sort((x, y) => x[0]! - y[0]!);
      expect(partition(fast[c]!)).toEqual(naive);
    });
  });
});

describe('the faces of an embed output', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'facerec-cluster-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const line = (f: string, faces: Array<{ box: number[]; descriptor: number[] }>, model = 'm1') =>
    JSON.stringify({ f, w: 100, h: 100, model, faces: faces.map((x) => ({ ...x, score: 0.9 })) });

  it('takes the face nearest the image centre, the folder as identity, and counts images without a face', async () => {
    const file = path.join(dir, 'ok.jsonl');
    await writeFile(
      file,
      [
        line('Ada/Ada_0001.jpg', [
          { box: [0, 0, 20, 20], descriptor: [1, 1] },
          { box: [40, 40, 20, 20], descriptor: [2, 2] },
        ]),
        line('Bob/Bob_0001.jpg', []),
        line('Bob/Bob_0002.jpg', [{ box: [10, 10, 30, 30], descriptor: [3, 3] }]),
      ].join('\n'),
    );
    const loaded = await loadLabelledFaces(file);
    expect(loaded.model).toBe('m1');
    expect(loaded.withoutFace).toEqual(['Bob/Bob_0001.jpg']);
    expect(loaded.faces.map((f) => [f.identity, f.descriptor, f.others])).toEqual([
      ['Ada', [2, 2], 1],
      ['Bob', [3, 3], 0],
    ]);
    expect(identityOf('a/b/Carol/Carol_0003.jpg')).toBe('Carol');
  });

  it('refuses a file that mixes models or is not embed output', async () => {
    const mixed = path.join(dir, 'mixed.jsonl');
    await writeFile(
      mixed,
      [line('A/A_1.jpg', [{ box: [0, 0, 9, 9], descriptor: [1] }]), line('B/B_1.jpg', [{ box: [0, 0, 9, 9], descriptor: [1] }], 'm2')].join(
        '\n',
      ),
    );
    await expect(loadLabelledFaces(mixed)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    const junk = path.join(dir, 'junk.jsonl');
    await writeFile(junk, 'not json\n');
    await expect(loadLabelledFaces(junk)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});
