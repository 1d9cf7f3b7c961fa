/**
 * Every request shape the API accepts and every response shape it returns, as zod schemas: requests are validated
 * with them and /openapi.json is generated from them, so the two cannot drift apart.
 */
import { z } from 'zod';
import { LIMITS, MetadataSchema } from '../service/limits.js';
import { ExternalId, GalleryName, KeyName, PersonName } from '../service/names.js';

// Multipart fields and query strings are text: booleans and numbers arrive as strings.
const boolish = z
  .union([z.boolean(), z.enum(['true', 'false', '1', '0'])])
  .transform((v) => v === true || v === 'true' || v === '1')
  .meta({ type: 'boolean' });

// A number in a form field or query string is a plain decimal: optional sign, digits, optional fraction. Number() (and
// z.coerce) would also take "0x1", "1e0", " 1 ", "Infinity", and "" as 0. JSON bodies may send a (finite) number.
const DECIMAL = /^[+-]?\d+(\.\d+)?$/;
const decimalText = (value: unknown, ctx: z.RefinementCtx): unknown => {
  if (typeof value !== 'string') return value;
  if (DECIMAL.test(value)) return Number(value);
  ctx.addIssue({ code: 'custom', message: 'must be a plain decimal number, such as 3 or 0.5' });
  return z.NEVER;
};
/**
 * The one numeric field schema of every request: a decimal within [min, max], an integer when `type` says so. A default
 * is a `.prefault(v)`: /openapi.json drops the `.default` of a schema that transforms its input.
 */
const decimal = (type: 'number' | 'integer', min: number, max: number) =>
  z
    .preprocess(decimalText, (type === 'integer' ? z.number().int() : z.number()).min(min).max(max))
    .meta({ type, minimum: min, maximum: max });
const number = (min: number, max: number) => decimal('number', min, max);
const integer = (min: number, max: number) => decimal('integer', min, max);

// PostgreSQL's text and jsonb cannot hold U+0000: refused here as a 400 instead of failing in the database as a 500.
const text = () => z.string().regex(/^[^\0]*$/, 'must not contain the NUL character (U+0000)');

// Any 8-4-4-4-12 hex id, like PostgreSQL's uuid type and the store's isUuid: z.uuid() also checks RFC 9562's version
// and variant digits, and would answer 400 for an id such as 11111111-1111-1111-1111-111111111111 instead of 404.
export const Uuid = z.guid().meta({ description: 'A UUID (any 8-4-4-4-12 hex digits)' });
export const GalleryRef = text().trim().min(1).max(100).meta({ description: 'Gallery name (in any case) or id; default: "default"' });
const Threshold = number(LIMITS.threshold.min, LIMITS.threshold.max).optional();
const MaxFaces = integer(LIMITS.maxFaces.min, LIMITS.maxFaces.max).optional();

export const GalleryQuery = z.object({ gallery: GalleryRef.optional() });

export const CreateGalleryBody = z.object({ name: GalleryName });

export const DeleteGalleryQuery = z.object({ force: boolish.optional() });

export const ListPeopleQuery = z.object({
  gallery: GalleryRef.optional(),
  search: text().max(200).optional().meta({ description: 'Name contains (case-insensitive)' }),
  limit: integer(LIMITS.pageSize.min, LIMITS.pageSize.max).prefault(LIMITS.pageSize.default),
  offset: integer(0, 1_000_000).prefault(0),
});

export const EnrollOptions = z.object({
  onReject: z
    .enum(['fail', 'skip'])
    .default('fail')
    .meta({ description: '"fail": one rejected photo fails the call, nothing is stored; "skip": store the others' }),
  largestFace: boolish.optional().meta({ description: 'Take the largest face of a photo with several' }),
  force: boolish.optional().meta({ description: 'Enroll faces that look unlike the person’s existing faces' }),
});

export const CreatePersonBody = EnrollOptions.extend({
  gallery: GalleryRef.optional(),
  name: PersonName,
  externalId: ExternalId.optional(),
  metadata: MetadataSchema.optional(),
});

export const AddFacesBody = EnrollOptions.extend({ gallery: GalleryRef.optional() });

export const PatchPersonBody = z
  .object({
    gallery: GalleryRef.optional(),
    name: PersonName.optional(),
    externalId: ExternalId.nullable().optional(),
    metadata: MetadataSchema.optional(),
  })
  .refine((b) => b.name !== undefined || b.externalId !== undefined || b.metadata !== undefined, {
    message: 'Give at least one of name, externalId, metadata',
  });

export const PersonParams = z.object({ id: Uuid });
export const FaceParams = z.object({ id: Uuid, faceId: Uuid });
export const FaceIdParams = z.object({ faceId: Uuid });
export const GalleryParams = z.object({ id: GalleryRef });

export const ImageFormat = z.enum(['jpeg', 'png', 'webp']);

export const IdentifyBody = z.object({
  gallery: GalleryRef.optional(),
  threshold: Threshold.meta({ description: 'Same person at or below this distance; default: the server’s FACEREC_THRESHOLD' }),
  topK: integer(LIMITS.topK.min, LIMITS.topK.max).prefault(LIMITS.topK.default).meta({ description: 'Candidates listed per face' }),
  maxFaces: MaxFaces.meta({ description: 'Look at the largest N faces only' }),
  minFaceSize: integer(LIMITS.minFaceSize.min, LIMITS.minFaceSize.max)
    .optional()
    .meta({ description: 'Ignore faces smaller than this (px, shorter box side)' }),
  includeLandmarks: boolish.optional(),
  format: ImageFormat.optional().meta({ description: 'Annotated image format (annotate, or identify with Accept: image/*)' }),
});

