/**
 * `facerec eval stream`: a gallery that learns, on LFW (issue 24). People are enrolled from one photo; their other
 * photos arrive in a random order among strangers' photos, and each is identified as identify does (the nearest
 * faces, reduced per person, matchFaces at the gallery's threshold from the impostor model, the ambiguity margin).
 * Per mode, faces become templates: none (off), the correct matches a simulated human confirms (confirm), the
 * certain matches (certain, src/match/learn.ts), or both. Before and after the stream, each person's held-back photo
 * is identified (DIR) and so are strangers never streamed (FPIR); the two-photo enrollment of the same people is the
 * bar. Exact search in memory, as the gallery-size sweep does (src/eval/open-set-sweep.ts).
 */
import { createHash } from 'node:crypto';
import { rng } from '../core/random.js';
import { matchFaces, type FaceMatch } from '../match/identify.js';
import {
  certainMatchRule,
  chooseTemplateChange,
  DEFAULT_ADD_FPIR,
  DEFAULT_DUPLICATE_PERCENTILE,
  DEFAULT_GAP_IQR,
  DEFAULT_TEMPLATE_CAP,
  duplicateDistance,
  isCertainMatch,
  type CertainRule,
  type CertainVerdict,
  type QualityGates,
  type SeenQuality,
  type SightingSource,
  type SkipReason,
  type Template,
  trustedDistance,
} from '../match/learn.js';
import {
  comparisonUnits,
  expectedFpir,
  GALLERY_SAMPLE_FACES,
  operatingPoint,
  thresholdForFpir,
  type ImpostorModel,
  type OperatingPoint,
} from '../match/open-set.js';
import { reducePerPerson, type FaceHit, type Reduction } from '../match/reduce.js';
import { neighbourLimit } from '../service/identify.service.js';
import { identificationRates, type ProbeDecision } from './identification.js';
import { spread, type Spread } from './open-set-sweep.js';

/** One photo's subject face: its person (LFW folder name), descriptor (null: no face) and quality when known. */
export interface StreamImage {
  file: string;
  name: string;
  descriptor: number[] | null;
  quality?: SeenQuality | null;
}

/** The product's defaults of src/match/learn.ts, which the evaluation runs at unless told otherwise. */
export const LEARN_DEFAULTS = {
  cap: DEFAULT_TEMPLATE_CAP,
  addFpir: DEFAULT_ADD_FPIR,
  gapIqr: DEFAULT_GAP_IQR,
  duplicatePercentile: DEFAULT_DUPLICATE_PERCENTILE,
} as const;

/**
 * off: no learning; confirm: the human confirms a share of the correct matches; certain: certain matches are learned;
 * both: the two together; every: every photo of an enrolled person in the stream is confirmed, matched or not (a
 * human labelling every face: the ceiling of what the stream can teach).
 */
export type LearnMode = 'off' | 'confirm' | 'certain' | 'both' | 'every';
export const LEARN_MODES: readonly LearnMode[] = ['off', 'confirm', 'certain', 'both', 'every'];

export interface StreamOptions {
  model: ImpostorModel;
  reduction: Reduction;
  targetFpir: number;
  ambiguityMargin: number;
  topK: number;
  /** Random orders (each draws the enrolled and held-back photos, the strangers' split and the stream's order). */
  orders: number;
  seed: number;
  modes: readonly LearnMode[];
  /** The share of correct matches the simulated human confirms (confirm and both). */
  confirmShare: number;
  /** The share of people with several photos kept out of the gallery: their photos are streamed as repeat strangers. */
  repeatStrangers: number;
  /** Strangers' photos streamed per genuine photo (repeat strangers' photos included). */
  strangerRatio: number;
  learn: {
    cap: number;
    addFpir: number;
    gapIqr: number;
    duplicatePercentile: number;
    /** Judge a match's distance against the person's enrolled and confirmed faces only (SeenFace.trustedDistance). */
    anchored: boolean;
    /** The quality gates of a certain match; null when the descriptors carry no quality. */
    quality: QualityGates | null;
  };
  /** Below this many people the threshold stays on the shipped tail (default: the service's). */
  minPeopleForGallery?: number;
  /**
   * Re-centre the threshold's impostor tail on a sample of the enrolled and confirmed faces only (default true, as
   * the service does), or of every face, learned ones too (false, for comparison).
   */
  calibrateOnEnrolled?: boolean;
  onOrder?: (order: number) => void;
  /** Each stream face matched to someone, with what the certain rule said (for studies of the rule). */
  onMatch?: (event: {
    order: number;
    mode: LearnMode;
    file: string;
    truth: string | null;
    named: string;
    face: FaceMatch;
    verdict: CertainVerdict;
    rule: CertainRule;
  }) => void;
}

