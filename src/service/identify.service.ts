/** Identification (1:N against a gallery) and verification (1:1 against one enrolled person). */
import { z } from 'zod';
import type { Point } from '../engine/align.js';
import type { AttributeName, FaceAttributes } from '../core/face.js';
import type { Box, Face } from '../engine/face-engine.js';
import type { FaceQuality } from '../engine/quality.js';
import { FacerecError, NoFaceError } from '../errors.js';
import { confidenceOf } from '../match/confidence.js';
import { matchFaces, UNKNOWN_LABEL, type FaceMatch } from '../match/identify.js';
import type { ThresholdSource } from '../match/open-set.js';
import { reducePerPerson } from '../match/reduce.js';
import { nearestFaces, personDistances } from '../store/faces.repository.js';
import { findGallery, type Gallery } from '../store/galleries.repository.js';
import type { ServiceContext } from './context.js';
import { faceReason, type FaceReason } from './detect.service.js';
import { Attributes, boolish, decimalInteger, GalleryRef, LargestFace, MaxFaces, Threshold } from './input.js';
import { checkRange, LIMITS, thresholdOf } from './limits.js';
import { identifyThreshold } from './open-set.service.js';
import { resolvePerson } from './people.service.js';
import { galleryModel, galleryStillOn, modelMismatch, type ModelSettings } from './models.service.js';
import { imageSha256 } from './enroll.service.js';
import { learnFromMatches } from './learning.service.js';
import { keepFaces, KeepSightingsSetting, SourceRef, type KeepSightings } from './sightings.service.js';
import { photoWarnings, withWarnings, type PhotoWarning } from './warnings.js';

/** identify's input, as the HTTP API and the CLI take it. */
export const IdentifyInput = z.object({
  gallery: GalleryRef.optional(),
  threshold: Threshold.meta({
    description: 'Same person at or below this distance; default: the gallery’s threshold at the server’s FACEREC_TARGET_FPIR',
  }),
  topK: decimalInteger(LIMITS.topK.min, LIMITS.topK.max).prefault(LIMITS.topK.default).meta({ description: 'Candidates listed per face' }),
  maxFaces: MaxFaces.meta({ description: 'Look at the largest N faces only' }),
  minFaceSize: decimalInteger(LIMITS.minFaceSize.min, LIMITS.minFaceSize.max)
    .optional()
    .meta({ description: 'Ignore faces smaller than this (px, shorter box side)' }),
  includeLandmarks: boolish.optional(),
  attributes: Attributes,
  keepSightings: KeepSightingsSetting.optional().meta({
    description:
      'Keep this photo’s faces as sightings: off, unknown (those not named), all; default: the gallery’s setting (off unless set)',
  }),
  source: SourceRef.optional(),
});

/** verify's options, as the HTTP API and the CLI take them; each names the person its own way (an id, or any reference). */
export const VerifyInput = z.object({ gallery: GalleryRef.optional(), threshold: Threshold, largestFace: LargestFace });

export interface IdentifyOptions {
  gallery?: string;
  /** Same person at or below this distance; default: the gallery's threshold at the target FPIR. */
  threshold?: number;
  /** Candidates listed per face. */
  topK?: number;
  /** Look at the largest N faces only. */
  maxFaces?: number;
  /** Ignore faces smaller than this (shorter box side, px). */
  minFaceSize?: number;
  includeLandmarks?: boolean;
  /** Age, gender, expression per face: only those named are computed (none by default). */
  attributes?: readonly AttributeName[];
  /** Keep the faces as sightings (default: the gallery's setting). */
  keepSightings?: KeepSightings;
  /** The caller's reference of the photo, kept with its sightings. */
  source?: string;
}

export interface IdentifiedFace extends FaceMatch {
  box: Box;
  score: number;
  quality: FaceQuality;
  /** Present when the face cannot be recognised: it is then unknown, with no candidates, whatever the gallery. */
  reason?: FaceReason;
  landmarks?: Point[];
  /** The attributes asked for (IdentifyOptions.attributes). */
  attributes?: FaceAttributes;
  /** The sighting this face was kept as, when the gallery or the call keeps them. */
  sightingId?: string;
  /** The template this face became (a certain match in a gallery that learns: origin 'learned'). */
  learnedFaceId?: string;
}

