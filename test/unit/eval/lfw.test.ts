import { describe, it, expect } from 'vitest';
import { accuracyAt, bestThreshold, parsePairs, rocCurve, tarAtFar, verificationReport, type ScoredPair } from '../../../src/eval/lfw.js';
import { codeOf } from '../../helpers/errors.js';

const same = (distance: number, fold = 0): ScoredPair => ({ same: true, distance, fold });
const diff = (distance: number, fold = 0): ScoredPair => ({ same: false, distance, fold });

describe('parsePairs', () => {
  it('reads a View 1 file: same-person and different-person lines, in one fold', () => {
    const { pairs, folds } = parsePairs('2\nAaron_Peirsol\t1\t2\nA\t1\tB\t3\n');
    expect(folds).toBe(1);
    expect(pairs).toEqual([
      { a: 'Aaron_Peirsol/Aaron_Peirsol_0001.jpg', b: 'Aaron_Peirsol/Aaron_Peirsol_0002.jpg', same: true, fold: 0 },
      { a: 'A/A_0001.jpg', b: 'B/B_0003.jpg', same: false, fold: 0 },
    ]);
  });

  it('splits the lines of a "folds per-fold" file into consecutive folds, with CRLF endings', () => {
    const { pairs, folds } = parsePairs('2 1\r\nA\t1\t2\r\nA\t1\tB\t1\r\nC\t3\t4\r\nC\t2\tD\t12\r\n');
    expect(folds).toBe(2);
    expect(pairs.map((p) => p.fold)).toEqual([0, 0, 1, 1]);
    expect(pairs.map((p) => p.same)).toEqual([true, false, true, false]);
    expect(pairs[3]!.b).toBe('D/D_0012.jpg');
  });

  it('rejects a malformed line or header with INVALID_ARGUMENT', () => {
    expect(codeOf(() => parsePairs('2\nA\t1\t2\nB\t1\n'))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => parsePairs('2\nA\t1\t2\tC\t4\t5\n'))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => parsePairs('pairs\nA\t1\t2\n'))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => parsePairs(''))).toBe('INVALID_ARGUMENT');
  });
});

describe('bestThreshold', () => {
  it('puts the threshold between separable classes with accuracy 1', () => {
    const pairs = [same(0.2), diff(0.7), same(0.4), diff(0.6), same(0.3), diff(0.8)];
    const { threshold, accuracy } = bestThreshold(pairs);
    expect(threshold).toBeGreaterThan(0.4);
    expect(threshold).toBeLessThan(0.6);
    expect(accuracy).toBe(1);
    expect(accuracyAt(pairs, threshold)).toBe(1);
  });

  it('counts a missing face (Infinity) as wrong on a same pair and right on a different pair', () => {
    const pairs = [same(0.2), same(Infinity), diff(0.8), diff(Infinity)];
    const { threshold, accuracy } = bestThreshold(pairs);
    expect(accuracy).toBe(0.75);
    expect(Number.isFinite(threshold)).toBe(true);
    expect(accuracyAt(pairs, threshold)).toBe(0.75);
  });

  it('finds the best cut when the classes overlap', () => {
    // Cutting after 0.3 gets 5 of 6 right (only the same pair at 0.9 is wrong); no cut gets all 6.
    const pairs = [same(0.1), same(0.3), diff(0.5), diff(0.6), same(0.9), diff(1.2)];
    const { threshold, accuracy } = bestThreshold(pairs);
    expect(accuracy).toBeCloseTo(5 / 6, 10);
    expect(threshold).toBeGreaterThan(0.3);
    expect(threshold).toBeLessThan(0.5);
  });
});

