/** Minimum-cost assignment (Hungarian algorithm, Kuhn–Munkres with potentials), O(n^3) on the padded square matrix. */
import { InvalidArgumentError } from '../errors.js';

/**
 * Assigns rows to distinct columns. Infinity marks a forbidden pair. Among the assignments that pair the most rows
 * with allowed columns, returns one of least total cost: for each row its column index, or -1 when unassigned.
 */
export function minCostAssignment(cost: readonly (readonly number[])[]): number[] {
  const rows = cost.length;
  const cols = cost[0]?.length ?? 0;
  let lo = Infinity,
    hi = -Infinity;
  for (const [i, row] of cost.entries()) {
    if (row.length !== cols) throw new InvalidArgumentError(`Cost matrix row ${i} has ${row.length} columns, expected ${cols}`);
    for (const c of row) {
      if (Number.isNaN(c) || c === -Infinity) throw new InvalidArgumentError(`Cost matrix entries must be finite or +Infinity, got ${c}`);
      if (c === Infinity) continue;
      lo = Math.min(lo, c);
      hi = Math.max(hi, c);
    }
  }
  if (lo === Infinity) return new Array<number>(rows).fill(-1); // empty, or nothing allowed
  // Every padded assignment has min(rows, cols) real pairs, so shifting real costs by -lo preserves the optimum;
  // a forbidden pair then costs more than any whole assignment of allowed pairs, which maximises allowed pairs first.
  const n = Math.max(rows, cols);
  const forbidden = (hi - lo) * n + 1;
  const a = (i: number, j: number): number => {
    if (i >= rows || j >= cols) return 0;
    const c = cost[i]![j]!;
    return c === Infinity ? forbidden : c - lo;
  };

  // 1-based arrays with a virtual column 0 (e-maxx formulation): u, v are potentials, p[j] the row matched to column j.
  const u = new Float64Array(n + 1),
    v = new Float64Array(n + 1);
  const p = new Int32Array(n + 1),
    way = new Int32Array(n + 1);
  const minv = new Float64Array(n + 1),
    used = new Uint8Array(n + 1);
  for (let i = 1; i <= n; i++) {
    p[0] = i;
    let j0 = 0;
    minv.fill(Infinity);
    used.fill(0);
    do {
      used[j0] = 1;
      const i0 = p[j0]!;
      let delta = Infinity,
        j1 = 0;
      for (let j = 1; j <= n; j++) {
        if (used[j]) continue;
        const cur = a(i0 - 1, j - 1) - u[i0]! - v[j]!;
        if (cur < minv[j]!) {
          minv[j] = cur;
          way[j] = j0;
        }
        if (minv[j]! < delta) {
          delta = minv[j]!;
          j1 = j;
        }
      }
      for (let j = 0; j <= n; j++) {
        if (used[j]) {
          u[p[j]!]! += delta;
          v[j]! -= delta;
        } else minv[j]! -= delta;
      }
      j0 = j1;
    } while (p[j0] !== 0);
    do {
      const j1 = way[j0]!;
      p[j0] = p[j1]!;
      j0 = j1;
    } while (j0 !== 0);
  }

  const assignment = new Array<number>(rows).fill(-1);
  for (let j = 1; j <= cols; j++) {
    const i = p[j]! - 1;
    if (i < rows && cost[i]![j - 1] !== Infinity) assignment[i] = j - 1;
  }
  return assignment;
}
