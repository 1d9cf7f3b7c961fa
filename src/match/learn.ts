/**
 * A gallery that learns (issue 24): which faces seen become extra templates of a person, and which templates a person
 * keeps. Pure: the service gives it the face's match, the person's templates and the gallery's operating point.
 *
 * - Where templates come from: a human confirms a face (`confirmed`), or, when the gallery allows it, a match is
 *   certain (`learned`, isCertainMatch). The user's own enrollments are `enrolled`.
 * - Certain: far inside the gallery's threshold and with no other person near, both set from the impostor model in
 *   FPIR terms (certainMatchRule), so that they mean the same for every descriptor model that has one.
 * - Which ones to keep (chooseTemplateChange): not a near-duplicate of a template the person has; at most `cap`
 *   templates, the most redundant learned one giving way to a face that spreads the set more; enrolled faces never go,
 *   confirmed ones only for another confirmed face.
 */
import { InvalidArgumentError } from '../errors.js';
import { euclidean } from './distance.js';
import type { Outcome } from './identify.js';
import { thresholdForFpir, type ImpostorModel, type ImpostorTail } from './open-set.js';

/** Where a face of a person came from: the user's enrollment, a human's confirmation of a face seen, or a certain match. */
export type FaceSource = 'enrolled' | 'confirmed' | 'learned';

/** Faces from sightings: the two sources that can be added to a person after enrollment. */
export type SightingSource = Exclude<FaceSource, 'enrolled'>;

/** How far each source is trusted: a learned face never displaces a confirmed one, nothing displaces an enrolled one. */
export const SOURCE_RANK: Readonly<Record<FaceSource, number>> = { enrolled: 2, confirmed: 1, learned: 0 };

// --- defaults ----------------------------------------------------------------------------------------------------

/**
 * Templates per person, all sources together (the gallery's cap setting). Ten diverse faces cover a person's usual
 * poses, lights and ages; each is one more chance for a stranger, which the threshold pays for (every face is one
 * comparison unit). On LFW View 1 nobody reaches it: its people have at most eight photos.
 */
export const DEFAULT_TEMPLATE_CAP = 10;

/**
 * A certain match is one that would still be named at this FPIR, half identify's default target: by the impostor
 * model, at most this share of strangers' faces come that near anyone. The gap (DEFAULT_GAP_IQR) then turns most of
 * those away: 0.2–0.3‰ of strangers' faces pass both on LFW (docs/accuracy.md#a-gallery-that-learns).
 */
export const DEFAULT_ADD_FPIR = 5e-3;

/**
 * A face nearer than this percentile of the model's genuine distances to a template the person has adds nothing: it
 * is nearer than 90% of two photos of one person are (the same pose, light and age). On LFW's DevTrain side 5 and 20
 * gave the same DIR after the stream with 19% more and 26% fewer templates.
 */
export const DEFAULT_DUPLICATE_PERCENTILE = 10;

// --- the certain-match rule --------------------------------------------------------------------------------------

/** Quality a face needs to be learned: the enrollment gates (EnrollmentGates in src/config). */
export interface QualityGates {
  minFaceSize: number;
  minScore: number;
  minSharpness: number;
  maxYaw: number;
  maxRoll: number;
}

/** A face's quality as the engine measures it (FaceQuality in src/core). */
export interface SeenQuality {
  size: number;
  score: number;
  sharpness: number;
  yaw: number;
  roll: number;
}

/** The gallery's operating point as identify uses it (OperatingPoint of src/match/open-set.ts). */
export interface GalleryPoint {
  /** identify's threshold for the gallery. */
  threshold: number;
  /** The impostor tail in force (shipped, or re-centred on the gallery). */
  tail: ImpostorTail;
  /** Effective comparison units a stranger meets. */
  units: number;
}

