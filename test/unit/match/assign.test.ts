import { describe, it, expect } from 'vitest';
import { minCostAssignment } from '../../../src/match/assign.js';
import { rng } from '../../helpers/random.js';

const X = Infinity;

/** Exhaustive optimum: most rows on allowed columns first, then least total cost. */
function bruteForce(cost: number[][]): { assigned: number; total: number } {
  const cols = cost[0]?.length ?? 0;
  let best = { assigned: -1, total: Infinity };
  const visit = (row: number, used: Set<number>, assigned: number, total: number): void => {
    if (row === cost.length) {
      if (assigned > best.assigned || (assigned === best.assigned && total < best.total)) best = { assigned, total };
      return;
    }
    visit(row + 1, used, assigned, total);
    for (let j = 0; j < cols; j++) {
      const c = cost[row]![j]!;
      if (used.has(j) || c === Infinity) continue;
      used.add(j);
      visit(row + 1, used, assigned + 1, total + c);
      used.delete(j);
    }
  };
  visit(0, new Set(), 0, 0);
  return best;
}

function evaluate(cost: number[][], assignment: number[]): { assigned: number; total: number } {
  const columns = assignment.filter((j) => j >= 0);
  expect(new Set(columns).size).toBe(columns.length); // each column at most once
  let total = 0;
  assignment.forEach((j, i) => {
    if (j < 0) return;
    expect(cost[i]![j]).not.toBe(Infinity);
    total += cost[i]![j]!;
  });
  return { assigned: columns.length, total };
}

describe('minCostAssignment', () => {
  it("finds the optimum where picking each row's cheapest column greedily does not", () => {
    // Greedy: row 0 takes column 0 (1), row 1 is left with column 1 (10): 11. Optimal: 2 + 3 = 5.
    expect(
      minCostAssignment([
        [1, 2],
        [3, 10],
      ]),
    ).toEqual([1, 0]);
  });

  it('handles more rows than columns and more columns than rows', () => {
    expect(minCostAssignment([[5], [1], [3]])).toEqual([-1, 0, -1]);
    expect(minCostAssignment([[4, 1, 3]])).toEqual([1]);
  });

  it('never uses a forbidden pair, and prefers assigning more rows over a cheaper total', () => {
    expect(
      minCostAssignment([
        [X, X],
        [X, X],
      ]),
    ).toEqual([-1, -1]);
    expect(
      minCostAssignment([
        [1, X],
        [X, X],
      ]),
    ).toEqual([0, -1]);
    // Row 0 alone on column 0 would cost 0, but then row 1 has no column: 1 + 5 assigns both.
    expect(
      minCostAssignment([
        [0, 1],
        [5, X],
      ]),
    ).toEqual([1, 0]);
  });

  it('returns -1 for every row of an empty matrix and rejects ragged or NaN input', () => {
    expect(minCostAssignment([])).toEqual([]);
    expect(minCostAssignment([[], []])).toEqual([-1, -1]);
    expect(() => minCostAssignment([[1, 2], [3]])).toThrow(/columns/);
    expect(() => minCostAssignment([[], [3]])).toThrow(/columns/);
    expect(() => minCostAssignment([[NaN]])).toThrow(/finite/);
  });

  it('matches brute force on 500 random small matrices, rectangular, with ties and forbidden pairs', () => {
    const random = rng(20240611);
    for (let trial = 0; trial < 500; trial++) {
      // The last few trials go up to 7 × 7, where a wrong augmenting step has more room to show.
      const size = trial < 480 ? 5 : 7;
      const rows = 1 + Math.floor(random() * size),
        cols = 1 + Math.floor(random() * size);
      const cost = Array.from({ length: rows }, () =>
        Array.from({ length: cols }, () => (random() < 0.25 ? X : trial % 2 ? Math.floor(random() * 4) : random() * 10 - 3)),
      );
      const expected = bruteForce(cost);
      const actual = evaluate(cost, minCostAssignment(cost));
      expect(actual.assigned, JSON.stringify(cost)).toBe(expected.assigned);
      expect(actual.total, JSON.stringify(cost)).toBeCloseTo(expected.total, 9);
    }
  });
});
