/**
 * Faces seen, not only faces enrolled (issue 23). When a gallery (or the call) asks, identify and scan keep the faces
 * of a photo as sightings: descriptor, box, quality, thumbnail, the photo's hash and the caller's source, and what
 * identify answered. The unknown ones are clustered at once (clusters.service.ts); a user corrects or confirms a
 * sighting; retention purges them. Privacy first: nothing is kept unless asked, and never longer than
 * FACEREC_SIGHTING_RETENTION_DAYS.
 */
import { z } from 'zod';
import type { Face } from '../engine/face-engine.js';
import { FacerecError } from '../errors.js';
import type { FaceMatch } from '../match/identify.js';
import { findGallery, setKeepSightings, type Gallery } from '../store/galleries.repository.js';
import { getPerson } from '../store/people.repository.js';
import {
  galleriesWithPending,
  getSighting,
  insertSighting,
  labelSighting,
  listSightings as listSightingRows,
  purgeSightings,
  recordPhoto,
  sightingThumbnail,
  type KeepSightings,
  type Sighting,
  type SightingOutcome,
} from '../store/sightings.repository.js';
import { deleteFacesOfSighting } from '../store/templates.repository.js';
import type { ServiceContext } from './context.js';
import { galleriesChanged } from './open-set.service.js';
import { clusterPending } from './clusters.service.js';
import { decimalInteger, GalleryRef, text, Uuid } from './input.js';

export type { KeepSightings, Sighting };

export const KeepSightingsSetting = z
  .enum(['off', 'unknown', 'all'])
  .meta({ description: 'Keep faces seen as sightings: off (default), unknown (the faces identify cannot name), all' });

/** The caller's reference of a photo: a file path, a URL, a camera id. */
export const SourceRef = text()
  .trim()
  .min(1)
  .max(2000)
  .meta({ description: 'Your reference of the photo (a file path, a URL, a camera id), kept with its sightings' });

export const GallerySightingsInput = z.object({ gallery: GalleryRef.optional(), keepSightings: KeepSightingsSetting });

export const ListSightingsInput = z.object({
  gallery: GalleryRef.optional(),
  outcome: z.enum(['match', 'ambiguous', 'unknown']).optional().meta({ description: 'What identify answered when it saw the face' }),
  personId: Uuid.optional().meta({ description: 'Sightings labelled as this person (by a match or a user)' }),
  unknown: z
    .union([z.boolean(), z.enum(['true', 'false'])])
    .transform((v) => v === true || v === 'true')
    .optional()
    .meta({ type: 'boolean', description: 'Only the sightings nobody is named for' }),
  clusterId: Uuid.optional(),
  since: z.iso.datetime({ offset: true }).optional().meta({ description: 'Seen at or after this time (ISO 8601)' }),
  limit: decimalInteger(1, 500).prefault(50),
  offset: decimalInteger(0, 10_000_000).prefault(0),
});

export const CorrectSightingInput = z.object({
  personId: Uuid.nullable().meta({
    description: 'Who the face is (a person of the same gallery), or null: nobody enrolled (it becomes unknown, and may join a cluster)',
  }),
});

/** One face of an identified photo, as identify hands it over to be kept. */
export interface SeenFace {
  face: Face;
  /** identify's answer for it; undefined for a face it did not search (too small to recognise): such faces are not kept. */
  match?: FaceMatch;
}

/** Whether a face with this answer is kept under `keep`. */
export function kept(keep: KeepSightings, outcome: SightingOutcome): boolean {
  return keep === 'all' || (keep === 'unknown' && outcome !== 'match');
}

/**
 * Keeps the faces of a photo as sightings of the gallery, per `keep`; returns each face's sighting id (null where
 * not kept). The photo seen again keeps its sightings (one per face) and only its last-seen time moves. The new unknown
 * ones are clustered before this returns; a clustering that fails leaves them waiting for the next pass.
 */
