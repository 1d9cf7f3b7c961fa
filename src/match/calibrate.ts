/** Threshold calibration on a labelled gallery: genuine and impostor distances as identification would see them. */
import { InvalidArgumentError } from '../errors.js';
import { reduceNearest, type Reduction } from './reduce.js';

export interface CalibrationPerson {
  personId: string;
  descriptors: number[][];
}

export interface CalibrationReport {
  /** People with at least one face. */
  people: number;
  faces: number;
  genuine: number[];
  impostor: number[];
  /** The requested false accept rate. */
  far: number;
  threshold: number;
  /** Genuine accept rate (genuine <= threshold). */
  tar: number;
  /** Impostor accept rate (impostor <= threshold); <= far unless impostors lie at distance 0. */
  achievedFar: number;
}

/**
 * Genuine: each face of a person with >=2 faces against the person's OTHER faces (leave one out), reduced with
 * `reduction`. Impostor: each face against every other person's faces, reduced per person. threshold = the largest
 * observed distance whose impostor accept rate (impostor <= t) is <= far; tar = genuine accept rate at it.
 */
export function calibrate(people: readonly CalibrationPerson[], far: number, reduction: Reduction): CalibrationReport {
  if (!(far >= 0 && far <= 1)) throw new InvalidArgumentError(`far must be in [0, 1], got ${far}`, { far });
  const gallery = people.filter((p) => p.descriptors.length > 0);
  const withPairs = gallery.filter((p) => p.descriptors.length >= 2).length;
  if (withPairs < 2) {
    throw new InvalidArgumentError(`Calibration needs at least 2 people with 2 or more faces each, got ${withPairs}`, {
      peopleWithTwoFaces: withPairs,
    });
  }
  const owner = gallery.flatMap((p, person) => p.descriptors.map(() => person));
  const faces = owner.length;
  const dims = gallery[0]!.descriptors[0]!.length;
  const odd = gallery.find((p) => p.descriptors.some((d) => d.length !== dims));
  if (odd)
    throw new InvalidArgumentError(`All descriptors must have ${dims} dimensions; person ${odd.personId} has another size`, {
      personId: odd.personId,
    });
  // One packed row-major matrix: the n^2 inner loop is then plain typed-array arithmetic.
  const packed = Float64Array.from(gallery.flatMap((p) => p.descriptors.flat()));

  const genuine: number[] = [];
  const impostor: number[] = [];
  // Per probe face: each person's closest and second-closest squared distance, which is all either reduction needs.
  const closest = new Float64Array(gallery.length),
    second = new Float64Array(gallery.length);
  for (let i = 0; i < faces; i++) {
    closest.fill(Infinity);
    second.fill(Infinity);
    for (let j = 0; j < faces; j++) {
      if (j === i) continue;
      let sum = 0;
      for (let k = 0, a = i * dims, b = j * dims; k < dims; k++) {
        const diff = packed[a + k]! - packed[b + k]!;
        sum += diff * diff;
      }
      const person = owner[j]!;
      if (sum < closest[person]!) {
        second[person] = closest[person]!;
        closest[person] = sum;
      } else if (sum < second[person]!) second[person] = sum;
    }
    for (let person = 0; person < gallery.length; person++) {
      if (closest[person] === Infinity) continue; // the probe's own person when it has a single face
      const distance = reduceNearest(Math.sqrt(closest[person]!), Math.sqrt(second[person]!), reduction);
      (person === owner[i] ? genuine : impostor).push(distance);
    }
  }

  const threshold = largestThresholdAtFar(genuine, impostor, far);
  const acceptRate = (distances: readonly number[]) => {
    let accepted = 0;
    for (const d of distances) if (d <= threshold) accepted++;
    return distances.length === 0 ? 0 : accepted / distances.length;
  };
  return { people: gallery.length, faces, genuine, impostor, far, threshold, tar: acceptRate(genuine), achievedFar: acceptRate(impostor) };
}

/** The largest observed distance t with #{impostor <= t} <= far · #impostor (0 when none qualifies). */
function largestThresholdAtFar(genuine: readonly number[], impostor: readonly number[], far: number): number {
  const sorted = Float64Array.from(impostor).sort();
  // Epsilon: far · n is often an integer computed inexactly (0.29 · 100 = 28.999999999999996).
  const allowed = Math.floor(far * sorted.length + 1e-9);
  // Accepting `allowed` impostors means staying strictly below the next one.
  const limit = sorted[allowed] ?? Infinity;
  let threshold = 0;
  for (const d of genuine) if (d < limit && d > threshold) threshold = d;
  for (const d of sorted) if (d < limit && d > threshold) threshold = d;
  return threshold;
}
