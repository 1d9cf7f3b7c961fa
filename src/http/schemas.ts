/**
 * The HTTP-specific shapes of the API as zod schemas: path parameters, the fields only HTTP has, and every response.
 * The use cases' own inputs live beside them in src/service and are used as they are; /openapi.json is generated
 * from both, so the document and the validation cannot drift apart.
 */
import { z } from 'zod';
import { EXPRESSIONS, GENDERS, type Expression } from '../core/face.js';
import { IdentifyInput, VerifyInput } from '../service/identify.service.js';
import { FACE_REASONS } from '../service/detect.service.js';
import { GalleryRef, Uuid } from '../service/input.js';

export const PersonParams = z.object({ id: Uuid });
export const FaceParams = z.object({ id: Uuid, faceId: Uuid });
export const FaceIdParams = z.object({ faceId: Uuid });
export const GalleryParams = z.object({ id: GalleryRef });

export const ImageFormat = z.enum(['jpeg', 'png', 'webp']);

export const IdentifyBody = IdentifyInput.extend({
  format: ImageFormat.optional().meta({ description: 'Annotated image format (annotate, or identify with Accept: image/*)' }),
});

// Over HTTP the person is named by id only; the CLI also takes an external id or a name.
export const VerifyBody = VerifyInput.extend({ personId: Uuid });

// ---- responses ----

const Box = z.array(z.number()).length(4).meta({ description: '[x, y, width, height] in pixels of the (EXIF-rotated) image' });
const Point = z.array(z.number()).length(2);
const Quality = z
  .object({
    size: z.number(),
    score: z.number(),
    sharpness: z.number(),
    yaw: z.number(),
    roll: z.number(),
    landmarkSpan: z.number().optional(),
  })
  .meta({
    id: 'Quality',
    description:
      'size: shorter box side (px); sharpness: Laplacian variance of the aligned chip; yaw/roll in degrees; landmarkSpan: how wide a face the landmarks outline over the box width (faces ~0.9–1.6; absent on faces enrolled before it was measured)',
  });
const PersonRef = z.object({ id: Uuid, name: z.string() });

/** A photo used only in part: FIRST_FRAME_ONLY (an animation, or a photo of several pages). */
const PhotoWarning = z
  .object({
    code: z.literal('FIRST_FRAME_ONLY'),
    message: z.string(),
    format: z.string(),
    frames: z.number().meta({ description: 'Frames (or pages) the photo holds; only the first was used' }),
    image: z.string().optional().meta({ description: 'Which photo (compare: image A or image B)' }),
  })
  .meta({ id: 'PhotoWarning' });
const PhotoWarnings = z
  .array(PhotoWarning)
  .optional()
  .meta({ description: 'Present when a photo was not used whole: an animated GIF, WebP or PNG, or a TIFF or HEIF of several pages' });
const Probability = z.number().min(0).max(1);
export const FaceAttributes = z
  .object({
    age: z.number().optional().meta({
      description:
        'Apparent age in years (face-api’s ageGenderNet), one decimal. Uncalibrated, not measured here: no age-labelled set was within reach',
    }),
    gender: z
      .object({ label: z.enum(GENDERS), probability: Probability.meta({ description: 'Of the label (0.5..1)' }) })
      .optional()
      .meta({
        description:
          'The more likely of female and male, as face-api’s ageGenderNet estimates it from the face alone; on LFW right for ' +
          '93% of women’s faces and 99% of men’s (docs/accuracy.md)',
      }),
    expression: z
      .object({
        label: z.enum(EXPRESSIONS),
        probability: Probability.meta({ description: 'Of the label' }),
        probabilities: z
          .object(Object.fromEntries(EXPRESSIONS.map((e) => [e, Probability])) as Record<Expression, typeof Probability>)
          .meta({ description: 'All seven, summing to 1' }),
      })
      .optional()
      .meta({
        description:
          'The most likely of face-api’s seven expressions (faceExpressionNet); measured on posed faces only, where sad is ' +
          'mostly read as neutral (docs/accuracy.md)',
      }),
  })
  .meta({
    id: 'FaceAttributes',
    description:
      'Estimates from the face alone, present only when the request asked for them (attributes=…), each only if named. ' +
      'Accuracy, calibration and their limits: docs/accuracy.md (Face attributes)',
  });

export const ErrorResponse = z
  .object({ error: z.object({ code: z.string(), message: z.string(), details: z.record(z.string(), z.unknown()) }) })
  .meta({ id: 'Error' });