/** When a match is certain enough to become a template without a human. */
export interface CertainRule {
  /** The named person's distance is at most this: identify's threshold at `addFpir` instead of the target FPIR. */
  maxDistance: number;
  /** Every other person is at least this far: identify's own threshold, so no one else would be named at all. */
  minSecondDistance: number;
  /** And at least this much farther than the named person. */
  minGap: number;
  /** The FPIR maxDistance was set at: the rate at which a stranger's face passes, by the impostor model. */
  addFpir: number;
  /** Quality gates the face must pass (null: not checked). */
  quality: QualityGates | null;
}

export interface CertainRuleOptions {
  /** Default DEFAULT_ADD_FPIR. */
  addFpir?: number;
  /** The smallest gap to the next person, in the model's genuine interquartile ranges (default DEFAULT_GAP_IQR). */
  gapIqr?: number;
  quality?: QualityGates | null;
}

/**
 * The smallest gap between the named person and the next, in interquartile ranges of the model's genuine distances
 * (how much one person's photos vary: 0.100 for the default model, 0.199 for faceplugin-512). A stranger near
 * someone is usually near several people at once; a person's own face is nearer them than anyone else by more than
 * their photos vary. Chosen on LFW View 1's DevTrain side with both shipped models, where a stranger's face passes
 * 0.3‰ (default) and 0.2‰ (faceplugin-512) of the time (docs/accuracy.md#a-gallery-that-learns); the same gap in
 * impostor sd (a common 0.1 in both) lets 10 times as many of faceplugin-512's strangers through.
 */
export const DEFAULT_GAP_IQR = 1.5;

function checkRate(name: string, value: number): void {
  if (!(value > 0 && value < 1)) throw new InvalidArgumentError(`${name} must be in (0, 1), got ${value}`, { [name]: value });
}

/** The interquartile range of a model's genuine distances (models/impostor-model.json, 'min'). */
export function genuineIqr(model: ImpostorModel): number {
  const p = model.reductions.min.genuinePercentiles;
  if (p.length !== 101) throw new InvalidArgumentError(`the model's genuine percentiles must be 0..100 %, got ${p.length} values`);
  return p[75]! - p[25]!;
}

/**
 * The certain-match rule of a gallery, from the descriptor model's impostor model and the gallery's operating point:
 * the distance at which a stranger would be named with probability `addFpir` instead of the target FPIR (the same
 * impostor tail and units as identify's threshold), every other person beyond identify's threshold, and a gap of
 * `gapIqr` genuine interquartile ranges. It follows the gallery: more people or templates, a stricter rule.
 */
export function certainMatchRule(model: ImpostorModel, point: GalleryPoint, options: CertainRuleOptions = {}): CertainRule {
  const addFpir = options.addFpir ?? DEFAULT_ADD_FPIR;
  checkRate('addFpir', addFpir);
  const gapIqr = options.gapIqr ?? DEFAULT_GAP_IQR;
  if (!(gapIqr >= 0)) throw new InvalidArgumentError(`gapIqr must be >= 0, got ${gapIqr}`, { gapIqr });
  return {
    maxDistance: Math.min(point.threshold, thresholdForFpir(point.tail, addFpir, point.units)),
    minSecondDistance: point.threshold,
    minGap: gapIqr * genuineIqr(model),
    addFpir,
    quality: options.quality ?? null,
  };
}

/** What isCertainMatch needs of one face of a photo: identify's answer for it (FaceMatch), and its quality. */
export interface SeenFace {
  outcome: Outcome;
  person: { id: string } | null;
  /** Distance to the named person. */
  distance: number | null;
  /** The face's nearest people, ascending, as identify lists them: at least two when there are two (topK ≥ 2). */
  candidates: ReadonlyArray<{ person: { id: string }; distance: number }>;
  quality?: SeenQuality | null;
  /**
   * Distance to the named person's nearest enrolled or confirmed face (trustedDistance of their templates). When
   * given, it is this distance that must be within rule.maxDistance: a learned face never vouches for the next one,
   * so that one wrong add (a stranger's face) cannot pull in the rest of that stranger's photos.
   */
  trustedDistance?: number | null;
}

export type CertainReason = 'certain' | 'not-a-match' | 'too-far' | 'other-person-near' | 'low-quality';

