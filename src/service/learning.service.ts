/**
 * A gallery that learns (issue 24): faces a user confirms, and, when the gallery allows it, matches that are certain,
 * become extra templates of their person: chosen for what they add (src/match/learn.ts), at most FACEREC_TEMPLATE_CAP
 * per person, through the consistency guard, each saying where it came from (faces.origin, faces.sighting_id), and
 * listed and removed at will. Enrolled faces (the user's own photos) are never displaced.
 */
import { z } from 'zod';
import type { Box, FaceQuality } from '../core/face.js';
import { FacerecError, InvalidArgumentError } from '../errors.js';
import type { FaceMatch } from '../match/identify.js';
import {
  certainMatchRule,
  chooseTemplateChange,
  duplicateDistance,
  isCertainMatch,
  trustedDistance,
  type CertainVerdict,
  type SightingSource,
  type Template,
} from '../match/learn.js';
import type { PersonCandidate } from '../match/reduce.js';
import type { Queryable } from '../store/database.js';
import { insertFace, type FaceRecord } from '../store/faces.repository.js';
import { findGallery, setLearn, type Gallery } from '../store/galleries.repository.js';
import { getPerson, touchPerson } from '../store/people.repository.js';
import { getSighting, labelSighting, sightingDescriptor, sightingThumbnail, type Sighting } from '../store/sightings.repository.js';
import { isUniqueViolation } from '../store/sql.js';
import {
  confirmFace,
  deleteFacesOfSighting,
  deleteSightingFace,
  deleteSightingFaces,
  listSightingFaces,
  personTemplates,
  type PersonFace,
} from '../store/templates.repository.js';
import { relabelMatches } from './clusters.service.js';
import type { ServiceContext } from './context.js';
import { qualityRejection } from './enroll.service.js';
import { decimalInteger, GalleryRef, text, Uuid } from './input.js';
import { resolvePerson } from './people.service.js';
import { bindGalleryModel, galleryModel, modelMismatch, type ModelSettings } from './models.service.js';
import { galleriesChanged, galleryThreshold, impostorModel } from './open-set.service.js';

export const LearnSetting = z
  .enum(['off', 'certain'])
  .meta({ description: 'off (default): templates are added only when a user confirms a face; certain: also from certain matches' });

export type LearnMode = z.output<typeof LearnSetting>;

export const GalleryLearningInput = z.object({ gallery: GalleryRef.optional(), learn: LearnSetting });

/** A person of the gallery by id, external id or exact name (the CLI's --person). */
const PersonRefInput = text().trim().min(1).max(200);

export const ConfirmSightingInput = z.object({
  personId: Uuid.optional().meta({
    description: 'Who the face is (a person of the sighting’s gallery); default: the person it is labelled or matched as',
  }),
  person: PersonRefInput.optional().meta({ description: 'The same by id, external id or exact name (instead of personId)' }),
});

/** Faces from sightings: learned (default), confirmed, or both (any). */
export const OriginFilter = z
  .enum(['learned', 'confirmed', 'any'])
  .prefault('learned')
  .meta({ description: 'learned (default): from certain matches; confirmed: from a user’s confirmation; any: both' });

export const ListLearnedInput = z.object({
  gallery: GalleryRef.optional(),
  personId: Uuid.optional().meta({ description: 'Only this person’s' }),
  person: PersonRefInput.optional().meta({ description: 'The same by id, external id or exact name' }),
  origin: OriginFilter,
  limit: decimalInteger(1, 500).prefault(50),
  offset: decimalInteger(0, 10_000_000).prefault(0),
});

export const RemoveLearnedInput = z.object({
  gallery: GalleryRef.optional(),
  personId: Uuid.optional().meta({ description: 'Only this person’s; without it, the whole gallery’s' }),
  person: PersonRefInput.optional().meta({ description: 'The same by id, external id or exact name' }),
  origin: OriginFilter,
});

const origins = (filter: 'learned' | 'confirmed' | 'any'): Array<'learned' | 'confirmed'> =>
  filter === 'any' ? ['learned', 'confirmed'] : [filter];

/**
 * Why a face did or did not become a template: added (or replaced a more redundant or less trusted one), already a
 * template, a near-duplicate of one the person has, the cap reached with nothing it may displace, below the enrollment
 * quality gates, refused by the consistency guard, or the person already has a face of that photo.
 */