/** Identification of the held-back photos and the held-out strangers against one gallery. */
export interface Snapshot {
  threshold: number;
  faces: number;
  /** DIR on the held-back photos of the people with stream photos (the learners), and of everyone enrolled. */
  dirLearners: number;
  dirAll: number;
  fpir: number;
  falseMatches: number;
  strangers: number;
  misidentified: number;
  /** DIR of the learners by how many of their photos the stream holds ('1', '2', '3+'). */
  byStreamPhotos: Record<string, { people: number; dir: number }>;
  /** The same at a fixed threshold (after the stream: the threshold before it), to tell the rule's move from the templates'. */
  atFixed?: { threshold: number; fpir: number; dirLearners: number; dirAll: number };
}

export interface ModeResult {
  mode: LearnMode;
  after: Snapshot;
  /** Templates added (an add, or a replacement: a template in), and how many of them were someone else's face. */
  added: number;
  replaced: number;
  skipped: Partial<Record<SkipReason, number>>;
  wrongAdds: number;
  /** Of the wrong adds: a face of a person never enrolled (a stranger), or of another enrolled person. */
  wrongFromStrangers: number;
  wrongFromEnrolled: number;
  /** Each wrong add as 'whose face → whose template' (LFW names), with how many times. */
  wrongPairs: Record<string, number>;
  /** Stream faces that were candidates (confirmed, or certain). */
  confirmed: number;
  certain: number;
  /** Templates per learner after the stream (mean) and the most any person had. */
  templatesPerLearner: number;
  maxTemplates: number;
}

export interface OrderResult {
  people: number;
  learners: number;
  stream: { genuine: number; repeatStrangers: number; strangers: number };
  heldOutStrangers: number;
  before: Snapshot;
  twoPhotos: Snapshot;
  modes: ModeResult[];
}

export interface StreamSummary {
  mode: LearnMode;
  before: SnapshotSpread;
  after: SnapshotSpread;
  twoPhotos: SnapshotSpread;
  added: Spread;
  wrongAdds: number;
  totalAdded: number;
  /** One-sided 95% upper bound of the wrong-add rate per template added (exact binomial). */
  wrongAddRateUpper95: number;
  wrongFromStrangers: number;
  wrongFromEnrolled: number;
  /** The wrong adds of every order by 'whose face → whose template', most frequent first. */
  wrongPairs: Array<[pair: string, adds: number]>;
  templatesPerLearner: Spread;
  maxTemplates: number;
  /** FPIR pooled over the orders: false matches / strangers. */
  pooledFpir: { before: number; after: number };
}

export interface SnapshotSpread {
  threshold: Spread;
  dirLearners: Spread;
  dirAll: Spread;
  fpir: Spread;
  atFixed?: { fpir: Spread; dirLearners: Spread; dirAll: Spread };
  falseMatches: number;
  strangers: number;
  byStreamPhotos: Record<string, { people: number; dir: Spread }>;
}

export interface StreamReport {
  images: number;
  orders: OrderResult[];
  summary: StreamSummary[];
  settings: {
    addFpir: number;
    gapIqr: number;
    anchored: boolean;
    duplicateDistance: number;
    cap: number;
    confirmShare: number;
    quality: boolean;
  };
}

// --- the gallery in memory ---------------------------------------------------------------------------------------

interface StoredTemplate extends Template {
  personId: string;
  /** The sample order of the service (ORDER BY md5(id)), so that the gallery calibration samples as it does. */
  sampleKey: string;
}

class Gallery {
  readonly templates = new Map<string, StoredTemplate>();
  private readonly byPerson = new Map<string, Map<string, StoredTemplate>>();
  private point: OperatingPoint | undefined;
  private version = 0;
  private pointVersion = -1;
  private calibratedSample = '';

