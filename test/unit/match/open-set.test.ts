import { describe, expect, it } from 'vitest';
import {
  expectedFpir,
  fitTail,
  galleryTail,
  genuineRate,
  normalCdf,
  normalQuantile,
  operatingPoint,
  percentiles,
  perUnitRate,
  recentreTail,
  thresholdForFpir,
  type ImpostorModel,
} from '../../../src/match/open-set.js';
import { rng } from '../../helpers/random.js';
import { codeOf } from '../../helpers/errors.js';

function gaussian(seed: number): () => number {
  const random = rng(seed);
  return () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

const TAIL = { mean: 1, sd: 0.1 };

describe('the normal distribution', () => {
  it('matches tabulated values of Φ and Φ⁻¹, far into the tail', () => {
    expect(normalQuantile(0.975)).toBeCloseTo(1.959964, 5);
    expect(normalQuantile(0.01)).toBeCloseTo(-2.326348, 5);
    expect(normalQuantile(1e-6)).toBeCloseTo(-4.753424, 4);
    expect(normalCdf(-1.959964)).toBeCloseTo(0.025, 7);
    expect(normalCdf(0)).toBeCloseTo(0.5, 7);
    // Relative accuracy in the tail, where the rule reads it: Φ(−4.753424) = 1e-6.
    expect(normalCdf(-4.753424) / 1e-6).toBeCloseTo(1, 3);
    for (const p of [1e-8, 1e-4, 0.2, 0.5, 0.9]) expect(normalCdf(normalQuantile(p)) / p).toBeCloseTo(1, 5);
    expect(codeOf(() => normalQuantile(0))).toBe('INVALID_ARGUMENT');
  });
});

describe('the threshold at a target FPIR', () => {
  it('spreads the target over the units: 1 − (1 − FPIR)^(1/U)', () => {
    expect(perUnitRate(0.01, 1)).toBeCloseTo(0.01, 12);
    expect(perUnitRate(0.01, 100)).toBeCloseTo(1 - 0.99 ** 0.01, 12);
    // Without expm1/log1p this loses its digits.
    expect(perUnitRate(0.01, 1e6) / 1.0050336e-8).toBeCloseTo(1, 5);
    expect(perUnitRate(0.01, 0)).toBeCloseTo(0.01, 12); // an empty gallery counts as one unit
    expect(codeOf(() => perUnitRate(0, 10))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => perUnitRate(1, 10))).toBe('INVALID_ARGUMENT');
  });

  it('is the impostor quantile at the per-unit rate: mean + sd · Φ⁻¹(q)', () => {
    expect(thresholdForFpir(TAIL, 0.01, 1)).toBeCloseTo(1 - 0.1 * 2.326348, 5);
    expect(thresholdForFpir(TAIL, 0.05, 1)).toBeCloseTo(1 - 0.1 * 1.644854, 5);
    // 100 units at FPIR 1%: q = 1.00498e-4, Φ⁻¹(q) = −3.717761 (Python statistics.NormalDist).
    expect(thresholdForFpir(TAIL, 0.01, 100)).toBeCloseTo(1 - 0.1 * 3.717761, 6);
  });

  it('gets stricter as the gallery grows, and looser as the target does', () => {
    const sizes = [1, 10, 100, 1000, 10_000, 1_000_000];
    const thresholds = sizes.map((n) => thresholdForFpir(TAIL, 0.01, n));
    for (let i = 1; i < thresholds.length; i++) expect(thresholds[i]!).toBeLessThan(thresholds[i - 1]!);
    expect(thresholdForFpir(TAIL, 0.02, 500)).toBeGreaterThan(thresholdForFpir(TAIL, 0.01, 500));
  });

  it('predicts back the target it was derived for', () => {
    for (const units of [1, 7, 500, 123_456]) {
      for (const target of [0.001, 0.01, 0.1])
        expect(expectedFpir(TAIL, thresholdForFpir(TAIL, target, units), units) / target).toBeCloseTo(1, 4);
    }
  });

  it('holds on simulated strangers: the share whose closest of U impostors is under the threshold is the target', () => {
    // Each stranger meets U independent impostor distances ~ N(1, 0.1); its best is a false match when ≤ t.
    const draw = gaussian(7);
    const strangers = 20_000;
    for (const units of [10, 200]) {
      const t = thresholdForFpir(TAIL, 0.01, units);
      let falseMatches = 0;
      for (let s = 0; s < strangers; s++) {
        let best = Infinity;
        for (let u = 0; u < units; u++) best = Math.min(best, TAIL.mean + TAIL.sd * draw());
        if (best <= t) falseMatches++;
      }
      // Binomial sd at p = 1%, n = 20,000: 0.07%; 4 sd.
      expect(Math.abs(falseMatches / strangers - 0.01)).toBeLessThan(0.0028);
    }
  });
});