export type TemplateReason = 'added' | 'already' | 'near-duplicate' | 'cap' | 'quality' | 'guard' | 'same-photo';

export interface TemplateOutcome {
  added: boolean;
  /** The new template (added), or the one it already is (already), or the one it nearly duplicates (near-duplicate). */
  faceId?: string;
  /** The template the new one displaced (at the cap). */
  replacedFaceId?: string;
  reason: TemplateReason;
  /** Distance to the person's nearest template before the change. */
  nearest?: number;
}

/** Sets whether identify adds certain matches as templates in a gallery (PATCH /v1/galleries/{id}/learning). */
export async function setGalleryLearning(ctx: ServiceContext, galleryRef: string, learn: LearnMode): Promise<Gallery> {
  const gallery = await findGallery(ctx.db, galleryRef);
  await setLearn(ctx.db, gallery.id, learn);
  return { ...gallery, learn };
}

const round4 = (v: number): number => Math.round(v * 10000) / 10000;

/** A face seen, about to become a template of `personId`. */
interface TemplateCandidate {
  personId: string;
  galleryId: string;
  descriptor: number[];
  box: Box;
  score: number;
  quality: FaceQuality;
  imageSha256: string;
  thumbnail: Uint8Array | null;
  sightingId: string | null;
  source: SightingSource;
}

/**
 * Makes a face a template of its person if it adds something (chooseTemplateChange), inside the caller's transaction
 * and with the person's row locked: the enrollment quality gates, the consistency guard (the face must be within the
 * model's 1:1 threshold of one of the person's faces, when they have any), then the diversity rule under the cap.
 */
async function addTemplate(ctx: ServiceContext, tx: Queryable, model: ModelSettings, c: TemplateCandidate): Promise<TemplateOutcome> {
  await getPerson(tx, c.personId, { forUpdate: true });
  const faces = await personTemplates(tx, c.personId, model.card.id);
  // Confirming a face that is a learned template already: the same face, now on a human's word.
  const existing = c.sightingId ? faces.find((f) => f.sightingId === c.sightingId) : undefined;
  if (existing) {
    if (c.source === 'confirmed' && existing.origin === 'learned') await confirmFace(tx, existing.id);
    return { added: false, faceId: existing.id, reason: 'already' };
  }
  if (qualityRejection({ score: c.score, quality: c.quality }, ctx.config.enrollment)) return { added: false, reason: 'quality' };
  const templates: Template[] = faces.map((f) => ({ id: f.id, descriptor: f.descriptor, source: f.origin }));
  const impostors = await impostorModel(ctx, model.card.id);
  const change = chooseTemplateChange(
    templates,
    { descriptor: c.descriptor, source: c.source },
    { cap: ctx.config.templateCap, duplicateDistance: duplicateDistance(impostors) },
  );
  const nearest = change.nearest === null ? {} : { nearest: round4(change.nearest) };
  // The consistency guard, as for every enrollment: a face unlike all of the person's is likely someone else.
  if (change.nearest !== null && change.nearest > model.verifyThreshold) return { added: false, reason: 'guard', ...nearest };
  if (change.action === 'skip')
    return change.reason === 'duplicate'
      ? { added: false, ...(change.templateId ? { faceId: change.templateId } : {}), reason: 'near-duplicate', ...nearest }
      : { added: false, reason: 'cap', ...nearest };
  const replaced = change.action === 'replace' ? change.templateId : undefined;
  const samePhoto = faces.find((f) => f.imageSha256 === c.imageSha256 && f.id !== replaced);
  if (samePhoto) return { added: false, faceId: samePhoto.id, reason: 'same-photo', ...nearest };
  if (replaced) await tx.query('DELETE FROM faces WHERE id = $1', [replaced]);
  const face = await insertFace(tx, {
    personId: c.personId,
    galleryId: c.galleryId,
    descriptor: c.descriptor,
    modelId: model.card.id,
    box: c.box,
    score: c.score,
    quality: c.quality,
    imageSha256: c.imageSha256,
    thumbnail: ctx.config.thumbnails ? c.thumbnail : null,
    origin: c.source,
    sightingId: c.sightingId,
  });
  await touchPerson(tx, c.personId);
  return { added: true, faceId: face.id, ...(replaced ? { replacedFaceId: replaced } : {}), reason: 'added', ...nearest };
}

export interface ConfirmResult {
  sighting: Sighting;
  template: TemplateOutcome;
}

