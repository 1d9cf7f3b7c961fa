import { describe, expect, it } from 'vitest';
import { binomialUpper, runStream, type StreamImage, type StreamOptions } from '../../../src/eval/learning-stream.js';
import { percentiles, type ImpostorModel } from '../../../src/match/open-set.js';

// 30 people 100 apart, three photos each on a line 0.35 apart (the two ends 0.7 apart, beyond the threshold of ~0.64);
// 10 strangers who look like the first ten people (0.45 to 0.57 from their photos) and 30 far from everyone.
const images: StreamImage[] = [];
const add = (name: string, index: number, descriptor: number[]) =>
  images.push({ file: `${name}/${name}_${String(index).padStart(4, '0')}.jpg`, name, descriptor });
for (let p = 0; p < 30; p++) for (let i = 0; i < 3; i++) add(`P${p}`, i + 1, [100 * p + 0.35 * i, 0]);
for (let s = 0; s < 10; s++) add(`L${s}`, 1, [100 * s + 0.35, 0.45]);
for (let s = 0; s < 30; s++) add(`F${s}`, 1, [100 * s + 50, 50]);
add('Nobody', 1, null as unknown as number[]); // an image without a face is left out

const model: ImpostorModel = {
  descriptorModelId: 'line',
  source: 'synthetic',
  reductions: {
    min: {
      tail: { mean: 2, sd: 0.4 },
      genuinePercentiles: percentiles([0.05, 0.1, 0.2, 0.35, 0.5, 0.7]),
      impostorDistances: 0,
      fittedRange: [1e-5, 0.05],
    },
    mean2: { tail: { mean: 2, sd: 0.4 }, genuinePercentiles: [0, 1], impostorDistances: 0, fittedRange: [1e-5, 0.05] },
  },
};

const OPTIONS: StreamOptions = {
  model,
  reduction: 'min',
  targetFpir: 0.01,
  ambiguityMargin: 0.02,
  topK: 3,
  orders: 6,
  seed: 3,
  modes: ['off', 'confirm', 'certain', 'every'],
  confirmShare: 1,
  repeatStrangers: 0,
  strangerRatio: 1,
  learn: { cap: 10, addFpir: 1e-4, gapIqr: 1, duplicatePercentile: 5, anchored: true, quality: null },
};

describe('the learning stream', () => {
  const report = runStream(images, OPTIONS);
  const mode = (name: string) => report.summary.find((s) => s.mode === name)!;

  it('enrolls everyone with several photos from one, streams the rest among as many strangers, and holds the others out', () => {
    for (const order of report.orders) {
      expect(order.people).toBe(30);
      expect(order.learners).toBe(30);
      expect(order.stream).toEqual({ genuine: 30, repeatStrangers: 0, strangers: 30 });
      expect(order.heldOutStrangers).toBe(10);
      expect(order.before.strangers).toBe(10);
      expect(Object.keys(order.before.byStreamPhotos)).toEqual(['1']);
    }
  });

  it('changes nothing with learning off', () => {
    expect(mode('off').totalAdded).toBe(0);
    report.orders.forEach((o) =>
      expect(o.modes.find((m) => m.mode === 'off')!.after).toMatchObject({ dirLearners: o.before.dirLearners, fpir: o.before.fpir }),
    );
  });

  it('learns the middle photo from a confirmation and then names the far end: DIR rises, no wrong face is added', () => {
    const confirm = mode('confirm');
    expect(confirm.wrongAdds).toBe(0);
    expect(confirm.totalAdded).toBeGreaterThan(0);
    expect(confirm.after.dirLearners.mean).toBeGreaterThan(confirm.before.dirLearners.mean);
    // Every stream photo labelled: each person ends with two templates, as good as two enrolled photos here.
    const every = mode('every');
    expect(every.totalAdded).toBe(30 * OPTIONS.orders);
    expect(every.after.dirLearners.mean).toBe(1);
    expect(every.twoPhotos.dirLearners.mean).toBe(1);
  });

  it('never adds a lookalike stranger under the certain rule, and counts the wrong adds of a loose one', () => {
    expect(mode('certain').wrongAdds).toBe(0);
    // Certain at the identify threshold itself, no gap: the lookalikes streamed become their lookalike's templates.
    const loose = runStream(images, { ...OPTIONS, modes: ['certain'], learn: { ...OPTIONS.learn, addFpir: 0.01, gapIqr: 0 } }).summary[0]!;
    expect(loose.wrongAdds).toBeGreaterThan(0);
    expect(loose.wrongFromStrangers).toBe(loose.wrongAdds);
    // Each wrong add named: a lookalike stranger's face under the person it looks like.
    for (const [pair] of loose.wrongPairs) expect(pair).toMatch(/^L(\d) → P\1$/);
    expect(loose.wrongPairs.reduce((sum, [, n]) => sum + n, 0)).toBe(loose.wrongAdds);
    expect(loose.wrongAddRateUpper95).toBeGreaterThan(loose.wrongAdds / loose.totalAdded);
  });

  it('is reproducible from its seed', () => {
    const again = runStream(images, OPTIONS);
    expect(again.summary).toEqual(report.summary);
    const other = runStream(images, { ...OPTIONS, seed: 4 });
    expect(other.orders.map((o) => o.before.dirLearners)).not.toEqual(report.orders.map((o) => o.before.dirLearners));
  });
});

describe('the upper bound of a rate', () => {
  it('is the exact one-sided 95% Clopper–Pearson bound', () => {
    expect(binomialUpper(0, 2995)).toBeCloseTo(1e-3, 5); // the rule of three: 3 / n
    expect(binomialUpper(3, 1000)).toBeCloseTo(0.00775, 4);
    expect(binomialUpper(0, 0)).toBe(1);
    expect(binomialUpper(5, 5)).toBe(1);
  });
});
