/** People and galleries: listing, lookup, renaming and erasure. */
import { z } from 'zod';
import { FacerecError, NotFoundError } from '../errors.js';
import type { Queryable } from '../store/database.js';
import { deleteFace, getThumbnail, listFaces, type FaceRecord } from '../store/faces.repository.js';
import { chosenModel } from './models.service.js';
import { ensureDescriptorIndex } from '../store/descriptor-index.js';
import { createGallery, deleteGallery, findGallery, listGalleries, renameGallery, type Gallery } from '../store/galleries.repository.js';
import {
  deletePerson as deletePersonRow,
  findPeopleByName,
  findPersonByExternalId,
  getPerson,
  listPeople as listPeopleRows,
  updatePerson,
  type ListedPerson,
  type Metadata,
  type PeoplePage,
  type Person,
  type PersonPatch,
} from '../store/people.repository.js';
import { isUuid } from '../store/sql.js';
import type { ServiceContext } from './context.js';
import { galleriesChanged } from './open-set.service.js';
import { boolish, decimalInteger, GalleryRef, ModelRef, text } from './input.js';
import { checkMetadata, checkRange, LIMITS, MetadataSchema } from './limits.js';
import { checkName, ExternalId, GalleryName, parseGalleryName, PersonName } from './names.js';

// The inputs of these use cases, as the HTTP API and the CLI take them.

/** The gallery a person is looked up in (show, delete). */
export const GalleryInput = z.object({ gallery: GalleryRef.optional() });

export const ListPeopleInput = z.object({
  gallery: GalleryRef.optional(),
  search: text().normalize('NFC').max(200).optional().meta({ description: 'Name contains (case-insensitive)' }),
  limit: decimalInteger(LIMITS.pageSize.min, LIMITS.pageSize.max).prefault(LIMITS.pageSize.default),
  offset: decimalInteger(LIMITS.offset.min, LIMITS.offset.max).prefault(LIMITS.offset.default),
});

/** A rename, a new (or no) external id, new metadata: at least one of them. */
export const PatchPersonInput = z
  .object({
    gallery: GalleryRef.optional(),
    name: PersonName.optional(),
    externalId: ExternalId.nullable().optional(),
    metadata: MetadataSchema.optional(),
  })
  .refine((b) => b.name !== undefined || b.externalId !== undefined || b.metadata !== undefined, {
    message: 'Give at least one of name, externalId, metadata',
  });

export const CreateGalleryInput = z.object({ name: GalleryName, model: ModelRef });

/** A gallery's new name (the default gallery keeps its own). */
export const RenameGalleryInput = z.object({ name: GalleryName });

/** force: also a gallery with people, erasing them. */
export const DeleteGalleryInput = z.object({ force: boolish.optional() });

/** A person by id, external id, or exact name (case-insensitive); a name shared by several people is ambiguous. */
export async function resolvePerson(q: Queryable, galleryId: string, ref: string): Promise<Person> {
  // Names are stored in NFC: a reference typed with combining accents finds them too.
  ref = ref.normalize('NFC');
  // An id first; a UUID that is no person's id may still be someone's external id (systems often use UUIDs).
  if (isUuid(ref)) {
    try {
      return await getPerson(q, ref, { galleryId });
    } catch (err) {
      if ((err as FacerecError).code !== 'PERSON_NOT_FOUND') throw err;
      const byExternal = await findPersonByExternalId(q, galleryId, ref);
      if (byExternal) return byExternal;
      throw err;
    }
  }
  const byExternal = await findPersonByExternalId(q, galleryId, ref);
  if (byExternal) return byExternal;
  const named = await findPeopleByName(q, galleryId, ref);
  if (named.length === 1) return named[0]!;
  if (named.length > 1) {
    throw new FacerecError('PERSON_AMBIGUOUS', `${named.length} people are named "${ref}"; use an id`, {
      name: ref,
      ids: named.map((p) => p.id),
    });
  }
  throw new NotFoundError('PERSON_NOT_FOUND', `Person "${ref}"`, { person: ref });
}

export interface PersonDetail extends Person {
  faces: FaceRecord[];
}