  constructor(
    private readonly options: StreamOptions,
    readonly people: number,
  ) {}

  add(personId: string, id: string, descriptor: number[], source: Template['source']): void {
    const template = { id, personId, descriptor, source, sampleKey: createHash('md5').update(id).digest('hex') };
    this.templates.set(id, template);
    if (!this.byPerson.has(personId)) this.byPerson.set(personId, new Map());
    this.byPerson.get(personId)!.set(id, template);
    this.version++;
  }

  remove(id: string): void {
    const template = this.templates.get(id);
    if (!template) return;
    this.templates.delete(id);
    this.byPerson.get(template.personId)!.delete(id);
    this.version++;
  }

  of(personId: string): StoredTemplate[] {
    return [...(this.byPerson.get(personId)?.values() ?? [])];
  }

  /**
   * identify's operating point for the gallery as it is now: the service's rule over all its faces, its tail
   * re-centred on a sample of the faces the user enrolled or confirmed (sampleGalleryFaces, ORDER BY md5(id)). Not
   * on learned faces: they were chosen for being far from everyone else, and would pull the tail (and the threshold) up.
   */
  operatingPoint(): OperatingPoint {
    if (this.point && this.pointVersion === this.version) return this.point;
    const { options } = this;
    const enrolled = [...this.templates.values()].filter((t) => options.calibrateOnEnrolled === false || t.source !== 'learned');
    const sample = [...enrolled].sort((a, b) => (a.sampleKey < b.sampleKey ? -1 : 1)).slice(0, GALLERY_SAMPLE_FACES);
    const shape = { people: this.people, faces: this.templates.size };
    const sampleIds = sample.map((t) => t.id).join('\0');
    if (!this.point || sampleIds !== this.calibratedSample) {
      const minPeople = options.minPeopleForGallery !== undefined ? { minPeople: options.minPeopleForGallery } : {};
      this.point = operatingPoint(options.model, options.reduction, options.targetFpir, { ...shape, sample }, minPeople);
      this.calibratedSample = sampleIds;
    } else {
      // The same sample gives the same tail: only the units move, as operatingPoint would move them.
      const units = Math.max(1, comparisonUnits(shape, options.reduction)) * (options.model.reductions[options.reduction].unitsFactor ?? 1);
      const threshold = thresholdForFpir(this.point.tail, options.targetFpir, units);
      this.point = { ...this.point, units, threshold, expectedFpir: expectedFpir(this.point.tail, threshold, units) };
    }
    this.pointVersion = this.version;
    return this.point;
  }

  /** The nearest faces as the store returns them (neighbourLimit of them), reduced per person as identify does. */
  identify(descriptor: number[], point: OperatingPoint): FaceMatch {
    const { options } = this;
    const all = [...this.templates.values()];
    const distances = new Float64Array(all.length);
    all.forEach((t, i) => {
      let sum = 0;
      for (let k = 0; k < descriptor.length; k++) sum += (descriptor[k]! - (t.descriptor[k] as number)) ** 2;
      distances[i] = Math.sqrt(sum);
    });
    const limit = neighbourLimit(options.topK);
    const cutoff = all.length > limit ? Float64Array.from(distances).sort()[limit - 1]! : Infinity;
    const hits: FaceHit[] = [];
    all.forEach((t, i) => {
      if (distances[i]! <= cutoff) hits.push({ faceId: t.id, personId: t.personId, name: t.personId, distance: distances[i]! });
    });
    hits.sort((a, b) => a.distance - b.distance);
    const candidates = reducePerPerson(hits.slice(0, limit), options.reduction);
    return matchFaces([candidates], { threshold: point.threshold, ambiguityMargin: options.ambiguityMargin, topK: options.topK })[0]!;
  }
}

// --- one order ---------------------------------------------------------------------------------------------------

