import { mkdir, mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import type { FaceAttributes } from '../../../src/core/face.js';
import {
  accuracyOf,
  ageBandOf,
  calibrationOf,
  gapOf,
  labelledPhotos,
  parseGenderLabels,
  scoreCrop,
  type Outcome,
  type PhotoAttributes,
} from '../../../src/eval/attributes.js';
import { DEFAULT_GENDER_LABELS_FILE } from '../../../src/eval/setup.js';
import { renderReliabilityPlot } from '../../../src/render/reliability-plot.js';
import { dataset, describeWithDatasets } from '../../helpers/datasets.js';

const outcomes = (person: string, right: number, wrong: number, confidence = 0.9): Outcome[] => [
  ...Array.from({ length: right }, () => ({ person, correct: true, confidence })),
  ...Array.from({ length: wrong }, () => ({ person, correct: false, confidence })),
];

describe('accuracy with an interval by bootstrap over people', () => {
  it('gives the share right, and an interval around it that narrows with more people', () => {
    const few = accuracyOf([...outcomes('a', 9, 1), ...outcomes('b', 8, 2)]);
    expect(few).toMatchObject({ n: 20, correct: 17, accuracy: 0.85, people: 2 });
    expect(few.ci[0]).toBeLessThanOrEqual(0.85);
    expect(few.ci[1]).toBeGreaterThanOrEqual(0.85);
    const many = accuracyOf(Array.from({ length: 200 }, (_, i) => outcomes(`p${i}`, i % 10 === 0 ? 0 : 1, i % 10 === 0 ? 1 : 0)).flat());
    expect(many.accuracy).toBeCloseTo(0.9, 10);
    expect(many.ci[1] - many.ci[0]).toBeLessThan(0.1);
    expect(many.ci[0]).toBeGreaterThan(0.84);
    expect(many.ci[1]).toBeLessThan(0.96);
  });

  it('counts people, not photos: two people, one always right and one always wrong, tell almost nothing', () => {
    const a = accuracyOf([...outcomes('right', 10, 0), ...outcomes('wrong', 0, 10)]);
    expect(a.accuracy).toBe(0.5);
    // 20 independent photos would give about [0.3, 0.7]; two people give anything from 0 to 1.
    expect(a.ci).toEqual([0, 1]);
  });

  it('is reproducible (seeded) and copes with nothing', () => {
    const data = Array.from({ length: 30 }, (_, i) => outcomes(`p${i}`, i % 3, 1)).flat();
    expect(accuracyOf(data)).toEqual(accuracyOf(data));
    expect(accuracyOf([]).n).toBe(0);
  });

  it('gives the gap between two groups with its interval', () => {
    const men = Array.from({ length: 100 }, (_, i) => outcomes(`m${i}`, i < 98 ? 1 : 0, i < 98 ? 0 : 1)).flat();
    const women = Array.from({ length: 100 }, (_, i) => outcomes(`w${i}`, i < 85 ? 1 : 0, i < 85 ? 0 : 1)).flat();
    const { gap, ci } = gapOf(men, women);
    expect(gap).toBeCloseTo(0.13, 10);
    expect(ci[0]).toBeGreaterThan(0.04);
    expect(ci[1]).toBeLessThan(0.23);
    expect(gapOf(men, men).ci[0]).toBeLessThan(0);
  });
});

describe('expected calibration error', () => {
  it('is 0 when each bin is right as often as it says, and the gap when it is not', () => {
    // 80% right at 0.8, 60% right at 0.6.
    const calibrated = [...outcomes('a', 8, 2, 0.8), ...outcomes('b', 6, 4, 0.6)];
    const { ece, bins } = calibrationOf(calibrated, 0.5);
    expect(ece).toBeCloseTo(0, 10);
    expect(bins.map((b) => [b.n, b.confidence.toFixed(6), b.accuracy])).toEqual([
      [10, '0.600000', 0.6],
      [10, '0.800000', 0.8],
    ]);
    // Always sure, right half the time: off by 0.5 (minus the rounding of the bin).
    expect(calibrationOf([...outcomes('a', 5, 5, 1)], 0.5).ece).toBeCloseTo(0.5, 10);
    // Weighted by the bins' shares: 0.25 × 0.3 + 0.75 × 0.
    expect(calibrationOf([...outcomes('a', 5, 5, 0.8), ...outcomes('b', 27, 3, 0.9)], 0.5).ece).toBeCloseTo(0.25 * 0.3, 10);
  });

  it('puts a probability of 1 in the top bin, and the lowest possible in the first', () => {
    const { bins } = calibrationOf([...outcomes('a', 1, 0, 1), ...outcomes('b', 1, 0, 1 / 7)], 1 / 7);
    expect(bins).toHaveLength(2);
    expect(bins[0]!.from).toBeCloseTo(1 / 7, 4);
    expect(bins[1]!.to).toBeCloseTo(1, 4);
  });
});

describe('the labelled sets', () => {
  it('reads the gender labels and refuses a malformed line', () => {
    const labels = parseGenderLabels('# comment\nlfw-view1\tAda_Lovelace\tfemale\nlfw-view1\tSomeone\t-\nbbt\tsheldon\tmale\n');
    expect(labels.get('lfw-view1')).toEqual(new Map([['Ada_Lovelace', 'female']]));
    expect(labels.get('bbt')?.get('sheldon')).toBe('male');
    expect(() => parseGenderLabels('lfw-view1\tAda\tf\n')).toThrow(/line 1/);
  });

  it('finds yalefaces’ expression labels and the gender-labelled people, leaving out the unlabelled', async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), 'facerec-attributes-'));
    const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#777' } })
      .png()
      .toBuffer();
    const put = async (...parts: string[]) => {
      await mkdir(path.join(root, ...parts.slice(0, -1)), { recursive: true });
      await writeFile(path.join(root, ...parts), png);
    };
    for (const label of ['normal', 'happy', 'sleepy', 'glasses', 'leftlight'])
      await put('yalefaces', 'subject01', `subject01.${label}.png`);
    await put('lfw-view1', 'images', 'Ada_Lovelace', 'Ada_Lovelace_0001.jpg');
    await put('lfw-view1', 'images', 'Someone', 'Someone_0001.jpg');
    await put('bbt', 'identities', 'penny', 'penny1.png');
    const photos = await labelledPhotos(
      root,
      parseGenderLabels('lfw-view1\tAda_Lovelace\tfemale\nlfw-view1\tSomeone\t-\nbbt\tpenny\tfemale\n'),
    );
    expect(photos.map((p) => [p.set, p.person, path.basename(p.file), p.gender ?? p.expression, p.expressionLabel])).toEqual([
      ['yalefaces', 'subject01', 'subject01.happy.png', 'happy', 'happy'],
      ['yalefaces', 'subject01', 'subject01.normal.png', 'neutral', 'normal'],
      ['yalefaces', 'subject01', 'subject01.sleepy.png', null, 'sleepy'],
      ['lfw-view1', 'Ada_Lovelace', 'Ada_Lovelace_0001.jpg', 'female', undefined],
      ['bbt', 'penny', 'penny1.png', 'female', undefined],
    ]);
  });
});

