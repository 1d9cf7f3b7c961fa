/**
 * Enrollment: photos in, one face per accepted photo stored, a reason code per rejected photo. All accepted faces
 * (and a new person) are written in one transaction, or nothing is.
 */
import { createHash } from 'node:crypto';
import type { EnrollmentGates } from '../config/index.js';
import { boxIou, type Box, type Face } from '../engine/face-engine.js';
import { FacerecError, InvalidArgumentError, type ErrorCode } from '../errors.js';
import { euclidean } from '../match/distance.js';
import type { Queryable } from '../store/database.js';
import { insertFace, imageHashes, nearestFaces, personDistances, type FaceRecord } from '../store/faces.repository.js';
import { findGallery } from '../store/galleries.repository.js';
import { getPerson, insertPerson, touchPerson, type Metadata, type Person } from '../store/people.repository.js';
import { isUniqueViolation } from '../store/sql.js';
import type { ServiceContext } from './context.js';
import { galleriesChanged } from './open-set.service.js';
import { checkMetadata, LIMITS } from './limits.js';
import { checkName, ExternalId, PersonName } from './names.js';
import { photoWarnings, type PhotoWarning } from './warnings.js';
import { resolvePerson } from './people.service.js';
import { bindGalleryModel, galleryModel, type ModelSettings } from './models.service.js';
import { relabelMatches } from './clusters.service.js';

export type RejectionCode =
  | 'NO_FACE'
  | 'MULTIPLE_FACES'
  | 'FACE_TOO_SMALL'
  | 'LOW_SCORE'
  | 'BLURRY'
  | 'EXTREME_POSE'
  | 'DUPLICATE_IMAGE'
  | 'DUPLICATE_PERSON'
  | 'INCONSISTENT_IDENTITY'
  | 'UNSUPPORTED_IMAGE'
  | 'IMAGE_TOO_LARGE';

export interface Photo {
  bytes: Uint8Array;
  /** A file name for messages, if the caller has one. */
  name?: string;
}

export interface EnrollOptions {
  /** 'fail' (default): one rejected photo fails the whole call and nothing is stored. 'skip': store the rest. */
  onReject?: 'fail' | 'skip';
  /** Enroll the largest face of a photo with several instead of rejecting it as MULTIPLE_FACES. */
  largestFace?: boolean;
  /**
   * The face to enroll in each photo, by the photo's index: the detected face that overlaps this box most (IoU at
   * least FACE_BOX_MIN_IOU), whatever else the photo shows; null or absent for the default rule.
   */
  faceBoxes?: ReadonlyArray<Box | readonly [number, number, number, number] | null>;
  /** Enroll faces that look like someone else than the person's existing faces (no INCONSISTENT_IDENTITY). */
  force?: boolean;
  /** Enroll a face already enrolled as another person of the gallery (no DUPLICATE_PERSON): the admin means it. */
  allowDuplicatePerson?: boolean;
}

export interface NewPersonInput {
  gallery?: string;
  name: string;
  externalId?: string | null;
  metadata?: Metadata;
}

export interface Rejection {
  index: number;
  file?: string;
  code: RejectionCode;
  message: string;
  details?: Record<string, unknown>;
}

export interface EnrollWarning {
  code: 'POSSIBLE_DUPLICATE_PERSON';
  message: string;
  person: { id: string; name: string };
  distance: number;
}

export interface AcceptedFace {
  index: number;
  file?: string;
  face: FaceRecord;
  warnings: Array<EnrollWarning | PhotoWarning>;
}

export interface EnrollResult {
  person: Person;
  /** True when this call created the person. */
  created: boolean;
  faces: AcceptedFace[];
  rejected: Rejection[];
}

export const MAX_PHOTOS_PER_CALL = LIMITS.photosPerCall;

/** How much a detected face must overlap a chosen box to be the face chosen (the UI sends /v1/detect's own box). */
export const FACE_BOX_MIN_IOU = 0.5;

interface Candidate {
  index: number;
  file?: string;
  sha256: string;
  face: Face & { descriptor: number[] };
  /** About the photo itself (FIRST_FRAME_ONLY). */
  warnings: PhotoWarning[];
}

type Examined = { ok: true; candidate: Candidate } | { ok: false; rejection: Rejection };