export interface IdentifyResult {
  width: number;
  height: number;
  gallery: { id: string; name: string };
  /** The descriptor model the gallery's faces and the probe were described with. */
  model: string;
  /** The distance at or below which a face is named. */
  threshold: number;
  /** Where it came from: the target FPIR for this gallery's size, the same re-centred on the gallery, or the caller. */
  thresholdSource: ThresholdSource;
  /** The share of strangers the impostor model expects to be given a name at this threshold in this gallery. */
  expectedFpir: number | null;
  faces: IdentifiedFace[];
  /** Present when the photo was not used whole: FIRST_FRAME_ONLY for an animation or a photo of several pages. */
  warnings?: PhotoWarning[];
}

export const DEFAULT_TOP_K = LIMITS.topK.default;
// Faces fetched per probe before reducing per person: enough for mean2 to see each near person's two closest faces.
const NEIGHBOURS_PER_CANDIDATE = 8;
const MIN_NEIGHBOURS = 32;

/** Enrolled faces fetched per probe face for `topK` candidates; `eval identify` searches with the same limit. */
export const neighbourLimit = (topK: number): number => Math.max(MIN_NEIGHBOURS, topK * NEIGHBOURS_PER_CANDIDATE);

async function facesOf(
  ctx: ServiceContext,
  bytes: Uint8Array,
  model: ModelSettings,
  options: { maxFaces?: number; minFaceSize?: number; thumbnails?: boolean; attributes?: readonly AttributeName[] },
): Promise<{ width: number; height: number; faces: Face[]; found: number }> {
  const analysis = await ctx.analyzer.analyze(bytes, {
    descriptors: true,
    model: model.card.id,
    detector: ctx.config.detector,
    minScore: ctx.config.minScore,
    ...(options.maxFaces ? { maxFaces: options.maxFaces } : {}),
    ...(options.thumbnails ? { thumbnails: true } : {}),
    ...(options.attributes?.length ? { attributes: options.attributes } : {}),
  });
  const faces = analysis.faces.filter((f) => f.quality.size >= (options.minFaceSize ?? 0));
  return { width: analysis.width, height: analysis.height, faces, found: analysis.faces.length };
}

const noFace = (found: number, minFaceSize?: number) => new NoFaceError('the photo', found > 0 ? { smallerThan: minFaceSize } : {});

