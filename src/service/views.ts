/**
 * Results of the use cases as the JSON every adapter shows: the HTTP API's response bodies and the CLI's --json print
 * the same objects, built here once (src/http/schemas.ts documents their shape in /openapi.json).
 */
import type { AcceptedFace, EnrollResult, Rejection } from './enroll.service.js';
import type { FaceRecord, ListedPerson } from './people.service.js';
import type { Sighting } from './sightings.service.js';
import type { ClusterView } from './clusters.service.js';

// Where `facerec serve` serves a face's thumbnail; the CLI prints the same path.
const thumbnailPath = (faceId: string) => `/v1/faces/${faceId}/thumbnail`;

export const thumbnailUrl = (face: FaceRecord): string | null => (face.hasThumbnail ? thumbnailPath(face.id) : null);

/** A listed person with the thumbnail of their first face that has one. */
export const listedPersonJson = ({ thumbnailFaceId, ...person }: ListedPerson) => ({
  ...person,
  thumbnailUrl: thumbnailFaceId ? thumbnailPath(thumbnailFaceId) : null,
});

/** A stored face: no descriptor, hash or model id. */
export const faceJson = (face: FaceRecord) => ({
  id: face.id,
  box: face.box,
  score: face.score,
  quality: face.quality,
  origin: face.origin,
  sightingId: face.sightingId,
  createdAt: face.createdAt,
  thumbnailUrl: thumbnailUrl(face),
});

const fileOf = (photo: { file?: string }) => (photo.file !== undefined ? { file: photo.file } : {});

const acceptedJson = (a: AcceptedFace) => ({ index: a.index, ...fileOf(a), ...faceJson(a.face), warnings: a.warnings });

const rejectedJson = (r: Rejection) => ({
  index: r.index,
  ...fileOf(r),
  code: r.code,
  message: r.message,
  ...(r.details ? { details: r.details } : {}),
});

/**
 * An enrollment: the person (and whether this call created them), each accepted photo's new face and each rejected
 * photo's reason, both by the photo's position in the call (`index`) and its file name when it had one.
 */
export const enrollmentJson = (result: EnrollResult) => ({
  person: result.person,
  created: result.created,
  faces: result.faces.map(acceptedJson),
  rejected: result.rejected.map(rejectedJson),
});

export type EnrollmentJson = ReturnType<typeof enrollmentJson>;

/** A sighting: no descriptor; its thumbnail's URL. */
export const sightingJson = (s: Sighting) => ({
  id: s.id,
  gallery: s.galleryId,
  photo: { sha256: s.photo.sha256, source: s.photo.source, width: s.photo.width, height: s.photo.height },
  faceIndex: s.faceIndex,
  box: s.box,
  score: s.score,
  quality: s.quality,
  attributes: s.attributes,
  thumbnailUrl: s.hasThumbnail ? `/v1/sightings/${s.id}/thumbnail` : null,
  seenAt: s.seenAt,
  outcome: s.outcome,
  matchedPerson: s.matchedPerson,
  distance: s.distance,
  person: s.person,
  labelledBy: s.labelledBy,
  labelledAt: s.labelledAt,
  labelledByKey: s.labelledByKey,
  clusterId: s.clusterId,
});

/** A cluster with its sample faces as sightings. */
export const clusterJson = (c: ClusterView) => ({ ...c, samples: c.samples.map(sightingJson) });