/**
 * A face this close to another person's enrolled face, in units of the model card's verify threshold (not loosened by
 * FACEREC_THRESHOLD), is that very face (the
 * same photo, re-encoded, resized or cropped): DUPLICATE_PERSON. For face-api-128 (0.59) it is 0.13: copies of one
 * photo lay 0.06 apart (median; 0.108 at most) on 20 LFW photos × 4 copies, distinct photos of one person 0.149 at
 * the least and 0.185 at the 0.1% quantile over LFW View 1's 3,189 same-person pairs.
 */
export const SAME_FACE_FRACTION = 0.22;

/** The photo hash that DUPLICATE_IMAGE compares. */
export const imageSha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
const round3 = (v: number): number => Math.round(v * 1000) / 1000;

function reject(photo: Photo, index: number, code: RejectionCode, message: string, details?: Record<string, unknown>): Examined {
  return { ok: false, rejection: { index, ...(photo.name ? { file: photo.name } : {}), code, message, ...(details ? { details } : {}) } };
}

/** The quality gate a face fails first, if any. Thresholds: config FACEREC_ENROLL_* (docs/configuration.md). */
export function qualityRejection(
  face: Pick<Face, 'score' | 'quality'>,
  gates: EnrollmentGates,
): { code: RejectionCode; message: string; details: Record<string, unknown> } | undefined {
  const q = face.quality;
  if (q.size < gates.minFaceSize)
    return {
      code: 'FACE_TOO_SMALL',
      message: `The face is ${q.size} px; at least ${gates.minFaceSize} px are needed`,
      details: { size: q.size, min: gates.minFaceSize },
    };
  if (face.score < gates.minScore)
    return {
      code: 'LOW_SCORE',
      message: `The detector is unsure this is a face (score ${face.score.toFixed(2)} < ${gates.minScore})`,
      details: { score: face.score, min: gates.minScore },
    };
  // Enrollment's bar is above detection's: a face is reported from 0.7 (or confirmed by a second look), enrolled from this.
  if (q.landmarkSpan !== undefined && q.landmarkSpan < gates.minLandmarkSpan)
    return {
      code: 'LOW_SCORE',
      message: `The landmarks do not outline a face in the box (landmark span ${q.landmarkSpan} < ${gates.minLandmarkSpan})`,
      details: { landmarkSpan: q.landmarkSpan, min: gates.minLandmarkSpan },
    };
  if (q.sharpness < gates.minSharpness)
    return {
      code: 'BLURRY',
      message: `The face is too blurry (sharpness ${q.sharpness} < ${gates.minSharpness})`,
      details: { sharpness: q.sharpness, min: gates.minSharpness },
    };
  if (Math.abs(q.yaw) > gates.maxYaw || Math.abs(q.roll) > gates.maxRoll) {
    return {
      code: 'EXTREME_POSE',
      message: `The head is turned too far (yaw ${q.yaw}°, roll ${q.roll}°; limits ±${gates.maxYaw}°, ±${gates.maxRoll}°)`,
      details: { yaw: q.yaw, roll: q.roll, maxYaw: gates.maxYaw, maxRoll: gates.maxRoll },
    };
  }
  return undefined;
}

