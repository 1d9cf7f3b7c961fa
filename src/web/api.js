/**
 * The public HTTP API, and nothing else: every call carries the API key from Settings, and every failure becomes an
 * ApiError with the server's stable code (or NETWORK when the server cannot be reached).
 */
import { store } from './store.js';

/**
 * The API's JSON, as src/http/schemas.ts declares it (GET /openapi.json shows the same).
 * @typedef {{ id: string, name: string }} PersonRef
 * @typedef {{ size: number, score: number, sharpness: number, yaw: number, roll: number, landmarkSpan?: number }} Quality size: shorter box side (px); yaw, roll in degrees; landmarkSpan: how wide a face the landmarks outline over the box width
 * @typedef {'off' | 'unknown' | 'all'} KeepSightings which faces identify keeps in a gallery as sightings: none (the default), those it cannot name, every one
 * @typedef {{ id: string, name: string, people: number, faces: number, descriptorModel: string | null, keepSightings?: KeepSightings, createdAt: string }} Gallery descriptorModel: null until its first enrollment binds one
 * @typedef {{ id: string, name: string, dims: number, metric: string, default: boolean, source: string, license: string, shipped: boolean, usable?: boolean, unusableReason?: string }} DescriptorModel GET /v1/models; usable false: it cannot run here (unusableReason says why)
 * @typedef {{ id: string, galleryId: string, name: string, externalId: string | null, metadata: Record<string, unknown>, faceCount: number, createdAt: string, updatedAt: string }} Person
 * @typedef {Person & { thumbnailUrl: string | null }} ListedPerson a person in a page of people, with the thumbnail of their first face that has one
 * @typedef {{ people: ListedPerson[], total: number, limit: number, offset: number }} PeoplePage
 * @typedef {{ id: string, box: number[], score: number, quality: Quality, createdAt: string, thumbnailUrl: string | null }} Face box: [x, y, width, height] in pixels
 * @typedef {Person & { faces: Face[] }} PersonDetail
 * @typedef {{ index: number, file?: string, code: string, message: string, details?: Record<string, unknown> }} Rejection a photo not enrolled, by its position in the request
 * @typedef {{ code: 'POSSIBLE_DUPLICATE_PERSON', message: string, person: PersonRef, distance: number }} EnrollWarning
 * @typedef {Face & { index: number, file?: string, warnings: EnrollWarning[] }} AcceptedFace
 * @typedef {{ person: Person, created: boolean, faces: AcceptedFace[], rejected: Rejection[] }} EnrollResult
 * @typedef {{ person: PersonRef, distance: number, confidence: number }} Candidate
 * @typedef {'neutral' | 'happy' | 'sad' | 'angry' | 'fearful' | 'disgusted' | 'surprised'} Expression
 * @typedef {{ age?: number, gender?: { label: 'female' | 'male', probability: number }, expression?: { label: Expression, probability: number, probabilities: Record<Expression, number> } }} FaceAttributes estimates, present when asked for (attributes=…)
 * @typedef {{ box: number[], score: number, quality: Quality, outcome: 'match' | 'ambiguous' | 'unknown', label: string, person: PersonRef | null, distance: number | null, confidence: number | null, candidates: Candidate[], reason?: 'FACE_TOO_SMALL', landmarks?: number[][], attributes?: FaceAttributes, sightingId?: string }} IdentifiedFace sightingId: the face was kept as a sighting (the gallery's keepSightings)
 * @typedef {'target-fpir' | 'gallery-calibrated' | 'model-card' | 'request'} ThresholdSource where identify's threshold came from
 * @typedef {{ faces: IdentifiedFace[], threshold: number, thresholdSource: ThresholdSource, expectedFpir: number | null, gallery: PersonRef, width: number, height: number }} IdentifyResult
 * @typedef {{ gallery: PersonRef, people: number, faces: number, targetFpir: number, threshold: number, source: ThresholdSource, expectedFpir: number, expectedDir: number, model: string }} GalleryThreshold GET /v1/galleries/{id}/threshold (abridged)
 * @typedef {{ match: boolean, distance: number, threshold: number, confidence: number }} MatchResult
 * @typedef {MatchResult & { person: PersonRef, box: number[], facesInPhoto: number }} VerifyResult
 * @typedef {MatchResult & { boxes: [number[], number[]], facesInPhotos: [number, number] }} CompareResult
 * @typedef {{ box: number[], score: number, quality: Quality, landmarks?: number[][], attributes?: FaceAttributes }} DetectedFace
 * @typedef {{ width: number, height: number, faces: DetectedFace[] }} DetectResult
 * @typedef {{ status: 'ready', checks: Record<string, string> }} Readiness GET /readyz; checks: engine, workers, database, shutdown, selfTest
 * @typedef {{ minFaceSize: number, minScore: number, minSharpness: number, maxYaw: number, maxRoll: number }} EnrollmentGates
 * @typedef {{ min: number, max: number, default?: number }} Range
 * @typedef {{ threshold: number, targetFpir: number, ambiguityMargin: number, enrollment: EnrollmentGates, limits: { topK: Range, maxFaces: Range, minFaceSize: Range, threshold: Range, pageSize: Range, offset: Range, photosPerCall: number, metadataBytes: number, metadataDepth: number }, maxImageBytes: number, maxImagePixels: number, descriptorModelId: string, sightings?: { retentionDays: number, minClusterSize: number, facesPerNaming: number } }} Settings GET /v1/settings: the server's thresholds, gates and limits
 *
 * Faces seen (sightings) and the clusters of unknown ones:
 * @typedef {{ sha256: string, source: string | null, width: number, height: number }} SeenPhoto
 * @typedef {{ id: string, gallery: string, photo: SeenPhoto, faceIndex: number, box: number[], score: number, quality: Quality, thumbnailUrl: string | null, seenAt: string, outcome: 'match' | 'ambiguous' | 'unknown', matchedPerson: PersonRef | null, distance: number | null, person: PersonRef | null, labelledBy: 'match' | 'rematch' | 'user' | null, labelledAt: string | null, clusterId: string | null }} Sighting person: who it is now (null while unknown); labelledBy 'user': a person's word, never overturned
 * @typedef {{ id: string, gallery: PersonRef, model: string, size: number, ignored: boolean, ignoredAt: string | null, cohesion: number, meanDistance: number, samples: Sighting[], photos: Array<{ sha256: string, source: string | null }>, photoCount: number, createdAt: string, updatedAt: string }} Cluster cohesion: share of its best faces' pairs within the model's verify threshold; photos: the first 20
 * @typedef {{ clusters: Cluster[], total: number, limit: number, offset: number }} ClusterPage
 * @typedef {{ person: Person, created: boolean, enrolled: Array<{ faceId: string, sightingId: string }>, labelled: number, relabelled: number }} NameResult relabelled: unknown faces elsewhere that now match the person
 * @typedef {{ source?: string, sha256: string, status: 'new' | 'seen' | 'failed', faces: number, sightings: number, error?: { code: string, message: string } }} ScannedPhoto
 * @typedef {{ summary: { photos: number, new: number, seen: number, failed: number, faces: number, sightings: number }, photos: ScannedPhoto[] }} ScanResult
 * @typedef {{ sighting: Sighting, template: { added: boolean, faceId?: string, reason: string } }} ConfirmResult template.added: the face became one more template of the person
 */