const LargestFace = boolish
  .optional()
  .meta({ description: 'With several faces in a photo, compare its largest; without it such a photo is a 422 MULTIPLE_FACES' });
export const VerifyBody = z.object({ gallery: GalleryRef.optional(), personId: Uuid, threshold: Threshold, largestFace: LargestFace });
export const CompareBody = z.object({ threshold: Threshold, largestFace: LargestFace });
export const DetectBody = z.object({ maxFaces: MaxFaces, includeLandmarks: boolish.optional() });

export const CreateKeyBody = z.object({ name: KeyName, role: z.enum(['admin', 'recognize']) });

// ---- responses ----

const Box = z.array(z.number()).length(4).meta({ description: '[x, y, width, height] in pixels of the (EXIF-rotated) image' });
const Point = z.array(z.number()).length(2);
const Quality = z.object({ size: z.number(), score: z.number(), sharpness: z.number(), yaw: z.number(), roll: z.number() }).meta({
  id: 'Quality',
  description: 'size: shorter box side (px); sharpness: Laplacian variance of the aligned chip; yaw/roll in degrees',
});
const PersonRef = z.object({ id: Uuid, name: z.string() });

export const ErrorResponse = z
  .object({ error: z.object({ code: z.string(), message: z.string(), details: z.record(z.string(), z.unknown()) }) })
  .meta({ id: 'Error' });

export const Gallery = z
  .object({ id: Uuid, name: z.string(), people: z.number(), faces: z.number(), createdAt: z.string() })
  .meta({ id: 'Gallery' });

export const Person = z
  .object({
    id: Uuid,
    galleryId: Uuid,
    name: z.string(),
    externalId: z.string().nullable(),
    metadata: z.record(z.string(), z.unknown()),
    faceCount: z.number(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'Person' });

export const FaceRecord = z
  .object({ id: Uuid, box: Box, score: z.number(), quality: Quality, createdAt: z.string(), thumbnailUrl: z.string().nullable() })
  .meta({ id: 'Face' });

export const ListedPerson = Person.extend({
  thumbnailUrl: z
    .string()
    .nullable()
    .meta({ description: 'The thumbnail of the person’s first face that has one (GET it with the API key); null when none has' }),
}).meta({ id: 'ListedPerson' });

export const PersonDetail = Person.extend({ faces: z.array(FaceRecord) }).meta({ id: 'PersonDetail' });

export const Rejection = z
  .object({
    index: z.number(),
    file: z.string().optional(),
    code: z.string(),
    message: z.string(),
    details: z.record(z.string(), z.unknown()).optional(),
  })
  .meta({ id: 'Rejection' });

export const AcceptedFace = FaceRecord.extend({
  index: z.number().meta({ description: 'Position of the photo in the request' }),
  warnings: z.array(
    z.object({ code: z.literal('POSSIBLE_DUPLICATE_PERSON'), message: z.string(), person: PersonRef, distance: z.number() }),
  ),
}).meta({ id: 'AcceptedFace' });

export const EnrollResponse = z
  .object({ person: Person, faces: z.array(AcceptedFace), rejected: z.array(Rejection) })
  .meta({ id: 'EnrollResult' });

const Candidate = z.object({ person: PersonRef, distance: z.number(), confidence: z.number() });

export const IdentifiedFace = z
  .object({
    box: Box,
    score: z.number(),
    quality: Quality,
    outcome: z.enum(['match', 'ambiguous', 'unknown']),
    label: z.string().meta({ description: 'The person’s name, or "Unknown"' }),
    person: PersonRef.nullable(),
    distance: z.number().nullable().meta({ description: 'To the best candidate; null with an empty gallery' }),
    confidence: z.number().nullable().meta({ description: 'Probability of the same person at that distance, fitted on LFW (0..1)' }),
    candidates: z.array(Candidate),
    landmarks: z.array(Point).optional(),
  })
  .meta({ id: 'IdentifiedFace' });

export const IdentifyResponse = z
  .object({ faces: z.array(IdentifiedFace), threshold: z.number(), gallery: PersonRef, width: z.number(), height: z.number() })
  .meta({ id: 'IdentifyResult' });

export const MatchResponse = z
  .object({ match: z.boolean(), distance: z.number(), threshold: z.number(), confidence: z.number() })
  .meta({ id: 'MatchResult' });

const FacesInPhoto = z.number().min(1).meta({ description: 'Faces found in the photo: 1, or more with largestFace' });

export const VerifyResponse = MatchResponse.extend({
  person: PersonRef,
  box: Box.meta({ description: 'The face compared: the only one, or with largestFace the largest; [x, y, width, height] in pixels' }),
  facesInPhoto: FacesInPhoto,
}).meta({ id: 'VerifyResult' });

export const CompareResponse = MatchResponse.extend({
  boxes: z
    .tuple([Box, Box])
    .meta({ description: 'The face compared in imageA and in imageB: the only one, or with largestFace the largest' }),
  facesInPhotos: z.tuple([FacesInPhoto, FacesInPhoto]).meta({ description: 'Faces found in imageA and in imageB' }),
}).meta({ id: 'CompareResult' });

export const DetectResponse = z
  .object({
    width: z.number(),
    height: z.number(),
    faces: z.array(z.object({ box: Box, score: z.number(), quality: Quality, landmarks: z.array(Point).optional() })),
  })
  .meta({ id: 'DetectResult' });

export const ApiKey = z
  .object({
    id: Uuid,
    name: z.string(),
    role: z.enum(['admin', 'recognize']),
    prefix: z.string(),
    createdAt: z.string(),
    lastUsedAt: z.string().nullable(),
    revokedAt: z.string().nullable(),
  })
  .meta({ id: 'ApiKey' });
