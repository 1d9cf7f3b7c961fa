/**
 * Fits the impostor model (src/match/open-set.ts) on one side of LFW: the distances between a face and other
 * people's enrolled units, reduced as identify reduces them, and the same people's genuine distances.
 */
import { readFile } from 'node:fs/promises';
import { percentiles, fitTail, type ImpostorModel } from '../match/open-set.js';
import type { Reduction } from '../match/reduce.js';
import type { LfwImage } from './identification.js';
import { readPairs } from './lfw.js';
import { sweepGallerySizes } from './open-set-sweep.js';

/** The probability range of the impostor tail that is fitted: from the 1-in-100,000 distance to the 5% one. */
export const FIT_RANGE: [number, number] = [1e-5, 0.05];

/** Every image a pairs file names (one side of View 1: DevTrain and DevTest share no person). */
export async function pairsImages(file: string): Promise<Set<string>> {
  const { pairs } = await readPairs(file);
  return new Set(pairs.flatMap((p) => [p.a, p.b]));
}

function squaredDistance(a: Float64Array, ai: number, b: Float64Array, bi: number, dims: number): number {
  let sum = 0;
  for (let k = 0; k < dims; k++) {
    const d = a[ai + k]! - b[bi + k]!;
    sum += d * d;
  }
  return sum;
}

/**
 * 'min' units are faces: every unordered pair of faces of different people is one impostor distance, every pair of
 * the same person one genuine distance. 'mean2' units are people with two faces (their lowest-numbered): a face's
 * distance to such a person is the mean of its distances to both; genuine: a person's third and later faces
 * against their first two.
 */
export function fitImpostorModel(
  images: readonly LfwImage[],
  descriptors: ReadonlyMap<string, number[] | null>,
  descriptorModelId: string,
  source: string,
): ImpostorModel {
  const faces = images.filter((i) => descriptors.get(i.file)).sort((a, b) => a.name.localeCompare(b.name) || a.index - b.index);
  const dims = descriptors.get(faces[0]!.file)!.length;
  const packed = new Float64Array(faces.length * dims);
  faces.forEach((f, i) => packed.set(descriptors.get(f.file)!, i * dims));

  const impostorMin: number[] = [],
    genuineMin: number[] = [];
  for (let i = 0; i < faces.length; i++)
    for (let j = i + 1; j < faces.length; j++) {
      const d = Math.sqrt(squaredDistance(packed, i * dims, packed, j * dims, dims));
      (faces[i]!.name === faces[j]!.name ? genuineMin : impostorMin).push(d);
    }

  // mean2: people with at least two faces, enrolled from their first two.
  const firstOf = new Map<string, number[]>();
  faces.forEach((f, i) => firstOf.set(f.name, [...(firstOf.get(f.name) ?? []), i]));
  const pairsOf = [...firstOf].filter(([, list]) => list.length >= 2).map(([name, list]) => ({ name, a: list[0]!, b: list[1]! }));
  const impostorMean2: number[] = [],
    genuineMean2: number[] = [];
  for (let i = 0; i < faces.length; i++) {
    for (const person of pairsOf) {
      const own = person.name === faces[i]!.name;
      if (own && (i === person.a || i === person.b)) continue;
      const d =
        (Math.sqrt(squaredDistance(packed, i * dims, packed, person.a * dims, dims)) +
          Math.sqrt(squaredDistance(packed, i * dims, packed, person.b * dims, dims))) /
        2;
      (own ? genuineMean2 : impostorMean2).push(d);
    }
  }

  const entry = (impostor: number[], genuine: number[]) => {
    const { tail, range } = fitTail(impostor, FIT_RANGE);
    const round = (v: number) => Math.round(v * 1e6) / 1e6;
    return {
      tail: { mean: round(tail.mean), sd: round(tail.sd) },
      genuinePercentiles: percentiles(genuine).map((v) => Math.round(v * 1e4) / 1e4),
      impostorDistances: impostor.length,
      fittedRange: range,
    };
  };
  const reductions: Record<Reduction, ImpostorModel['reductions']['min']> = {
    min: entry(impostorMin, genuineMin),
    mean2: entry(impostorMean2, genuineMean2),
  };
  return { descriptorModelId, source, reductions };
}

/**
 * The model's unitsFactor per reduction, measured on the fit side itself: the gallery-size sweep (sizes 10 to all,
 * 1 and 2 photos, 5 draws) under the rule with κ = 1 and the shipped tail only; κ = mean observed FPIR / target.
 * Under independence the rule would hit its target and κ would be 1; it comes out below.
 */
export function measureUnitsFactor(
  model: ImpostorModel,
  images: readonly LfwImage[],
  descriptors: ReadonlyMap<string, number[] | null>,
  targetFpir = 0.01,
): ImpostorModel {
  const out: ImpostorModel = structuredClone(model);
  for (const reduction of ['min', 'mean2'] as const) {
    const plain: ImpostorModel = structuredClone(model);
    plain.reductions[reduction].unitsFactor = 1;
    const rows = sweepGallerySizes(images, descriptors, {
      model: plain,
      reduction,
      targetFpir,
      fixedThreshold: 0.59,
      ambiguityMargin: 0.02,
      topK: 3,
      draws: 5,
      minPeopleForGallery: Number.POSITIVE_INFINITY,
    });
    const observed = rows.reduce((sum, r) => sum + r.rule.fpir.mean, 0) / rows.length;
    out.reductions[reduction].unitsFactor = Math.round(Math.min(1, observed / targetFpir) * 1000) / 1000;
  }
  return out;
}

/** Reads an impostor model file (models/impostor-model.json's format) and picks the entry of `descriptorModelId`. */
export async function readImpostorModelFile(file: string, descriptorModelId: string): Promise<ImpostorModel> {
  const parsed = JSON.parse(await readFile(file, 'utf8')) as { models: Record<string, ImpostorModel> };
  const model = parsed.models[descriptorModelId];
  if (!model) throw new Error(`${file} has no impostor model for ${descriptorModelId}`);
  return model;
}