function shuffled<T>(items: readonly T[], next: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

interface Probe {
  image: StreamImage;
  /** The enrolled person it shows, or null for a stranger. */
  truth: string | null;
}

function snapshot(
  gallery: Gallery,
  heldBack: readonly Probe[],
  strangers: readonly Probe[],
  learners: ReadonlyMap<string, string>,
  fixedThreshold?: number,
): Snapshot {
  const point = gallery.operatingPoint();
  const rates = (threshold: number) => {
    const decide = (p: Probe): ProbeDecision => {
      const face = gallery.identify(p.image.descriptor!, { ...point, threshold });
      return { truth: p.truth, best: face.candidates[0]?.person.id ?? null, outcome: face.outcome, named: face.person?.id ?? null };
    };
    const mated = heldBack.map(decide);
    const all = identificationRates([...mated, ...strangers.map(decide)]);
    return { all, mated, learners: identificationRates(mated.filter((d) => learners.has(d.truth!))) };
  };
  const { all, mated, learners: ofLearners } = rates(point.threshold);
  const byStream: Snapshot['byStreamPhotos'] = {};
  for (const group of new Set(learners.values())) {
    const of = identificationRates(mated.filter((d) => learners.get(d.truth!) === group));
    byStream[group] = { people: of.matedProbes, dir: of.dir };
  }
  const fixed = fixedThreshold === undefined ? undefined : rates(fixedThreshold);
  return {
    threshold: point.threshold,
    faces: gallery.templates.size,
    dirLearners: ofLearners.dir,
    dirAll: all.dir,
    fpir: all.fpir,
    falseMatches: all.counts.falsePositives,
    strangers: all.nonMatedProbes,
    misidentified: all.counts.misidentified,
    byStreamPhotos: byStream,
    ...(fixed
      ? { atFixed: { threshold: fixedThreshold!, fpir: fixed.all.fpir, dirLearners: fixed.learners.dir, dirAll: fixed.all.dir } }
      : {}),
  };
}

/** Runs one random order: draws, the before and two-photo snapshots, and every mode's stream. */
export function runOrder(images: readonly StreamImage[], options: StreamOptions, order: number): OrderResult {
  const next = rng(options.seed + 7919 * order);
  const byPerson = new Map<string, StreamImage[]>();
  for (const image of images) if (image.descriptor) byPerson.set(image.name, [...(byPerson.get(image.name) ?? []), image]);
  const names = [...byPerson.keys()].sort();
  const several = shuffled(
    names.filter((n) => byPerson.get(n)!.length >= 2),
    next,
  );
  const repeat = new Set(several.slice(0, Math.round(options.repeatStrangers * several.length)));
  const enrolledPeople = several.filter((n) => !repeat.has(n)).sort();
  const singles = shuffled(
    names.filter((n) => byPerson.get(n)!.length === 1),
    next,
  );

  // Per enrolled person: one photo enrolled, one held back, the rest streamed (all drawn at random).
  const plan = new Map(enrolledPeople.map((name) => [name, shuffled(byPerson.get(name)!, next)] as const));
  // The learners, by how many photos the stream holds of them.
  const learners = new Map(
    enrolledPeople
      .filter((n) => plan.get(n)!.length >= 3)
      .map((n) => [n, plan.get(n)!.length >= 5 ? '3+' : String(plan.get(n)!.length - 2)]),
  );
  const genuine = enrolledPeople.flatMap((name) =>
    plan
      .get(name)!
      .slice(2)
      .map((image): Probe => ({ image, truth: name })),
  );
  const repeatPhotos = [...repeat].flatMap((name) => byPerson.get(name)!.map((image): Probe => ({ image, truth: null })));
  // Strangers in the stream: the repeat strangers' photos, then single-photo people up to strangerRatio per genuine
  // photo; every other single-photo person is a held-out stranger, never streamed.
  const streamedSingles = Math.max(0, Math.min(singles.length, Math.round(options.strangerRatio * genuine.length) - repeatPhotos.length));
  const heldOut: Probe[] = singles.slice(streamedSingles).map((n) => ({ image: byPerson.get(n)![0]!, truth: null }));
  const heldBack: Probe[] = enrolledPeople.map((name) => ({ image: plan.get(name)![1]!, truth: name }));
  const stream = shuffled(
    [...genuine, ...repeatPhotos, ...singles.slice(0, streamedSingles).map((n): Probe => ({ image: byPerson.get(n)![0]!, truth: null }))],
    next,
  );

  const enroll = (photos: number): Gallery => {
    const gallery = new Gallery(options, enrolledPeople.length);
    for (const name of enrolledPeople) {
      const own = plan.get(name)!;
      const chosen = photos === 2 && own.length >= 3 ? [own[0]!, own[2]!] : [own[0]!];
      for (const image of chosen) gallery.add(name, `${order}:${image.file}`, image.descriptor!, 'enrolled');
    }
    return gallery;
  };
  const before = snapshot(enroll(1), heldBack, heldOut, learners);
  const twoPhotos = snapshot(enroll(2), heldBack, heldOut, learners);

  const dupDistance = duplicateDistance(options.model, options.learn.duplicatePercentile);
  const modes = options.modes.map((mode): ModeResult => {
    const gallery = enroll(1);
    const confirmDraw = rng(options.seed + 104729 * order + 1);
    const result: ModeResult = {
      mode,
      after: before,
      added: 0,
      replaced: 0,
      skipped: {},
      wrongAdds: 0,
      wrongFromStrangers: 0,
      wrongFromEnrolled: 0,
      wrongPairs: {},
      confirmed: 0,
      certain: 0,
      templatesPerLearner: 0,
      maxTemplates: 0,
    };
    /** Adds the face to `named` if chooseTemplateChange says so; `truth` is whom it shows. */
    const learnFace = (image: StreamImage, named: string, source: SightingSource, truth: string | null) => {
      const change = chooseTemplateChange(
        gallery.of(named),
        { descriptor: image.descriptor!, source },
        {
          cap: options.learn.cap,
          duplicateDistance: dupDistance,
        },
      );
      if (change.action === 'skip') {
        result.skipped[change.reason] = (result.skipped[change.reason] ?? 0) + 1;
        return;
      }
      if (change.action === 'replace') {
        gallery.remove(change.templateId);
        result.replaced++;
      }
      gallery.add(named, `${order}:${mode}:${image.file}`, image.descriptor!, source);
      result.added++;
      if (truth !== named) {
        const pair = `${image.name} → ${named}`;
        result.wrongPairs[pair] = (result.wrongPairs[pair] ?? 0) + 1;
        result.wrongAdds++;
        if (truth === null) result.wrongFromStrangers++;
        else result.wrongFromEnrolled++;
      }
    };
    for (const { image, truth } of mode === 'off' ? [] : stream) {
      if (mode === 'every') {
        if (truth !== null) learnFace(image, truth, 'confirmed', truth);
        continue;
      }
      const point = gallery.operatingPoint();
      const face = gallery.identify(image.descriptor!, point);
      if (face.outcome !== 'match') continue;
      const named = face.person!.id;
      // The human confirms a share of the correct matches (a draw per correct match, whatever the mode).
      if ((mode === 'confirm' || mode === 'both') && named === truth && confirmDraw() < options.confirmShare) {
        result.confirmed++;
        learnFace(image, named, 'confirmed', truth);
      } else if (mode === 'certain' || mode === 'both') {
        const rule = certainMatchRule(options.model, point, {
          addFpir: options.learn.addFpir,
          gapIqr: options.learn.gapIqr,
          quality: options.learn.quality,
        });
        const anchor = options.learn.anchored ? { trustedDistance: trustedDistance(gallery.of(named), image.descriptor!) } : {};
        const verdict = isCertainMatch({ ...face, quality: image.quality ?? null, ...anchor }, rule);
        options.onMatch?.({ order, mode, file: image.file, truth, named, face, verdict, rule });
        if (verdict.certain) {
          result.certain++;
          learnFace(image, named, 'learned', truth);
        }
      }
    }
    result.after = snapshot(gallery, heldBack, heldOut, learners, before.threshold);
    const counts = [...learners.keys()].map((name) => gallery.of(name).length);
    result.templatesPerLearner = counts.reduce((s, n) => s + n, 0) / Math.max(1, counts.length);
    result.maxTemplates = Math.max(0, ...enrolledPeople.map((name) => gallery.of(name).length));
    return result;
  });

  return {
    people: enrolledPeople.length,
    learners: learners.size,
    stream: {
      genuine: stream.filter((s) => s.truth !== null).length,
      repeatStrangers: repeatPhotos.length,
      strangers: streamedSingles,
    },
    heldOutStrangers: heldOut.length,
    before,
    twoPhotos,
    modes,
  };
}

// --- summary -----------------------------------------------------------------------------------------------------

/** The exact one-sided upper confidence bound of a binomial rate (Clopper–Pearson), by bisection. */
export function binomialUpper(events: number, trials: number, confidence = 0.95): number {
  if (trials === 0) return 1;
  if (events >= trials) return 1;
  // P(X ≤ events | p) = 1 − confidence, solved for p; the CDF falls as p rises.
  const cdf = (p: number) => {
    let term = (1 - p) ** trials,
      sum = term;
    for (let k = 1; k <= events; k++) {
      term *= ((trials - k + 1) / k) * (p / (1 - p));
      sum += term;
    }
    return sum;
  };
  let lo = events / trials,
    hi = 1;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (cdf(mid) > 1 - confidence) lo = mid;
    else hi = mid;
  }
  return hi;
}

