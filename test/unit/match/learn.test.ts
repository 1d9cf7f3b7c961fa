import { describe, expect, it } from 'vitest';
import {
  certainMatchRule,
  chooseTemplateChange,
  DEFAULT_ADD_FPIR,
  DEFAULT_GAP_IQR,
  duplicateDistance,
  genuineIqr,
  isCertainMatch,
  trustedDistance,
  type SeenFace,
  type Template,
} from '../../../src/match/learn.js';
import { expectedFpir, thresholdForFpir, type ImpostorModel } from '../../../src/match/open-set.js';
import { codeOf } from '../../helpers/errors.js';

const TAIL = { mean: 0.83, sd: 0.1 };
const POINT = { threshold: thresholdForFpir(TAIL, 0.01, 300), tail: TAIL, units: 300 };

/** An impostor model: its tail, and genuine distances spread evenly from `from` to `to` (percentiles 0..100 %). */
function modelOf(tail: { mean: number; sd: number }, from: number, to: number): ImpostorModel {
  const genuinePercentiles = Array.from({ length: 101 }, (_, i) => from + ((to - from) * i) / 100);
  const reduction = { tail, genuinePercentiles, impostorDistances: 0, fittedRange: [1e-5, 0.05] as [number, number] };
  return { descriptorModelId: 'test', source: 'synthetic', reductions: { min: reduction, mean2: reduction } };
}
// Genuine distances from 0.25 to 0.45: interquartile range 0.1, the default model's.
const MODEL = modelOf(TAIL, 0.25, 0.45);

/** identify's answer for a face: matched to `a` at `d1`, the next person `b` at `d2`. */
function seen(d1: number, d2: number | null, outcome: SeenFace['outcome'] = 'match'): SeenFace {
  return {
    outcome,
    person: outcome === 'match' ? { id: 'a' } : null,
    distance: d1,
    candidates: [{ person: { id: 'a' }, distance: d1 }, ...(d2 === null ? [] : [{ person: { id: 'b' }, distance: d2 }])],
  };
}

