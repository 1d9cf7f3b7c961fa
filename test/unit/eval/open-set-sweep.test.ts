import { describe, expect, it } from 'vitest';
import { parseLfwFile, type LfwImage } from '../../../src/eval/identification.js';
import { spread, sweepGallerySizes, type SweepOptions } from '../../../src/eval/open-set-sweep.js';
import type { ImpostorModel } from '../../../src/match/open-set.js';

// 30 people with 3 photos each on a grid 100 apart (photos within 0.5 of their point), 40 strangers halfway between.
const images: LfwImage[] = [];
const descriptors = new Map<string, number[] | null>();
for (let p = 0; p < 30; p++) {
  for (let i = 1; i <= 3; i++) {
    const image = parseLfwFile(`P${p}/P${p}_${String(i).padStart(4, '0')}.jpg`)!;
    images.push(image);
    descriptors.set(image.file, [100 * p + 0.2 * i, 0]);
  }
}
for (let s = 0; s < 40; s++) {
  const image = parseLfwFile(`S${s}/S${s}_0001.jpg`)!;
  images.push(image);
  descriptors.set(image.file, [100 * (s % 30) + 50, 50]);
}

const model: ImpostorModel = {
  descriptorModelId: 'grid',
  source: 'synthetic',
  reductions: {
    min: { tail: { mean: 100, sd: 10 }, genuinePercentiles: [0, 1], impostorDistances: 0, fittedRange: [1e-5, 0.05] },
    mean2: { tail: { mean: 100, sd: 10 }, genuinePercentiles: [0, 1], impostorDistances: 0, fittedRange: [1e-5, 0.05] },
  },
};
const OPTIONS: SweepOptions = {
  model,
  reduction: 'min',
  targetFpir: 0.01,
  fixedThreshold: 60,
  ambiguityMargin: 0.02,
  topK: 3,
  sizes: [10, 50, 'all'],
  draws: 4,
};

describe('the gallery-size sweep', () => {
  const results = sweepGallerySizes(images, descriptors, OPTIONS);

  it('draws each size several times, all too (its enrolled photos differ), and skips sizes beyond the people available', () => {
    expect(results.map((r) => [r.photosPerPerson, r.label, r.draws])).toEqual([
      [1, '10', 4],
      [1, 'all (30)', 4],
      [2, '10', 4],
      [2, 'all (30)', 4],
    ]);
  });

  it('enrols photos drawn at random, never one without a face, and probes with the rest', () => {
    const withHole = new Map(descriptors);
    withHole.set('P0/P0_0001.jpg', null); // P0's first photo has no face: it is never enrolled, always a (missed) probe
    const [all] = sweepGallerySizes(images, withHole, { ...OPTIONS, sizes: ['all'], photos: [2], draws: 6 });
    expect(all!.label).toBe('all (30)');
    expect(all!.matedProbes).toEqual({ mean: 30, sd: 0 });
    expect(all!.rule.dir.mean).toBeCloseTo(29 / 30, 12);
  });

  it('counts the false matches and strangers over the draws, and the binomial noise of one draw', () => {
    const [ten] = results;
    expect(ten!.rule.falseMatches).toBe(0);
    expect(ten!.rule.strangers).toBe(4 * 100);
    expect(ten!.strangerNoise).toBeCloseTo(Math.sqrt((0.01 * 0.99) / 100), 12);
  });

  it('probes with the enrolled people’s other photos, and with every photo of everyone else', () => {
    const [ten1, all1, ten2] = results;
    expect(ten1!.matedProbes).toEqual({ mean: 20, sd: 0 });
    expect(ten1!.nonMatedProbes).toEqual({ mean: 40 + 20 * 3, sd: 0 });
    expect(all1!.nonMatedProbes.mean).toBe(40);
    expect(ten2!.matedProbes.mean).toBe(10);
  });

  it('names every mated probe and no stranger where the rule’s threshold (~60-70 here) separates them', () => {
    for (const r of results) {
      expect(r.rule.dir.mean).toBe(1);
      expect(r.rule.fpir.mean).toBe(0);
      expect(r.rule.sources).toEqual({ 'target-fpir': r.draws });
      expect(r.bestAtRuleFpir.mean).toBe(1);
    }
    // Strangers lie 70.7 from their nearest person: a fixed threshold of 60 keeps them out too, 75 would not.
    expect(results[0]!.fixed.fpir.mean).toBe(0);
    const loose = sweepGallerySizes(images, descriptors, { ...OPTIONS, fixedThreshold: 75, sizes: ['all'], photos: [1] });
    expect(loose[0]!.fixed.fpir.mean).toBe(1);
  });

  it('gives the larger gallery the stricter threshold', () => {
    expect(results[1]!.rule.threshold.mean).toBeLessThan(results[0]!.rule.threshold.mean);
  });
});

describe('spread', () => {
  it('is the mean and the sample standard deviation', () => {
    expect(spread([1, 2, 3, 4])).toEqual({ mean: 2.5, sd: Math.sqrt(5 / 3) });
    expect(spread([7])).toEqual({ mean: 7, sd: 0 });
  });
});
