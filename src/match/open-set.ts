/**
 * Open-set decisions at a target false positive identification rate (FPIR): the identify threshold follows from
 * the gallery's size and an impostor distance model, instead of one fixed distance for 1:1 and 1:N alike.
 *
 * The model: a stranger's distance to one enrolled comparison unit (a face under 'min', a person's closest two under
 * 'mean2') has the lower tail of a normal, P(d ≤ t) = Φ((t − mean) / sd), fitted on the tail itself (probit
 * regression of its quantiles), since only the tail decides. A gallery of U units gives a stranger U chances:
 * FPIR(t) = 1 − (1 − P(d ≤ t))^U, so the threshold for a target FPIR is the impostor quantile at the per-unit rate
 * q = 1 − (1 − FPIR)^(1/U).
 */
import { InvalidArgumentError } from '../errors.js';
import type { Reduction } from './reduce.js';

/** The lower tail of a stranger's distance to one comparison unit: P(d ≤ t) = Φ((t − mean) / sd). */
export interface ImpostorTail {
  mean: number;
  sd: number;
}

/** The impostor model shipped per descriptor model (models/impostor-model.json), made by scripts/fit-impostor.ts. */
export interface ImpostorModel {
  /** The descriptor model whose distances were fitted; descriptors of another model need another fit. */
  descriptorModelId: string;
  /** How and on what it was made. */
  source: string;
  /** Per reduction: the impostor tail of one unit, and the genuine distances' percentiles (0, 1, …, 100 %). */
  reductions: Record<
    Reduction,
    {
      tail: ImpostorTail;
      genuinePercentiles: number[];
      impostorDistances: number;
      fittedRange: [number, number];
      /**
       * Effective units per unit (≤ 1): a stranger's chances are not independent (its distances to one person's faces,
       * and to everyone when it is an unusual face, move together), so U units act as about κ·U. Measured on the fit
       * side by scripts/fit-impostor.ts as the observed FPIR over the target under the rule with κ = 1. Default 1.
       */
      unitsFactor?: number;
    }
  >;
}

export type ThresholdSource = 'target-fpir' | 'gallery-calibrated' | 'model-card' | 'request';

/** The threshold identify uses for a gallery, where it came from, and what it promises. */
export interface OperatingPoint {
  threshold: number;
  source: ThresholdSource;
  targetFpir: number;
  /** Effective comparison units a stranger meets: faces under 'min', people under 'mean2', times the model's unitsFactor. */
  units: number;
  /** FPIR the impostor tail in use predicts at `threshold` for this gallery. */
  expectedFpir: number;
  /** The share of genuine distances at or below `threshold` (LFW's, or the gallery's own when it has them). */
  expectedDir: number;
  /**
   * The impostor tail in use: the shipped one, or re-centred on the gallery's own cross-person distances with its
   * spread widened by the re-centring's uncertainty, √(sd² + tailMeanSe²) (galleryTail).
   */
  tail: ImpostorTail;
  /** The standard error of the re-centred mean (bootstrap over the gallery's people); 0 on the shipped tail. */
  tailMeanSe: number;
  /** Cross-person distances of the gallery's own faces that re-centred the tail (0: the shipped tail as it is). */
  crossPersonDistances: number;
  /** Pairs of the sample that are one face under two names (closer than sameFaceDistance), left out of it. */
  sameFacePairs: number;
  /** Why a gallery large enough to calibrate itself keeps the shipped tail, when it does. */
  notCalibrated?: string;
}

// --- the normal distribution ----------------------------------------------------------------------------------

/** Φ(x), the standard normal CDF, through Numerical Recipes' erfcc (relative error < 1.2e-7 everywhere, so in the far tail too). */
export function normalCdf(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  const t = 1 / (1 + 0.5 * z);
  const erfc =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? 1 - erfc / 2 : erfc / 2;
}

