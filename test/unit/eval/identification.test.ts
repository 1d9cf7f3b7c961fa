import { describe, expect, it } from 'vitest';
import {
  buildSplit,
  decideProbe,
  discordantProbes,
  identificationRates,
  mcnemarExactP,
  operatingPointAtFpir,
  parseLfwFile,
  ratesAt,
  type LfwImage,
  type ProbeDecision,
  type ScoredProbe,
} from '../../../src/eval/identification.js';
import type { PersonCandidate } from '../../../src/match/reduce.js';

const image = (name: string, index: number): LfwImage => parseLfwFile(`${name}/${name}_${String(index).padStart(4, '0')}.jpg`)!;
const files = (images: readonly LfwImage[]) => images.map((i) => i.file);

// Ann: 3 images (numbered out of order), Bob: 2, Cy: 4, Dee and Eve: 1 each.
const IMAGES = [
  image('Ann', 7),
  image('Ann', 2),
  image('Ann', 12),
  image('Bob', 1),
  image('Bob', 3),
  image('Cy', 1),
  image('Cy', 2),
  image('Cy', 3),
  image('Cy', 4),
  image('Dee', 1),
  image('Eve', 5),
];

describe('parseLfwFile', () => {
  it('reads Name/Name_NNNN.jpg and refuses anything else', () => {
    expect(parseLfwFile('George_W_Bush/George_W_Bush_0042.jpg')).toEqual({
      file: 'George_W_Bush/George_W_Bush_0042.jpg',
      name: 'George_W_Bush',
      index: 42,
    });
    expect(parseLfwFile('Ann/Bob_0001.jpg')).toBeNull();
    expect(parseLfwFile('Ann_0001.jpg')).toBeNull();
    expect(parseLfwFile('Ann/Ann_0001.png')).toBeNull();
  });
});

describe('buildSplit', () => {
  it('A: everyone with 2+ images is enrolled from their lowest-numbered image; the one-image people are the non-mated probes', () => {
    const a = buildSplit(IMAGES, 'A', 1);
    expect(a.gallery.map((p) => [p.name, files(p.images)])).toEqual([
      ['Ann', ['Ann/Ann_0002.jpg']],
      ['Bob', ['Bob/Bob_0001.jpg']],
      ['Cy', ['Cy/Cy_0001.jpg']],
    ]);
    expect(files(a.mated).sort()).toEqual([
      'Ann/Ann_0007.jpg',
      'Ann/Ann_0012.jpg',
      'Bob/Bob_0003.jpg',
      'Cy/Cy_0002.jpg',
      'Cy/Cy_0003.jpg',
      'Cy/Cy_0004.jpg',
    ]);
    expect(files(a.nonMated)).toEqual(['Dee/Dee_0001.jpg', 'Eve/Eve_0005.jpg']);
    expect(a.peopleLeftOut).toBe(0);
  });

  it('B: people with 3+ images are enrolled from their first two; people with exactly 2 are left out; the non-mated are the same', () => {
    const b = buildSplit(IMAGES, 'B', 2);
    expect(b.gallery.map((p) => [p.name, files(p.images)])).toEqual([
      ['Ann', ['Ann/Ann_0002.jpg', 'Ann/Ann_0007.jpg']],
      ['Cy', ['Cy/Cy_0001.jpg', 'Cy/Cy_0002.jpg']],
    ]);
    expect(files(b.mated).sort()).toEqual(['Ann/Ann_0012.jpg', 'Cy/Cy_0003.jpg', 'Cy/Cy_0004.jpg']);
    expect(files(b.nonMated)).toEqual(['Dee/Dee_0001.jpg', 'Eve/Eve_0005.jpg']);
    expect(b.peopleLeftOut).toBe(1);
    expect([...b.mated, ...b.nonMated].some((i) => i.name === 'Bob')).toBe(false);
  });

  it('never uses an image twice: gallery, mated and non-mated partition the images it keeps', () => {
    for (const photos of [1, 2]) {
      const s = buildSplit(IMAGES, photos === 1 ? 'A' : 'B', photos);
      const used = [...s.gallery.flatMap((p) => files(p.images)), ...files(s.mated), ...files(s.nonMated)];
      expect(new Set(used).size).toBe(used.length);
    }
  });
});

describe('identificationRates', () => {
  const mated = (truth: string, best: string | null, outcome: ProbeDecision['outcome'], named: string | null = null): ProbeDecision => ({
    truth,
    best,
    outcome,
    named,
  });
  const nonMated = (outcome: ProbeDecision['outcome'], named: string | null = null): ProbeDecision => ({
    truth: null,
    best: 'x',
    outcome,
    named,
  });

  it('counts rank-1, DIR, misidentification, FNIR, FPIR and ambiguity over their own denominators', () => {
    const rates = identificationRates([
      mated('ann', 'ann', 'match', 'ann'), // right
      mated('ann', 'ann', 'match', 'ann'), // right
      mated('bob', 'cy', 'match', 'cy'), // misidentified, and wrong at rank 1
      mated('bob', 'bob', 'ambiguous'), // right at rank 1, but ambiguous
      mated('cy', 'cy', 'unknown'), // right at rank 1, above the threshold
      mated('cy', null, 'unknown'), // no face: a miss
      nonMated('match', 'ann'),
      nonMated('ambiguous'),
      nonMated('unknown'),
      nonMated('unknown'),
    ]);
    expect(rates.matedProbes).toBe(6);
    expect(rates.nonMatedProbes).toBe(4);
    expect(rates.counts).toEqual({ rank1: 4, dir: 2, misidentified: 1, falsePositives: 1, ambiguousMated: 1, ambiguousNonMated: 1 });
    expect(rates.rank1).toBeCloseTo(4 / 6, 12);
    expect(rates.dir).toBeCloseTo(2 / 6, 12);
    expect(rates.misidentification).toBeCloseTo(1 / 6, 12);
    expect(rates.fnir).toBeCloseTo(4 / 6, 12);
    expect(rates.fpir).toBeCloseTo(1 / 4, 12);
    expect(rates.ambiguousMated).toBeCloseTo(1 / 6, 12);
    expect(rates.ambiguousNonMated).toBeCloseTo(1 / 4, 12);
  });

  it('is all zeros, not NaN, without probes', () => {
    const rates = identificationRates([]);
    expect([rates.rank1, rates.dir, rates.fnir, rates.fpir]).toEqual([0, 0, 0, 0]);
  });
});

