/**
 * Open-set identification by gallery size: random galleries of 10, 50, 200, 500 and all available people, with 1
 * and 2 enrolled photos each, several draws per size, decided at the fixed threshold and by the target-FPIR rule
 * (src/match/open-set.ts), with the threshold sweep's best DIR at the same FPIR beside them. The search is exact
 * and in memory (the store's search gives the same neighbours: see `evaluateIdentification`), so that tens of
 * galleries take seconds. Also measures Z-norm (cohort score normalisation) and the ambiguity margin.
 */
import { rng } from '../core/random.js';
import { euclidean } from '../match/distance.js';
import { operatingPoint, GALLERY_SAMPLE_FACES, type ImpostorModel, type ThresholdSource } from '../match/open-set.js';
import { compareCandidates, reducePerPerson, type FaceHit, type PersonCandidate, type Reduction } from '../match/reduce.js';
import { operatingPointAtFpir, ratesAt, type IdentificationRates, type ScoredProbe } from './identification.js';
import type { LfwImage } from './identification.js';

export const GALLERY_SIZES: readonly (number | 'all')[] = [10, 50, 200, 500, 'all'];

export interface SweepOptions {
  model: ImpostorModel;
  reduction: Reduction;
  targetFpir: number;
  /** The fixed threshold the rule replaces (FACEREC_THRESHOLD). */
  fixedThreshold: number;
  ambiguityMargin: number;
  topK: number;
  sizes?: readonly (number | 'all')[];
  photos?: readonly number[];
  draws?: number;
  seed?: number;
  /** Faces of people outside the evaluated images (the fit side), for Z-norm's per-person impostor statistics. */
  cohort?: readonly number[][];
  /** Below this many people the rule stays on the shipped tail (default: the service's). */
  minPeopleForGallery?: number;
}

/** Mean and standard deviation of one figure over the draws. */
export interface Spread {
  mean: number;
  sd: number;
}

export interface SizeResult {
  photosPerPerson: number;
  /** People enrolled. */
  size: number;
  /** 'all (N)' when every available person is enrolled (its draws then differ only in the photos enrolled). */
  label: string;
  draws: number;
  matedProbes: Spread;
  nonMatedProbes: Spread;
  /**
   * The binomial noise of one draw's FPIR at the target: √(target · (1 − target) / strangers). With S strangers an
   * FPIR of 1% is about S/100 events, so a draw's FPIR is that far from its expectation by chance alone.
   */
  strangerNoise: number;
  fixed: RatesSpread;
  /** The target-FPIR rule as the service applies it (gallery-calibrated once the gallery is large enough). */
  rule: RatesSpread & {
    threshold: Spread;
    sources: Partial<Record<ThresholdSource, number>>;
    /** False matches and strangers summed over the draws (the pooled FPIR is their ratio). */
    falseMatches: number;
    strangers: number;
  };
  /** The rule on the shipped tail only, never gallery-calibrated. */
  shippedTail: RatesSpread & { threshold: Spread };
  /** The sweep's best DIR with FPIR no higher than the rule's, per draw (an oracle: it knows the answers). */
  bestAtRuleFpir: Spread;
  /** The rule's threshold without the ambiguity margin. */
  noMargin: RatesSpread;
  /** Z-norm against the cohort vs raw distances, both by the sweep's best DIR at FPIR ≤ target, margin 0. */
  zNorm?: { raw: Spread; normalised: Spread };
}

export interface RatesSpread {
  fpir: Spread;
  dir: Spread;
  misidentification: Spread;
  ambiguousMated: Spread;
  ambiguousNonMated: Spread;
}

function shuffled<T>(items: readonly T[], next: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

export function spread(values: readonly number[]): Spread {
  const mean = values.reduce((s, v) => s + v, 0) / Math.max(1, values.length);
  const sd = values.length > 1 ? Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / (values.length - 1)) : 0;
  return { mean, sd };
}

const ratesSpread = (list: readonly IdentificationRates[]): RatesSpread => ({
  fpir: spread(list.map((r) => r.fpir)),
  dir: spread(list.map((r) => r.dir)),
  misidentification: spread(list.map((r) => r.misidentification)),
  ambiguousMated: spread(list.map((r) => r.ambiguousMated)),
  ambiguousNonMated: spread(list.map((r) => r.ambiguousNonMated)),
});

interface Probe {
  file: string;
  truth: string | null;
  descriptor: number[] | null;
}