describe('scoring a crop', () => {
  const face = (gender: 'female' | 'male', p: number, expression: 'neutral' | 'happy', age = 35): FaceAttributes => ({
    age,
    gender: { label: gender, probability: p },
    expression: { label: expression, probability: 0.7, probabilities: {} as never },
  });
  const both = (a: FaceAttributes): PhotoAttributes => ({ faces: 1, byCrop: { box: a, chip: a } });

  it('scores gender and mapped expressions, counts photos without a face, and tabulates unmapped labels', () => {
    const photos = [
      { set: 'lfw-view1', person: 'A', file: 'a1', gender: 'female' as const },
      { set: 'lfw-view1', person: 'A', file: 'a2', gender: 'female' as const },
      { set: 'lfw-view1', person: 'B', file: 'b1', gender: 'male' as const },
      { set: 'lfw-view1', person: 'C', file: 'c1', gender: 'male' as const },
      { set: 'yalefaces', person: 's1', file: 'y1', expression: 'happy' as const, expressionLabel: 'happy' },
      { set: 'yalefaces', person: 's1', file: 'y2', expression: null, expressionLabel: 'sleepy' },
      { set: 'yalefaces', person: 's1', file: 'y3', expression: 'neutral' as const, expressionLabel: 'normal' },
    ];
    const measured: PhotoAttributes[] = [
      both(face('female', 0.9, 'neutral', 25)),
      both(face('male', 0.6, 'neutral', 25)),
      both(face('male', 0.95, 'neutral', 62)),
      { faces: 0, byCrop: null },
      both(face('male', 0.9, 'happy')),
      both(face('male', 0.9, 'neutral')),
      both(face('male', 0.9, 'happy')),
    ];
    const r = scoreCrop(photos, measured, 'box');
    expect(r.gender).toMatchObject({ photos: 4, noFace: 1 });
    expect(r.gender.overall).toMatchObject({ n: 3, correct: 2 });
    expect(r.gender.byGender.female).toMatchObject({ n: 2, correct: 1 });
    expect(r.gender.byGender.male).toMatchObject({ n: 1, correct: 1 });
    expect(r.gender.gap.gap).toBeCloseTo(0.5, 10);
    expect(Object.keys(r.gender.byAgeBand)).toEqual(['under 30', '60 and over']);
    expect(r.expression).toMatchObject({ photos: 3, noFace: 0 });
    // sleepy has no class: in the table, not in the accuracy.
    expect(r.expression.overall).toMatchObject({ n: 2, correct: 1 });
    expect(r.expression.confusion).toEqual({ happy: { happy: 1 }, sleepy: { neutral: 1 }, normal: { happy: 1 } });
    expect(ageBandOf(29.9)).toBe('under 30');
    expect(ageBandOf(45)).toBe('45–59');
  });
});

describe('the reliability plot', () => {
  it('renders a PNG with the diagonal and each series', async () => {
    const png = await renderReliabilityPlot(
      [
        {
          label: 'gender',
          bins: [
            { confidence: 0.6, accuracy: 0.5, n: 10 },
            { confidence: 0.95, accuracy: 0.97, n: 900 },
          ],
        },
      ],
      { title: 'Reliability', width: 640, height: 480 },
    );
    expect(await sharp(png).metadata()).toMatchObject({ format: 'png', width: 640, height: 480 });
  });
});

describeWithDatasets('the gender fixture', () => {
  it('labels every person of LFW View 1 once, female, male or left out', async () => {
    const lines = (await readFile(DEFAULT_GENDER_LABELS_FILE, 'utf8')).split('\n').filter((l) => l.startsWith('lfw-view1\t'));
    const people = lines.map((l) => l.split('\t')[1]);
    expect(new Set(people).size).toBe(people.length);
    expect([...people].sort()).toEqual((await readdir(dataset('lfw-view1', 'images'))).sort());
  });
});