function snapshotSpread(list: readonly Snapshot[]): SnapshotSpread {
  return {
    threshold: spread(list.map((s) => s.threshold)),
    dirLearners: spread(list.map((s) => s.dirLearners)),
    dirAll: spread(list.map((s) => s.dirAll)),
    fpir: spread(list.map((s) => s.fpir)),
    ...(list.every((s) => s.atFixed)
      ? {
          atFixed: {
            fpir: spread(list.map((s) => s.atFixed!.fpir)),
            dirLearners: spread(list.map((s) => s.atFixed!.dirLearners)),
            dirAll: spread(list.map((s) => s.atFixed!.dirAll)),
          },
        }
      : {}),
    falseMatches: list.reduce((s, x) => s + x.falseMatches, 0),
    strangers: list.reduce((s, x) => s + x.strangers, 0),
    byStreamPhotos: Object.fromEntries(
      [...new Set(list.flatMap((s) => Object.keys(s.byStreamPhotos)))].sort().map((group) => {
        const of = list.map((s) => s.byStreamPhotos[group] ?? { people: 0, dir: 0 });
        return [group, { people: spread(of.map((g) => g.people)).mean, dir: spread(of.map((g) => g.dir)) }];
      }),
    ),
  };
}

export function summarise(orders: readonly OrderResult[], modes: readonly LearnMode[]): StreamSummary[] {
  return modes.map((mode) => {
    const results = orders.map((o) => o.modes.find((m) => m.mode === mode)!);
    const totalAdded = results.reduce((s, r) => s + r.added, 0);
    const wrongAdds = results.reduce((s, r) => s + r.wrongAdds, 0);
    const before = snapshotSpread(orders.map((o) => o.before));
    const after = snapshotSpread(results.map((r) => r.after));
    return {
      mode,
      before,
      after,
      twoPhotos: snapshotSpread(orders.map((o) => o.twoPhotos)),
      added: spread(results.map((r) => r.added)),
      wrongAdds,
      totalAdded,
      wrongAddRateUpper95: binomialUpper(wrongAdds, totalAdded),
      wrongFromStrangers: results.reduce((s, r) => s + r.wrongFromStrangers, 0),
      wrongFromEnrolled: results.reduce((s, r) => s + r.wrongFromEnrolled, 0),
      wrongPairs: [
        ...results
          .flatMap((r) => Object.entries(r.wrongPairs))
          .reduce((all, [pair, n]) => all.set(pair, (all.get(pair) ?? 0) + n), new Map<string, number>()),
      ].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)),
      templatesPerLearner: spread(results.map((r) => r.templatesPerLearner)),
      maxTemplates: Math.max(0, ...results.map((r) => r.maxTemplates)),
      pooledFpir: {
        before: before.falseMatches / Math.max(1, before.strangers),
        after: after.falseMatches / Math.max(1, after.strangers),
      },
    };
  });
}

/** Runs every order and summarises each mode over them. */
export function runStream(images: readonly StreamImage[], options: StreamOptions): StreamReport {
  const orders: OrderResult[] = [];
  for (let order = 0; order < options.orders; order++) {
    options.onOrder?.(order);
    orders.push(runOrder(images, options, order));
  }
  return {
    images: images.length,
    orders,
    summary: summarise(orders, options.modes),
    settings: {
      addFpir: options.learn.addFpir,
      gapIqr: options.learn.gapIqr,
      anchored: options.learn.anchored,
      duplicateDistance: duplicateDistance(options.model, options.learn.duplicatePercentile),
      cap: options.learn.cap,
      confirmShare: options.confirmShare,
      quality: options.learn.quality !== null,
    },
  };
}