export async function keepFaces(
  ctx: ServiceContext,
  seen: {
    gallery: Pick<Gallery, 'id'>;
    modelId: string;
    sha256: string;
    width: number;
    height: number;
    faces: readonly SeenFace[];
    keep: KeepSightings;
    source?: string;
  },
): Promise<Array<string | null>> {
  if (seen.keep === 'off') return seen.faces.map(() => null);
  const ids = await ctx.db.transaction(async (tx) => {
    const { photo } = await recordPhoto(tx, {
      galleryId: seen.gallery.id,
      sha256: seen.sha256,
      source: seen.source ?? null,
      width: seen.width,
      height: seen.height,
      faces: seen.faces.length,
    });
    const out: Array<string | null> = [];
    for (const [faceIndex, { face, match }] of seen.faces.entries()) {
      if (!match || !face.descriptor || !kept(seen.keep, match.outcome)) {
        out.push(null);
        continue;
      }
      const { id } = await insertSighting(tx, {
        galleryId: seen.gallery.id,
        photoId: photo.id,
        faceIndex,
        descriptor: face.descriptor,
        modelId: seen.modelId,
        box: face.box,
        score: face.score,
        quality: face.quality,
        attributes: (face as Face & { attributes?: Record<string, unknown> }).attributes ?? null,
        thumbnail: face.thumbnail ?? null,
        outcome: match.outcome,
        matchedPersonId: match.outcome === 'match' ? (match.person?.id ?? null) : null,
        distance: match.distance,
      });
      out.push(id);
    }
    return out;
  });
  if (ids.some((id) => id !== null)) await clusterPending(ctx, seen.gallery.id).catch(() => {}); // retried by the next pass
  return ids;
}

/** Sets which faces identify keeps in a gallery (PATCH /v1/galleries/{id}, facerec galleries set). */
export async function setGallerySightings(ctx: ServiceContext, galleryRef: string, keep: KeepSightings): Promise<Gallery> {
  const gallery = await findGallery(ctx.db, galleryRef);
  await setKeepSightings(ctx.db, gallery.id, keep);
  return { ...gallery, keepSightings: keep };
}

export async function listSightings(ctx: ServiceContext, input: z.output<typeof ListSightingsInput>) {
  const gallery = await findGallery(ctx.db, input.gallery ?? 'default');
  const { sightings, total } = await listSightingRows(ctx.db, {
    galleryId: gallery.id,
    outcome: input.outcome,
    personId: input.personId,
    unknown: input.unknown,
    clusterId: input.clusterId,
    since: input.since,
    limit: input.limit,
    offset: input.offset,
  });
  return { gallery: { id: gallery.id, name: gallery.name }, sightings, total, limit: input.limit, offset: input.offset };
}

export const showSighting = (ctx: ServiceContext, id: string): Promise<Sighting> => getSighting(ctx.db, id);

export async function sightingThumbnailOf(ctx: ServiceContext, id: string): Promise<Uint8Array> {
  const thumbnail = await sightingThumbnail(ctx.db, id);
  if (!thumbnail) throw new FacerecError('SIGHTING_NOT_FOUND', `Sighting ${id} has no stored thumbnail`, { sighting: id });
  return thumbnail;
}

/**
 * A user says who a sighting is: another person of the gallery, or nobody enrolled (null). Kept as the user's word
 * (who, when), never relabelled by an automatic pass; the enrolled faces are not changed, but a template made from this
 * face for another person (confirmed or learned) is removed. A face made unknown may join a cluster.
 */
export async function correctSighting(ctx: ServiceContext, id: string, personId: string | null, byKey?: string): Promise<Sighting> {
  const removed = await ctx.db.transaction(async (tx) => {
    const sighting = await getSighting(tx, id);
    if (personId !== null) {
      const person = await getPerson(tx, personId);
      if (person.galleryId !== sighting.galleryId)
        throw new FacerecError('WRONG_GALLERY', `Person ${person.name} is in another gallery than sighting ${id}`, {
          sighting: id,
          personId,
        });
    }
    await labelSighting(tx, id, personId, byKey ?? null);
    // A template made from this face for someone else was wrong: it goes (issue 24).
    return (await deleteFacesOfSighting(tx, id, personId)).length;
  });
  if (removed > 0) galleriesChanged(ctx.db);
  const sighting = await getSighting(ctx.db, id);
  if (personId === null) await clusterPending(ctx, sighting.galleryId).catch(() => {});
  return getSighting(ctx.db, id);
}

/** Deletes the sightings last seen more than FACEREC_SIGHTING_RETENTION_DAYS ago (the server runs it hourly). */
export async function purgeExpiredSightings(ctx: ServiceContext, now = new Date()) {
  const before = new Date(now.getTime() - ctx.config.sightingRetentionDays * 86_400_000);
  return { before: before.toISOString(), ...(await ctx.db.transaction((tx) => purgeSightings(tx, before))) };
}

/**
 * The server's hourly care of faces seen: purges what retention says must go, and clusters the sightings a failed or
 * interrupted pass left waiting. Errors are the caller's to log; the next run tries again.
 */
export async function maintainSightings(ctx: ServiceContext, now = new Date()) {
  const purged = await purgeExpiredSightings(ctx, now);
  let clustered = 0;
  for (const galleryId of await galleriesWithPending(ctx.db)) clustered += await clusterPending(ctx, galleryId);
  return { purged, clustered };
}