/** Φ⁻¹(p) (P. J. Acklam's rational approximation, relative error < 1.2e-9), for 0 < p < 1. */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new InvalidArgumentError(`normalQuantile needs 0 < p < 1, got ${p}`, { p });
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const low = 0.02425;
  if (p < low) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (
      (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) /
      ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1)
    );
  }
  if (p > 1 - low) return -normalQuantile(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return (
    ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) /
    (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1)
  );
}

// --- the rule -------------------------------------------------------------------------------------------------

function checkFpir(targetFpir: number): void {
  if (!(targetFpir > 0 && targetFpir < 1))
    throw new InvalidArgumentError(`The target FPIR must be in (0, 1), got ${targetFpir}`, { targetFpir });
}

/** The per-unit false-match rate that gives `targetFpir` over `units` independent comparisons: 1 − (1 − FPIR)^(1/U). */
export function perUnitRate(targetFpir: number, units: number): number {
  checkFpir(targetFpir);
  // expm1/log1p: for U = 10⁶ the plain formula loses most of its digits. Below one unit (κ·U < 1) it is one.
  return -Math.expm1(Math.log1p(-targetFpir) / Math.max(1, units));
}

/** The distance at which a stranger meets one of `units` impostors with probability `targetFpir`. */
export function thresholdForFpir(tail: ImpostorTail, targetFpir: number, units: number): number {
  return tail.mean + tail.sd * normalQuantile(perUnitRate(targetFpir, units));
}

/** The FPIR the tail predicts at `threshold` for a gallery of `units`. */
export function expectedFpir(tail: ImpostorTail, threshold: number, units: number): number {
  const perUnit = normalCdf((threshold - tail.mean) / tail.sd);
  return -Math.expm1(Math.max(1, units) * Math.log1p(-Math.min(perUnit, 1 - 1e-16)));
}

/** The share of genuine distances at or below `threshold`, from percentiles 0..100 % (linear between them). */
export function genuineRate(percentiles: readonly number[], threshold: number): number {
  const n = percentiles.length - 1;
  if (n < 1) return 0;
  if (threshold < percentiles[0]!) return 0;
  if (threshold >= percentiles[n]!) return 1;
  for (let i = 1; i <= n; i++) {
    const hi = percentiles[i]!,
      lo = percentiles[i - 1]!;
    if (threshold < hi) return (i - 1 + (hi > lo ? (threshold - lo) / (hi - lo) : 0)) / n;
  }
  return 1;
}

/** Percentiles 0, 1, …, 100 % of a sample (linear interpolation between order statistics). */
export function percentiles(values: readonly number[], steps = 100): number[] {
  const sorted = Float64Array.from(values).sort();
  if (sorted.length === 0) return [];
  return Array.from({ length: steps + 1 }, (_, i) => quantileOfSorted(sorted, i / steps));
}

function quantileOfSorted(sorted: Float64Array, p: number): number {
  const at = p * (sorted.length - 1);
  const lo = Math.floor(at),
    hi = Math.ceil(at);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (at - lo);
}

/**
 * Fits the lower tail of a distance sample: least squares of distance on Φ⁻¹(p) over the sample's quantiles at
 * probabilities log-spaced in [pMin, pMax]. pMin is raised to 20 / n so that each quantile rests on 20 values at least.
 */
export function fitTail(
  distances: readonly number[],
  range: [number, number] = [1e-5, 0.05],
): { tail: ImpostorTail; range: [number, number] } {
  const sorted = Float64Array.from(distances).sort();
  const pMin = Math.max(range[0], 20 / sorted.length),
    pMax = range[1];
  if (!(pMin < pMax)) throw new InvalidArgumentError(`fitTail needs more distances: ${sorted.length} cannot reach p = ${pMax}`);
  const steps = 24;
  const xs: number[] = [],
    ys: number[] = [];
  for (let i = 0; i <= steps; i++) {
    const p = Math.exp(Math.log(pMin) + ((Math.log(pMax) - Math.log(pMin)) * i) / steps);
    xs.push(normalQuantile(p));
    ys.push(quantileOfSorted(sorted, p));
  }
  const mx = xs.reduce((s, x) => s + x, 0) / xs.length,
    my = ys.reduce((s, y) => s + y, 0) / ys.length;
  let sxy = 0,
    sxx = 0;
  xs.forEach((x, i) => {
    sxy += (x - mx) * (ys[i]! - my);
    sxx += (x - mx) ** 2;
  });
  const sd = sxy / sxx;
  if (!(sd > 0)) throw new InvalidArgumentError('fitTail: the distances do not spread out (sd ≤ 0)');
  return { tail: { mean: my - sd * mx, sd }, range: [pMin, pMax] };
}