export interface CertainVerdict {
  certain: boolean;
  reason: CertainReason;
  /** The named person's distance, and the nearest other person's (null: none listed). */
  distance: number | null;
  secondDistance: number | null;
}

/** Why a face fails the quality gates, or null. */
function qualityFailure(q: SeenQuality | null | undefined, gates: QualityGates | null): boolean {
  if (!gates) return false;
  if (!q) return true; // unknown quality is not good quality
  return (
    q.size < gates.minFaceSize ||
    q.score < gates.minScore ||
    q.sharpness < gates.minSharpness ||
    Math.abs(q.yaw) > gates.maxYaw ||
    Math.abs(q.roll) > gates.maxRoll
  );
}

/**
 * Whether identify's match of a face is certain by `rule`: a match (not ambiguous, and the person assigned to it in
 * the photo), within rule.maxDistance, every other listed person at least rule.minSecondDistance away and rule.minGap
 * farther, and the quality gates passed. The nearest other person is the first listed candidate that is not the
 * named one; the caller lists at least two (identify's topK ≥ 2), or the face is judged on the one it has.
 */
export function isCertainMatch(face: SeenFace, rule: CertainRule): CertainVerdict {
  const named = face.outcome === 'match' ? face.person : null;
  const second = named ? face.candidates.find((c) => c.person.id !== named.id) : undefined;
  const verdict = (certain: boolean, reason: CertainReason): CertainVerdict => ({
    certain,
    reason,
    distance: named ? face.distance : null,
    secondDistance: second?.distance ?? null,
  });
  if (!named || face.distance === null) return verdict(false, 'not-a-match');
  const anchor = face.trustedDistance === undefined ? face.distance : (face.trustedDistance ?? Infinity);
  if (face.distance > rule.maxDistance || anchor > rule.maxDistance) return verdict(false, 'too-far');
  if (second && (second.distance < rule.minSecondDistance || second.distance - face.distance < rule.minGap))
    return verdict(false, 'other-person-near');
  if (qualityFailure(face.quality, rule.quality)) return verdict(false, 'low-quality');
  return verdict(true, 'certain');
}

/** The distance from a face to the nearest of a person's templates that a human vouched for (enrolled or confirmed). */
export function trustedDistance(templates: readonly Template[], descriptor: ArrayLike<number>): number | null {
  let nearest: number | null = null;
  for (const t of templates) if (t.source !== 'learned') nearest = Math.min(nearest ?? Infinity, euclidean(descriptor, t.descriptor));
  return nearest;
}

// --- which templates to keep -------------------------------------------------------------------------------------

/** One template of a person: a face with its descriptor and where it came from. */
export interface Template {
  id: string;
  descriptor: ArrayLike<number>;
  source: FaceSource;
}

export interface TemplateOptions {
  /** Templates per person, all sources (default DEFAULT_TEMPLATE_CAP). */
  cap?: number;
  /** A face nearer than this to one of the person's templates adds nothing (duplicateDistance of the model). */
  duplicateDistance: number;
}

export type SkipReason = 'duplicate' | 'cap-reached' | 'no-gain';

export type TemplateChange =
  /** Add the face as a new template. */
  | { action: 'add'; nearest: number | null }
  /** Add the face and remove `templateId`, a less trusted or more redundant template. */
  | { action: 'replace'; templateId: string; reason: 'upgrade' | 'more-diverse'; nearest: number }
  /**
   * Keep the templates as they are. duplicate: `templateId` is within duplicateDistance; cap-reached: every template
   * that could give way is trusted more (enrolled, or confirmed against a learned face); no-gain: the face would not
   * spread the set more than the most redundant template it could replace.
   */
  | { action: 'skip'; reason: SkipReason; templateId?: string; nearest: number | null };

/**
 * The distance under which a face is a near-duplicate of a template: the model's genuine distances at `percentile`
 * (models/impostor-model.json), so that it means the same for every descriptor model.
 */
