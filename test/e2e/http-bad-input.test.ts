/**
 * Bad input over real HTTP, on PGlite and on PostgreSQL: each case gets its status and stable error code in the
 * `{ error: { code, message, details } }` shape, changes no row, and nothing at all gets a 5xx. Most cases are refused
 * before the engine sees a byte; only the no-face and several-faces cases analyse a photo.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/service/keys.service.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { dataset, HAS_DATASETS, KNN, SKIP_DATASETS_REASON } from '../helpers/datasets.js';
import { form, startTestServer, type TestServer } from '../helpers/server.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
// Small enough to exceed cheaply, large enough for every photo used here.
const MAX_IMAGE_BYTES = 1024 * 1024;
const UNKNOWN_ID = '00000000-0000-4000-8000-000000000000';
// 8-4-4-4-12 hex digits, without RFC 9562's version and variant.
const LOOSE_ID = '11111111-1111-1111-1111-111111111111';

interface ErrorBody {
  error: { code: string; message: string; details: Record<string, unknown> };
}

interface Fixtures {
  photo: Uint8Array;
  cars: Uint8Array;
  twoPeople: Uint8Array;
  corrupted: Uint8Array;
  truncated: Uint8Array;
  emptyPng: Uint8Array;
  text: Uint8Array;
  headerBomb: Uint8Array;
  pixelBomb: Uint8Array;
  oversize: Uint8Array;
  /** A person enrolled with one face, with externalId 'seed-1', in the default gallery. */
  personId: string;
  faceId: string;
}

interface Call {
  method?: 'GET' | 'HEAD' | 'OPTIONS' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  json?: unknown;
  /** A raw body with its content type. */
  raw?: { body: string | Uint8Array; type?: string };
  form?: FormData;
}

interface BadInput {
  name: string;
  request: (f: Fixtures) => Call | Promise<Call>;
  status: number;
  code: string;
  /** Further checks on the error (details). */
  check?: (error: ErrorBody['error'], f: Fixtures) => void;
}

const post = (path: string, body: FormData): Call => ({ method: 'POST', path, form: body });
const json = (method: Call['method'], path: string, body: unknown): Call => ({ method, path, json: body });
const rawJson = (path: string, body: string): Call => ({ method: 'POST', path, raw: { body, type: 'application/json' } });
const issuePaths = (error: ErrorBody['error']) => (error.details.issues as Array<{ path: string }>).map((i) => i.path);
const nested = (depth: number): unknown => (depth === 0 ? 'leaf' : { a: nested(depth - 1) });

/** A valid PNG (CRC included) whose header declares width x height: a pixel bomb of a few bytes. */
async function declaredPng(width: number, height: number): Promise<Uint8Array> {
  const png = await sharp({ create: { width: 1, height: 1, channels: 3, background: '#000000' } })
    .png()
    .toBuffer();
  // Signature (8), IHDR length (4), "IHDR" at 12, width at 16, height at 20, CRC of type + data at 29.
  expect(png.toString('latin1', 12, 16)).toBe('IHDR');
  png.writeUInt32BE(width, 16);
  png.writeUInt32BE(height, 20);
  png.writeUInt32BE(crc32(png.subarray(12, 29)), 29);
  return png;
}