/** The probabilities at which the re-centring reads a sample's quantiles: 25, log-spaced in [pMin, 0.05]. */
function recentreProbabilities(pairs: number): number[] {
  const pMin = 20 / pairs,
    pMax = 0.05;
  if (!(pMin < pMax)) throw new InvalidArgumentError(`recentreTail needs at least ${Math.ceil(20 / pMax) + 1} distances, got ${pairs}`);
  return Array.from({ length: 25 }, (_, i) => Math.exp(Math.log(pMin) + ((Math.log(pMax) - Math.log(pMin)) * i) / 24));
}

const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/**
 * Re-centres a tail on a gallery's own cross-person distances, keeping the shipped spread (a slope extrapolated
 * from a few thousand distances is too noisy): mean = the median over the sample's lower quantiles
 * (p in [20 / n, 0.05]) of d_p − sd · Φ⁻¹(p). A median, so that a few near-duplicates (one person enrolled under two
 * names) cannot drag it.
 */
export function recentreTail(shipped: ImpostorTail, crossPerson: readonly number[]): ImpostorTail {
  const sorted = Float64Array.from(crossPerson).sort();
  const ps = recentreProbabilities(sorted.length);
  return { mean: median(ps.map((p) => quantileOfSorted(sorted, p) - shipped.sd * normalQuantile(p))), sd: shipped.sd };
}

/** Groups of people the jackknife of galleryTail leaves out in turn. */
export const RECENTRE_JACKKNIFE_GROUPS = 20;

/**
 * The tail re-centred on a gallery (recentreTail) together with the uncertainty of its mean, and the predictive tail
 * that carries it: a stranger's per-unit rate averaged over where the mean may lie, E[Φ((t − m)/sd)] with
 * m ~ N(m̂, se²), is Φ((t − m̂)/√(sd² + se²)). Without it the threshold is as noisy as m̂ and, the false-match rate
 * being convex in the threshold, galleries would on average exceed the target (by ~10% at 50 people, se ≈ 0.01).
 * se is a grouped jackknife over the gallery's people (G groups, each left out once: se² = (G − 1)/G · Σ(m_g − m̄)²):
 * pairs share people, so treating them as independent would understate it, and a bootstrap of people overstates it
 * (by ~1.8× when the pairs are in fact independent). Deterministic: one gallery always gets one threshold.
 */
export function galleryTail(
  shipped: ImpostorTail,
  pairs: { distances: ArrayLike<number>; a: ArrayLike<number>; b: ArrayLike<number>; people: number },
  groups = RECENTRE_JACKKNIFE_GROUPS,
): { recentred: ImpostorTail; se: number; predictive: ImpostorTail } {
  const n = pairs.distances.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => pairs.distances[i]! - pairs.distances[j]!);
  const sorted = Float64Array.from(order, (i) => pairs.distances[i]!);
  const ps = recentreProbabilities(n);
  const offsets = ps.map((p) => shipped.sd * normalQuantile(p));
  const recentred = { mean: median(ps.map((p, k) => quantileOfSorted(sorted, p) - offsets[k]!)), sd: shipped.sd };
  const g = Math.min(groups, pairs.people);
  const means: number[] = [];
  for (let left = 0; left < g; left++) {
    const kept = (k: number) => pairs.a[order[k]!]! % g !== left && pairs.b[order[k]!]! % g !== left;
    let total = 0;
    for (let k = 0; k < n; k++) if (kept(k)) total++;
    if (total <= 20 / 0.05) continue;
    // Each p's quantile among the pairs kept, read as recentreTail reads it (linear between order statistics).
    const at = ps.map((p) => p * (total - 1));
    const estimates: number[] = [];
    let rank = 0,
      previous = 0,
      next = 0;
    for (let k = 0; k < n && next < ps.length; k++) {
      if (!kept(k)) continue;
      while (next < ps.length && at[next]! <= rank) {
        const lo = Math.floor(at[next]!);
        const value = lo === rank ? sorted[k]! : previous + (sorted[k]! - previous) * (at[next]! - lo);
        estimates.push(value - offsets[next++]!);
      }
      previous = sorted[k]!;
      rank++;
    }
    if (estimates.length === ps.length) means.push(median(estimates));
  }
  const mean = means.reduce((s, m) => s + m, 0) / Math.max(1, means.length);
  const se = means.length > 1 ? Math.sqrt(((means.length - 1) / means.length) * means.reduce((s, m) => s + (m - mean) ** 2, 0)) : 0;
  return { recentred, se, predictive: { mean: recentred.mean, sd: Math.sqrt(shipped.sd ** 2 + se ** 2) } };
}