export function duplicateDistance(model: ImpostorModel, percentile = DEFAULT_DUPLICATE_PERCENTILE): number {
  const genuine = model.reductions.min.genuinePercentiles;
  if (!(Number.isInteger(percentile) && percentile >= 0 && percentile < genuine.length))
    throw new InvalidArgumentError(`percentile must be a whole number in [0, ${genuine.length - 1}], got ${percentile}`, { percentile });
  return genuine[percentile]!;
}

/** The distance from each template to its nearest other template (Infinity for a lone template). */
function redundancy(templates: readonly Template[], without?: number): number[] {
  return templates.map((t, i) => {
    let nearest = Infinity;
    templates.forEach((o, j) => {
      if (j !== i && j !== without) nearest = Math.min(nearest, euclidean(t.descriptor, o.descriptor));
    });
    return nearest;
  });
}

/**
 * What to do with a face that is to become a template of a person with `templates`:
 * 1. within duplicateDistance of a template: skip (a confirmed face takes the place of a learned near-duplicate);
 * 2. under the cap: add;
 * 3. at the cap: the most redundant template (nearest to another) among those it may displace gives way, if the face
 *    is farther from the rest than that template is from its nearest: the set spreads. A confirmed face displaces
 *    learned ones first, and without the diversity condition (a human's word outranks a certain match); a learned
 *    face displaces only learned ones; enrolled faces are never displaced.
 * Deterministic: ties go to the earlier template in `templates`.
 */
export function chooseTemplateChange(
  templates: readonly Template[],
  candidate: { descriptor: ArrayLike<number>; source: SightingSource },
  options: TemplateOptions,
): TemplateChange {
  const cap = options.cap ?? DEFAULT_TEMPLATE_CAP;
  if (!(Number.isInteger(cap) && cap >= 1)) throw new InvalidArgumentError(`cap must be a whole number >= 1, got ${cap}`, { cap });
  if (!(options.duplicateDistance >= 0))
    throw new InvalidArgumentError(`duplicateDistance must be >= 0, got ${options.duplicateDistance}`, {
      duplicateDistance: options.duplicateDistance,
    });
  const distances = templates.map((t) => euclidean(candidate.descriptor, t.descriptor));
  let nearestIndex = -1;
  distances.forEach((d, i) => {
    if (nearestIndex < 0 || d < distances[nearestIndex]!) nearestIndex = i;
  });
  const nearest = nearestIndex < 0 ? null : distances[nearestIndex]!;
  const rank = SOURCE_RANK[candidate.source];

  if (nearest !== null && nearest < options.duplicateDistance) {
    const duplicate = templates[nearestIndex]!;
    // The same face, now confirmed by a human: it replaces the learned one (nothing is lost, trust is gained).
    if (SOURCE_RANK[duplicate.source] < rank) return { action: 'replace', templateId: duplicate.id, reason: 'upgrade', nearest };
    return { action: 'skip', reason: 'duplicate', templateId: duplicate.id, nearest };
  }
  if (templates.length < cap) return { action: 'add', nearest };

  const spread = redundancy(templates);
  const mostRedundant = (source: FaceSource) => {
    let best = -1;
    templates.forEach((t, i) => {
      if (t.source === source && (best < 0 || spread[i]! < spread[best]!)) best = i;
    });
    return best;
  };
  // A confirmed face displaces the most redundant learned template outright.
  if (candidate.source === 'confirmed') {
    const learned = mostRedundant('learned');
    if (learned >= 0) return { action: 'replace', templateId: templates[learned]!.id, reason: 'upgrade', nearest: nearest! };
  }
  const victim = mostRedundant(candidate.source);
  if (victim < 0) return { action: 'skip', reason: 'cap-reached', nearest };
  // The face's nearest template once the victim is gone, against the victim's own nearest: the set spreads or not.
  const nearestWithout = Math.min(...distances.filter((_, i) => i !== victim));
  if (nearestWithout > spread[victim]!)
    return { action: 'replace', templateId: templates[victim]!.id, reason: 'more-diverse', nearest: nearest! };
  return { action: 'skip', reason: 'no-gain', templateId: templates[victim]!.id, nearest };
}