export class ApiError extends Error {
  /**
   * @param {string} code machine code, e.g. NO_FACE
   * @param {string} message the server's message
   * @param {Record<string, unknown>} [details]
   * @param {number} [status] HTTP status; 0 when there was no response
   */
  constructor(code, message, details = {}, status = 0) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.details = details;
    this.status = status;
  }
}

/**
 * One call of the API. T is the response body's type, taken from the caller's declared return type; the server's
 * schemas (src/http/schemas.ts) are what make it true.
 * @template T
 * @param {string} method
 * @param {string} path relative to the page, so that the app also works behind a path prefix
 * @param {{ query?: Record<string, string | number | undefined>, json?: unknown, form?: FormData, as?: 'json' | 'blob', key?: string }} [options]
 *   key: this API key instead of the saved one
 * @returns {Promise<T>}
 */
async function request(method, path, { query, json, form, as = 'json', key = store.apiKey } = {}) {
  const url = new URL(path, document.baseURI);
  for (const [name, value] of Object.entries(query ?? {}))
    if (value !== undefined && value !== '') url.searchParams.set(name, String(value));
  /** @type {Record<string, string>} */
  const headers = { Accept: as === 'json' ? 'application/json' : '*/*' };
  if (key) headers.Authorization = `Bearer ${key.trim()}`;
  /** @type {BodyInit | undefined} */
  let body;
  if (form) body = form;
  else if (json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(json);
  }
  let res;
  try {
    res = await fetch(url, { method, headers, body });
  } catch {
    throw new ApiError('NETWORK', 'The server could not be reached');
  }
  if (!res.ok) {
    /** @type {{ error?: { code?: string, message?: string, details?: Record<string, unknown> } } | undefined} */
    let payload;
    try {
      payload = await res.json();
    } catch {
      // not our JSON error (a proxy's page): the status says enough
    }
    const error = payload?.error;
    throw new ApiError(error?.code ?? `HTTP_${res.status}`, error?.message ?? res.statusText, error?.details ?? {}, res.status);
  }
  return /** @type {Promise<T>} */ (as === 'blob' ? res.blob() : res.json());
}