describe('the certain-match rule', () => {
  const rule = certainMatchRule(MODEL, POINT);

  it('is identify’s threshold at the add FPIR: a stranger passes at that rate by the impostor model', () => {
    expect(rule.addFpir).toBe(DEFAULT_ADD_FPIR);
    expect(rule.maxDistance).toBeLessThan(POINT.threshold);
    expect(expectedFpir(TAIL, rule.maxDistance, POINT.units)).toBeCloseTo(DEFAULT_ADD_FPIR, 8);
    expect(rule.minSecondDistance).toBe(POINT.threshold);
    expect(genuineIqr(MODEL)).toBeCloseTo(0.1, 12);
    expect(rule.minGap).toBeCloseTo(DEFAULT_GAP_IQR * 0.1, 10);
  });

  it('tightens as the gallery grows (more people or templates, more chances for a stranger)', () => {
    const bigger = certainMatchRule(MODEL, { ...POINT, units: 3000, threshold: thresholdForFpir(TAIL, 0.01, 3000) });
    expect(bigger.maxDistance).toBeLessThan(rule.maxDistance);
    expect(certainMatchRule(MODEL, POINT, { addFpir: 1e-3 }).maxDistance).toBeLessThan(rule.maxDistance);
  });

  it('scales with the descriptor model: the same FPIR on another model’s distances', () => {
    // A 512-d model whose distances are ~1.77× the default's (faceplugin-512: impostor mean 1.466, sd 0.102).
    // Its photos of one person vary twice as much (genuine interquartile range 0.2): the gap doubles.
    const other = { mean: 1.466, sd: 0.102 };
    const theirs = certainMatchRule(modelOf(other, 0.5, 0.9), { threshold: thresholdForFpir(other, 0.01, 300), tail: other, units: 300 });
    expect(theirs.minGap).toBeCloseTo(2 * rule.minGap, 10);
    expect(expectedFpir(other, theirs.maxDistance, 300)).toBeCloseTo(DEFAULT_ADD_FPIR, 8);
    // The same number of impostor standard deviations under the tail's mean as the default's rule.
    expect((other.mean - theirs.maxDistance) / other.sd).toBeCloseTo((TAIL.mean - rule.maxDistance) / TAIL.sd, 10);
  });

  it('calls a match certain only far inside the threshold, with the next person beyond it and farther by the gap', () => {
    const d = rule.maxDistance;
    expect(isCertainMatch(seen(d - 0.05, 0.7), rule)).toMatchObject({
      certain: true,
      reason: 'certain',
      distance: d - 0.05,
      secondDistance: 0.7,
    });
    expect(isCertainMatch(seen(d, null), rule).certain).toBe(true); // nobody else in reach
    expect(isCertainMatch(seen(d + 0.001, 0.9), rule).reason).toBe('too-far');
    expect(isCertainMatch(seen(d - 0.05, POINT.threshold - 0.001), rule).reason).toBe('other-person-near');
    // Beyond the threshold but closer than the gap: still too near to call.
    expect(isCertainMatch(seen(d - 0.01, POINT.threshold + 0.01), rule).reason).toBe('other-person-near');
    expect(isCertainMatch(seen(d - 0.01, POINT.threshold + 0.01), certainMatchRule(MODEL, POINT, { gapIqr: 0 })).certain).toBe(true);
    expect(isCertainMatch(seen(0.2, 0.25, 'ambiguous'), rule)).toMatchObject({ certain: false, reason: 'not-a-match', distance: null });
    expect(isCertainMatch(seen(0.5, 0.6, 'unknown'), rule).reason).toBe('not-a-match');
  });

  it('takes the nearest other person whatever the candidates’ order of assignment (a face assigned to its second-best)', () => {
    // In a photo the Hungarian assignment may give a face its second-best person: the other is then nearer.
    const face: SeenFace = {
      outcome: 'match',
      person: { id: 'b' },
      distance: 0.3,
      candidates: [
        { person: { id: 'a' }, distance: 0.25 },
        { person: { id: 'b' }, distance: 0.3 },
      ],
    };
    expect(isCertainMatch(face, rule).reason).toBe('other-person-near');
  });

  it('asks for good quality when gates are given, and an unknown quality is not good', () => {
    const gates = { minFaceSize: 40, minScore: 0.5, minSharpness: 10, maxYaw: 45, maxRoll: 45 };
    const gated = certainMatchRule(MODEL, POINT, { quality: gates });
    const good = { size: 120, score: 0.99, sharpness: 300, yaw: 5, roll: 2 };
    const face = seen(gated.maxDistance - 0.05, 0.8);
    expect(isCertainMatch({ ...face, quality: good }, gated).certain).toBe(true);
    for (const bad of [{ size: 30 }, { score: 0.4 }, { sharpness: 5 }, { yaw: -60 }, { roll: 50 }])
      expect(isCertainMatch({ ...face, quality: { ...good, ...bad } }, gated).reason).toBe('low-quality');
    expect(isCertainMatch(face, gated).reason).toBe('low-quality');
    expect(isCertainMatch(face, rule).certain).toBe(true); // no gates: not checked
  });

  it('judges the distance against the faces a human vouched for when told it: a learned face does not vouch for the next', () => {
    const d = rule.maxDistance;
    // Near a learned face of the person (d − 0.1) but far from their enrolled one: not certain.
    expect(isCertainMatch({ ...seen(d - 0.1, 0.8), trustedDistance: d + 0.05 }, rule).reason).toBe('too-far');
    expect(isCertainMatch({ ...seen(d - 0.1, 0.8), trustedDistance: d - 0.01 }, rule).certain).toBe(true);
    expect(isCertainMatch({ ...seen(d - 0.1, 0.8), trustedDistance: null }, rule).reason).toBe('too-far'); // no trusted face
    const templates = [
      { id: 'e', descriptor: [0, 0], source: 'enrolled' as const },
      { id: 'l', descriptor: [1, 0], source: 'learned' as const },
      { id: 'c', descriptor: [0, 3], source: 'confirmed' as const },
    ];
    expect(trustedDistance(templates, [1, 0])).toBe(1);
    expect(trustedDistance(templates, [0, 2.5])).toBe(0.5);
    expect(trustedDistance(templates.slice(1, 2), [1, 0])).toBeNull();
  });

  it('rejects settings out of range', () => {
    expect(codeOf(() => certainMatchRule(MODEL, POINT, { addFpir: 0 }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => certainMatchRule(MODEL, POINT, { addFpir: 1 }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => certainMatchRule(MODEL, POINT, { gapIqr: -1 }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => certainMatchRule(modelOf(TAIL, 0, 1), POINT))).toBe('no error');
    const short = { ...MODEL, reductions: { ...MODEL.reductions, min: { ...MODEL.reductions.min, genuinePercentiles: [0.2, 0.4] } } };
    expect(codeOf(() => certainMatchRule(short, POINT))).toBe('INVALID_ARGUMENT');
  });
});

// Templates on a line: a person's faces at x, the distance between two is the difference of their x.
const at = (id: string, x: number, source: Template['source'] = 'learned'): Template => ({ id, descriptor: [x, 0], source });
const OPTIONS = { cap: 4, duplicateDistance: 0.1 };

describe('which templates to keep', () => {
  it('adds a face that is not a near-duplicate, under the cap', () => {
    expect(chooseTemplateChange([at('e', 0, 'enrolled')], { descriptor: [0.3, 0], source: 'learned' }, OPTIONS)).toEqual({
      action: 'add',
      nearest: 0.3,
    });
    expect(chooseTemplateChange([], { descriptor: [0.3, 0], source: 'confirmed' }, OPTIONS)).toEqual({ action: 'add', nearest: null });
  });

  it('skips a near-duplicate of any template: it adds nothing', () => {
    const templates = [at('e', 0, 'enrolled'), at('l', 0.5)];
    expect(chooseTemplateChange(templates, { descriptor: [0.55, 0], source: 'learned' }, OPTIONS)).toMatchObject({
      action: 'skip',
      reason: 'duplicate',
      templateId: 'l',
    });
    expect(chooseTemplateChange(templates, { descriptor: [0.05, 0], source: 'confirmed' }, OPTIONS)).toMatchObject({
      action: 'skip',
      reason: 'duplicate',
      templateId: 'e',
    });
  });

  it('lets a confirmed face take the place of a learned near-duplicate (the same face, now vouched for)', () => {
    const templates = [at('e', 0, 'enrolled'), at('l', 0.5)];
    expect(chooseTemplateChange(templates, { descriptor: [0.55, 0], source: 'confirmed' }, OPTIONS)).toMatchObject({
      action: 'replace',
      templateId: 'l',
      reason: 'upgrade',
    });
  });

  it('at the cap, replaces the most redundant learned template by a face that spreads the set', () => {
    // l1 and l2 are 0.15 apart (the most redundant pair); a face at 1.0 is 0.4 from the nearest other.
    const templates = [at('e', 0, 'enrolled'), at('l1', 0.3), at('l2', 0.45), at('l3', 0.6)];
    expect(chooseTemplateChange(templates, { descriptor: [1.0, 0], source: 'learned' }, OPTIONS)).toMatchObject({
      action: 'replace',
      templateId: 'l2',
      reason: 'more-diverse',
    });
    // A face inside the set spreads nothing: it stays out.
    expect(chooseTemplateChange(templates, { descriptor: [0.16, 0], source: 'learned' }, OPTIONS)).toMatchObject({
      action: 'skip',
      reason: 'no-gain',
      templateId: 'l2',
    });
  });

  it('never replaces an enrolled face, and a learned face never replaces a confirmed one', () => {
    const enrolledOnly = [at('e1', 0, 'enrolled'), at('e2', 0.2, 'enrolled'), at('e3', 0.4, 'enrolled'), at('e4', 0.6, 'enrolled')];
    expect(chooseTemplateChange(enrolledOnly, { descriptor: [3, 0], source: 'learned' }, OPTIONS)).toMatchObject({
      action: 'skip',
      reason: 'cap-reached',
    });
    expect(chooseTemplateChange(enrolledOnly, { descriptor: [3, 0], source: 'confirmed' }, OPTIONS)).toMatchObject({
      action: 'skip',
      reason: 'cap-reached',
    });
    const confirmed = [at('e', 0, 'enrolled'), at('c1', 0.2, 'confirmed'), at('c2', 0.4, 'confirmed'), at('c3', 0.6, 'confirmed')];
    expect(chooseTemplateChange(confirmed, { descriptor: [3, 0], source: 'learned' }, OPTIONS)).toMatchObject({
      action: 'skip',
      reason: 'cap-reached',
    });
    // A confirmed face may replace the most redundant confirmed one if the set spreads.
    expect(chooseTemplateChange(confirmed, { descriptor: [3, 0], source: 'confirmed' }, OPTIONS)).toMatchObject({
      action: 'replace',
      reason: 'more-diverse',
    });
  });

  it('lets a confirmed face displace a learned one first, even one that is not the most redundant overall', () => {
    // c1 and c2 are the closest pair, but they are confirmed: the learned l goes.
    const templates = [at('e', 0, 'enrolled'), at('c1', 0.5, 'confirmed'), at('c2', 0.52, 'confirmed'), at('l', 1.5)];
    expect(chooseTemplateChange(templates, { descriptor: [1.0, 0], source: 'confirmed' }, OPTIONS)).toMatchObject({
      action: 'replace',
      templateId: 'l',
      reason: 'upgrade',
    });
  });

  it('keeps a diverse set as faces stream in: the cap holds and the spread does not shrink', () => {
    let templates: Template[] = [at('e', 0, 'enrolled')];
    const spreadOf = (list: Template[]) =>
      Math.min(
        ...list.flatMap((a, i) => list.slice(i + 1).map((b) => Math.abs((a.descriptor[0] as number) - (b.descriptor[0] as number)))),
      );
    let previous = Infinity;
    for (let i = 1; i <= 40; i++) {
      const x = ((i * 7919) % 101) / 50; // 0..2, in a scrambled order
      const change = chooseTemplateChange(templates, { descriptor: [x, 0], source: 'learned' }, OPTIONS);
      if (change.action === 'add') templates = [...templates, at(`l${i}`, x)];
      if (change.action === 'replace') templates = [...templates.filter((t) => t.id !== change.templateId), at(`l${i}`, x)];
      expect(templates.length).toBeLessThanOrEqual(OPTIONS.cap);
      if (templates.length === OPTIONS.cap) {
        expect(spreadOf(templates)).toBeGreaterThanOrEqual(Math.min(previous, spreadOf(templates)));
        previous = spreadOf(templates);
      }
    }
    expect(templates.find((t) => t.id === 'e')).toBeDefined();
    // Four points over [0, 2] spread at the cap: far apart, not clustered where the stream happened to start.
    expect(spreadOf(templates)).toBeGreaterThan(0.4);
  });

  it('rejects a bad cap or duplicate distance', () => {
    expect(codeOf(() => chooseTemplateChange([], { descriptor: [0, 0], source: 'learned' }, { cap: 0, duplicateDistance: 0.1 }))).toBe(
      'INVALID_ARGUMENT',
    );
    expect(codeOf(() => chooseTemplateChange([], { descriptor: [0, 0], source: 'learned' }, { cap: 3, duplicateDistance: -1 }))).toBe(
      'INVALID_ARGUMENT',
    );
  });
});

describe('the near-duplicate distance', () => {
  const model = {
    reductions: { min: { genuinePercentiles: Array.from({ length: 101 }, (_, i) => 0.2 + i / 500) } },
  } as unknown as ImpostorModel;

  it('is a low percentile of the model’s genuine distances', () => {
    expect(duplicateDistance(model, 5)).toBeCloseTo(0.21, 10);
    expect(duplicateDistance(model, 0)).toBeCloseTo(0.2, 10);
    expect(codeOf(() => duplicateDistance(model, 101))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => duplicateDistance(model, 2.5))).toBe('INVALID_ARGUMENT');
  });
});