const CASES: BadInput[] = [
  // ---- image content ----
  { name: 'a corrupt PNG', request: (f) => post('/v1/identify', form({ image: f.corrupted })), status: 415, code: 'UNSUPPORTED_IMAGE' },
  { name: 'a truncated JPEG', request: (f) => post('/v1/detect', form({ image: f.truncated })), status: 415, code: 'UNSUPPORTED_IMAGE' },
  {
    name: 'an empty (0-byte) file',
    request: () => post('/v1/identify', form({ image: new Uint8Array(0) })),
    status: 415,
    code: 'UNSUPPORTED_IMAGE',
  },
  {
    name: 'a 5-byte "PNG" for enrollment',
    request: (f) => post('/v1/people', form({ images: f.emptyPng }, { name: 'Empty' }, 'empty.png')),
    status: 415,
    code: 'UNSUPPORTED_IMAGE',
    check: (e) => expect(e.details.rejected).toEqual([expect.objectContaining({ index: 0, file: 'empty.png', code: 'UNSUPPORTED_IMAGE' })]),
  },
  {
    name: 'a text file named .jpg',
    request: (f) => post('/v1/identify', form({ image: f.text }, {}, 'notes.jpg')),
    status: 415,
    code: 'UNSUPPORTED_IMAGE',
  },
  {
    name: 'a text file named .jpg among good photos for enrollment (nothing stored)',
    request: (f) => post('/v1/people', form({ images: [f.photo, f.text] }, { name: 'Half' }, 'notes.jpg')),
    status: 415,
    code: 'UNSUPPORTED_IMAGE',
    check: (e) => expect(e.details.rejected).toEqual([expect.objectContaining({ index: 1, code: 'UNSUPPORTED_IMAGE' })]),
  },
  {
    // Its data holds one pixel: only a check of the header, before decoding, can find it too large (decoding fails).
    name: 'a 60000x60000 PNG header (pixel bomb)',
    request: (f) => post('/v1/identify', form({ image: f.headerBomb }, {}, 'bomb.png')),
    status: 413,
    code: 'IMAGE_TOO_LARGE',
    check: (e) => expect(e.details).toEqual({ width: 60000, height: 60000, maxPixels: 50_000_000 }),
  },
  {
    name: 'a real 10000x10000 PNG of a few hundred KB for enrollment (pixel bomb)',
    request: (f) => post('/v1/people', form({ images: f.pixelBomb }, { name: 'Bomb' }, 'bomb.png')),
    status: 413,
    code: 'IMAGE_TOO_LARGE',
    check: (e) =>
      expect(e.details.rejected).toEqual([
        expect.objectContaining({ code: 'IMAGE_TOO_LARGE', details: { width: 10000, height: 10000, maxPixels: 50_000_000 } }),
      ]),
  },
  {
    name: 'a file over FACEREC_MAX_IMAGE_BYTES',
    request: (f) => post('/v1/identify', form({ image: f.oversize })),
    status: 413,
    code: 'IMAGE_TOO_LARGE',
    check: (e) => expect(e.details).toEqual({ field: 'image', maxBytes: 1024 * 1024 }),
  },
  {
    name: 'no face (cars) for enrollment',
    request: (f) => post('/v1/people', form({ images: f.cars }, { name: 'Car' }, 'cars.jpg')),
    status: 422,
    code: 'NO_FACE',
    check: (e) => expect(e.details.rejected).toEqual([expect.objectContaining({ index: 0, file: 'cars.jpg', code: 'NO_FACE' })]),
  },
  {
    name: 'two faces for enrollment',
    request: (f) => post('/v1/people', form({ images: f.twoPeople }, { name: 'Two' })),
    status: 422,
    code: 'MULTIPLE_FACES',
    check: (e) => {
      const [rejection] = e.details.rejected as Array<{ code: string; details: { boxes: number[][] } }>;
      expect(rejection?.code).toBe('MULTIPLE_FACES');
      expect(rejection?.details.boxes).toHaveLength(2);
      for (const box of rejection!.details.boxes) expect(box).toHaveLength(4);
    },
  },

  {
    name: 'two faces to verify, without largestFace',
    request: (f) => post('/v1/verify', form({ image: f.twoPeople }, { personId: f.personId })),
    status: 422,
    code: 'MULTIPLE_FACES',
    check: (e) => {
      expect(e.details.facesInPhoto).toBe(2);
      expect(e.details.boxes).toHaveLength(2);
    },
  },
  {
    name: 'two faces in one photo to compare, without largestFace',
    request: (f) => post('/v1/compare', form({ imageA: f.twoPeople, imageB: f.photo })),
    status: 422,
    code: 'MULTIPLE_FACES',
    check: (e) => expect(e.details).toMatchObject({ image: 'image A', facesInPhoto: 2 }),
  },

  // ---- files and fields ----
  {
    name: '21 images in one call',
    request: (f) => post('/v1/people', form({ images: Array.from({ length: 21 }, () => f.photo) }, { name: 'Many' })),
    status: 400,
    code: 'TOO_MANY_FILES',
  },
  {
    name: 'two files in the single "image" field',
    request: (f) => post('/v1/identify', form({ image: [f.photo, f.photo] })),
    status: 400,
    code: 'INVALID_ARGUMENT',
    check: (e) => expect(e.details).toEqual({ field: 'image' }),
  },
  {
    name: 'an unexpected file field name',
    request: (f) => post('/v1/identify', form({ photo: f.photo })),
    status: 400,
    code: 'INVALID_ARGUMENT',
    check: (e) => expect(e.details).toEqual({ field: 'photo' }),
  },
  {
    name: 'no image (only text fields)',
    request: () => post('/v1/identify', form({}, { topK: '3' })),
    status: 400,
    code: 'MISSING_IMAGE',
    check: (e) => expect(e.details).toEqual({ field: 'image' }),
  },
  {
    name: 'compare with one image',
    request: (f) => post('/v1/compare', form({ imageA: f.photo })),
    status: 400,
    code: 'MISSING_IMAGE',
    check: (e) => expect(e.details).toEqual({ field: 'imageB' }),
  },
  {
    name: 'adding faces with no photo',
    request: (f) => post(`/v1/people/${f.personId}/faces`, form({}, { force: 'true' })),
    status: 400,
    code: 'MISSING_IMAGE',
  },
  {
    name: 'enrollment without a name',
    request: (f) => post('/v1/people', form({ images: f.photo })),
    status: 400,
    code: 'INVALID_ARGUMENT',
    check: (e) => expect(issuePaths(e)).toEqual(['name']),
  },
  {
    name: 'a text/plain body to an image route',
    request: () => ({ method: 'POST', path: '/v1/identify', raw: { body: 'just text', type: 'text/plain' } }),
    status: 400,
    code: 'MISSING_IMAGE',
  },
  {
    name: 'multipart without a boundary',
    request: () => ({ method: 'POST', path: '/v1/identify', raw: { body: 'xx', type: 'multipart/form-data' } }),
    status: 400,
    code: 'INVALID_ARGUMENT',
  },
  {
    name: 'a truncated multipart body',
    request: () => ({
      method: 'POST',
      path: '/v1/detect',
      raw: {
        body: '--b\r\nContent-Disposition: form-data; name="image"; filename="a.jpg"\r\n\r\n\xff\xd8\xff',
        type: 'multipart/form-data; boundary=b',
      },
    }),
    status: 400,
    code: 'INVALID_ARGUMENT',
  },

  // ---- field types and ranges ----
  {
    name: 'threshold=abc',
    request: (f) => post('/v1/identify', form({ image: f.photo }, { threshold: 'abc' })),
    status: 400,
    code: 'INVALID_ARGUMENT',
    check: (e) => expect(issuePaths(e)).toEqual(['threshold']),
  },
  {
    name: 'threshold out of range (5)',
    request: (f) => post('/v1/verify', form({ image: f.photo }, { threshold: '5', personId: f.personId })),
    status: 400,
    code: 'INVALID_ARGUMENT',
  },
  {
    name: 'topK=0',
    request: (f) => post('/v1/identify', form({ image: f.photo }, { topK: '0' })),
    status: 400,
    code: 'INVALID_ARGUMENT',
    check: (e) => expect(issuePaths(e)).toEqual(['topK']),
  },
  {
    name: 'format=gif',
    request: (f) => post('/v1/annotate', form({ image: f.photo }, { format: 'gif' })),
    status: 400,
    code: 'INVALID_ARGUMENT',
  },
  {
    name: 'onReject=maybe',
    request: () => json('POST', '/v1/people', { name: 'X', onReject: 'maybe' }),
    status: 400,
    code: 'INVALID_ARGUMENT',
  },
  {
    name: 'limit=0',
    request: () => ({ path: '/v1/people?limit=0' }),
    status: 400,
    code: 'INVALID_ARGUMENT',
    check: (e) => expect(issuePaths(e)).toEqual(['limit']),
  },
  { name: 'limit=1e400 (Infinity)', request: () => ({ path: '/v1/people?limit=1e400' }), status: 400, code: 'INVALID_ARGUMENT' },
  { name: 'offset=-1', request: () => ({ path: '/v1/people?offset=-1' }), status: 400, code: 'INVALID_ARGUMENT' },
  // Numbers in form fields and query strings are plain decimals: what Number() also reads (hex, exponents, blanks,
  // Infinity) is refused before the engine sees the photo.
  ...(
    [
      ['identify', 'threshold', '0x1'],
      ['identify', 'threshold', 'Infinity'],
      ['identify', 'topK', '0x3'],
      ['identify', 'maxFaces', '1e1'],
      ['identify', 'minFaceSize', ' 40 '],
      ['annotate', 'threshold', '5e-1'],
      ['verify', 'threshold', '1e0'],
      ['compare', 'threshold', ' 1 '],
      ['detect', 'maxFaces', '0b11'],
      ['detect', 'maxFaces', '.5'],
    ] as const
  ).map(([route, field, value]): BadInput => ({
    name: `${field}=${JSON.stringify(value)} (${route})`,
    request: (f) =>
      post(
        `/v1/${route}`,
        form(route === 'compare' ? { imageA: f.photo, imageB: f.photo } : { image: f.photo }, {
          [field]: value,
          ...(route === 'verify' ? { personId: f.personId } : {}),
        }),
      ),
    status: 400,
    code: 'INVALID_ARGUMENT',
    check: (e) => {
      expect(issuePaths(e)).toEqual([field]);
      expect(e.message).toContain('plain decimal');
    },
  })),
  ...['limit=0x10', 'limit=1e1', 'limit=%2010', 'offset=1e1', 'offset=0x0', 'limit=Infinity', 'offset=1.'].map((query): BadInput => ({
    name: `${decodeURIComponent(query)} (query)`,
    request: () => ({ path: `/v1/people?${query}` }),
    status: 400,
    code: 'INVALID_ARGUMENT',
    check: (e) => expect(issuePaths(e)).toEqual([query.split('=')[0]]),
  })),
  {
    name: 'metadata that is not JSON',
    request: () => post('/v1/people', form({}, { name: 'M', metadata: '{not json' })),
    status: 400,
    code: 'INVALID_ARGUMENT',
    check: (e) => expect(issuePaths(e)).toEqual(['metadata']),
  },
  {
    name: 'metadata a JSON array',
    request: () => post('/v1/people', form({}, { name: 'M', metadata: '[1,2]' })),
    status: 400,
    code: 'INVALID_ARGUMENT',
  },
  {
    name: 'metadata a JSON array (JSON body)',
    request: () => json('POST', '/v1/people', { name: 'M', metadata: [1, 2] }),
    status: 400,
    code: 'INVALID_ARGUMENT',
  },
  {
    name: 'metadata over 16 KB',
    request: () => json('POST', '/v1/people', { name: 'M', metadata: { notes: 'x'.repeat(17_000) } }),
    status: 400,
    code: 'INVALID_ARGUMENT',
  },
  {
    name: 'metadata nested 100 levels deep',
    request: () => json('POST', '/v1/people', { name: 'M', metadata: nested(100) }),
    status: 400,
    code: 'INVALID_ARGUMENT',
  },
  {
    name: 'metadata of 30000 nested arrays (stack overflow bait)',
    request: () => rawJson('/v1/people', `{"name":"M","metadata":{"a":${'['.repeat(30_000)}${']'.repeat(30_000)}}}`),
    status: 400,
    code: 'INVALID_ARGUMENT',
  },
  {
    name: 'a NUL character in metadata',
    request: () => json('POST', '/v1/people', { name: 'M', metadata: { 'key\u0000': 'value' } }),
    status: 400,
    code: 'INVALID_ARGUMENT',
  },
  { name: 'a name that is a number', request: () => rawJson('/v1/people', '{"name": 42}'), status: 400, code: 'INVALID_ARGUMENT' },
  {
    name: 'a name sent twice',
    request: () => {
      const body = form({}, { name: 'Once' });
      body.append('name', 'Twice');
      return post('/v1/people', body);
    },
    status: 400,
    code: 'INVALID_ARGUMENT',
  },
  {
    name: 'a name of 201 characters',
    request: () => json('POST', '/v1/people', { name: 'n'.repeat(201) }),
    status: 400,
    code: 'INVALID_ARGUMENT',
  },
  { name: 'a name of blanks only', request: () => json('POST', '/v1/people', { name: ' \t ' }), status: 400, code: 'INVALID_ARGUMENT' },
  {
    name: 'a NUL character in a name',
    request: () => json('POST', '/v1/people', { name: 'Null\u0000Byte' }),
    status: 400,
    code: 'INVALID_ARGUMENT',
  },
  // Control characters (C0, DEL, C1) in any name: invisible in lists, and an escape sequence rewrites a terminal.
  ...(
    [
      ['a person name with U+0001', () => json('POST', '/v1/people', { name: 'Ada\u0001' }), 'name'],
      ['a person name with a newline inside (multipart)', () => post('/v1/people', form({}, { name: 'Ada\nLovelace' })), 'name'],
      ['a person name with DEL', () => json('POST', '/v1/people', { name: 'Ada\u007f' }), 'name'],
      ['a person name with U+0085 (C1 next line)', () => json('POST', '/v1/people', { name: 'Ada\u0085Lovelace' }), 'name'],
      ['a person name with U+009B (C1 CSI)', () => json('POST', '/v1/people', { name: '\u009b31mAda' }), 'name'],
      ['a new name with an escape sequence', (f) => json('PATCH', `/v1/people/${f.personId}`, { name: 'Seed\u001b[2J' }), 'name'],
      ['an external id with a tab inside', () => json('POST', '/v1/people', { name: 'Ada', externalId: 'emp\t42' }), 'externalId'],
      ['a new external id with U+001F', (f) => json('PATCH', `/v1/people/${f.personId}`, { externalId: 'seed\u001f1' }), 'externalId'],
      ['a gallery name with an escape', () => json('POST', '/v1/galleries', { name: 'staff\u001b[31m' }), 'name'],
      ['a key name with U+0080', () => json('POST', '/v1/keys', { name: 'kiosk\u0080', role: 'recognize' }), 'name'],
    ] as Array<[string, BadInput['request'], string]>
  ).map(([what, request, field]): BadInput => ({
    name: what,
    request,
    status: 400,
    code: 'INVALID_ARGUMENT',
    check: (e) => {
      expect(issuePaths(e)).toEqual([field]);
      expect(e.message).toContain('control characters');
    },
  })),
  // Invisible characters, bidirectional controls and text that was not UTF-8, in any name (issue 22): refused with
  // the rule's code in the issue, never stored.
  ...(
    [
      [
        'a person name with U+202E (right-to-left override)',
        () => json('POST', '/v1/people', { name: 'Ada\u202eecalevoL' }),
        'name',
        'BIDI_CONTROL',
      ],
      [
        'a person name with U+200B (multipart)',
        () => post('/v1/people', form({}, { name: 'Ada\u200bLovelace' })),
        'name',
        'INVISIBLE_CHARACTER',
      ],
      [
        'a new name with U+2066 (left-to-right isolate)',
        (f) => json('PATCH', `/v1/people/${f.personId}`, { name: '\u2066Seed' }),
        'name',
        'BIDI_CONTROL',
      ],
      [
        'an external id with U+2060 (word joiner)',
        () => json('POST', '/v1/people', { name: 'Ada', externalId: 'emp\u206042' }),
        'externalId',
        'INVISIBLE_CHARACTER',
      ],
      [
        'a gallery name with U+200F (right-to-left mark)',
        () => json('POST', '/v1/galleries', { name: 'staff\u200f' }),
        'name',
        'BIDI_CONTROL',
      ],
      [
        'a key name with U+FEFF inside',
        () => json('POST', '/v1/keys', { name: 'kiosk\ufeff1', role: 'recognize' }),
        'name',
        'INVISIBLE_CHARACTER',
      ],
      ['a person name with a lone surrogate (JSON escape)', () => rawJson('/v1/people', '{"name":"Ada\\ud800"}'), 'name', 'INVALID_UTF8'],
      [
        'a person name that is not UTF-8 (multipart, Latin-1 bytes)',
        () => ({
          method: 'POST',
          path: '/v1/people',
          raw: {
            body: '--b\r\nContent-Disposition: form-data; name="name"\r\n\r\nZo\xeb\r\n--b--\r\n',
            type: 'multipart/form-data; boundary=b',
          },
        }),
        'name',
        'INVALID_UTF8',
      ],
    ] as Array<[string, BadInput['request'], string, string]>
  ).map(([what, request, field, rule]): BadInput => ({
    name: what,
    request,
    status: 400,
    code: 'INVALID_ARGUMENT',
    check: (e) => expect(e.details.issues).toEqual([{ path: field, message: expect.any(String), code: rule }]),
  })),
  {
    name: 'a JSON body that is not UTF-8',
    request: () => ({ method: 'POST', path: '/v1/people', raw: { body: '{"name":"Zo\xeb"}', type: 'application/json' } }),
    status: 400,
    code: 'INVALID_ARGUMENT',
    check: (e) => expect(e.details).toEqual({ reason: 'INVALID_UTF8' }),
  },
  { name: 'a NUL character in a search', request: () => ({ path: '/v1/people?search=a%00b' }), status: 400, code: 'INVALID_ARGUMENT' },
  {
    name: 'a NUL character in a gallery reference',
    request: () => ({ method: 'DELETE', path: '/v1/galleries/a%00b' }),
    status: 400,
    code: 'INVALID_ARGUMENT',
  },
  {
    name: 'a gallery name with a slash',
    request: () => json('POST', '/v1/galleries', { name: 'a/b' }),
    status: 400,
    code: 'INVALID_ARGUMENT',
  },
  {
    name: 'a key with an unknown role',
    request: () => json('POST', '/v1/keys', { name: 'root', role: 'root' }),
    status: 400,
    code: 'INVALID_ARGUMENT',
    check: (e) => expect(issuePaths(e)).toEqual(['role']),
  },
  {
    name: 'a PATCH that changes nothing',
    request: (f) => json('PATCH', `/v1/people/${f.personId}`, {}),
    status: 400,
    code: 'INVALID_ARGUMENT',
  },

  // ---- JSON bodies ----
  {
    name: 'a JSON body over 64 KB',
    request: () => json('POST', '/v1/people', { name: 'Big', metadata: { notes: 'x'.repeat(70 * 1024) } }),
    status: 413,
    code: 'PAYLOAD_TOO_LARGE',
  },
  { name: 'malformed JSON', request: () => rawJson('/v1/people', '{"name": "unterminated'), status: 400, code: 'INVALID_ARGUMENT' },
  { name: 'a JSON array body', request: () => rawJson('/v1/people', '[{"name":"x"}]'), status: 400, code: 'INVALID_ARGUMENT' },
  { name: 'a JSON null body', request: () => rawJson('/v1/galleries', 'null'), status: 400, code: 'INVALID_ARGUMENT' },

  // ---- ids and references ----
  {
    name: 'a malformed UUID (GET person)',
    request: () => ({ path: '/v1/people/not-a-uuid' }),
    status: 400,
    code: 'INVALID_ARGUMENT',
    check: (e) => expect(issuePaths(e)).toEqual(['id']),
  },
  {
    name: 'a malformed UUID (DELETE person)',
    request: () => ({ method: 'DELETE', path: "/v1/people/1'%20OR%20'1'='1" }),
    status: 400,
    code: 'INVALID_ARGUMENT',
  },
  {
    name: 'a malformed UUID (verify personId)',
    request: (f) => post('/v1/verify', form({ image: f.photo }, { personId: 'obama' })),
    status: 400,
    code: 'INVALID_ARGUMENT',
  },
  {
    name: 'a malformed face id',
    request: (f) => ({ method: 'DELETE', path: `/v1/people/${f.personId}/faces/0` }),
    status: 400,
    code: 'INVALID_ARGUMENT',
  },
  { name: 'bad percent-encoding in a path', request: () => ({ path: '/v1/people/%E0%A4%A' }), status: 400, code: 'INVALID_ARGUMENT' },
  {
    name: 'an unknown UUID (GET person)',
    request: () => ({ path: `/v1/people/${UNKNOWN_ID}` }),
    status: 404,
    code: 'PERSON_NOT_FOUND',
    check: (e) => expect(e.details).toEqual({ personId: UNKNOWN_ID }),
  },
  {
    name: 'an unknown UUID (PATCH person)',
    request: () => json('PATCH', `/v1/people/${UNKNOWN_ID}`, { name: 'Ghost' }),
    status: 404,
    code: 'PERSON_NOT_FOUND',
  },
  {
    name: 'an unknown UUID (DELETE person)',
    request: () => ({ method: 'DELETE', path: `/v1/people/${UNKNOWN_ID}` }),
    status: 404,
    code: 'PERSON_NOT_FOUND',
  },
  {
    name: 'an unknown UUID (verify)',
    request: (f) => post('/v1/verify', form({ image: f.photo }, { personId: UNKNOWN_ID })),
    status: 404,
    code: 'PERSON_NOT_FOUND',
  },
  // Well-formed ids that are not RFC 9562 UUIDs (version and variant digits) are ids all the same: 404, not 400.
  ...(
    [
      ['GET person', () => ({ path: `/v1/people/${LOOSE_ID}` }), 'PERSON_NOT_FOUND'],
      ['PATCH person', () => json('PATCH', `/v1/people/${LOOSE_ID}`, { name: 'Ghost' }), 'PERSON_NOT_FOUND'],
      ['DELETE person, upper case', () => ({ method: 'DELETE', path: `/v1/people/${LOOSE_ID.replace(/1/g, 'A')}` }), 'PERSON_NOT_FOUND'],
      ['add faces', (f) => post(`/v1/people/${LOOSE_ID}/faces`, form({ images: f.photo })), 'PERSON_NOT_FOUND'],
      ['verify personId', (f) => post('/v1/verify', form({ image: f.photo }, { personId: LOOSE_ID })), 'PERSON_NOT_FOUND'],
      ['DELETE face', (f) => ({ method: 'DELETE', path: `/v1/people/${f.personId}/faces/${LOOSE_ID}` }), 'FACE_NOT_FOUND'],
      ['face thumbnail', () => ({ path: `/v1/faces/${LOOSE_ID}/thumbnail` }), 'FACE_NOT_FOUND'],
      ['DELETE key', () => ({ method: 'DELETE', path: `/v1/keys/${LOOSE_ID}` }), 'KEY_NOT_FOUND'],
      ['DELETE gallery', () => ({ method: 'DELETE', path: `/v1/galleries/${LOOSE_ID}` }), 'GALLERY_NOT_FOUND'],
      ['gallery query', () => ({ path: `/v1/people?gallery=${LOOSE_ID}` }), 'GALLERY_NOT_FOUND'],
    ] as Array<[string, BadInput['request'], string]>
  ).map(([what, request, code]): BadInput => ({ name: `a non-RFC UUID (${what})`, request, status: 404, code })),
  {
    name: 'an unknown face of a known person',
    request: (f) => ({ method: 'DELETE', path: `/v1/people/${f.personId}/faces/${UNKNOWN_ID}` }),
    status: 404,
    code: 'FACE_NOT_FOUND',
  },
  {
    name: "another person's face",
    request: (f) => ({ method: 'DELETE', path: `/v1/people/${UNKNOWN_ID}/faces/${f.faceId}` }),
    status: 404,
    code: 'FACE_NOT_FOUND',
  },
  {
    name: 'an unknown face thumbnail',
    request: () => ({ path: `/v1/faces/${UNKNOWN_ID}/thumbnail` }),
    status: 404,
    code: 'FACE_NOT_FOUND',
  },
  { name: 'an unknown key', request: () => ({ method: 'DELETE', path: `/v1/keys/${UNKNOWN_ID}` }), status: 404, code: 'KEY_NOT_FOUND' },
  {
    name: 'an unknown gallery',
    request: (f) => post('/v1/identify?gallery=nowhere', form({ image: f.photo })),
    status: 404,
    code: 'GALLERY_NOT_FOUND',
  },
  {
    name: 'deleting the default gallery',
    request: () => ({ method: 'DELETE', path: '/v1/galleries/default' }),
    status: 400,
    code: 'INVALID_ARGUMENT',
  },
  {
    name: 'an existing gallery name',
    request: () => json('POST', '/v1/galleries', { name: 'default' }),
    status: 409,
    code: 'GALLERY_EXISTS',
  },
  {
    name: 'an existing gallery name in other case',
    request: () => json('POST', '/v1/galleries', { name: 'DEFAULT' }),
    status: 409,
    code: 'GALLERY_EXISTS',
  },
  {
    name: 'a gallery named like a UUID',
    request: () => json('POST', '/v1/galleries', { name: UNKNOWN_ID }),
    status: 400,
    code: 'INVALID_ARGUMENT',
    check: (e) => expect(issuePaths(e)).toEqual(['name']),
  },
  {
    name: 'a gallery named like a non-RFC UUID, in capitals and blanks',
    request: () => json('POST', '/v1/galleries', { name: ` ${LOOSE_ID.toUpperCase()} ` }),
    status: 400,
    code: 'INVALID_ARGUMENT',
    check: (e) => expect(issuePaths(e)).toEqual(['name']),
  },
  {
    name: 'a taken external id',
    request: () => json('POST', '/v1/people', { name: 'Copy', externalId: 'seed-1' }),
    status: 409,
    code: 'EXTERNAL_ID_TAKEN',
  },
  { name: 'an unknown route', request: () => ({ path: '/v1/persons' }), status: 404, code: 'NOT_FOUND' },
  {
    name: 'an unknown route under a known path',
    request: (f) => ({ path: `/v1/people/${f.personId}/photos` }),
    status: 404,
    code: 'NOT_FOUND',
  },
  {
    name: 'PATCH /v1/galleries (a known path, not that method)',
    request: () => ({ method: 'PATCH', path: '/v1/galleries', json: { name: 'x' } }),
    status: 405,
    code: 'METHOD_NOT_ALLOWED',
    check: (e) => expect(e.details).toEqual({ allowed: ['GET', 'HEAD', 'POST'] }),
  },
  {
    name: 'DELETE /v1/people',
    request: () => ({ method: 'DELETE', path: '/v1/people' }),
    status: 405,
    code: 'METHOD_NOT_ALLOWED',
    check: (e) => expect(e.details).toEqual({ allowed: ['GET', 'HEAD', 'POST'] }),
  },
  {
    name: 'GET /v1/identify',
    request: () => ({ path: '/v1/identify' }),
    status: 405,
    code: 'METHOD_NOT_ALLOWED',
    check: (e) => expect(e.details).toEqual({ allowed: ['POST'] }),
  },
  {
    name: 'PUT /v1/people/:id',
    request: (f) => json('PUT', `/v1/people/${f.personId}`, { name: 'Replaced' }),
    status: 405,
    code: 'METHOD_NOT_ALLOWED',
    check: (e) => expect(e.details).toEqual({ allowed: ['DELETE', 'GET', 'HEAD', 'PATCH'] }),
  },
  {
    name: 'GET /v1/people/:id/faces/:faceId',
    request: (f) => ({ path: `/v1/people/${f.personId}/faces/${f.faceId}` }),
    status: 405,
    code: 'METHOD_NOT_ALLOWED',
    check: (e) => expect(e.details).toEqual({ allowed: ['DELETE'] }),
  },
];

