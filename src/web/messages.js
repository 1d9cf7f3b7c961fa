/** The API's error codes in plain words: what happened and what to do about it. */

/** @type {Record<string, string>} */
const SENTENCES = {
  NO_FACE: 'No face was found in this photo. Try a photo where the face is clearly visible and well lit.',
  MULTIPLE_FACES: 'This photo shows several faces. Use a photo with just one person in it.',
  FACE_TOO_SMALL: 'The face is too small. Use a closer photo, or a larger version of it.',
  LOW_SCORE: 'The face is not clear enough to be sure it is a face.',
  BLURRY: 'The photo is too blurry. Use a sharper photo.',
  EXTREME_POSE: 'The head is turned too far. Use a photo looking at the camera.',
  DUPLICATE_IMAGE: 'This exact photo is already enrolled.',
  DUPLICATE_PERSON: 'This face is already enrolled as another person.',
  INCONSISTENT_IDENTITY: 'This face does not look like the person’s other photos. Check that it is the right person.',
  NO_ENROLLED_FACES: 'This person has no enrolled faces yet. Add a photo of them first.',
  UNSUPPORTED_IMAGE: 'This file is not an image that can be read. Use a JPEG, PNG or WebP photo.',
  IMAGE_TOO_LARGE: 'The image is too large. Use a smaller photo.',
  PAYLOAD_TOO_LARGE: 'The file is too large to upload. Use a smaller photo.',
  TOO_MANY_FILES: 'Too many photos at once. Send at most 20.',
  MISSING_IMAGE: 'Choose a photo first.',
  UNAUTHORIZED: 'This server needs an API key, or the key given is not valid.',
  FORBIDDEN: 'Your API key is not allowed to do this: it needs an admin key.',
  RATE_LIMITED: 'Too many requests in a short time. Wait a minute and try again.',
  QUEUE_FULL: 'The server is busy right now. Try again in a few seconds.',
  WORKER_CRASHED: 'The recognition engine had to restart. Try again.',
  ENGINE_UNHEALTHY: 'The recognition engine is restarting. Try again in a few seconds.',
  IMAGE_UNPROCESSABLE: 'The recognition engine could not process this photo. Try another photo, or a smaller copy of it.',
  POOL_CLOSED: 'The server is shutting down. Try again in a moment.',
  DATABASE_UNAVAILABLE: 'The database is not available right now. Try again shortly.',
  DATABASE_LOCKED: 'The database is in use by another program. Try again shortly.',
  TIMEOUT: 'The server took too long to answer. Try again.',
  NETWORK: 'The server could not be reached. Check your connection and that facerec is running.',
  PERSON_NOT_FOUND: 'This person no longer exists. They may have been deleted.',
  FACE_NOT_FOUND: 'This face no longer exists.',
  GALLERY_NOT_FOUND: 'This gallery does not exist. Pick another one.',
  GALLERY_EXISTS: 'A gallery with this name already exists.',
  GALLERY_NOT_EMPTY: 'This gallery still has people in it.',
  UNKNOWN_MODEL: 'This server does not have that descriptor model.',
  MODEL_UNUSABLE: 'This descriptor model cannot run on this server; an administrator can see why in facerec models.',
  PERSON_AMBIGUOUS: 'Several people have this name. Pick them from the list instead.',
  EXTERNAL_ID_TAKEN: 'Another person already has this external ID.',
  NOT_FOUND: 'The server does not know this request. Is the app up to date with the server?',
  INTERNAL: 'Something went wrong on the server. Try again; if it keeps happening, check the server log.',
};

/** Short reasons for a photo's badge. @type {Record<string, string>} */
const REASONS = {
  NO_FACE: 'No face found',
  MULTIPLE_FACES: 'Several faces',
  FACE_TOO_SMALL: 'Face too small',
  LOW_SCORE: 'Face unclear',
  BLURRY: 'Too blurry',
  EXTREME_POSE: 'Head turned too far',
  DUPLICATE_IMAGE: 'Same photo twice',
  DUPLICATE_PERSON: 'Already someone else',
  INCONSISTENT_IDENTITY: 'Looks like someone else',
  UNSUPPORTED_IMAGE: 'Not a readable image',
  IMAGE_TOO_LARGE: 'Image too large',
  IMAGE_UNPROCESSABLE: 'Could not be processed',
  PAYLOAD_TOO_LARGE: 'File too large',
};

/**
 * A readable sentence for any thrown value; never empty.
 * @param {unknown} error
 * @returns {{ text: string, code: string, detail: string }}
 */
export function describeError(error) {
  const e = /** @type {{ code?: string, message?: string, status?: number }} */ (error ?? {});
  const code = typeof e.code === 'string' ? e.code : 'UNEXPECTED';
  const known = SENTENCES[code];
  if (known) return { text: known, code, detail: e.message ?? '' };
  // INVALID_ARGUMENT and codes this app does not know: the server's own message is the best we have.
  if (e.message) return { text: e.message.endsWith('.') ? e.message : `${e.message}.`, code, detail: '' };
  return { text: 'Something unexpected went wrong. Try again.', code, detail: '' };
}

/**
 * A short reason for a rejected photo, e.g. "Several faces (3)".
 * @param {string} code @param {Record<string, unknown>} [details]
 */
export function reasonFor(code, details = {}) {
  const reason = REASONS[code] ?? describeError({ code }).text;
  if (code === 'MULTIPLE_FACES' && Array.isArray(details.boxes)) return `${reason} (${details.boxes.length})`;
  const person = /** @type {{ name?: unknown } | undefined} */ (details.person);
  if (code === 'DUPLICATE_PERSON' && typeof person?.name === 'string') return `Already enrolled as ${person.name}`;
  return reason;
}

/** Whether the error is about the API key, so that a link to Settings helps. @param {unknown} error */
export const isKeyProblem = (error) => ['UNAUTHORIZED', 'FORBIDDEN'].includes(/** @type {{ code?: string }} */ (error ?? {}).code ?? '');