/**
 * What an enrollment may add to its photos: the face to take in each photo of several (its box from /v1/detect, by
 * the photo's position; null for the default rule), and the admin's override of DUPLICATE_PERSON.
 * @typedef {{ faceBoxes?: Array<number[] | null>, allowDuplicatePerson?: boolean }} EnrollChoices
 */

/** The form fields of EnrollChoices: boxes as a JSON list, and only what is set. @param {EnrollChoices} choices */
const enrollFields = ({ faceBoxes, allowDuplicatePerson }) => ({
  faceBoxes: faceBoxes?.some(Boolean) ? JSON.stringify(faceBoxes) : undefined,
  allowDuplicatePerson: allowDuplicatePerson || undefined,
});

/** @param {Record<string, string | number | boolean | undefined>} fields @param {Record<string, Blob | Blob[] | undefined>} files */
function multipart(fields, files) {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) if (value !== undefined && value !== '') form.append(name, String(value));
  for (const [name, value] of Object.entries(files)) {
    for (const file of Array.isArray(value) ? value : value ? [value] : [])
      form.append(name, file, file instanceof File ? file.name : 'photo.jpg');
  }
  return form;
}

export const api = {
  /** @returns {Promise<{ galleries: Gallery[] }>} */
  galleries: () => request('GET', 'v1/galleries'),
  /** @param {string} name @param {string} [model] @returns {Promise<{ gallery: Gallery }>} */
  createGallery: (name, model) => request('POST', 'v1/galleries', { json: { name, model } }),
  /** @param {string} gallery id or name @param {string} name @returns {Promise<{ gallery: Gallery }>} */
  renameGallery: (gallery, name) => request('PATCH', `v1/galleries/${encodeURIComponent(gallery)}`, { json: { name } }),
  /**
   * With force, also a gallery with people in it, erasing them.
   * @param {string} gallery @param {boolean} force @returns {Promise<{ deleted: Gallery }>}
   */
  deleteGallery: (gallery, force) =>
    request('DELETE', `v1/galleries/${encodeURIComponent(gallery)}`, { query: { force: force ? 'true' : undefined } }),
  /** @returns {Promise<{ models: DescriptorModel[] }>} */
  models: () => request('GET', 'v1/models'),
  /** @param {string} gallery @returns {Promise<GalleryThreshold>} */
  galleryThreshold: (gallery) => request('GET', `v1/galleries/${encodeURIComponent(gallery)}/threshold`),
  /** @param {{ gallery: string, search?: string, limit?: number, offset?: number }} q @returns {Promise<PeoplePage>} */
  people: (q) => request('GET', 'v1/people', { query: q }),
  /** @param {string} id @param {string} gallery @returns {Promise<{ person: PersonDetail }>} */
  person: (id, gallery) => request('GET', `v1/people/${encodeURIComponent(id)}`, { query: { gallery } }),
  /**
   * @param {{ gallery: string, name: string, externalId?: string, largestFace?: boolean }} fields @param {File[]} photos
   * @param {EnrollChoices} [choices]
   * @returns {Promise<EnrollResult>}
   */
  createPerson: (fields, photos, choices = {}) =>
    request('POST', 'v1/people', { form: multipart({ ...fields, ...enrollFields(choices), onReject: 'skip' }, { images: photos }) }),
  /**
   * @param {string} id @param {string} gallery @param {File[]} photos
   * @param {EnrollChoices & { largestFace?: boolean }} [choices]
   * @returns {Promise<EnrollResult>}
   */
  addFaces: (id, gallery, photos, choices = {}) =>
    request('POST', `v1/people/${encodeURIComponent(id)}/faces`, {
      form: multipart(
        { gallery, largestFace: choices.largestFace || undefined, ...enrollFields(choices), onReject: 'skip' },
        { images: photos },
      ),
    }),
  /** @param {string} id @param {string} gallery @param {string} name @returns {Promise<{ person: Person }>} */
  rename: (id, gallery, name) => request('PATCH', `v1/people/${encodeURIComponent(id)}`, { json: { gallery, name } }),
  /** @param {string} id @param {string} gallery @returns {Promise<{ deleted: Person }>} */
  deletePerson: (id, gallery) => request('DELETE', `v1/people/${encodeURIComponent(id)}`, { query: { gallery } }),
  /** @param {string} id @param {string} faceId @returns {Promise<{ deleted: Face }>} */
  removeFace: (id, faceId) => request('DELETE', `v1/people/${encodeURIComponent(id)}/faces/${encodeURIComponent(faceId)}`),
  /** A face thumbnail as a Blob: fetched with the key, which an <img src> could not send. @param {string} url @returns {Promise<Blob>} */
  thumbnail: (url) => request('GET', url.replace(/^\//, ''), { as: 'blob' }),
  /**
   * The file's name goes along as the photo's source: a gallery that keeps faces says where each was seen.
   * @param {Blob} image @param {{ gallery: string, threshold?: number, attributes?: string }} options
   * @returns {Promise<IdentifyResult>}
   */
  identify: (image, { gallery, threshold, attributes }) =>
    request('POST', 'v1/identify', {
      form: multipart({ gallery, threshold, attributes, source: image instanceof File ? image.name.slice(0, 2000) : undefined }, { image }),
    }),
  /**
   * @param {Blob} image @param {{ gallery: string, personId: string, threshold?: number, largestFace?: boolean }} options
   * @returns {Promise<VerifyResult>}
   */
  verify: (image, options) => request('POST', 'v1/verify', { form: multipart(options, { image }) }),
  /**
   * @param {Blob} imageA @param {Blob} imageB @param {{ threshold?: number, largestFace?: boolean }} options
   * @returns {Promise<CompareResult>}
   */
  compare: (imageA, imageB, options) => request('POST', 'v1/compare', { form: multipart(options, { imageA, imageB }) }),
  /** @param {Blob} image @param {{ attributes?: string }} [options] @returns {Promise<DetectResult>} */
  detect: (image, { attributes } = {}) => request('POST', 'v1/detect', { form: multipart({ attributes }, { image }) }),
  /** @returns {Promise<Readiness>} */
  ready: () => request('GET', 'readyz'),
  /**
   * What a key may do here, asked with that key (not the saved one): 'admin' (lists galleries), 'recognize' (refused
   * that with FORBIDDEN), or 'none' when the server needs no key. A key the server refuses throws UNAUTHORIZED.
   * @param {string} key @returns {Promise<'admin' | 'recognize' | 'none'>}
   */
  keyRole: async (key) => {
    try {
      await request('GET', 'v1/galleries', { key });
      return key ? 'admin' : 'none';
    } catch (error) {
      if (error instanceof ApiError && error.code === 'FORBIDDEN') return 'recognize';
      throw error;
    }
  },
  /** @returns {Promise<Settings>} */
  settings: () => request('GET', 'v1/settings'),
  /** @param {string} gallery @param {KeepSightings} keepSightings @returns {Promise<{ gallery: Gallery }>} */
  keepSightings: (gallery, keepSightings) =>
    request('PATCH', `v1/galleries/${encodeURIComponent(gallery)}/sightings`, { json: { keepSightings } }),
  /**
   * Scans a batch of photos into the gallery: every face becomes a sighting; photos it has seen are skipped.
   * @param {string} gallery @param {Array<{ file: File, source: string }>} photos @returns {Promise<ScanResult>}
   */
  scan: (gallery, photos) => {
    const form = multipart({ gallery }, { images: photos.map((p) => p.file) });
    for (const p of photos) form.append('sources', p.source);
    return request('POST', 'v1/scan', { form });
  },
  /**
   * The gallery's groups of unknown faces (or the ignored ones), largest first.
   * @param {{ gallery: string, ignored?: boolean, samples?: number, limit?: number, offset?: number }} q @returns {Promise<ClusterPage>}
   */
  clusters: ({ ignored, ...q }) => request('GET', 'v1/clusters', { query: { ...q, ignored: ignored ? 'true' : undefined } }),
  /** One cluster with all its faces. @param {string} id @param {string} gallery @returns {Promise<{ cluster: Cluster }>} */
  cluster: (id, gallery) => request('GET', `v1/clusters/${encodeURIComponent(id)}`, { query: { gallery } }),
  /**
   * Names a cluster: a new person (name) or one of the gallery's (personId), enrolled from its best faces.
   * @param {string} id @param {{ gallery: string, name?: string, personId?: string, force?: boolean }} who @returns {Promise<NameResult>}
   */
  nameCluster: (id, who) => request('POST', `v1/clusters/${encodeURIComponent(id)}/name`, { json: who }),
  /** @param {string} gallery @param {string[]} clusters @returns {Promise<{ cluster: Cluster }>} */
  mergeClusters: (gallery, clusters) => request('POST', 'v1/clusters/merge', { json: { gallery, clusters } }),
  /** @param {string} id @param {string} gallery @param {boolean} ignored @returns {Promise<{ cluster: Cluster }>} */
  ignoreCluster: (id, gallery, ignored) => request('POST', `v1/clusters/${encodeURIComponent(id)}/ignore`, { json: { gallery, ignored } }),
  /**
   * Takes a face out of a cluster (it becomes its own).
   * @param {string} id @param {string} sightingId @param {string} gallery @returns {Promise<{ sighting: string, cluster: string }>}
   */
  takeOutOfCluster: (id, sightingId, gallery) =>
    request('DELETE', `v1/clusters/${encodeURIComponent(id)}/sightings/${encodeURIComponent(sightingId)}`, { query: { gallery } }),
  /**
   * A user's correction: who a kept face is, or nobody enrolled (null).
   * @param {string} id @param {string | null} personId @returns {Promise<{ sighting: Sighting }>}
   */
  correctSighting: (id, personId) => request('PATCH', `v1/sightings/${encodeURIComponent(id)}`, { json: { personId } }),
  /**
   * A user confirms who a kept face is (its current person by default); the face may become one of their templates.
   * @param {string} id @param {string} [personId] @returns {Promise<ConfirmResult>}
   */
  confirmSighting: (id, personId) =>
    request('POST', `v1/sightings/${encodeURIComponent(id)}/confirm`, { json: personId === undefined ? {} : { personId } }),
};