/** Names every face of a photo that matches an enrolled person of the gallery; the rest are Unknown. */
export async function identify(ctx: ServiceContext, bytes: Uint8Array, options: IdentifyOptions = {}): Promise<IdentifyResult> {
  const topK = checkRange(options.topK ?? DEFAULT_TOP_K, LIMITS.topK, 'topK', true);
  if (options.maxFaces !== undefined) checkRange(options.maxFaces, LIMITS.maxFaces, 'maxFaces', true);
  if (options.minFaceSize !== undefined) checkRange(options.minFaceSize, LIMITS.minFaceSize, 'minFaceSize');
  let gallery = await findGallery(ctx.db, options.gallery ?? 'default');
  let model = galleryModel(ctx, gallery);
  if (options.threshold !== undefined) thresholdOf(options.threshold, model.verifyThreshold);
  const limit = neighbourLimit(topK);
  const keep = options.keepSightings ?? gallery.keepSightings;
  const warnings = photoWarnings(bytes);
  // A gallery moved to another model while the photo was being described (gallery reembed) is searched again with
  // the new one: its faces no longer hold the old model's descriptors.
  for (let attempt = 0; ; attempt++) {
    const thumbnails = keep !== 'off' || (gallery.learn === 'certain' && ctx.config.thumbnails);
    const { width, height, faces, found } = await facesOf(ctx, bytes, model, { ...options, thumbnails });
    if (faces.length === 0) {
      // A photo without a face is seen all the same (a scan skips it next time).
      if (keep !== 'off')
        await keepFaces(ctx, {
          gallery,
          modelId: model.card.id,
          sha256: imageSha256(bytes),
          width,
          height,
          faces: [],
          keep,
          source: options.source,
        });
      throw noFace(found, options.minFaceSize);
    }
    // A face too small to recognise is not searched: it is unknown with its reason instead of a guess.
    const reasons = faces.map((face) => faceReason(face, ctx.config));
    const searched = faces.filter((_, i) => !reasons[i]);
    const perFace = await ctx.db.transaction(async (tx) => {
      if (!(await galleryStillOn(tx, gallery.id, model.card.id))) return null;
      const out = [];
      for (const face of searched) {
        const hits = await nearestFaces(tx, {
          galleryId: gallery.id,
          modelId: model.card.id,
          dims: model.card.output.dims,
          descriptor: face.descriptor!,
          limit,
          efSearch: ctx.config.efSearch,
        });
        out.push(reducePerPerson(hits, ctx.config.reduction));
      }
      return out;
    });
    if (!perFace && attempt < 2) {
      gallery = await findGallery(ctx.db, gallery.id);
      model = galleryModel(ctx, gallery);
      continue;
    }
    if (!perFace) throw modelMismatch(gallery.name, gallery.descriptorModel, model.card.id);
    const result = {
      ...(await decide(ctx, gallery, model, { width, height, faces, reasons }, perFace, options, topK)),
      ...withWarnings(await warnings),
    };
    if (keep === 'off' && gallery.learn === 'off') return result;
    const sha256 = imageSha256(bytes);
    const ids =
      keep === 'off'
        ? faces.map(() => null)
        : await keepFaces(ctx, {
            gallery,
            modelId: model.card.id,
            sha256,
            width,
            height,
            faces: faces.map((face, i) => ({ face, ...(reasons[i] ? {} : { match: result.faces[i]! }) })),
            keep,
            source: options.source,
          });
    // A gallery that learns: certain matches become templates of their person (issue 24).
    let next = 0;
    const people = reasons.map((reason) => (reason ? null : perFace[next++]!));
    const learned =
      gallery.learn === 'certain'
        ? await learnFromMatches(ctx, gallery, model, {
            sha256,
            faces: faces.map((face, i) =>
              people[i]
                ? {
                    descriptor: face.descriptor!,
                    box: face.box,
                    score: face.score,
                    quality: face.quality,
                    thumbnail: face.thumbnail ?? null,
                    match: result.faces[i]!,
                    people: people[i],
                    sightingId: ids[i] ?? null,
                  }
                : null,
            ),
          })
        : [];
    return {
      ...result,
      faces: result.faces.map((f, i) => {
        const learnedFaceId = learned.find((l) => l.index === i)?.faceId;
        return { ...f, ...(ids[i] ? { sightingId: ids[i] } : {}), ...(learnedFaceId ? { learnedFaceId } : {}) };
      }),
    };
  }
}

async function decide(
  ctx: ServiceContext,
  gallery: Gallery,
  model: ModelSettings,
  { width, height, faces, reasons }: { width: number; height: number; faces: Face[]; reasons: Array<FaceReason | undefined> },
  perFace: ReturnType<typeof reducePerPerson>[],
  options: IdentifyOptions,
  topK: number,
): Promise<IdentifyResult> {
  const used = await identifyThreshold(ctx, gallery.id, model, options.threshold);
  // Rounded as it is reported, so that the answer names the very threshold that decided.
  const threshold = used.thresholdSource === 'request' ? used.threshold : round4(used.threshold);
  const found = matchFaces(perFace, { threshold, ambiguityMargin: model.ambiguityMargin, topK, confidence: model.confidence });
  let next = 0;
  const matches = reasons.map((reason) => (reason ? unrecognised : found[next++]!));
  return {
    width,
    height,
    gallery: { id: gallery.id, name: gallery.name },
    model: model.card.name,
    threshold,
    thresholdSource: used.thresholdSource,
    expectedFpir: used.expectedFpir === null ? null : round6(used.expectedFpir),
    faces: faces.map((face, i) => ({
      box: face.box,
      score: face.score,
      quality: face.quality,
      ...(reasons[i] ? { reason: reasons[i] } : {}),
      ...(options.includeLandmarks ? { landmarks: face.landmarks } : {}),
      ...rounded(matches[i]!),
      ...(face.attributes ? { attributes: face.attributes } : {}),
    })),
  };
}

const unrecognised: FaceMatch = {
  outcome: 'unknown',
  person: null,
  label: UNKNOWN_LABEL,
  distance: null,
  confidence: null,
  candidates: [],
};