describe('fitting the impostor tail', () => {
  it('recovers the mean and spread of a normal sample from its lower tail', () => {
    const draw = gaussian(11);
    const sample = Array.from({ length: 200_000 }, () => 0.9 + 0.08 * draw());
    const { tail, range } = fitTail(sample, [1e-4, 0.05]);
    expect(tail.mean).toBeCloseTo(0.9, 2);
    expect(tail.sd).toBeCloseTo(0.08, 2);
    expect(range).toEqual([1e-4, 0.05]);
  });

  it('fits the tail, not the bulk: a sample whose upper half is spread out keeps its lower tail', () => {
    const draw = gaussian(12);
    const sample = Array.from({ length: 100_000 }, () => {
      const z = draw();
      return 1 + (z < 0 ? 0.05 : 0.2) * z;
    });
    expect(fitTail(sample).tail.sd).toBeCloseTo(0.05, 2);
  });

  it('re-centres on a shifted gallery, keeping the spread, and ignores a few near-duplicates', () => {
    const draw = gaussian(13);
    const shifted = Array.from({ length: 20_000 }, () => 1.05 + 0.1 * draw());
    for (let i = 0; i < 10; i++) shifted.push(0.01 * i); // one person enrolled twice under two names, ten times over
    const tail = recentreTail(TAIL, shifted);
    expect(tail.mean).toBeCloseTo(1.05, 2);
    expect(tail.sd).toBe(0.1);
    expect(codeOf(() => recentreTail(TAIL, [1, 2, 3]))).toBe('INVALID_ARGUMENT');
  });
});