const names = (dir: string) => new Set(readdirSync(dir));
// multer's disk storage names temp files with 16 random bytes in hex; memory storage must leave none.
const MULTER_TEMP = /^[0-9a-f]{32}$/;

if (!HAS_DATASETS) it.skip(`HTTP bad input: ${SKIP_DATASETS_REASON}`, () => {});

describeEachDatabase('HTTP bad input', (kind) => {
  if (!HAS_DATASETS) return;
  let server: TestServer;
  let fixtures: Fixtures;
  const statuses: Array<[string, number]> = [];
  const repoBefore = names(ROOT);
  const tmpBefore = names(os.tmpdir());

  /** Sends a call over HTTP and records its status for the no-5xx check. */
  async function send(call: Call, extraHeaders: Record<string, string> = {}): Promise<Response> {
    const method = call.method ?? 'GET';
    const headers = { ...extraHeaders };
    let body: RequestInit['body'];
    if (call.json !== undefined) {
      body = JSON.stringify(call.json);
      headers['content-type'] = 'application/json';
    } else if (call.raw) {
      body = typeof call.raw.body === 'string' ? Buffer.from(call.raw.body, 'latin1') : call.raw.body;
      if (call.raw.type) headers['content-type'] = call.raw.type;
    } else {
      body = call.form;
    }
    const res = await fetch(`${server.url}${call.path}`, { method, headers, body });
    statuses.push([`${method} ${call.path}`, res.status]);
    return res;
  }

  async function expectError(res: Response, status: number, code: string): Promise<ErrorBody['error']> {
    const text = await res.text();
    expect(res.status, text.slice(0, 500)).toBe(status);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.headers.get('x-request-id')).toBeTruthy();
    const body = JSON.parse(text) as ErrorBody;
    expect(Object.keys(body)).toEqual(['error']);
    expect(body.error).toEqual({ code, message: expect.any(String), details: expect.any(Object) });
    expect(body.error.message).not.toBe('');
    expect(Array.isArray(body.error.details)).toBe(false);
    return body.error;
  }

  const rowCounts = async () => {
    const [row] = await server.db.query<{ people: number; faces: number; galleries: number; api_keys: number }>(
      `SELECT (SELECT count(*)::int FROM people) AS people, (SELECT count(*)::int FROM faces) AS faces,
              (SELECT count(*)::int FROM galleries) AS galleries, (SELECT count(*)::int FROM api_keys) AS api_keys`,
    );
    return row!;
  };

  beforeAll(async () => {
    server = await startTestServer(kind, { FACEREC_MAX_IMAGE_BYTES: String(MAX_IMAGE_BYTES) });
    const photo = await readFile(KNN('test', 'obama1.jpg'));
    const seed = new FormData();
    seed.append('name', 'Seed');
    seed.append('externalId', 'seed-1');
    seed.append('images', new Blob([await readFile(KNN('train', 'biden', 'biden.jpg'))]), 'biden.jpg');
    const seeded = await fetch(`${server.url}/v1/people`, { method: 'POST', body: seed });
    expect(seeded.status).toBe(201);
    const { person, faces } = (await seeded.json()) as { person: { id: string }; faces: Array<{ id: string }> };
    fixtures = {
      photo,
      cars: await readFile(dataset('dlib-examples', 'no-face', 'mmod_cars_test_image.jpg')),
      twoPeople: await readFile(dataset('face-recognition-examples', 'misc', 'two_people.jpg')),
      corrupted: await readFile(dataset('image-formats', 'corrupted.png')),
      truncated: await readFile(dataset('image-formats', 'truncated.jpg')),
      emptyPng: await readFile(dataset('image-formats', 'empty.png')),
      text: new TextEncoder().encode('This is not a photo.\nJust some text in a file called notes.jpg.\n'),
      headerBomb: await declaredPng(60_000, 60_000),
      pixelBomb: await sharp({ create: { width: 10_000, height: 10_000, channels: 3, background: '#808080' } })
        .png({ compressionLevel: 9 })
        .toBuffer(),
      oversize: randomBytes(MAX_IMAGE_BYTES + 1),
      personId: person.id,
      faceId: faces[0]!.id,
    };
    expect(fixtures.pixelBomb.length).toBeLessThan(MAX_IMAGE_BYTES); // the bytes pass; the pixels must not
  }, 180_000);
  afterAll(async () => {
    await server?.stop();
  });

  it(`has at least 30 cases (${CASES.length})`, () => {
    expect(CASES.length).toBeGreaterThanOrEqual(30);
    expect(new Set(CASES.map((c) => c.name)).size).toBe(CASES.length);
  });

  for (const c of CASES) {
    it(`${c.name} → ${c.status} ${c.code}, and no row changes`, { timeout: 120_000 }, async () => {
      const before = await rowCounts();
      const res = await send(await c.request(fixtures));
      const error = await expectError(res, c.status, c.code);
      c.check?.(error, fixtures);
      expect(await rowCounts()).toEqual(before);
    });
  }

  it('lists the methods of a known path in Allow on a 405, from the route declarations; an unknown path has none', async () => {
    const allow = async (call: Call) => {
      const res = await send(call);
      await res.body?.cancel();
      return [res.status, res.headers.get('allow')];
    };
    expect(await allow({ method: 'DELETE', path: '/v1/people' })).toEqual([405, 'GET, HEAD, POST']);
    expect(await allow({ path: '/v1/compare' })).toEqual([405, 'POST']);
    expect(await allow({ method: 'PUT', path: `/v1/people/${UNKNOWN_ID}` })).toEqual([405, 'DELETE, GET, HEAD, PATCH']);
    expect(await allow({ method: 'POST', path: '/v1/keys/x' })).toEqual([405, 'DELETE']);
    expect(await allow({ method: 'DELETE', path: '/v1/nothing-here' })).toEqual([404, null]);
    // HEAD of a GET route is served, not refused; OPTIONS answers with the list.
    expect(await allow({ method: 'HEAD', path: '/v1/galleries' })).toEqual([200, null]);
    expect(await allow({ method: 'OPTIONS', path: '/v1/galleries/staff' })).toEqual([204, 'DELETE, PATCH']);
    // Every path of the OpenAPI document answers 405 with exactly its documented methods (plus HEAD beside GET).
    const document = (await (await send({ path: '/openapi.json' })).json()) as { paths: Record<string, Record<string, unknown>> };
    for (const [template, operations] of Object.entries(document.paths)) {
      const documented = Object.keys(operations).map((m) => m.toUpperCase());
      const expected = [...documented, ...(documented.includes('GET') ? ['HEAD'] : [])].sort();
      const path = template.replace(/\{\w+\}/g, UNKNOWN_ID);
      const unused = ['PUT', 'PATCH', 'DELETE', 'POST', 'GET'].find((m) => !documented.includes(m))!;
      expect(await allow({ method: unused as Call['method'], path }), `${unused} ${template}`).toEqual([405, expected.join(', ')]);
    }
  });

  it('takes plain decimals with a sign or a fraction in query strings', async () => {
    const res = await send({ path: '/v1/people?limit=%2B2&offset=0.0' });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ limit: 2, offset: 0 });
  });

  it('finds galleries by name regardless of case, and keeps one gallery per name', async () => {
    const before = await rowCounts();
    const created = await send(json('POST', '/v1/galleries', { name: 'Night Shift' }));
    expect(created.status).toBe(201);
    const { gallery } = (await created.json()) as { gallery: { id: string; name: string } };
    await expectError(await send(json('POST', '/v1/galleries', { name: 'night SHIFT' })), 409, 'GALLERY_EXISTS');
    const seeded = await send({ path: '/v1/people?gallery=DEFAULT' });
    expect(((await seeded.json()) as { people: Array<{ id: string }> }).people.map((p) => p.id)).toContain(fixtures.personId);
    const deleted = await send({ method: 'DELETE', path: '/v1/galleries/NIGHT%20SHIFT' });
    expect(deleted.status).toBe(200);
    expect(((await deleted.json()) as { deleted: { id: string } }).deleted.id).toBe(gallery.id);
    expect(await rowCounts()).toEqual(before);
  });

  it('stores SQL-looking names verbatim, and the table survives', async () => {
    const before = await rowCounts();
    const name = "Robert'); DROP TABLE people;--";
    const res = await send(
      json('POST', '/v1/people', { name, externalId: "x' OR '1'='1", metadata: { note: "'; DELETE FROM faces; --" } }),
    );
    expect(res.status).toBe(201);
    const { person } = (await res.json()) as { person: { id: string; name: string; externalId: string; metadata: Record<string, string> } };
    expect(person).toMatchObject({ name, externalId: "x' OR '1'='1", metadata: { note: "'; DELETE FROM faces; --" } });
    const [row] = await server.db.query<{ name: string }>('SELECT name FROM people WHERE id = $1', [person.id]);
    expect(row?.name).toBe(name);
    const [table] = await server.db.query<{ people: string | null }>("SELECT to_regclass('people')::text AS people");
    expect(table?.people).toBe('people');
    const found = await send({ path: `/v1/people?search=${encodeURIComponent("'); DROP")}` });
    expect(((await found.json()) as { people: Array<{ id: string }> }).people.map((p) => p.id)).toEqual([person.id]);
    // A LIKE pattern in a search is text, not a wildcard.
    const wildcard = await send({ path: '/v1/people?search=%25' });
    expect(((await wildcard.json()) as { total: number }).total).toBe(0);
    expect(await rowCounts()).toEqual({ ...before, people: before.people + 1 });
    expect((await send({ method: 'DELETE', path: `/v1/people/${person.id}` })).status).toBe(200);
    expect(await rowCounts()).toEqual(before);
  });

  it('stores names in NFC: a combining accent is the precomposed letter', async () => {
    const res = await send(json('POST', '/v1/people', { name: 'Jose\u0301 (combining)' }));
    expect(res.status).toBe(201);
    const { person } = (await res.json()) as { person: { id: string; name: string } };
    expect(person.name).toBe('Jos\u00e9 (combining)');
    const found = (await (await send({ path: `/v1/people?search=${encodeURIComponent('Jose\u0301')}` })).json()) as {
      people: Array<{ id: string }>;
    };
    expect(found.people.map((p) => p.id)).toEqual([person.id]);
    expect((await send({ method: 'DELETE', path: `/v1/people/${person.id}` })).status).toBe(200);
  });

  it('round-trips Unicode names exactly', async () => {
    const names = ['Zoë Ångström', '李小龍', 'Влади́мир', 'محمد صلاح', '👩🏽‍🔬 Dr. Emoji', 'نیک‌نام', 'ǅemal Bijedić', 'Ada 🏴󠁧󠁢󠁳󠁣󠁴󠁿'];
    const ids: string[] = [];
    for (const name of names) {
      const res = await send(json('POST', '/v1/people', { name, metadata: { name } }));
      expect(res.status).toBe(201);
      const { person } = (await res.json()) as { person: { id: string; name: string; metadata: { name: string } } };
      expect(person.name).toBe(name);
      ids.push(person.id);
      const shown = (await (await send({ path: `/v1/people/${person.id}` })).json()) as {
        person: { name: string; metadata: { name: string } };
      };
      expect(shown.person.name).toBe(name);
      expect(shown.person.metadata.name).toBe(name);
    }
    const multipart = (await (await send(post('/v1/people', form({}, { name: names[4]! })))).json()) as {
      person: { name: string; id: string };
    };
    expect(multipart.person.name).toBe(names[4]);
    ids.push(multipart.person.id);
    const search = (await (await send({ path: `/v1/people?search=${encodeURIComponent('小龍')}` })).json()) as {
      people: Array<{ name: string }>;
    };
    expect(search.people.map((p) => p.name)).toEqual(['李小龍']);
    for (const id of ids) expect((await send({ method: 'DELETE', path: `/v1/people/${id}` })).status).toBe(200);
  });

  describe('with API keys', () => {
    const keys: { admin?: string; recognize?: string } = {};
    beforeAll(async () => {
      keys.admin = (await createApiKey(server.db, { name: 'admin', role: 'admin' })).key;
      keys.recognize = (await createApiKey(server.db, { name: 'kiosk', role: 'recognize' })).key;
      // Whether any key exists is cached for up to 2 s.
      for (let waited = 0; ; waited += 250) {
        const res = await fetch(`${server.url}/v1/galleries`);
        await res.body?.cancel();
        if (res.status === 401) break;
        if (waited > 10_000) throw new Error(`still ${res.status} without a key, 10 s after creating keys`);
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    });

    const ADMIN_REQUESTS: Array<[string, (f: Fixtures) => Call]> = [
      ['create a person', () => json('POST', '/v1/people', { name: 'Intruder' })],
      ['enroll a photo', (f) => post('/v1/people', form({ images: f.photo }, { name: 'Intruder' }))],
      ['delete a person', (f) => ({ method: 'DELETE', path: `/v1/people/${f.personId}` })],
      ['create a gallery', () => json('POST', '/v1/galleries', { name: 'intruders' })],
      ['create a key', () => json('POST', '/v1/keys', { name: 'backdoor', role: 'admin' })],
    ];
    const WRONG_KEYS: Array<[string, () => Record<string, string>, number, string]> = [
      ['no key', () => ({}), 401, 'UNAUTHORIZED'],
      ['a wrong key', () => ({ Authorization: `Bearer frk_${'A'.repeat(43)}` }), 401, 'UNAUTHORIZED'],
      ['a malformed Authorization header', () => ({ Authorization: 'Token abc' }), 401, 'UNAUTHORIZED'],
      ['a recognize key', () => ({ 'X-API-Key': keys.recognize! }), 403, 'FORBIDDEN'],
    ];
    for (const [who, headers, status, code] of WRONG_KEYS) {
      for (const [what, request] of ADMIN_REQUESTS) {
        it(`${who}: ${what} → ${status} ${code}, and no row changes`, async () => {
          const before = await rowCounts();
          await expectError(await send(request(fixtures), headers()), status, code);
          expect(await rowCounts()).toEqual(before);
        });
      }
    }

    it('a wrong key on a photo route is refused before the upload is read', async () => {
      await expectError(
        await send(post('/v1/identify', form({ image: fixtures.oversize })), { 'X-API-Key': 'frk_nope' }),
        401,
        'UNAUTHORIZED',
      );
    });

    it('bad input with a valid key still gets its own code', async () => {
      await expectError(await send(rawJson('/v1/people', '{"name":'), { Authorization: `Bearer ${keys.admin}` }), 400, 'INVALID_ARGUMENT');
      await expectError(await send({ path: '/v1/people/not-a-uuid' }, { Authorization: `Bearer ${keys.admin}` }), 400, 'INVALID_ARGUMENT');
      await expectError(
        await send(post('/v1/identify', form({ image: fixtures.corrupted })), { 'X-API-Key': keys.recognize! }),
        415,
        'UNSUPPORTED_IMAGE',
      );
    });
  });

  it('answered no request with a 5xx', async () => {
    expect(statuses.length).toBeGreaterThan(CASES.length);
    expect(statuses.filter(([, status]) => status >= 500)).toEqual([]);
    // The server's own count agrees, including requests the table did not record.
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/facerec_http_request_duration_seconds_count\{[^}]*status="4\d\d"/);
    expect(metrics).not.toMatch(/facerec_http_request_duration_seconds_count\{[^}]*status="5\d\d"/);
  });

  it('left no upload on disk: no multer temp file, no new folder or upload in the repository', () => {
    const created = [...names(os.tmpdir())].filter((name) => !tmpBefore.has(name) && MULTER_TEMP.test(name));
    expect(created).toEqual([]);
    // Other work may change the repository meanwhile: look only for what an upload or a stray database would leave.
    const added = [...names(ROOT)].filter(
      (name) => !repoBefore.has(name) && (MULTER_TEMP.test(name) || ['data', 'uploads', 'tmp'].includes(name)),
    );
    expect(added).toEqual([]);
  });
});
