import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  evaluateIdentification,
  runIdentificationEval,
  type IdentificationReport,
  type SplitResult,
} from '../../../src/eval/identification.js';
import { listGalleries } from '../../../src/store/galleries.repository.js';
import { createTestDatabase, describeEachDatabase, type TestDatabase } from '../../helpers/databases.js';
import { rng } from '../../helpers/random.js';

const OPTIONS = { threshold: 0.59, ambiguityMargin: 0.02, modelId: 'test-model', dims: 128, efSearch: 200 };

/** Synthetic descriptors: a random unit-norm centre per person, each image that centre plus N(0, σ²) per dimension. */
function synthesizer(seed: number) {
  const random = rng(seed);
  const gaussian = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const unit = () => {
    const v = Array.from({ length: 128 }, gaussian);
    const norm = Math.hypot(...v);
    return v.map((x) => x / norm);
  };
  const near = (centre: readonly number[], sigma: number) => centre.map((x) => x + sigma * gaussian());
  return { unit, near };
}

const file = (name: string, index: number) => `${name}/${name}_${String(index).padStart(4, '0')}.jpg`;

// Within a person two images are ~0.16 apart (σ = 0.01 over 128 dimensions), different people ~1.4.
const SIGMA = 0.01;

/** People P0..P5 with 4 images, Q0 and Q1 with 2, and ten strangers S0..S9 with one. */
function population(seed: number) {
  const { unit, near } = synthesizer(seed);
  const centres = new Map<string, number[]>();
  const descriptors = new Map<string, number[] | null>();
  const people: Array<[string, number]> = [
    ...[0, 1, 2, 3, 4, 5].map((i): [string, number] => [`P${i}`, 4]),
    ['Q0', 2],
    ['Q1', 2],
    ...[...Array(10).keys()].map((i): [string, number] => [`S${i}`, 1]),
  ];
  for (const [name, count] of people) {
    const centre = unit();
    centres.set(name, centre);
    for (let i = 1; i <= count; i++) descriptors.set(file(name, i), near(centre, SIGMA));
  }
  return { descriptors, centres, unit, near };
}

const byReduction = (split: SplitResult, reduction: 'min' | 'mean2') => split.reductions.find((r) => r.reduction === reduction)!;

describe('runIdentificationEval on perfectly separated people (descriptors loaded, throwaway PGlite)', () => {
  let dir: string;
  let report: IdentificationReport;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'facerec-identify-test-'));
    const { descriptors } = population(1);
    // The JSONL of `facerec eval lfw --save`: the shipped descriptor is the dlib chip + mirror one.
    const lines = [...descriptors].map(([f, d]) =>
      JSON.stringify({ f, width: 250, height: 250, faces: 1, engine: { dlib: d, dlibMirror: d, box: d }, subject: null, plain: null }),
    );
    await writeFile(path.join(dir, 'subjects.jsonl'), `${lines.join('\n')}\n`);
    // Without splits: false the store's report is all there.
    report = (await runIdentificationEval({ ...OPTIONS, root: dir, load: path.join(dir, 'subjects.jsonl') })) as IdentificationReport;
  });

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('enrolls the splits as specified and identifies every mated probe with no false positive', () => {
    expect(report.images).toBe(38);
    expect(report.imagesWithoutFace).toBe(0);
    const [a, b] = report.splits;
    expect(a!.people).toEqual({ eligible: 8, enrolled: 8, notEnrolled: [], leftOut: 0 });
    expect(a!.probes).toEqual({ mated: 20, matedWithoutFace: 0, nonMated: 10, nonMatedWithoutFace: 0, ofNotEnrolled: 0 });
    expect(b!.people).toEqual({ eligible: 6, enrolled: 6, notEnrolled: [], leftOut: 2 });
    expect(b!.probes).toMatchObject({ mated: 12, nonMated: 10 });
    for (const split of report.splits) {
      for (const r of split.reductions) {
        expect(r.atThreshold).toMatchObject({
          rank1: 1,
          dir: 1,
          misidentification: 0,
          fnir: 0,
          fpir: 0,
          ambiguousMated: 0,
          ambiguousNonMated: 0,
        });
        for (const point of r.atFpir) expect(point.rates).toMatchObject({ dir: 1, fpir: 0 });
      }
      expect(split.comparison.atThreshold).toMatchObject({ better: null, onlyMin: 0, onlyMean2: 0 });
    }
  });

  it('removes its temporary database', () => {
    expect(report.database.kind).toBe('pglite');
    expect(existsSync(report.database.location)).toBe(false);
  });
});

