/**
 * The public HTTP API, and nothing else: every call carries the API key from Settings, and every failure becomes an
 * ApiError with the server's stable code (or NETWORK when the server cannot be reached).
 */
import { store } from './store.js';

export class ApiError extends Error {
  /**
   * @param {string} code machine code, e.g. NO_FACE
   * @param {string} message the server's message
   * @param {Record<string, any>} [details]
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
 * @param {string} method
 * @param {string} path relative to the page, so that the app also works behind a path prefix
 * @param {{ query?: Record<string, string | number | undefined>, json?: unknown, form?: FormData, as?: 'json' | 'blob' }} [options]
 */
async function request(method, path, { query, json, form, as = 'json' } = {}) {
  const url = new URL(path, document.baseURI);
  for (const [name, value] of Object.entries(query ?? {})) if (value !== undefined && value !== '') url.searchParams.set(name, String(value));
  /** @type {Record<string, string>} */
  const headers = { Accept: as === 'json' ? 'application/json' : '*/*' };
  if (store.apiKey) headers.Authorization = `Bearer ${store.apiKey}`;
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
    /** @type {{ error?: { code?: string, message?: string, details?: Record<string, any> } } | undefined} */
    let payload;
    try {
      payload = await res.json();
    } catch {
      // not our JSON error (a proxy's page): the status says enough
    }
    const error = payload?.error;
    throw new ApiError(error?.code ?? `HTTP_${res.status}`, error?.message ?? res.statusText, error?.details ?? {}, res.status);
  }
  return as === 'blob' ? res.blob() : res.json();
}

/** @param {Record<string, string | number | boolean | undefined>} fields @param {Record<string, Blob | Blob[] | undefined>} files */
function multipart(fields, files) {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) if (value !== undefined && value !== '') form.append(name, String(value));
  for (const [name, value] of Object.entries(files)) {
    for (const file of Array.isArray(value) ? value : value ? [value] : []) form.append(name, file, file instanceof File ? file.name : 'photo.jpg');
  }
  return form;
}

export const api = {
  galleries: () => request('GET', 'v1/galleries'),
  /** @param {{ gallery: string, search?: string, limit?: number, offset?: number }} q */
  people: (q) => request('GET', 'v1/people', { query: q }),
  /** @param {string} id @param {string} gallery */
  person: (id, gallery) => request('GET', `v1/people/${encodeURIComponent(id)}`, { query: { gallery } }),
  /** @param {{ gallery: string, name: string, externalId?: string, largestFace?: boolean }} fields @param {File[]} photos */
  createPerson: (fields, photos) => request('POST', 'v1/people', { form: multipart({ ...fields, onReject: 'skip' }, { images: photos }) }),
  /** @param {string} id @param {string} gallery @param {File[]} photos */
  addFaces: (id, gallery, photos) => request('POST', `v1/people/${encodeURIComponent(id)}/faces`, { form: multipart({ gallery, onReject: 'skip' }, { images: photos }) }),
  /** @param {string} id @param {string} gallery @param {string} name */
  rename: (id, gallery, name) => request('PATCH', `v1/people/${encodeURIComponent(id)}`, { json: { gallery, name } }),
  /** @param {string} id @param {string} gallery */
  deletePerson: (id, gallery) => request('DELETE', `v1/people/${encodeURIComponent(id)}`, { query: { gallery } }),
  /** @param {string} id @param {string} faceId */
  removeFace: (id, faceId) => request('DELETE', `v1/people/${encodeURIComponent(id)}/faces/${encodeURIComponent(faceId)}`),
  /** A face thumbnail as a Blob: fetched with the key, which an <img src> could not send. @param {string} url */
  thumbnail: (url) => request('GET', url.replace(/^\//, ''), { as: 'blob' }),
  /** @param {Blob} image @param {{ gallery: string, threshold?: number }} options */
  identify: (image, { gallery, threshold }) => request('POST', 'v1/identify', { form: multipart({ gallery, threshold, topK: 3 }, { image }) }),
  /** @param {Blob} image @param {{ gallery: string, personId: string, threshold?: number, largestFace?: boolean }} options */
  verify: (image, options) => request('POST', 'v1/verify', { form: multipart(options, { image }) }),
  /** @param {Blob} imageA @param {Blob} imageB @param {{ threshold?: number, largestFace?: boolean }} options */
  compare: (imageA, imageB, options) => request('POST', 'v1/compare', { form: multipart(options, { imageA, imageB }) }),
  /** @param {Blob} image */
  detect: (image) => request('POST', 'v1/detect', { form: multipart({}, { image }) }),
  ready: () => request('GET', 'readyz'),
};