describe('the uncertainty of a gallery’s re-centred tail', () => {
  /**
   * Every pair of `people` people at a distance from N(mean, 0.1²), with a person effect as in real galleries (some
   * faces are near many others): d = mean + 0.1 · (√0.3 · (u_i + u_j)/√2 + √0.7 · e_ij).
   */
  const gallery = (people: number, mean: number, draw: () => number) => {
    const u = Array.from({ length: people }, () => draw());
    const distances: number[] = [],
      a: number[] = [],
      b: number[] = [];
    for (let i = 0; i < people; i++)
      for (let j = i + 1; j < people; j++) {
        distances.push(mean + 0.1 * (Math.sqrt(0.3) * ((u[i]! + u[j]!) / Math.SQRT2) + Math.sqrt(0.7) * draw()));
        a.push(i);
        b.push(j);
      }
    return { distances, a, b, people };
  };

  it('re-centres on the gallery, and its jackknife error is the spread of the re-centred mean between galleries', () => {
    const draw = gaussian(21);
    for (const people of [50, 200]) {
      const fits = Array.from({ length: 24 }, () => galleryTail(TAIL, gallery(people, 1.05, draw)));
      const means = fits.map((f) => f.recentred.mean);
      const mean = means.reduce((s, m) => s + m, 0) / means.length;
      const between = Math.sqrt(means.reduce((s, m) => s + (m - mean) ** 2, 0) / (means.length - 1));
      const se = fits.reduce((s, f) => s + f.se, 0) / fits.length;
      // A gallery's mean moves with its people (sd ≈ 0.011 at 50 here), so 24 galleries put theirs within ±0.015.
      expect(Math.abs(mean - 1.05)).toBeLessThan(0.015);
      // 24 galleries measure the spread between them within about ±30%.
      expect(se / between).toBeGreaterThan(0.7);
      expect(se / between).toBeLessThan(1.6);
      for (const f of fits) {
        expect(f.predictive.mean).toBe(f.recentred.mean);
        expect(f.predictive.sd).toBeCloseTo(Math.sqrt(0.1 ** 2 + f.se ** 2), 12);
      }
    }
    // More people, a surer mean.
    expect(galleryTail(TAIL, gallery(200, 1.05, draw)).se).toBeLessThan(galleryTail(TAIL, gallery(50, 1.05, draw)).se);
  });

  it('is the same for the same gallery (a fixed seed), and agrees with recentreTail', () => {
    const pairs = gallery(60, 1, gaussian(22));
    expect(galleryTail(TAIL, pairs)).toEqual(galleryTail(TAIL, pairs));
    expect(galleryTail(TAIL, pairs).recentred).toEqual(recentreTail(TAIL, pairs.distances));
  });

  it('keeps the promise on average where the mean is uncertain: E[Φ((t − m)/sd)] over m ~ N(m̂, se²) at the predictive threshold', () => {
    // The predictive tail's threshold for 200 units at 1%, against the per-unit rate averaged over the mean's uncertainty.
    const se = 0.012,
      predictive = { mean: 1, sd: Math.sqrt(0.1 ** 2 + se ** 2) };
    const t = thresholdForFpir(predictive, 0.01, 200);
    let averaged = 0,
      weights = 0;
    for (let i = -800; i <= 800; i++) {
      const z = i / 100,
        w = Math.exp((-z * z) / 2);
      averaged += w * expectedFpir({ mean: 1 + se * z, sd: 0.1 }, t, 200);
      weights += w;
    }
    // Exact for the per-unit rate; over 200 units the rates are small enough for FPIR to stay linear in it (±1%).
    expect(averaged / weights / 0.01).toBeCloseTo(1, 1);
    // The plug-in threshold (sd without se) would promise 1% and deliver more.
    let plugIn = 0;
    const t0 = thresholdForFpir({ mean: 1, sd: 0.1 }, 0.01, 200);
    for (let i = -800; i <= 800; i++) {
      const z = i / 100;
      plugIn += Math.exp((-z * z) / 2) * expectedFpir({ mean: 1 + se * z, sd: 0.1 }, t0, 200);
    }
    expect(plugIn / weights).toBeGreaterThan(0.0105);
  });
});

describe('genuine rates from percentiles', () => {
  it('interpolates between percentiles', () => {
    const p = percentiles([0, 1, 2, 3, 4], 4);
    expect(p).toEqual([0, 1, 2, 3, 4]);
    expect(genuineRate(p, -1)).toBe(0);
    expect(genuineRate(p, 2)).toBe(0.5);
    expect(genuineRate(p, 2.5)).toBe(0.625);
    expect(genuineRate(p, 4)).toBe(1);
  });
});