/** Analyses one photo and applies the per-photo rules that need no database. */
async function examine(ctx: ServiceContext, model: ModelSettings, photo: Photo, index: number, options: EnrollOptions): Promise<Examined> {
  let faces: Face[];
  const warnings = photoWarnings(photo.bytes);
  try {
    faces = (
      await ctx.analyzer.analyze(photo.bytes, {
        descriptors: true,
        model: model.card.id,
        thumbnails: ctx.config.thumbnails,
        detector: ctx.config.detector,
        minScore: ctx.config.minScore,
      })
    ).faces;
  } catch (err) {
    if (err instanceof FacerecError && (err.code === 'UNSUPPORTED_IMAGE' || err.code === 'IMAGE_TOO_LARGE'))
      return reject(photo, index, err.code, err.message, err.details);
    throw err; // overload, a crashed worker: the whole call fails and can be retried
  }
  if (faces.length === 0) return reject(photo, index, 'NO_FACE', 'No face was found in the photo');
  const chosen = options.faceBoxes?.[index];
  if (chosen) {
    const box = [...chosen] as Box;
    const [best] = faces.map((f) => ({ face: f, iou: boxIou(f.box as Box, box) })).sort((a, b) => b.iou - a.iou);
    if (!best || best.iou < FACE_BOX_MIN_IOU)
      return reject(photo, index, 'NO_FACE', `No face was found at the chosen box [${box.map(round3).join(', ')}]`, {
        box,
        boxes: faces.map((f) => f.box),
      });
    faces = [best.face];
  }
  if (faces.length > 1 && !options.largestFace) {
    return reject(
      photo,
      index,
      'MULTIPLE_FACES',
      `The photo shows ${faces.length} faces; enrollment needs exactly one (or take the largest)`,
      { boxes: faces.map((f) => f.box) },
    );
  }
  const face = faces[0]!; // the engine lists faces largest first
  const gate = qualityRejection(face, ctx.config.enrollment);
  if (gate) return reject(photo, index, gate.code, gate.message, { ...gate.details, box: face.box });
  return {
    ok: true,
    candidate: {
      index,
      ...(photo.name ? { file: photo.name } : {}),
      sha256: imageSha256(photo.bytes),
      face: face as Candidate['face'],
      warnings: await warnings,
    },
  };
}

function failure(rejected: Rejection[], photos: number): FacerecError {
  const first = rejected[0]!;
  const which = photos > 1 ? `Photo ${first.index + 1}${first.file ? ` (${first.file})` : ''} was rejected: ` : '';
  const more = rejected.length > 1 ? ` (and ${rejected.length - 1} more rejected photo${rejected.length > 2 ? 's' : ''})` : '';
  return new FacerecError(first.code as ErrorCode, `${which}${first.message}${more}`, {
    ...first.details,
    image: first.index,
    rejected,
  });
}

function validatePhotos(photos: readonly Photo[], min: number, options: EnrollOptions): void {
  if (photos.length < min) throw new InvalidArgumentError(`At least ${min} photo${min > 1 ? 's are' : ' is'} needed`, { min });
  if (photos.length > MAX_PHOTOS_PER_CALL)
    throw new InvalidArgumentError(`At most ${MAX_PHOTOS_PER_CALL} photos per call`, { max: MAX_PHOTOS_PER_CALL, got: photos.length });
  const boxes = options.faceBoxes ?? [];
  if (boxes.length > photos.length)
    throw new InvalidArgumentError(`faceBoxes names ${boxes.length} photos, but the call has ${photos.length}`, {
      field: 'faceBoxes',
      photos: photos.length,
      got: boxes.length,
    });
  for (const box of boxes) {
    if (box && !(box.length === 4 && box.every((v) => Number.isFinite(v) && v >= 0) && box[2] > 0 && box[3] > 0))
      throw new InvalidArgumentError(`A face box is [x, y, width, height] with a positive size, got ${JSON.stringify(box)}`, {
        field: 'faceBoxes',
      });
  }
}

/** Creates a person, with 0..N photos enrolled in the same transaction. */
export async function createPerson(
  ctx: ServiceContext,
  input: NewPersonInput,
  photos: readonly Photo[] = [],
  options: EnrollOptions = {},
): Promise<EnrollResult> {
  validatePhotos(photos, 0, options);
  const name = checkName(PersonName, input.name, 'name');
  const externalId = input.externalId == null ? input.externalId : checkName(ExternalId, input.externalId, 'externalId');
  const metadata = input.metadata === undefined ? undefined : checkMetadata(input.metadata);
  return enroll(ctx, { create: { ...input, name, externalId, metadata } }, photos, options);
}

/** Adds 1..N photos to an existing person, atomically. */
export async function addFaces(
  ctx: ServiceContext,
  personId: string,
  photos: readonly Photo[],
  options: EnrollOptions = {},
  gallery?: string,
): Promise<EnrollResult> {
  validatePhotos(photos, 1, options);
  return enroll(ctx, { personId, gallery }, photos, options);
}

/** Adds faces to a person named by id, external id or exact name within the gallery (`facerec enroll --person`). */
export async function addFacesTo(
  ctx: ServiceContext,
  ref: string,
  photos: readonly Photo[],
  options: EnrollOptions = {},
  gallery?: string,
): Promise<EnrollResult> {
  const g = await findGallery(ctx.db, gallery ?? 'default');
  const person = await resolvePerson(ctx.db, g.id, ref);
  return addFaces(ctx, person.id, photos, options, g.id);
}