interface Enrolled {
  name: string;
  faces: number[][];
}

/** Each probe against every enrolled face (exact), reduced per person, the closest `keep` people kept. */
function search(gallery: readonly Enrolled[], probes: readonly Probe[], reduction: Reduction, keep: number): ScoredProbe[] {
  return probes.map((p) => {
    if (!p.descriptor) return { file: p.file, truth: p.truth, candidates: null };
    const hits: FaceHit[] = [];
    for (const person of gallery)
      person.faces.forEach((face, i) =>
        hits.push({ faceId: `${person.name}#${i}`, personId: person.name, name: person.name, distance: euclidean(p.descriptor!, face) }),
      );
    return { file: p.file, truth: p.truth, candidates: reducePerPerson(hits, reduction).slice(0, keep) };
  });
}

/** Z-norm: each person's distance as (d − μ) / σ of that person's distances to the cohort, re-ranked. */
function zNormalise(probes: readonly ScoredProbe[], stats: ReadonlyMap<string, { mean: number; sd: number }>): ScoredProbe[] {
  return probes.map((p) => ({
    ...p,
    candidates:
      p.candidates &&
      p.candidates
        .map((c): PersonCandidate => {
          const s = stats.get(c.personId)!;
          // Shifted to stay positive: matchFaces wants a positive threshold; the order and the gaps are unchanged.
          return { ...c, distance: (c.distance - s.mean) / s.sd + 100 };
        })
        .sort(compareCandidates),
  }));
}

function cohortStats(gallery: readonly Enrolled[], cohort: readonly number[][], reduction: Reduction) {
  const stats = new Map<string, { mean: number; sd: number }>();
  for (const person of gallery) {
    const distances = cohort.map((c) => {
      const hits = person.faces.map((f, i) => ({ faceId: String(i), personId: person.name, name: person.name, distance: euclidean(c, f) }));
      return reducePerPerson(hits, reduction)[0]!.distance;
    });
    stats.set(person.name, spread(distances));
  }
  return stats;
}

/**
 * Runs every (photos, size, draw) gallery over `images` (one side of LFW): gallery people have more than `photos`
 * images and at least `photos` with a face, of which `photos` drawn at random are enrolled; mated probes are their
 * other images, non-mated probes every image of a person not enrolled.
 */