export const Gallery = z
  .object({
    id: Uuid,
    name: z.string(),
    people: z.number(),
    faces: z.number(),
    descriptorModel: z
      .string()
      .nullable()
      .meta({ description: 'The descriptor model of its faces (GET /v1/models); null until its first enrollment binds one' }),
    keepSightings: z.enum(['off', 'unknown', 'all']).meta({
      description: 'Which faces identify keeps as sightings (faces seen): none (default), those it cannot name, or all',
    }),
    learn: z.enum(['off', 'certain']).meta({
      description: 'Whether identify adds certain matches as templates of their person: off (default) or certain',
    }),
    createdAt: z.string(),
  })
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
  .object({
    id: Uuid,
    box: Box,
    score: z.number(),
    quality: Quality,
    origin: z.enum(['enrolled', 'confirmed', 'learned']).meta({
      description: 'enrolled: a photo a user enrolled; confirmed: a face seen that a user confirmed; learned: a certain match',
    }),
    sightingId: Uuid.nullable().meta({ description: 'The sighting a confirmed or learned face came from (null once purged)' }),
    createdAt: z.string(),
    thumbnailUrl: z.string().nullable(),
  })
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
  file: z.string().optional().meta({ description: 'The photo’s file name, when it was sent with one' }),
  warnings: z.array(
    z.union([
      z.object({ code: z.literal('POSSIBLE_DUPLICATE_PERSON'), message: z.string(), person: PersonRef, distance: z.number() }),
      PhotoWarning,
    ]),
  ),
}).meta({ id: 'AcceptedFace' });

export const EnrollResponse = z
  .object({
    person: Person,
    created: z.boolean().meta({ description: 'Whether this call created the person (POST /v1/people) or added to them' }),
    faces: z.array(AcceptedFace),
    rejected: z.array(Rejection),
  })
  .meta({ id: 'EnrollResult' });

const FaceReasonSchema = z.enum(FACE_REASONS).meta({
  description: 'FACE_TOO_SMALL: the face is under the enrollment size gate (FACEREC_ENROLL_MIN_FACE_SIZE); identify leaves it unknown',
});

const Candidate = z.object({ person: PersonRef, distance: z.number(), confidence: z.number() });

export const IdentifiedFace = z
  .object({
    box: Box,
    score: z.number(),
    quality: Quality,
    outcome: z.enum(['match', 'ambiguous', 'unknown']),
    reason: FaceReasonSchema.optional(),
    label: z.string().meta({ description: 'The person’s name, or "Unknown"' }),
    person: PersonRef.nullable(),
    distance: z.number().nullable().meta({ description: 'To the best candidate; null with an empty gallery' }),
    confidence: z.number().nullable().meta({ description: 'Probability of the same person at that distance, fitted on LFW (0..1)' }),
    candidates: z.array(Candidate),
    landmarks: z.array(Point).optional(),
    attributes: FaceAttributes.optional(),
    sightingId: Uuid.optional().meta({ description: 'The sighting the face was kept as (when the gallery or the call keeps them)' }),
    learnedFaceId: Uuid.optional().meta({
      description: 'The template this face became: a certain match in a gallery that learns (listed in its learned faces)',
    }),
  })
  .meta({ id: 'IdentifiedFace' });

const ThresholdSource = z.enum(['target-fpir', 'gallery-calibrated', 'model-card', 'request']);

export const IdentifyResponse = z
  .object({
    faces: z.array(IdentifiedFace),
    threshold: z.number().meta({ description: 'The distance at or below which a face was named' }),
    thresholdSource: ThresholdSource.meta({
      description:
        'target-fpir: from the gallery’s size and the shipped impostor model at FACEREC_TARGET_FPIR; gallery-calibrated: the same, ' +
        'with the impostor model re-centred on the gallery’s own cross-person distances; model-card: the verification threshold of a ' +
        'model brought without impostor statistics; request: the threshold the call passed',
    }),
    model: z.string().meta({ description: 'The gallery’s descriptor model (GET /v1/models)' }),
    expectedFpir: z
      .number()
      .nullable()
      .meta({ description: 'The share of strangers the impostor model expects to get a name at this threshold in this gallery' }),
    gallery: PersonRef,
    width: z.number(),
    height: z.number(),
    warnings: PhotoWarnings,
  })
  .meta({ id: 'IdentifyResult' });

const Tail = z.object({ mean: z.number(), sd: z.number() });