describeEachDatabase('evaluateIdentification with a stranger, a photo without a face and an outlier', (kind) => {
  let test: TestDatabase;
  let report: IdentificationReport;

  beforeAll(async () => {
    test = await createTestDatabase(kind);
    const { descriptors, centres, unit, near } = population(2);
    descriptors.set(file('P1', 4), null); // a mated probe without a face: a miss
    descriptors.set(file('P2', 1), null); // a gallery photo without a face: P2 is not enrolled
    // P5's second photo looks like nobody: min still matches P5's probes, mean2 pushes them past the threshold.
    descriptors.set(
      file('P5', 2),
      centres.get('P5')!.map((x, i) => x + 1.2 * unit()[i]!),
    );
    descriptors.set(file('S0', 1), near(centres.get('P0')!, SIGMA / 10)); // a stranger who looks like P0
    report = await evaluateIdentification(test.db, descriptors, OPTIONS);
  });

  afterAll(async () => {
    await test?.drop();
  });

  it('split A: P2 is not enrolled, the faceless probe and the outlier are misses, the look-alike stranger is a false positive', () => {
    const a = report.splits[0]!;
    expect(a.people).toEqual({ eligible: 8, enrolled: 7, notEnrolled: ['P2'], leftOut: 0 });
    expect(a.probes).toEqual({ mated: 17, matedWithoutFace: 1, nonMated: 10, nonMatedWithoutFace: 0, ofNotEnrolled: 3 });
    for (const reduction of ['min', 'mean2'] as const) {
      expect(byReduction(a, reduction).atThreshold.counts).toEqual({
        rank1: 16,
        dir: 15,
        misidentified: 0,
        falsePositives: 1,
        ambiguousMated: 0,
        ambiguousNonMated: 0,
      });
      expect(byReduction(a, reduction).atThreshold.fpir).toBeCloseTo(0.1, 12);
    }
  });

  it('split B: min keeps P5’s two probes that mean2 loses; people with two images are left out', () => {
    const b = report.splits[1]!;
    expect(b.people).toEqual({ eligible: 6, enrolled: 5, notEnrolled: ['P2'], leftOut: 2 });
    expect(b.probes).toEqual({ mated: 10, matedWithoutFace: 1, nonMated: 10, nonMatedWithoutFace: 0, ofNotEnrolled: 2 });
    expect(byReduction(b, 'min').atThreshold.counts).toMatchObject({ rank1: 9, dir: 9, falsePositives: 1 });
    expect(byReduction(b, 'mean2').atThreshold.counts).toMatchObject({ rank1: 9, dir: 7, falsePositives: 1 });
    expect(b.comparison.atThreshold).toEqual({ min: 0.9, mean2: 0.7, better: 'min', onlyMin: 2, onlyMean2: 0, pValue: 0.5 });
  });

  it('at FPIR 1% the threshold drops below the stranger’s distance, which no mated probe is under', () => {
    for (const split of report.splits) {
      for (const r of split.reductions) {
        const point = r.atFpir.find((p) => p.targetFpir === 0.01)!;
        expect(point.rates.fpir).toBe(0);
        expect(point.threshold).toBeLessThan(0.59);
        expect(point.rates.dir).toBe(0);
      }
    }
  });

  it('leaves no gallery of its own behind', async () => {
    expect((await listGalleries(test.db)).map((g) => g.name)).toEqual(['default']);
  });
});