describe('a gallery’s operating point', () => {
  const model: ImpostorModel = {
    descriptorModelId: 'test',
    source: 'synthetic',
    reductions: {
      min: { tail: TAIL, genuinePercentiles: percentiles([0.3, 0.4, 0.5, 0.6, 0.7]), impostorDistances: 0, fittedRange: [1e-5, 0.05] },
      mean2: { tail: { mean: 1.1, sd: 0.1 }, genuinePercentiles: [0.4, 0.8], impostorDistances: 0, fittedRange: [1e-5, 0.05] },
    },
  };
  /** People in 2-d, far apart (a grid of spacing 10), one or two faces each at ±0.5 around their centre. */
  const sample = (people: number, facesEach: number) =>
    Array.from({ length: people }, (_, p) =>
      Array.from({ length: facesEach }, (_, f) => ({ personId: `p${p}`, descriptor: [10 * (p % 10) + f * 0.5, 10 * Math.floor(p / 10)] })),
    ).flat();

  it('counts faces under min and people under mean2, from the shipped tail below the minimum gallery', () => {
    const point = operatingPoint(model, 'min', 0.01, { people: 10, faces: 20, sample: sample(10, 2) });
    expect(point.source).toBe('target-fpir');
    expect(point.units).toBe(20);
    expect(point.threshold).toBeCloseTo(thresholdForFpir(TAIL, 0.01, 20), 12);
    expect(point.expectedFpir).toBeCloseTo(0.01, 6);
    expect(operatingPoint(model, 'mean2', 0.01, { people: 10, faces: 20 }).units).toBe(10);
  });

  it('re-centres on the gallery once it has enough people, and reads DIR from its own same-person distances', () => {
    const point = operatingPoint(model, 'min', 0.01, { people: 60, faces: 120, sample: sample(60, 2) }, { minPeople: 50 });
    expect(point.source).toBe('gallery-calibrated');
    // Cross-person distances here are ≥ 9.5, far from LFW's ~1: the tail moves out, the spread stays.
    expect(point.tail.mean).toBeGreaterThan(9);
    // The spread is the shipped one widened by the re-centring's own uncertainty.
    expect(point.tailMeanSe).toBeGreaterThan(0);
    expect(point.tail.sd).toBeCloseTo(Math.sqrt(0.1 ** 2 + point.tailMeanSe ** 2), 12);
    expect(point.expectedDir).toBe(1); // every same-person distance (0.5) is under the threshold
    // Without a sample, or with too few people, the shipped tail is kept.
    expect(operatingPoint(model, 'min', 0.01, { people: 60, faces: 120 }).source).toBe('target-fpir');
    expect(operatingPoint(model, 'min', 0.01, { people: 40, faces: 80, sample: sample(40, 2) }).source).toBe('target-fpir');
  });

  it('leaves out one photo under several names: its zero distances are not strangers (issue 22)', () => {
    const clean = operatingPoint(model, 'min', 0.01, { people: 60, faces: 120, sample: sample(60, 2) }, { minPeople: 50 });
    // Ten photos of the gallery, each enrolled again under seven more names: 10 × C(8, 2) = 280 pairs at distance 0.
    const copies = sample(10, 1).flatMap((face, i) =>
      Array.from({ length: 7 }, (_, k) => ({ personId: `copy ${i}.${k}`, descriptor: face.descriptor })),
    );
    const people = 60 + copies.length;
    const point = operatingPoint(
      model,
      'min',
      0.01,
      { people, faces: 120 + copies.length, sample: [...sample(60, 2), ...copies] },
      { minPeople: 50 },
    );
    // Before, those zeros filled the lower quantiles that re-centre the tail, and the threshold went negative.
    expect(point.sameFacePairs).toBe(280);
    expect(point.source).toBe('gallery-calibrated');
    expect(point.threshold).toBeGreaterThan(0);
    expect(point.tail.mean).toBeCloseTo(clean.tail.mean, 0);
  });

  it('keeps the shipped tail, and says why, when the gallery’s people lie far closer than strangers do', () => {
    // 20 people, each under three names with two photos per name: the names' faces 0.2 to 0.6 apart, far under the
    // impostor mean of 1.
    const aliases = Array.from({ length: 20 }, (_, p) =>
      Array.from({ length: 3 }, (_, k) =>
        [0, 0.4].map((dy) => ({ personId: `p${p} as ${k}`, descriptor: [10 * (p % 10) + 0.2 * k, 10 * Math.floor(p / 10) + dy] })),
      ).flat(),
    ).flat();
    const point = operatingPoint(model, 'min', 0.01, { people: 60, faces: 120, sample: aliases }, { minPeople: 50 });
    expect(point.source).toBe('target-fpir');
    expect(point.notCalibrated).toMatch(/move the impostor mean down by \d/);
    expect(point.threshold).toBeCloseTo(thresholdForFpir(TAIL, 0.01, 120), 12);
  });
});
