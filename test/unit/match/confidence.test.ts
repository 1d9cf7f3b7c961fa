import { describe, it, expect } from 'vitest';
import { confidenceOf, fitConfidence, DEFAULT_CONFIDENCE } from '../../../src/match/confidence.js';
import { rng } from '../../helpers/random.js';

describe('confidenceOf', () => {
  it('decreases monotonically with distance and stays in [0, 1]', () => {
    const distances = Array.from({ length: 301 }, (_, i) => i / 200); // 0 .. 1.5
    const values = distances.map((d) => confidenceOf(d));
    for (const v of values) expect(v >= 0 && v <= 1).toBe(true);
    for (let i = 1; i < values.length; i++) expect(values[i]!).toBeLessThanOrEqual(values[i - 1]!);
    expect(values[0]!).toBeGreaterThan(0.99);
    expect(values.at(-1)!).toBeLessThan(0.01);
    expect(confidenceOf(Infinity)).toBe(0);
  });

  it('crosses one half near the LFW-tuned threshold (0.59) with the default model', () => {
    const crossing = -DEFAULT_CONFIDENCE.intercept / DEFAULT_CONFIDENCE.slope;
    expect(crossing).toBeGreaterThan(0.55);
    expect(crossing).toBeLessThan(0.65);
    expect(confidenceOf(0.4)).toBeGreaterThan(0.99);
    expect(confidenceOf(0.8)).toBeLessThan(0.01);
  });

  it('does not overflow for extreme logits', () => {
    expect(confidenceOf(1e6, { slope: -1000, intercept: 0 })).toBe(0);
    expect(confidenceOf(-1e6, { slope: -1000, intercept: 0 })).toBe(1);
  });
});

describe('fitConfidence', () => {
  it('recovers the parameters that generated synthetic labels', () => {
    const random = rng(7);
    const truth = { slope: -12, intercept: 6 };
    const distances: number[] = [];
    const same: boolean[] = [];
    for (let i = 0; i < 20000; i++) {
      const d = random() * 1.2;
      distances.push(d);
      same.push(random() < confidenceOf(d, truth));
    }
    const fitted = fitConfidence(distances, same);
    expect(fitted.intercept).toBeCloseTo(truth.intercept, 0);
    expect(Math.abs(fitted.slope - truth.slope) / -truth.slope).toBeLessThan(0.05);
    // Deterministic: the same input gives the same model.
    expect(fitConfidence(distances, same)).toEqual(fitted);
  });

  it('stays finite and puts the crossing between perfectly separated classes', () => {
    const fitted = fitConfidence([0.2, 0.3, 0.4, 0.7, 0.8, 0.9], [true, true, true, false, false, false]);
    expect(Number.isFinite(fitted.slope) && Number.isFinite(fitted.intercept)).toBe(true);
    const crossing = -fitted.intercept / fitted.slope;
    expect(crossing).toBeGreaterThan(0.4);
    expect(crossing).toBeLessThan(0.7);
  });

  it('rejects mismatched lengths, non-finite distances and a single class', () => {
    expect(() => fitConfidence([0.1, 0.2], [true])).toThrow(/labels/);
    expect(() => fitConfidence([0.1, Infinity], [true, false])).toThrow(/finite/);
    expect(() => fitConfidence([0.1, 0.2], [true, true])).toThrow(/both/);
  });
});