/**
 * A user confirms who a sighting is: the person it is labelled or matched as, or `personId` (a correction). The
 * sighting is labelled so on the user's word; templates made from it for anyone else go; and the face becomes a
 * template of the person when it adds something (template.reason says why not otherwise).
 */
export async function confirmSighting(
  ctx: ServiceContext,
  id: string,
  input: { personId?: string; person?: string } = {},
  byKey?: string,
): Promise<ConfirmResult> {
  if (input.personId !== undefined && input.person !== undefined) throw new InvalidArgumentError('Give personId or person, not both');
  const { template, galleryId, personId, removed } = await ctx.db.transaction(async (tx) => {
    const sighting = await getSighting(tx, id);
    const gallery = await findGallery(tx, sighting.galleryId);
    const named = input.person !== undefined ? (await resolvePerson(tx, gallery.id, input.person)).id : input.personId;
    const personId = named ?? sighting.person?.id ?? sighting.matchedPerson?.id;
    if (!personId)
      throw new FacerecError(
        'SIGHTING_UNLABELLED',
        `Sighting ${id} is not labelled as anyone: say who it is (personId), or name its cluster`,
        { sighting: id },
      );
    const person = await getPerson(tx, personId);
    if (person.galleryId !== gallery.id)
      throw new FacerecError('WRONG_GALLERY', `Person ${person.name} is in another gallery than sighting ${id}`, {
        sighting: id,
        personId,
      });
    const model = galleryModel(ctx, gallery);
    if (sighting.modelId !== model.card.id) throw modelMismatch(gallery.name, gallery.descriptorModel ?? model.card.id, sighting.modelId);
    await bindGalleryModel(tx, gallery, model.card);
    await labelSighting(tx, id, person.id, byKey ?? null);
    const removed = await deleteFacesOfSighting(tx, id, person.id);
    const template = await addTemplate(ctx, tx, model, {
      personId: person.id,
      galleryId: gallery.id,
      descriptor: await sightingDescriptor(tx, id),
      box: sighting.box,
      score: sighting.score,
      quality: sighting.quality,
      imageSha256: sighting.photo.sha256,
      thumbnail: await sightingThumbnail(tx, id),
      sightingId: id,
      source: 'confirmed',
    });
    return { template, galleryId: gallery.id, personId: person.id, removed: removed.length };
  });
  if (template.added || removed > 0) {
    galleriesChanged(ctx.db);
    // Faces seen before that now match the person are theirs, as after an enrollment.
    if (template.added) await relabelMatches(ctx, galleryId, personId).catch(() => 0);
  }
  return { sighting: await getSighting(ctx.db, id), template };
}

/** One face of an identified photo, as identify hands it to learning. */
export interface IdentifiedForLearning {
  descriptor: number[];
  box: Box;
  score: number;
  quality: FaceQuality;
  thumbnail: Uint8Array | null;
  /** identify's answer for the face. */
  match: FaceMatch;
  /** Every person near the face, nearest first, reduced per person as identify reduced them (more than topK lists). */
  people: readonly PersonCandidate[];
  sightingId: string | null;
}

export interface LearnedFace {
  /** The face's position in the photo's faces. */
  index: number;
  faceId: string;
  personId: string;
}

/**
 * identify's learning, in a gallery with learn = certain: each match that is certain by the gallery's rule
 * (certainMatchRule at its operating point now, judged against the person's enrolled and confirmed faces) becomes a
 * 'learned' template when chooseTemplateChange says it adds something. Returns the faces added. A model without
 * impostor statistics (a model brought without them) has no certain rule: nothing is learned.
 */
