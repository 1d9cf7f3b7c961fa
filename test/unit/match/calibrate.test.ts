import { describe, it, expect } from 'vitest';
import { calibrate, type CalibrationPerson } from '../../../src/match/calibrate.js';
import { rng } from '../../helpers/random.js';
import { codeOf } from '../../helpers/errors.js';

// One-dimensional descriptors, so every distance below is a hand-checkable difference.
const line: CalibrationPerson[] = [
  { personId: 'a', descriptors: [[0], [1]] },
  { personId: 'b', descriptors: [[10], [12], [13]] },
  { personId: 'c', descriptors: [[5]] },
];

/** Synthetic identities: a gaussian centre per person in 128-d, and faces scattered around it. */
function clusters(people: number, facesEach: number, seed: number): CalibrationPerson[] {
  // These spreads make genuine (~0.6-0.9) and impostor (~0.8-1.15) distances overlap, so the FAR limit bites.
  const [centreSpread, faceSpread] = [0.04, 0.05];
  const random = rng(seed);
  const gaussian = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  return Array.from({ length: people }, (_, p) => {
    const centre = Array.from({ length: 128 }, () => gaussian() * centreSpread);
    return { personId: `p${p}`, descriptors: Array.from({ length: facesEach }, () => centre.map((x) => x + gaussian() * faceSpread)) };
  });
}

describe('calibrate', () => {
  it("gives leave-one-out genuine and per-person impostor distances, reduced with 'min'", () => {
    const report = calibrate(line, 2 / 12, 'min');
    expect([report.people, report.faces]).toEqual([3, 6]);
    // The single face of c gives no genuine distance but is an impostor for everyone else.
    expect(report.genuine).toEqual([1, 1, 2, 1, 1]);
    expect(report.impostor).toEqual([10, 5, 9, 4, 9, 5, 11, 7, 12, 8, 4, 5]);
  });

  it("averages the two closest other faces with 'mean2'", () => {
    const report = calibrate(line, 0.1, 'mean2');
    expect(report.genuine).toEqual([1, 1, 2.5, 1.5, 2]);
    // b's faces seen from a0: 10, 12, 13 -> 11; c has one face: 5.
    expect(report.impostor.slice(0, 2)).toEqual([11, 5]);
  });

  it('picks the largest observed distance whose impostor accept rate stays within far', () => {
    // Two of 12 impostors may pass: both at 4; the next (5) may not, so t = 4.
    expect(calibrate(line, 2 / 12, 'min')).toMatchObject({ threshold: 4, tar: 1, achievedFar: 2 / 12 });
    // One may pass, but the two at 4 tie: stay below 4, at the largest genuine distance.
    expect(calibrate(line, 0.1, 'min')).toMatchObject({ threshold: 2, tar: 1, achievedFar: 0 });
    expect(calibrate(line, 1, 'min')).toMatchObject({ threshold: 12, achievedFar: 1 });
  });

  it('on synthetic identities keeps achievedFar within far with a high TAR, stricter for a smaller far', () => {
    const people = clusters(30, 4, 11);
    const loose = calibrate(people, 0.01, 'min');
    const strict = calibrate(people, 0.001, 'min');
    expect(loose.genuine).toHaveLength(120);
    expect(loose.impostor).toHaveLength(120 * 29);
    for (const report of [loose, strict]) {
      expect(report.achievedFar).toBeLessThanOrEqual(report.far);
      expect(report.achievedFar).toBe(report.impostor.filter((d) => d <= report.threshold).length / report.impostor.length);
      expect(report.tar).toBe(report.genuine.filter((d) => d <= report.threshold).length / report.genuine.length);
    }
    expect(strict.threshold).toBeLessThan(loose.threshold);
    expect(loose.tar).toBeGreaterThan(0.9);
    expect(strict.tar).toBeLessThan(loose.tar);
    expect(strict.tar).toBeGreaterThan(0.5);
    // The next observed impostor above the threshold would break the FAR limit: the threshold is as large as allowed.
    const above = loose.impostor.filter((d) => d > loose.threshold).sort((x, y) => x - y)[0]!;
    expect(loose.impostor.filter((d) => d <= above).length / loose.impostor.length).toBeGreaterThan(loose.far);
  });

  it('throws INVALID_ARGUMENT with fewer than 2 people with 2 or more faces, or a bad far', () => {
    expect(codeOf(() => calibrate([], 0.01, 'min'))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => calibrate([line[0]!, line[2]!, { personId: 'd', descriptors: [] }], 0.01, 'min'))).toBe('INVALID_ARGUMENT');
    expect(() => calibrate([line[0]!, line[2]!], 0.01, 'min')).toThrow(/at least 2 people with 2 or more faces/);
    expect(codeOf(() => calibrate(line, 1.5, 'min'))).toBe('INVALID_ARGUMENT');
    expect(
      codeOf(() =>
        calibrate(
          [
            line[0]!,
            {
              personId: 'e',
              descriptors: [
                [1, 2],
                [3, 4],
              ],
            },
          ],
          0.01,
          'min',
        ),
      ),
    ).toBe('INVALID_ARGUMENT');
  });
});