/** People a gallery needs before its own cross-person distances re-centre the impostor tail (see docs/accuracy.md). */
export const MIN_PEOPLE_FOR_GALLERY_CALIBRATION = 50;

/** Faces of a gallery sampled for its cross-person distances: 600 faces give up to ~180,000 pairs in ~30 ms. */
export const GALLERY_SAMPLE_FACES = 600;

/** What a gallery contributes to its operating point: its size, and optionally a sample of its faces. */
export interface GalleryShape {
  people: number;
  faces: number;
  /**
   * Faces the user enrolled in the gallery (all, or a sample) with their person, for the cross-person distances. Not
   * faces learned from sightings: a certain match is one far from everyone else, so they would pull the tail, and
   * the threshold, up (docs/accuracy.md#a-gallery-that-learns).
   */
  sample?: ReadonlyArray<{ personId: string; descriptor: ArrayLike<number> }>;
}

/** The comparison units of a gallery under a reduction: every face for 'min', every person for 'mean2'. */
export const comparisonUnits = (gallery: { people: number; faces: number }, reduction: Reduction): number =>
  reduction === 'min' ? gallery.faces : gallery.people;

/**
 * Two faces of two people closer than this are one photo enrolled under two names (or a copy of it), not two people:
 * half the distance that 99% of genuine pairs (two photos of one person) exceed. No pair of strangers comes near it
 * (dlib's model: 0.11, 7 sd under the impostor mean), so leaving such pairs out of the impostor sample loses none.
 */
export const sameFaceDistance = (fitted: { genuinePercentiles: readonly number[] }): number => (fitted.genuinePercentiles[1] ?? 0) / 2;

/**
 * How far down, in the shipped tail's sd, a gallery's own distances may move the impostor mean before they are not
 * used: random LFW galleries differ by 0.1 sd (docs/accuracy.md), a population unlike LFW's by a few tenths; a gallery
 * whose different people lie much closer than that is not a sample of different people (one person under many
 * names), and its threshold would name no one, or go negative. (Up, a gallery only asks for a looser threshold.)
 */
export const MAX_RECENTRE_SHIFT_SDS = 3;

/**
 * Cross-person and same-person distances among a gallery's sampled faces (each unordered pair once), with the two
 * people of each cross-person pair (indices from 0 to people − 1) for the bootstrap of galleryTail. Cross-person
 * pairs under `sameFaceBelow` (sameFaceDistance) are one face under two names: counted in `sameFace`, left out.
 */