export function sweepGallerySizes(
  images: readonly LfwImage[],
  descriptors: ReadonlyMap<string, number[] | null>,
  options: SweepOptions,
  onGallery?: (label: string) => void,
): SizeResult[] {
  const byPerson = new Map<string, LfwImage[]>();
  for (const image of images) byPerson.set(image.name, [...(byPerson.get(image.name) ?? []), image]);
  for (const list of byPerson.values()) list.sort((a, b) => a.index - b.index);
  const descriptorOf = (image: LfwImage) => descriptors.get(image.file) ?? null;
  const matchOptions = { ambiguityMargin: options.ambiguityMargin, topK: options.topK };
  const results: SizeResult[] = [];

  for (const photos of options.photos ?? [1, 2]) {
    // People with a photo to probe beyond the enrolled ones, and enough photos with a face to enrol.
    const eligible = [...byPerson.keys()]
      .sort()
      .filter((name) => byPerson.get(name)!.length > photos && byPerson.get(name)!.filter((i) => descriptorOf(i)).length >= photos);
    const sizes = [...new Set((options.sizes ?? GALLERY_SIZES).map((s) => (s === 'all' ? eligible.length : s)))].filter(
      (s) => s <= eligible.length,
    );
    for (const size of sizes) {
      const all = size === eligible.length;
      const draws = options.draws ?? 20;
      const label = all ? `all (${size})` : String(size);
      const per = {
        fixed: [] as IdentificationRates[],
        rule: [] as IdentificationRates[],
        shippedTail: [] as IdentificationRates[],
        noMargin: [] as IdentificationRates[],
        ruleThreshold: [] as number[],
        shippedThreshold: [] as number[],
        best: [] as number[],
        mated: [] as number[],
        nonMated: [] as number[],
        zRaw: [] as number[],
        zNorm: [] as number[],
        sources: {} as Partial<Record<ThresholdSource, number>>,
      };
      for (let draw = 0; draw < draws; draw++) {
        onGallery?.(`${photos} photo(s), ${label}, draw ${draw + 1}/${draws}`);
        const next = rng((options.seed ?? 17) + 1000 * photos + 7919 * size + draw);
        const chosen = new Set(all ? eligible : shuffled(eligible, next).slice(0, size));
        // Which of a person's photos are enrolled is drawn too, so that the draws of 'all' differ (in their galleries;
        // its strangers, everyone with fewer photos, stay the same).
        const enrolled = new Map(
          [...chosen].map((name) => [
            name,
            new Set(
              shuffled(
                byPerson.get(name)!.filter((i) => descriptorOf(i)),
                next,
              ).slice(0, photos),
            ),
          ]),
        );
        const gallery: Enrolled[] = [...enrolled].map(([name, photosOf]) => ({ name, faces: [...photosOf].map((i) => descriptorOf(i)!) }));
        const probes = [...byPerson].flatMap(([name, list]): Probe[] =>
          chosen.has(name)
            ? list.filter((i) => !enrolled.get(name)!.has(i)).map((i) => ({ file: i.file, truth: name, descriptor: descriptorOf(i) }))
            : list.map((i) => ({ file: i.file, truth: null, descriptor: descriptorOf(i) })),
        );
        const scored = search(gallery, probes, options.reduction, Math.max(options.topK, 8));
        per.mated.push(probes.filter((p) => p.truth !== null).length);
        per.nonMated.push(probes.filter((p) => p.truth === null).length);
        per.fixed.push(ratesAt(scored, { ...matchOptions, threshold: options.fixedThreshold }));

        const faces = gallery.flatMap((p) => p.faces.map((descriptor) => ({ personId: p.name, descriptor })));
        // The service samples by a hash of the face id; a seeded shuffle is the same kind of sample.
        const sample = faces.length > GALLERY_SAMPLE_FACES ? shuffled(faces, next).slice(0, GALLERY_SAMPLE_FACES) : faces;
        const shape = { people: gallery.length, faces: faces.length };
        const minPeople = options.minPeopleForGallery !== undefined ? { minPeople: options.minPeopleForGallery } : {};
        const point = operatingPoint(options.model, options.reduction, options.targetFpir, { ...shape, sample }, minPeople);
        const shipped = operatingPoint(options.model, options.reduction, options.targetFpir, shape);
        per.sources[point.source] = (per.sources[point.source] ?? 0) + 1;
        per.ruleThreshold.push(point.threshold);
        per.shippedThreshold.push(shipped.threshold);
        const rule = ratesAt(scored, { ...matchOptions, threshold: point.threshold });
        per.rule.push(rule);
        per.shippedTail.push(ratesAt(scored, { ...matchOptions, threshold: shipped.threshold }));
        per.noMargin.push(ratesAt(scored, { ...matchOptions, ambiguityMargin: 0, threshold: point.threshold }));
        per.best.push(operatingPointAtFpir(scored, rule.fpir, matchOptions).rates.dir);
        if (options.cohort?.length) {
          const noMargin = { ...matchOptions, ambiguityMargin: 0 };
          per.zRaw.push(operatingPointAtFpir(scored, options.targetFpir, noMargin).rates.dir);
          const z = zNormalise(
            search(gallery, probes, options.reduction, Math.max(options.topK, 50)),
            cohortStats(gallery, options.cohort, options.reduction),
          );
          per.zNorm.push(operatingPointAtFpir(z, options.targetFpir, noMargin).rates.dir);
        }
      }
      results.push({
        photosPerPerson: photos,
        size,
        label,
        draws,
        matedProbes: spread(per.mated),
        nonMatedProbes: spread(per.nonMated),
        strangerNoise: Math.sqrt((options.targetFpir * (1 - options.targetFpir)) / Math.max(1, spread(per.nonMated).mean)),
        fixed: ratesSpread(per.fixed),
        rule: {
          ...ratesSpread(per.rule),
          threshold: spread(per.ruleThreshold),
          sources: per.sources,
          falseMatches: per.rule.reduce((sum, r) => sum + r.counts.falsePositives, 0),
          strangers: per.rule.reduce((sum, r) => sum + r.nonMatedProbes, 0),
        },
        shippedTail: { ...ratesSpread(per.shippedTail), threshold: spread(per.shippedThreshold) },
        bestAtRuleFpir: spread(per.best),
        noMargin: ratesSpread(per.noMargin),
        ...(per.zNorm.length ? { zNorm: { raw: spread(per.zRaw), normalised: spread(per.zNorm) } } : {}),
      });
    }
  }
  return results;
}
