/**
 * Confidence that a probe and a candidate are the same person, from their distance: a logistic (Platt) model
 * P(same | distance) = 1 / (1 + exp(-(intercept + slope * distance))), slope < 0, fitted on labelled pairs.
 */
import { InvalidArgumentError } from '../errors.js';

export interface ConfidenceModel {
  slope: number;
  intercept: number;
}

// Fitted by scripts/fit-confidence.ts on LFW View 1 pairsDevTrain (1100 same / 1100 different), shipped pipeline (dlib chip + mirror).
export const DEFAULT_CONFIDENCE: ConfidenceModel = Object.freeze({ slope: -39.2994, intercept: 23.8499 });

// A tiny ridge on the slope keeps the fit finite when the classes are perfectly separable.
const SLOPE_RIDGE = 1e-3;
const MAX_ITERATIONS = 100;

/** log(1 + exp(z)) without overflow. */
function softplus(z: number): number {
  return z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
}

function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

/** Confidence in [0, 1] that a candidate at `distance` is the same person; 0 for a missing (infinite) distance. */
export function confidenceOf(distance: number, model: ConfidenceModel = DEFAULT_CONFIDENCE): number {
  if (distance === Infinity) return 0;
  return sigmoid(model.intercept + model.slope * distance);
}

/** Fits the model by maximum likelihood (Newton's method with step halving); deterministic. */
export function fitConfidence(distances: number[], same: boolean[]): ConfidenceModel {
  if (distances.length !== same.length)
    throw new InvalidArgumentError(`fitConfidence got ${distances.length} distances but ${same.length} labels`);
  if (distances.some((d) => !Number.isFinite(d))) throw new InvalidArgumentError('fitConfidence needs finite distances');
  const positives = same.filter(Boolean).length;
  if (positives === 0 || positives === same.length)
    throw new InvalidArgumentError('fitConfidence needs both same-person and different-person pairs');

  const loss = (b0: number, b1: number): number => {
    let sum = (SLOPE_RIDGE / 2) * b1 * b1;
    for (let i = 0; i < distances.length; i++) {
      const z = b0 + b1 * distances[i]!;
      sum += softplus(z) - (same[i] ? z : 0);
    }
    return sum;
  };
  let b0 = Math.log(positives / (same.length - positives)),
    b1 = 0;
  let current = loss(b0, b1);
  for (let iteration = 0; iteration < MAX_ITERATIONS; iteration++) {
    let g0 = 0,
      g1 = SLOPE_RIDGE * b1,
      h00 = 0,
      h01 = 0,
      h11 = SLOPE_RIDGE;
    for (let i = 0; i < distances.length; i++) {
      const d = distances[i]!;
      const p = sigmoid(b0 + b1 * d);
      const r = p - (same[i] ? 1 : 0);
      const w = p * (1 - p);
      g0 += r;
      g1 += r * d;
      h00 += w;
      h01 += w * d;
      h11 += w * d * d;
    }
    const det = h00 * h11 - h01 * h01;
    if (!(det > 0)) break;
    const s0 = (h11 * g0 - h01 * g1) / det,
      s1 = (h00 * g1 - h01 * g0) / det;
    let t = 1,
      next = loss(b0 - s0, b1 - s1);
    while (next > current && t > 1e-10) {
      t /= 2;
      next = loss(b0 - t * s0, b1 - t * s1);
    }
    if (next > current) break;
    b0 -= t * s0;
    b1 -= t * s1;
    const converged = current - next < 1e-12 * (1 + Math.abs(current)) && Math.abs(t * s1) < 1e-9;
    current = next;
    if (converged) break;
  }
  return { slope: b1, intercept: b0 };
}