export function sampleDistances(
  sample: NonNullable<GalleryShape['sample']>,
  sameFaceBelow = 0,
): {
  crossPerson: number[];
  samePerson: number[];
  pairs: { distances: number[]; a: number[]; b: number[]; people: number };
  sameFace: number;
} {
  const crossPerson: number[] = [],
    samePerson: number[] = [],
    a: number[] = [],
    b: number[] = [];
  let sameFace = 0;
  const personIndex = new Map<string, number>();
  const index = sample.map((f) => personIndex.get(f.personId) ?? personIndex.set(f.personId, personIndex.size).get(f.personId)!);
  for (let i = 0; i < sample.length; i++) {
    const x = sample[i]!.descriptor;
    for (let j = i + 1; j < sample.length; j++) {
      const y = sample[j]!.descriptor;
      let sum = 0;
      for (let k = 0; k < x.length; k++) sum += (x[k]! - y[k]!) ** 2;
      const distance = Math.sqrt(sum);
      if (index[i] === index[j]) samePerson.push(distance);
      else if (distance < sameFaceBelow) sameFace++;
      else {
        crossPerson.push(distance);
        a.push(index[i]!);
        b.push(index[j]!);
      }
    }
  }
  return { crossPerson, samePerson, pairs: { distances: crossPerson, a, b, people: personIndex.size }, sameFace };
}

/**
 * The identify threshold for a gallery at `targetFpir`: from the shipped tail, or, once the gallery has
 * MIN_PEOPLE_FOR_GALLERY_CALIBRATION people and a sample of its faces is given, from the tail re-centred on them.
 * Only under 'min', whose unit is one face as the sample's distances are; 'mean2' keeps the shipped tail. Pairs of one
 * face under two names are left out of the sample (sameFaceDistance); a gallery whose own distances would move the
 * mean by more than MAX_RECENTRE_SHIFT_SDS, or give no positive threshold, keeps the shipped tail and says why.
 */
export function operatingPoint(
  model: ImpostorModel,
  reduction: Reduction,
  targetFpir: number,
  gallery: GalleryShape,
  options: { minPeople?: number } = {},
): OperatingPoint {
  checkFpir(targetFpir);
  const fitted = model.reductions[reduction];
  const units = Math.max(1, comparisonUnits(gallery, reduction)) * (fitted.unitsFactor ?? 1);
  let tail = fitted.tail;
  let source: ThresholdSource = 'target-fpir';
  let genuine: number[] | undefined;
  let used = 0;
  let tailMeanSe = 0;
  let sameFacePairs = 0;
  let notCalibrated: string | undefined;
  if (reduction === 'min' && gallery.sample && gallery.people >= (options.minPeople ?? MIN_PEOPLE_FOR_GALLERY_CALIBRATION)) {
    const { crossPerson, samePerson, pairs, sameFace } = sampleDistances(gallery.sample, sameFaceDistance(fitted));
    sameFacePairs = sameFace;
    if (crossPerson.length > 20 / 0.05) {
      const calibrated = galleryTail(fitted.tail, pairs);
      const shift = (calibrated.recentred.mean - fitted.tail.mean) / fitted.tail.sd;
      if (shift < -MAX_RECENTRE_SHIFT_SDS) {
        notCalibrated =
          `the gallery's cross-person distances would move the impostor mean down by ${(-shift).toFixed(1)} sd (at most ` +
          `${MAX_RECENTRE_SHIFT_SDS}): its people are not like different people (one person under several names?)`;
      } else if (!(thresholdForFpir(calibrated.predictive, targetFpir, units) > 0)) {
        notCalibrated = "the gallery's cross-person distances give no positive threshold";
      } else {
        ({ predictive: tail, se: tailMeanSe } = calibrated);
        source = 'gallery-calibrated';
        used = crossPerson.length;
        if (samePerson.length >= 20) genuine = samePerson;
      }
    }
  }
  const threshold = thresholdForFpir(tail, targetFpir, units);
  return {
    threshold,
    source,
    targetFpir,
    units,
    expectedFpir: expectedFpir(tail, threshold, units),
    expectedDir: genuine
      ? genuine.filter((d) => d <= threshold).length / genuine.length
      : genuineRate(fitted.genuinePercentiles, threshold),
    tail,
    tailMeanSe,
    crossPersonDistances: used,
    sameFacePairs,
    ...(notCalibrated ? { notCalibrated } : {}),
  };
}