type Target = { create: NewPersonInput } | { personId: string; gallery?: string };

/**
 * Enrolls, describing the photos with the gallery's model. A re-embed can switch the gallery to another model between
 * the description and the store (the store then refuses with MODEL_MISMATCH and nothing is kept): the photos are
 * described again with the gallery's model as it is now, as identify searches again.
 */
async function enroll(ctx: ServiceContext, target: Target, photos: readonly Photo[], options: EnrollOptions): Promise<EnrollResult> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await enrollOnce(ctx, target, photos, options);
    } catch (err) {
      if (attempt < 3 && err instanceof FacerecError && err.code === 'MODEL_MISMATCH') continue;
      throw err;
    }
  }
}

async function enrollOnce(ctx: ServiceContext, target: Target, photos: readonly Photo[], options: EnrollOptions): Promise<EnrollResult> {
  // The gallery's model describes the photos: its own, or the configured one for a gallery not bound yet.
  const gallery = await findGallery(
    ctx.db,
    'create' in target ? (target.create.gallery ?? 'default') : (target.gallery ?? (await getPerson(ctx.db, target.personId)).galleryId),
  );
  const model = galleryModel(ctx, gallery);
  const modelId = model.card.id;
  const threshold = model.verifyThreshold;
  const examined = await Promise.all(photos.map((photo, i) => examine(ctx, model, photo, i, options)));
  const rejected = examined.flatMap((e) => (e.ok ? [] : [e.rejection]));
  let candidates = examined.flatMap((e) => (e.ok ? [e.candidate] : []));

  // The same file twice in one call.
  const seen = new Set<string>();
  candidates = candidates.filter((c) => {
    if (!seen.has(c.sha256)) return seen.add(c.sha256);
    rejected.push({
      index: c.index,
      ...(c.file ? { file: c.file } : {}),
      code: 'DUPLICATE_IMAGE',
      message: 'The same image appears twice in this request',
    });
    return false;
  });

  const onReject = options.onReject ?? 'fail';
  const settle = () => {
    rejected.sort((a, b) => a.index - b.index);
    if (rejected.length > 0 && (onReject === 'fail' || (photos.length > 0 && candidates.length === 0)))
      throw failure(rejected, photos.length);
  };
  settle();

  try {
    const result = await ctx.db.transaction(async (tx) => {
      let person: Person;
      let created = false;
      if ('create' in target) {
        const gallery = await findGallery(tx, target.create.gallery ?? 'default');
        person = await insertPerson(tx, {
          galleryId: gallery.id,
          name: target.create.name,
          externalId: target.create.externalId ?? null,
          metadata: target.create.metadata ?? {},
        });
        created = true;
      } else {
        const galleryId = target.gallery ? (await findGallery(tx, target.gallery)).id : undefined;
        // Locked, so that concurrent enrollments of one person see each other's faces.
        person = await getPerson(tx, target.personId, { forUpdate: true, ...(galleryId ? { galleryId } : {}) });
      }

      const known = created ? new Set<string>() : await imageHashes(tx, person.id);
      candidates = candidates.filter((c) => {
        if (!known.has(c.sha256)) return true;
        rejected.push({
          index: c.index,
          ...(c.file ? { file: c.file } : {}),
          code: 'DUPLICATE_IMAGE',
          message: `This image is already enrolled for ${person.name}`,
        });
        return false;
      });

      if (!options.force)
        candidates = await consistent(tx, person, candidates, rejected, modelId, threshold, created || person.faceCount === 0);
      const others = new Map<Candidate, NearestOther>();
      for (const c of candidates) {
        const other = await nearestOtherPerson(tx, person, c.face.descriptor, modelId, ctx.config.efSearch);
        if (other) others.set(c, other);
      }
      if (!options.allowDuplicatePerson)
        candidates = candidates.filter((c) => {
          const other = others.get(c);
          if (!other || other.distance > SAME_FACE_FRACTION * model.card.verifyThreshold) return true;
          rejected.push({
            index: c.index,
            ...(c.file ? { file: c.file } : {}),
            code: 'DUPLICATE_PERSON',
            message:
              `This face is already enrolled as ${other.name} (distance ${round3(other.distance)}): the same photo under two names would ` +
              'make both ambiguous. Add it to that person, or allow a duplicate person if you mean it',
            details: { person: { id: other.personId, name: other.name }, distance: round3(other.distance) },
          });
          return false;
        });
      settle();
      if (candidates.length > 0) await bindGalleryModel(tx, gallery, model.card);

      const faces: AcceptedFace[] = [];
      for (const c of candidates) {
        const face = await insertFace(tx, {
          personId: person.id,
          galleryId: person.galleryId,
          descriptor: c.face.descriptor,
          modelId,
          box: c.face.box as Box,
          score: c.face.score,
          quality: c.face.quality,
          imageSha256: c.sha256,
          thumbnail: ctx.config.thumbnails && c.face.thumbnail ? c.face.thumbnail : null,
        });
        const other = others.get(c);
        const warnings: EnrollWarning[] =
          other && other.distance <= threshold
            ? [
                {
                  code: 'POSSIBLE_DUPLICATE_PERSON',
                  message: `This face also matches ${other.name} (distance ${round3(other.distance)}); they may be the same person`,
                  person: { id: other.personId, name: other.name },
                  distance: round3(other.distance),
                },
              ]
            : [];
        faces.push({ index: c.index, ...(c.file ? { file: c.file } : {}), face, warnings: [...c.warnings, ...warnings] });
      }
      if (faces.length > 0 && !created) await touchPerson(tx, person.id);
      return { person: { ...person, faceCount: person.faceCount + faces.length }, created, faces, rejected };
    });
    if (result.faces.length > 0) {
      galleriesChanged(ctx.db);
      // Faces seen of this person before they were enrolled are theirs now (and leave their clusters).
      await relabelMatches(ctx, result.person.galleryId, result.person.id);
    }
    return result;
  } catch (err) {
    // Two concurrent calls with the same new image for one person: the loser sees the unique index.
    if (isUniqueViolation(err) && /image_sha256/.test((err as Error).message + String((err as { constraint?: string }).constraint))) {
      throw new FacerecError('DUPLICATE_IMAGE', 'This image is already enrolled for this person', {});
    }
    throw err;
  }
}