describe('rocCurve and tarAtFar', () => {
  // 3 positives (one with a missing face) and 2 negatives.
  const pairs = [diff(0.4), same(0.3), same(Infinity), diff(0.2), same(0.1)];

  it('has one point per distinct finite distance, from (0,0), with hand-computed rates', () => {
    const roc = rocCurve(pairs);
    expect(roc.map((p) => [p.far, p.tar])).toEqual([
      [0, 0],
      [0, 1 / 3],
      [0.5, 1 / 3],
      [0.5, 2 / 3],
      [1, 2 / 3],
    ]);
    // Each threshold sits between its distance and the next, so `distance < threshold` gives that point's rates.
    expect(roc.slice(1).map((p) => p.threshold)).toEqual([0.15, 0.25, 0.35, 0.4 + 1e-6].map((t) => expect.closeTo(t, 10)));
    for (const p of roc.slice(1)) {
      const accepted = pairs.filter((q) => q.distance < p.threshold);
      expect(accepted.filter((q) => q.same).length / 3).toBe(p.tar);
      expect(accepted.filter((q) => !q.same).length / 2).toBe(p.far);
    }
  });

  it('merges pairs at the same distance into one point', () => {
    const roc = rocCurve([same(0.1), same(0.2), diff(0.2), diff(0.5)]);
    expect(roc.map((p) => [p.far, p.tar])).toEqual([
      [0, 0],
      [0, 0.5],
      [0.5, 1],
      [1, 1],
    ]);
  });

  it('tarAtFar picks the highest TAR whose FAR does not exceed the limit', () => {
    const roc = rocCurve(pairs);
    expect(tarAtFar(roc, 0)).toEqual({ tar: 1 / 3, threshold: expect.closeTo(0.15, 10) });
    expect(tarAtFar(roc, 0.49)).toEqual({ tar: 1 / 3, threshold: expect.closeTo(0.15, 10) });
    expect(tarAtFar(roc, 0.5)).toEqual({ tar: 2 / 3, threshold: expect.closeTo(0.35, 10) });
    expect(tarAtFar(roc, 1).tar).toBe(2 / 3);
  });
});

describe('verificationReport', () => {
  it("applies the threshold chosen on train to test, not the test split's own best", () => {
    // Train's best cut is 0.25; test alone would cut at 0.39 and score 1, but 0.28 is beyond train's cut.
    const train = [same(0.1), same(0.2), diff(0.3), diff(0.4)];
    const test = [same(0.1), same(0.28), diff(0.5), diff(0.6)];
    expect(bestThreshold(test).accuracy).toBe(1);
    const report = verificationReport(test, train);
    expect(report.threshold).toBeCloseTo(0.25, 10);
    expect(report.accuracy).toBe(0.75);
    expect(report.foldStd).toBeUndefined();
    expect(report.pairs).toBe(4);
  });

  it("with two folds and no train, scores each fold with the other fold's threshold and gives a std", () => {
    // Fold 1's cut (0.3) scores fold 0 fully right; fold 0's cut (0.4) misses fold 1's same pair at 0.5.
    const test = [same(0.1, 0), same(0.2, 0), diff(0.6, 0), diff(0.7, 0), same(0.15, 1), same(0.5, 1), diff(0.45, 1), diff(0.8, 1)];
    const report = verificationReport(test);
    expect(report.accuracy).toBeCloseTo(0.875, 10);
    expect(report.foldStd).toBeCloseTo(0.125, 10);
  });

  it("with one fold and no train, reports the best threshold's accuracy and counts missing faces", () => {
    const test = [same(0.1), same(Infinity), diff(0.3), diff(Infinity), same(0.2)];
    const report = verificationReport(test);
    expect(report.accuracy).toBeCloseTo(4 / 5, 10);
    expect(report.foldStd).toBeUndefined();
    expect(report.pairsMissingFace).toBe(2);
    expect(report.pairs).toBe(5);
    // At FAR 0 two of the three same pairs are accepted; the missing face never is.
    expect(report.tarAtFar001).toBeCloseTo(2 / 3, 10);
    expect(report.roc.at(-1)).toMatchObject({ far: 0.5, tar: 2 / 3 });
  });
});