export async function learnFromMatches(
  ctx: ServiceContext,
  gallery: Pick<Gallery, 'id' | 'name' | 'descriptorModel'>,
  model: ModelSettings,
  photo: { sha256: string; faces: ReadonlyArray<IdentifiedForLearning | null> },
): Promise<LearnedFace[]> {
  if (!photo.faces.some((f) => f?.match.outcome === 'match')) return [];
  const point = await galleryThreshold(ctx, gallery.id, model.card.id).catch(() => null);
  if (!point) return [];
  const impostors = await impostorModel(ctx, model.card.id);
  const rule = certainMatchRule(impostors, point, { quality: ctx.config.enrollment });
  const learned: LearnedFace[] = [];
  for (const [index, face] of photo.faces.entries()) {
    if (!face || face.match.outcome !== 'match' || !face.match.person) continue;
    const personId = face.match.person.id;
    const seen = {
      outcome: face.match.outcome,
      person: face.match.person,
      distance: face.people.find((p) => p.personId === personId)?.distance ?? face.match.distance,
      candidates: face.people.map((p) => ({ person: { id: p.personId }, distance: p.distance })),
      quality: face.quality,
    };
    // Most matches fail the rule on what identify found already; only the others read the person's templates.
    if (!isCertainMatch(seen, rule).certain) continue;
    try {
      const added = await ctx.db.transaction(async (tx) => {
        const templates = await personTemplates(tx, personId, model.card.id);
        const trusted = trustedDistance(
          templates.map((t) => ({ id: t.id, descriptor: t.descriptor, source: t.origin })),
          face.descriptor,
        );
        const verdict: CertainVerdict = isCertainMatch({ ...seen, trustedDistance: trusted }, rule);
        if (!verdict.certain) return null;
        return addTemplate(ctx, tx, model, {
          personId,
          galleryId: gallery.id,
          descriptor: face.descriptor,
          box: face.box,
          score: face.score,
          quality: face.quality,
          imageSha256: photo.sha256,
          thumbnail: face.thumbnail,
          sightingId: face.sightingId,
          source: 'learned',
        });
      });
      if (added?.added && added.faceId) learned.push({ index, faceId: added.faceId, personId });
    } catch (err) {
      // The person erased or the gallery moved to another model meanwhile: the answer stands, nothing is learned.
      if (err instanceof FacerecError && ['PERSON_NOT_FOUND', 'MODEL_MISMATCH'].includes(err.code)) continue;
      if (isUniqueViolation(err)) continue;
      throw err;
    }
  }
  if (learned.length > 0) galleriesChanged(ctx.db);
  return learned;
}

/** The person a listing or removal is about (of the gallery), if any. */
async function personOf(q: Queryable, galleryId: string, input: { personId?: string; person?: string }): Promise<string | undefined> {
  if (input.personId !== undefined && input.person !== undefined) throw new InvalidArgumentError('Give personId or person, not both');
  if (input.personId !== undefined) return (await getPerson(q, input.personId, { galleryId })).id;
  if (input.person !== undefined) return (await resolvePerson(q, galleryId, input.person)).id;
  return undefined;
}

/** The faces of a gallery that came from sightings (learned by default), newest first. */
export async function listLearnedFaces(ctx: ServiceContext, input: z.output<typeof ListLearnedInput>) {
  const gallery = await findGallery(ctx.db, input.gallery ?? 'default');
  const personId = await personOf(ctx.db, gallery.id, input);
  const { faces, total } = await listSightingFaces(ctx.db, {
    galleryId: gallery.id,
    ...(personId ? { personId } : {}),
    origins: origins(input.origin),
    limit: input.limit,
    offset: input.offset,
  });
  return { gallery: { id: gallery.id, name: gallery.name }, faces, total, limit: input.limit, offset: input.offset };
}

/** Removes the faces of a gallery (or of one of its people) that came from sightings: learned ones by default. */
export async function removeLearnedFaces(
  ctx: ServiceContext,
  input: z.output<typeof RemoveLearnedInput>,
): Promise<{ gallery: { id: string; name: string }; deleted: number; faces: FaceRecord[] }> {
  const result = await ctx.db.transaction(async (tx) => {
    const gallery = await findGallery(tx, input.gallery ?? 'default');
    const personId = await personOf(tx, gallery.id, input);
    const faces = await deleteSightingFaces(tx, {
      galleryId: gallery.id,
      ...(personId ? { personId } : {}),
      origins: origins(input.origin),
    });
    return { gallery: { id: gallery.id, name: gallery.name }, deleted: faces.length, faces };
  });
  if (result.deleted > 0) galleriesChanged(ctx.db);
  return result;
}

/** Removes one confirmed or learned face of a gallery (never an enrolled one: FACE_NOT_FOUND). */
export async function removeLearnedFace(ctx: ServiceContext, faceId: string, galleryRef = 'default'): Promise<FaceRecord> {
  const removed = await ctx.db.transaction(async (tx) => deleteSightingFace(tx, (await findGallery(tx, galleryRef)).id, faceId));
  galleriesChanged(ctx.db);
  return removed;
}

export type { PersonFace };