/**
 * The consistency guard: a face farther than the threshold from every existing face of the person (or, for a
 * person without faces, from every other photo of the call) is INCONSISTENT_IDENTITY: likely a wrong photo.
 */
async function consistent(
  tx: Queryable,
  person: Person,
  candidates: Candidate[],
  rejected: Rejection[],
  modelId: string,
  threshold: number,
  fresh: boolean,
): Promise<Candidate[]> {
  const keep: Candidate[] = [];
  for (const c of candidates) {
    let nearest: number | undefined;
    if (!fresh) {
      nearest = (await personDistances(tx, person.id, modelId, c.face.descriptor))[0];
    } else if (candidates.length > 1) {
      nearest = Math.min(...candidates.filter((o) => o !== c).map((o) => euclidean(o.face.descriptor, c.face.descriptor)));
    }
    if (nearest === undefined || nearest <= threshold) {
      keep.push(c);
    } else {
      const against = fresh ? 'the other photos of this request' : `${person.name}'s enrolled faces`;
      rejected.push({
        index: c.index,
        ...(c.file ? { file: c.file } : {}),
        code: 'INCONSISTENT_IDENTITY',
        message: `This face does not look like ${against} (distance ${round3(nearest)} > threshold ${threshold}); force it if it is right`,
        details: { distance: round3(nearest), threshold },
      });
    }
  }
  return keep;
}

interface NearestOther {
  personId: string;
  name: string;
  distance: number;
}

/** The gallery's nearest enrolled face of another person than `person`, if any. */
async function nearestOtherPerson(
  tx: Queryable,
  person: Person,
  descriptor: number[],
  modelId: string,
  efSearch: number,
): Promise<NearestOther | undefined> {
  const [nearest] = await nearestFaces(tx, {
    galleryId: person.galleryId,
    modelId,
    dims: descriptor.length,
    descriptor,
    limit: 1,
    excludePersonId: person.id,
    efSearch,
  });
  return nearest ? { personId: nearest.personId, name: nearest.name, distance: nearest.distance } : undefined;
}