// Four decimals are far below what distinguishes people; more digits only look precise.
export const round4 = (v: number): number => Math.round(v * 10000) / 10000;
const round6 = (v: number): number => Math.round(v * 1e6) / 1e6;
const rounded = (m: FaceMatch): FaceMatch => ({
  ...m,
  distance: m.distance === null ? null : round4(m.distance),
  confidence: m.confidence === null ? null : round4(m.confidence),
  candidates: m.candidates.map((c) => ({ ...c, distance: round4(c.distance), confidence: round4(c.confidence) })),
});

/**
 * The one face of a photo to compare (faces come largest first). A 1:1 answer about a face the caller did not mean is
 * worse than none, so a photo with several is MULTIPLE_FACES, as in enrollment, unless `largestFace` takes the largest.
 */
export function soleFace(
  faces: readonly Face[],
  options: { largestFace?: boolean; what: string; details?: Record<string, unknown> },
): Face {
  if (faces.length > 1 && !options.largestFace) {
    throw new FacerecError(
      'MULTIPLE_FACES',
      `There are ${faces.length} faces in ${options.what}; it must show one, or ask for the largest (largestFace)`,
      {
        ...options.details,
        facesInPhoto: faces.length,
        boxes: faces.map((f) => f.box),
      },
    );
  }
  return faces[0]!;
}

export interface VerifyOptions {
  gallery?: string;
  threshold?: number;
  /** Compare the largest face of a photo with several instead of refusing it (MULTIPLE_FACES). */
  largestFace?: boolean;
}

export interface VerifyResult {
  match: boolean;
  distance: number;
  threshold: number;
  confidence: number;
  person: { id: string; name: string };
  /** The face of the photo that was compared: its only one, or with `largestFace` its largest. */
  box: Box;
  /** Faces found in the photo; over 1 only with `largestFace`. */
  facesInPhoto: number;
  /** Present when the photo was not used whole (FIRST_FRAME_ONLY). */
  warnings?: PhotoWarning[];
}

/** Is the face of the photo (its only one, or with `largestFace` its largest) this enrolled person? */
export async function verify(
  ctx: ServiceContext,
  bytes: Uint8Array,
  personRef: string,
  options: VerifyOptions = {},
): Promise<VerifyResult> {
  let gallery = await findGallery(ctx.db, options.gallery ?? 'default');
  let model = galleryModel(ctx, gallery);
  thresholdOf(options.threshold, model.verifyThreshold);
  const person = await resolvePerson(ctx.db, gallery.id, personRef);
  const warnings = photoWarnings(bytes);
  let faces: Face[], distances: number[] | null;
  // As identify: a gallery moved to another model meanwhile is compared again with the new one.
  for (let attempt = 0; ; attempt++) {
    let found: number;
    ({ faces, found } = await facesOf(ctx, bytes, model, {}));
    if (faces.length === 0) throw noFace(found);
    const face = soleFace(faces, { largestFace: options.largestFace, what: 'the photo' });
    const modelId = model.card.id;
    distances = await ctx.db.transaction(async (tx) =>
      (await galleryStillOn(tx, gallery.id, modelId)) ? personDistances(tx, person.id, modelId, face.descriptor!) : null,
    );
    if (distances || attempt >= 2) break;
    gallery = await findGallery(ctx.db, gallery.id);
    model = galleryModel(ctx, gallery);
  }
  if (!distances) throw modelMismatch(gallery.name, gallery.descriptorModel, model.card.id);
  const threshold = thresholdOf(options.threshold, model.verifyThreshold);
  const face = soleFace(faces, { largestFace: options.largestFace, what: 'the photo' });
  if (distances.length === 0) {
    throw new FacerecError(
      'NO_ENROLLED_FACES',
      `${person.name} has no enrolled faces${person.faceCount > 0 ? ' from the current model; enroll them again' : ''}`,
      { personId: person.id },
    );
  }
  const [reduced] = reducePerPerson(
    distances.map((distance, i) => ({ faceId: String(i), personId: person.id, name: person.name, distance })),
    ctx.config.reduction,
  );
  const distance = round4(reduced!.distance);
  return {
    match: distance <= threshold,
    distance,
    threshold,
    confidence: round4(confidenceOf(distance, model.confidence)),
    person: { id: person.id, name: person.name },
    box: face.box,
    facesInPhoto: faces.length,
    ...withWarnings(await warnings),
  };
}