export const CalibrationResponse = z
  .object({
    identify: z.object({
      gallery: PersonRef,
      model: z.string(),
      people: z.number(),
      faces: z.number(),
      targetFpir: z.number(),
      reduction: z.enum(['min', 'mean2']),
      threshold: z.number().meta({ description: 'The threshold identify uses in this gallery when a call passes none' }),
      source: ThresholdSource.exclude(['request']),
      expectedFpir: z.number(),
      expectedDir: z.number(),
      impostor: z.object({
        shipped: Tail,
        inForce: Tail,
        fittedOn: z.string(),
        crossPersonDistances: z.number(),
        tailMeanSe: z.number().meta({ description: 'Standard error of the re-centred mean, which widens inForce.sd (0: not re-centred)' }),
        minPeopleForGallery: z.number(),
        sameFacePairs: z.number().meta({ description: 'Pairs of the sample that are one face under two names, left out of it' }),
        notCalibrated: z
          .string()
          .optional()
          .meta({ description: 'Why the gallery keeps the shipped tail although it has the people to calibrate itself' }),
      }),
      fixedThreshold: z.object({ threshold: z.number(), expectedFpir: z.number(), expectedDir: z.number() }),
    }),
    verification: z
      .object({
        people: z.number(),
        faces: z.number(),
        genuinePairs: z.number(),
        impostorPairs: z.number(),
        far: z.number(),
        threshold: z.number(),
        tar: z.number(),
        achievedFar: z.number(),
        current: z.object({ threshold: z.number(), tar: z.number(), far: z.number() }),
      })
      .nullable()
      .meta({ description: 'The 1:1 threshold at the target false-accept rate; null below 2 people with 2+ faces' }),
    verificationUnavailable: z.string().optional(),
  })
  .meta({ id: 'Calibration' });

export const MatchResponse = z
  .object({ match: z.boolean(), distance: z.number(), threshold: z.number(), confidence: z.number() })
  .meta({ id: 'MatchResult' });

const FacesInPhoto = z.number().min(1).meta({ description: 'Faces found in the photo: 1, or more with largestFace' });

export const VerifyResponse = MatchResponse.extend({
  person: PersonRef,
  box: Box.meta({ description: 'The face compared: the only one, or with largestFace the largest; [x, y, width, height] in pixels' }),
  facesInPhoto: FacesInPhoto,
  warnings: PhotoWarnings,
}).meta({ id: 'VerifyResult' });

export const CompareResponse = MatchResponse.extend({
  model: z.string().meta({ description: 'The descriptor model both faces were described with' }),
  boxes: z
    .tuple([Box, Box])
    .meta({ description: 'The face compared in imageA and in imageB: the only one, or with largestFace the largest' }),
  facesInPhotos: z.tuple([FacesInPhoto, FacesInPhoto]).meta({ description: 'Faces found in imageA and in imageB' }),
  warnings: PhotoWarnings,
}).meta({ id: 'CompareResult' });

export const DetectResponse = z
  .object({
    width: z.number(),
    height: z.number(),
    faces: z.array(
      z.object({
        box: Box,
        score: z.number(),
        quality: Quality,
        reason: FaceReasonSchema.optional(),
        landmarks: z.array(Point).optional(),
        attributes: FaceAttributes.optional(),
      }),
    ),
    warnings: PhotoWarnings,
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

// ---- faces seen: sightings and clusters ----

const NamedRef = z.object({ id: Uuid, name: z.string() });

export const SightingJson = z
  .object({
    id: Uuid,
    gallery: Uuid,
    photo: z.object({ sha256: z.string(), source: z.string().nullable(), width: z.number(), height: z.number() }),
    faceIndex: z.number(),
    box: Box,
    score: z.number(),
    quality: Quality,
    attributes: z.record(z.string(), z.unknown()).nullable(),
    thumbnailUrl: z.string().nullable(),
    seenAt: z.string(),
    outcome: z.enum(['match', 'ambiguous', 'unknown']).meta({ description: 'What identify answered when it saw the face' }),
    matchedPerson: NamedRef.nullable(),
    distance: z.number().nullable(),
    person: NamedRef.nullable().meta({ description: 'Who it is now: null while unknown' }),
    labelledBy: z
      .enum(['match', 'rematch', 'user'])
      .nullable()
      .meta({ description: 'On whose word: identify’s match, a match after a later enrollment, or a user (never overturned)' }),
    labelledAt: z.string().nullable(),
    labelledByKey: z.string().nullable().meta({ description: 'The API key (or CLI) of the user who said so' }),
    clusterId: Uuid.nullable(),
  })
  .meta({ id: 'Sighting' });

export const ClusterJson = z
  .object({
    id: Uuid,
    gallery: NamedRef,
    model: z.string(),
    size: z.number(),
    ignored: z.boolean(),
    ignoredAt: z.string().nullable(),
    cohesion: z.number().meta({ description: 'Share of its best faces’ pairs within the model’s verify threshold (1: all alike)' }),
    meanDistance: z.number(),
    samples: z.array(SightingJson).meta({ description: 'Its faces, best quality first' }),
    photos: z.array(z.object({ sha256: z.string(), source: z.string().nullable() })),
    photoCount: z.number(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'Cluster' });
