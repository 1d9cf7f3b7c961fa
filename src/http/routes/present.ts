/** Domain objects as API JSON. */
import type { AcceptedFace, EnrollResult } from '../../service/enroll.service.js';
import type { FaceRecord, ListedPerson } from '../../service/people.service.js';

const thumbnailPath = (faceId: string) => `/v1/faces/${faceId}/thumbnail`;

export const thumbnailUrl = (face: FaceRecord): string | null => (face.hasThumbnail ? thumbnailPath(face.id) : null);

export const listedPersonJson = ({ thumbnailFaceId, ...person }: ListedPerson) => ({
  ...person,
  thumbnailUrl: thumbnailFaceId ? thumbnailPath(thumbnailFaceId) : null,
});

export const faceJson = (face: FaceRecord) => ({
  id: face.id,
  box: face.box,
  score: face.score,
  quality: face.quality,
  createdAt: face.createdAt,
  thumbnailUrl: thumbnailUrl(face),
});

const acceptedJson = (a: AcceptedFace) => ({ index: a.index, ...faceJson(a.face), warnings: a.warnings });

export const enrollJson = (result: EnrollResult) => ({
  person: result.person,
  faces: result.faces.map(acceptedJson),
  rejected: result.rejected.map((r) => ({
    index: r.index,
    code: r.code,
    message: r.message,
    ...(r.details ? { details: r.details } : {}),
  })),
});