const cand = (personId: string, distance: number): PersonCandidate => ({ personId, name: personId, distance });
const probe = (truth: string | null, ...candidates: PersonCandidate[]): ScoredProbe => ({ file: `${truth}.jpg`, truth, candidates });
const OPTIONS = { ambiguityMargin: 0.02, topK: 3 };

describe('decideProbe', () => {
  it('follows matchFaces: match at or below the threshold, ambiguous within the margin, unknown above or without a face', () => {
    expect(decideProbe(probe('ann', cand('ann', 0.4), cand('bob', 0.7)), { ...OPTIONS, threshold: 0.5 })).toEqual({
      truth: 'ann',
      best: 'ann',
      outcome: 'match',
      named: 'ann',
    });
    expect(decideProbe(probe('ann', cand('ann', 0.4), cand('bob', 0.41)), { ...OPTIONS, threshold: 0.5 }).outcome).toBe('ambiguous');
    expect(decideProbe(probe('ann', cand('bob', 0.45), cand('ann', 0.6)), { ...OPTIONS, threshold: 0.5 })).toEqual({
      truth: 'ann',
      best: 'bob',
      outcome: 'match',
      named: 'bob',
    });
    expect(decideProbe(probe('ann', cand('ann', 0.6)), { ...OPTIONS, threshold: 0.5 })).toEqual({
      truth: 'ann',
      best: 'ann',
      outcome: 'unknown',
      named: null,
    });
    expect(decideProbe({ file: 'x.jpg', truth: 'ann', candidates: null }, { ...OPTIONS, threshold: 0.5 })).toEqual({
      truth: 'ann',
      best: null,
      outcome: 'unknown',
      named: null,
    });
  });
});

describe('operatingPointAtFpir', () => {
  // 10 non-mated probes whose best distances are 0.30, 0.35, ..., 0.75 (one ambiguous at 0.20: it never matches),
  // and mated probes at 0.25, 0.32, 0.38, 0.50, 0.90.
  const nonMated = [0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75].map((d, i) =>
    probe(null, cand(`p${i}`, d), cand('far', d + 0.5)),
  );
  const ambiguous = probe(null, cand('p0', 0.2), cand('p1', 0.21));
  const mated = [0.25, 0.32, 0.38, 0.5, 0.9].map((d, i) => probe(`m${i}`, cand(`m${i}`, d), cand('far', d + 0.5)));
  const probes = [...nonMated, ambiguous, ...mated];

  it('takes the highest threshold whose FPIR is within the target, midway to the next best distance below', () => {
    // 11 non-mated: 10% allows 1 false match (0.30), so the threshold lies between 0.32 (a mated probe) and 0.35.
    const point = operatingPointAtFpir(probes, 0.1, OPTIONS);
    expect(point.threshold).toBeCloseTo((0.32 + 0.35) / 2, 12);
    expect(point.rates.counts.falsePositives).toBe(1);
    expect(point.rates.counts.dir).toBe(2);
    expect(point.rates.fpir).toBeLessThanOrEqual(0.1);
    expect(ratesAt(probes, { ...OPTIONS, threshold: 0.35 }).fpir).toBeGreaterThan(0.1);
  });

  it('goes below the first false match when no false match is allowed, and accepts everything when none is possible', () => {
    const strict = operatingPointAtFpir(probes, 0.01, OPTIONS);
    expect(strict.threshold).toBeCloseTo((0.25 + 0.3) / 2, 12);
    expect(strict.rates.counts).toMatchObject({ falsePositives: 0, dir: 1 });
    const lenient = operatingPointAtFpir([ambiguous, ...mated], 0.01, OPTIONS);
    expect(lenient.rates.dir).toBe(1);
    expect(lenient.rates.fpir).toBe(0);
  });
});

describe('discordantProbes', () => {
  it('counts mated probes right under one reduction only, each at its own threshold', () => {
    const min = [probe('a', cand('a', 0.3)), probe('b', cand('c', 0.3), cand('b', 0.4)), probe('c', cand('c', 0.55))];
    const mean2 = [probe('a', cand('a', 0.3)), probe('b', cand('b', 0.35), cand('c', 0.45)), probe('c', cand('c', 0.6))];
    expect(discordantProbes({ probes: min, threshold: 0.58 }, { probes: mean2, threshold: 0.5 }, OPTIONS)).toEqual({
      onlyMin: 1,
      onlyMean2: 1,
    });
  });
});

describe('mcnemarExactP', () => {
  it('is the two-sided binomial tail of the discordant split, capped at 1', () => {
    expect(mcnemarExactP(0, 5)).toBeCloseTo(2 / 32, 12);
    expect(mcnemarExactP(1, 4)).toBeCloseTo((2 * 6) / 32, 12);
    expect(mcnemarExactP(3, 3)).toBe(1);
    expect(mcnemarExactP(0, 0)).toBe(1);
    // Large counts stay finite: 600 vs 400 is far from chance.
    expect(mcnemarExactP(600, 400)).toBeLessThan(1e-9);
    expect(mcnemarExactP(600, 400)).toBeGreaterThan(0);
  });
});