export async function showPerson(ctx: ServiceContext, ref: string, gallery?: string): Promise<PersonDetail> {
  const g = await findGallery(ctx.db, gallery ?? 'default');
  const person = await resolvePerson(ctx.db, g.id, ref);
  return { ...person, faces: await listFaces(ctx.db, person.id) };
}

/** A page of a gallery's people, each with the face to show as their picture (thumbnailFaceId). */
export async function listPeople(
  ctx: ServiceContext,
  options: { gallery?: string; search?: string; limit?: number; offset?: number } = {},
): Promise<PeoplePage & { gallery: Gallery }> {
  const gallery = await findGallery(ctx.db, options.gallery ?? 'default');
  const limit = checkRange(options.limit ?? LIMITS.pageSize.default, LIMITS.pageSize, 'limit', true);
  const offset = checkRange(options.offset ?? LIMITS.offset.default, LIMITS.offset, 'offset', true);
  const page = await listPeopleRows(ctx.db, gallery.id, { search: options.search, limit, offset });
  return { ...page, gallery };
}

export async function renamePerson(ctx: ServiceContext, ref: string, patch: PersonPatch, gallery?: string): Promise<Person> {
  patch = {
    ...patch,
    ...(patch.name !== undefined ? { name: checkName(PersonName, patch.name, 'name') } : {}),
    ...(typeof patch.externalId === 'string' ? { externalId: checkName(ExternalId, patch.externalId, 'externalId') } : {}),
    ...(patch.metadata !== undefined ? { metadata: checkMetadata(patch.metadata) } : {}),
  };
  return ctx.db.transaction(async (tx) => {
    const g = await findGallery(tx, gallery ?? 'default');
    const person = await resolvePerson(tx, g.id, ref);
    return updatePerson(tx, person.id, patch);
  });
}

/** Erasure: the person, every face, descriptor and thumbnail, in one transaction. */
export async function deletePerson(ctx: ServiceContext, ref: string, gallery?: string): Promise<Person> {
  const deleted = await ctx.db.transaction(async (tx) => {
    const g = await findGallery(tx, gallery ?? 'default');
    const person = await resolvePerson(tx, g.id, ref);
    return deletePersonRow(tx, person.id);
  });
  galleriesChanged(ctx.db);
  return deleted;
}

export async function removeFace(ctx: ServiceContext, personId: string, faceId: string): Promise<FaceRecord> {
  const removed = await ctx.db.transaction((tx) => deleteFace(tx, personId, faceId));
  galleriesChanged(ctx.db);
  return removed;
}

/** The JPEG of a face's aligned chip; FACE_NOT_FOUND when the face does not exist or was stored without one. */
export async function faceThumbnail(ctx: ServiceContext, faceId: string): Promise<Uint8Array> {
  const thumbnail = await getThumbnail(ctx.db, faceId);
  if (!thumbnail)
    throw new NotFoundError('FACE_NOT_FOUND', 'A thumbnail of this face', {
      faceId,
      hint: 'thumbnails are kept only while FACEREC_THUMBNAILS is on',
    });
  return thumbnail;
}

export type { FaceRecord, Gallery, ListedPerson, Metadata, Person, PeoplePage, PersonPatch };

export const galleries = {
  list: (ctx: ServiceContext) => listGalleries(ctx.db),
  get: (ctx: ServiceContext, ref: string) => findGallery(ctx.db, ref),
  /** A new gallery bound to `model` (by name or id), else to the configured model (FACEREC_DESCRIPTOR_MODEL). */
  create: async (ctx: ServiceContext, name: string, model?: string) => {
    const galleryName = parseGalleryName(name);
    const card = chosenModel(ctx, model).card;
    return ctx.db.transaction(async (tx) => {
      await ensureDescriptorIndex(tx, card);
      return createGallery(tx, galleryName, card.id);
    });
  },
  /** A new name for a gallery other than the default one; people, faces and its model stay. */
  rename: (ctx: ServiceContext, ref: string, name: string) => {
    const galleryName = parseGalleryName(name);
    return ctx.db.transaction((tx) => renameGallery(tx, ref, galleryName));
  },
  delete: async (ctx: ServiceContext, ref: string, force = false) => {
    const deleted = await ctx.db.transaction((tx) => deleteGallery(tx, ref, force));
    galleriesChanged(ctx.db);
    return deleted;
  },
};
