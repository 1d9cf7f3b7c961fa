/**
 * The HTTP API end to end: the real server on a throwaway database, driven over real HTTP with fetch, on PGlite and on
 * PostgreSQL with pgvector. Enrollment, identification, verification, people, galleries, the service endpoints,
 * API keys and the rate limit.
 */
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/service/keys.service.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { dataset, HAS_DATASETS, KNN, SKIP_DATASETS_REASON } from '../helpers/datasets.js';
import { form, startTestServer, type TestServer } from '../helpers/server.js';

const MISC = (...p: string[]) => dataset('face-recognition-examples', 'misc', ...p);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const HEAVY = { timeout: 300_000 };

interface ErrorBody {
  error: { code: string; message: string; details: Record<string, unknown> };
}
interface PersonJson {
  id: string;
  galleryId: string;
  name: string;
  externalId: string | null;
  metadata: Record<string, unknown>;
  faceCount: number;
}
interface FaceJson {
  id: string;
  box: number[];
  thumbnailUrl: string | null;
}
interface EnrollJson {
  person: PersonJson;
  faces: Array<FaceJson & { index: number; warnings?: unknown[] }>;
  rejected: Array<{ index: number; code: string }>;
}
interface IdentifiedJson {
  outcome: 'match' | 'ambiguous' | 'unknown';
  label: string;
  person: { id: string; name: string } | null;
  distance: number | null;
}
interface IdentifyJson {
  faces: IdentifiedJson[];
  threshold: number;
  thresholdSource: 'target-fpir' | 'gallery-calibrated' | 'request';
  expectedFpir: number | null;
  gallery: { id: string; name: string };
  width: number;
  height: number;
}
interface MatchJson {
  match: boolean;
  distance: number;
  threshold: number;
  confidence: number;
}
interface GalleryJson {
  id: string;
  name: string;
  people: number;
  faces: number;
}
interface KeyJson {
  key: string;
  apiKey: { id: string; role: string; prefix: string; revokedAt: string | null };
}

type Init = RequestInit & { json?: unknown };

/** The body of a response as JSON, after checking its status (the body is in the failure message). */
async function expectJson<T>(res: Response, status: number): Promise<T> {
  const text = await res.text();
  expect(res.status, `${res.url}: ${text.slice(0, 500)}`).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  return JSON.parse(text) as T;
}

/** An error response: status, the { error: { code, message, details } } shape, and its code. */
async function expectError(res: Response, status: number, code: string): Promise<ErrorBody['error']> {
  const body = await expectJson<ErrorBody>(res, status);
  expect(Object.keys(body)).toEqual(['error']);
  expect(body.error).toEqual({ code, message: expect.any(String), details: expect.any(Object) });
  expect(body.error.message.length).toBeGreaterThan(0);
  return body.error;
}

if (!HAS_DATASETS) it.skip(`HTTP API: ${SKIP_DATASETS_REASON}`, () => {});

describeEachDatabase('HTTP API end to end', (kind) => {
  if (!HAS_DATASETS) return;
  let server: TestServer;
  /** Set once API keys exist: from then on every request sends it unless it brings its own. */
  let adminKey: string | undefined;
  const photos: Record<string, Uint8Array> = {};

  const api = (path: string, init: Init = {}): Promise<Response> => {
    const { json, ...rest } = init;
    const headers = new Headers(rest.headers);
    if (adminKey && !headers.has('authorization') && !headers.has('x-api-key')) headers.set('authorization', `Bearer ${adminKey}`);
    let body = rest.body;
    if (json !== undefined) {
      body = JSON.stringify(json);
      headers.set('content-type', 'application/json');
    }
    return fetch(`${server.url}${path}`, { ...rest, headers, body });
  };
  const post = (path: string, body: FormData, headers?: RequestInit['headers']) => api(path, { method: 'POST', body, headers });
  const identify = async (photo: Uint8Array, query = ''): Promise<IdentifyJson> =>
    expectJson<IdentifyJson>(await post(`/v1/identify${query}`, form({ image: photo })), 200);
  const labels = (result: IdentifyJson) => result.faces.map((f) => f.label).sort();
  const counts = async () => {
    const [row] = await server.db.query<{ people: number; faces: number }>(
      'SELECT (SELECT count(*)::int FROM people) AS people, (SELECT count(*)::int FROM faces) AS faces',
    );
    return row!;
  };

  const ids: { obama?: string; biden?: string } = {};

  beforeAll(async () => {
    server = await startTestServer(kind);
    const files = {
      obamaA: KNN('train', 'obama', 'obama.jpg'),
      obamaB: KNN('train', 'obama', 'obama2.jpg'),
      obamaProbe: KNN('test', 'obama1.jpg'),
      obama480: MISC('obama-480p.jpg'),
      biden: KNN('train', 'biden', 'biden.jpg'),
      group: KNN('test', 'obama_and_biden.jpg'),
      stranger: KNN('test', 'johnsnow_test1.jpg'),
      alexTrain: KNN('train', 'alex_lacamoire', 'img1.jpg'),
      alexProbe: KNN('test', 'alex_lacamoire1.jpg'),
      twoPeople: MISC('two_people.jpg'),
      corrupted: dataset('image-formats', 'corrupted.png'),
    };
    for (const [name, file] of Object.entries(files)) photos[name] = await readFile(file);
  }, 180_000);
  afterAll(async () => {
    await server?.stop();
  });

  it('GET /v1/settings gives the threshold, enrollment gates and input limits in force, without a key; requests are held to the same limits', async () => {
    const settings = await expectJson<{
      threshold: number;
      targetFpir: number;
      enrollment: Record<string, number>;
      limits: { topK: { max: number; default: number } };
    }>(await fetch(`${server.url}/v1/settings`), 200);
    expect(settings.threshold).toBe(0.59); // face-api-128's card: FACEREC_THRESHOLD is unset
    expect(settings.targetFpir).toBe(0.01);
    expect(settings.enrollment).toEqual(server.config.enrollment);
    expect(settings.limits.topK).toEqual({ min: 1, max: 20, default: 3 });
    const tooMany = await post('/v1/identify', form({ image: photos.twoPeople! }, { topK: String(settings.limits.topK.max + 1) }));
    await expectError(tooMany, 400, 'INVALID_ARGUMENT');
  });

  it('serves health, readiness, OpenAPI and local Swagger UI without a key; every response carries a request id', async () => {
    const health = await api('/healthz');
    expect(await expectJson(health, 200)).toEqual({ status: 'ok' });
    expect(health.headers.get('x-request-id')).toMatch(UUID);

    const ready = await expectJson<{ status: string; checks: Record<string, string> }>(await api('/readyz'), 200);
    expect(ready).toMatchObject({ status: 'ready', checks: { database: 'ok', engine: 'ok', workers: '1', shutdown: 'no' } });

    // The engine in use: runtime, provider and threads (issue 14), precision and SSD's input (issue 26), through the app's
    // metrics-instrumented analyzer; the int8 nets say so in their ids.
    const engine = await expectJson<{ status: string; engine: Record<string, unknown> | null }>(await api('/v1/health'), 200);
    expect(engine).toMatchObject({
      status: 'ok',
      engine: { runtime: 'onnx', backend: 'cpu', threads: 1, precision: 'int8', ssdInput: '512' },
    });
    expect((engine.engine!.models as Record<string, string>).ssdMobilenetv1).toMatch(/\+onnx-int8\.[0-9a-f]{12}$/);
    expect((engine.engine!.models as Record<string, string>).faceLandmark68Net).toMatch(/\+onnx\.[0-9a-f]{12}$/);

    // A client's request id is echoed, on success and on errors alike; an unusable one is replaced.
    for (const path of ['/healthz', '/v1/nowhere']) {
      const res = await api(path, { headers: { 'X-Request-Id': 'e2e-trace.42' } });
      expect(res.headers.get('x-request-id')).toBe('e2e-trace.42');
      await res.body?.cancel();
    }
    const replaced = await api('/healthz', { headers: { 'X-Request-Id': 'no spaces allowed' } });
    expect(replaced.headers.get('x-request-id')).toMatch(UUID);
    await expectError(await api('/v1/nowhere'), 404, 'NOT_FOUND');

    const openapiRes = await api('/openapi.json');
    expect(openapiRes.status).toBe(200);
    const openapi = JSON.parse(await openapiRes.text()) as {
      openapi: string;
      paths: Record<string, Record<string, { responses: object }>>;
    };
    expect(openapi.openapi).toBe('3.1.0');
    // Every /v1 route express actually mounted is documented, with its method.
    const stack = (
      server.running.app.app as unknown as { router: { stack: Array<{ route?: { path: string; methods: Record<string, boolean> } }> } }
    ).router.stack;
    const mounted = stack.flatMap((layer) =>
      layer.route?.path.startsWith('/v1/')
        ? Object.keys(layer.route.methods).map((m) => [layer.route!.path.replace(/:(\w+)/g, '{$1}'), m] as const)
        : [],
    );
    expect(mounted.length).toBeGreaterThanOrEqual(17);
    for (const [path, method] of mounted) expect(openapi.paths[path]?.[method], `${method.toUpperCase()} ${path}`).toBeDefined();
    for (const path of [
      '/v1/identify',
      '/v1/annotate',
      '/v1/verify',
      '/v1/compare',
      '/v1/detect',
      '/v1/people',
      '/v1/people/{id}',
      '/v1/people/{id}/faces',
      '/v1/galleries',
      '/v1/keys',
    ]) {
      expect(openapi.paths[path], path).toBeDefined();
    }
    expect(Object.keys(openapi.paths['/v1/people/{id}']!).sort()).toEqual(['delete', 'get', 'patch']);
    // The people list documents each person's thumbnail, which the UI relies on to draw the list in one request.
    expect(JSON.stringify(openapi.paths['/v1/people']!.get!.responses)).toContain('"thumbnailUrl"');

    const redirect = await api('/docs', { redirect: 'manual' });
    expect(redirect.status).toBe(301);
    expect(redirect.headers.get('location')).toBe('/docs/');
    const docs = await api('/docs/');
    expect(docs.status).toBe(200);
    expect(docs.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await docs.text();
    expect(html).toContain('swagger-ui');
    const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThanOrEqual(3);
    expect(html).not.toMatch(/(https?:)?\/\/[a-z0-9.-]+\.[a-z]{2,}/i); // no CDN, no other host
    for (const ref of refs) {
      const asset = await api(new URL(ref, `${server.url}/docs/`).pathname);
      expect(asset.status, ref).toBe(200);
      await asset.body?.cancel();
    }
    const initializer = await (await api('/docs/swagger-initializer.js')).text();
    expect(initializer).toContain("url: '/openapi.json'");
  });

  it('enrolls a person from two photos in one call', HEAVY, async () => {
    const res = await post(
      '/v1/people',
      form({ images: [photos.obamaA!, photos.obamaB!] }, { name: 'obama', metadata: '{"role":"president"}' }),
    );
    const body = await expectJson<EnrollJson>(res, 201);
    expect(body.person).toMatchObject({ id: expect.stringMatching(UUID), name: 'obama', metadata: { role: 'president' }, faceCount: 2 });
    expect(body.faces.map((f) => f.index)).toEqual([0, 1]);
    for (const face of body.faces) expect(face.thumbnailUrl).toBe(`/v1/faces/${face.id}/thumbnail`);
    expect(body.rejected).toEqual([]);
    ids.obama = body.person.id;

    const biden = await expectJson<EnrollJson>(await post('/v1/people', form({ image: photos.biden! }, { name: 'biden' })), 201);
    expect(biden.faces).toHaveLength(1);
    ids.biden = biden.person.id;
    expect(await counts()).toEqual({ people: 2, faces: 3 });
  });

  it('names them in a new photo and in a group photo, and says Unknown for a stranger', HEAVY, async () => {
    const single = await identify(photos.obamaProbe!);
    expect(single.faces).toHaveLength(1);
    expect(single.faces[0]).toMatchObject({ outcome: 'match', label: 'obama', person: { id: ids.obama, name: 'obama' } });
    expect(single.faces[0]!.distance).toBeLessThanOrEqual(single.threshold);
    expect(single).toMatchObject({ gallery: { name: 'default' }, width: 1480, height: 832 });

    // The girl at the lower right, never enrolled, is Unknown.
    expect(labels(await identify(photos.group!))).toEqual(['Unknown', 'biden', 'obama']);

    const stranger = await identify(photos.stranger!);
    expect(stranger.faces).toHaveLength(1);
    expect(stranger.faces[0]).toMatchObject({ outcome: 'unknown', label: 'Unknown', person: null });
    expect(stranger.faces[0]!.distance).toBeGreaterThan(stranger.threshold);
  });

  it('says which threshold identify used and where it came from; a threshold in the request overrides it', HEAVY, async () => {
    // Without one: the gallery's threshold at the target FPIR for its 3 faces, the same one calibrate reports.
    const chosen = await identify(photos.obamaProbe!);
    expect(chosen).toMatchObject({ thresholdSource: 'target-fpir' });
    expect(chosen.expectedFpir).toBeCloseTo(server.config.targetFpir, 4);
    type Calibration = { identify: { threshold: number; source: string; people: number; faces: number; expectedFpir: number } };
    const calibration = await expectJson<Calibration>(await api('/v1/galleries/default/calibrate', { method: 'POST', json: {} }), 200);
    expect(calibration.identify).toMatchObject({ threshold: chosen.threshold, source: 'target-fpir', people: 2, faces: 3 });
    const inForce = await expectJson<Calibration['identify']>(await api('/v1/galleries/default/threshold'), 200);
    expect(inForce.threshold).toBe(chosen.threshold);

    // With one, in the form or the query: that threshold decides, and the answer says so.
    const strict = await expectJson<IdentifyJson>(
      await post('/v1/identify', form({ image: photos.obamaProbe! }, { threshold: '0.2' })),
      200,
    );
    expect(strict).toMatchObject({ threshold: 0.2, thresholdSource: 'request', faces: [{ outcome: 'unknown' }] });
    expect(strict.expectedFpir).toBeLessThan(chosen.expectedFpir!);
    const loose = await identify(photos.stranger!, '?threshold=1.5');
    expect(loose).toMatchObject({ threshold: 1.5, thresholdSource: 'request' });
    expect(loose.faces[0]!.outcome).not.toBe('unknown'); // a name, or two within the margin: not 'too far' any more
    await expectError(await post('/v1/identify', form({ image: photos.obamaProbe! }, { threshold: '0' })), 400, 'INVALID_ARGUMENT');
  });

  it('verifies a photo against one person, and compares two photos without the database', HEAVY, async () => {
    const yes = await expectJson<MatchJson & { person: { name: string } }>(
      await post('/v1/verify', form({ image: photos.obamaProbe! }, { personId: ids.obama! })),
      200,
    );
    expect(yes).toMatchObject({ match: true, threshold: 0.59, person: { name: 'obama' }, facesInPhoto: 1 });
    expect(yes.distance).toBeLessThan(yes.threshold);
    const no = await expectJson<MatchJson>(await post('/v1/verify', form({ image: photos.obamaProbe! }, { personId: ids.biden! })), 200);
    expect(no.match).toBe(false);
    expect(no.distance).toBeGreaterThan(no.threshold);

    const before = await counts();
    const same = await expectJson<MatchJson>(
      await post('/v1/compare', form({ imageA: photos.obamaProbe!, imageB: photos.obama480! }, { threshold: '0.55' })),
      200,
    );
    expect(Object.keys(same).sort()).toEqual(['boxes', 'confidence', 'distance', 'facesInPhotos', 'match', 'model', 'threshold']);
    expect(same).toMatchObject({ match: true, threshold: 0.55, facesInPhotos: [1, 1] });
    expect(await counts()).toEqual(before);
  });

  it(
    'verifies and compares a photo of two people only when told to take the largest face, and says which and how many',
    HEAVY,
    async () => {
      // Faces come largest first: identification names the largest face of the group photo.
      const group = await identify(photos.group!);
      expect(group.faces).toHaveLength(3);
      const largest = group.faces[0]!;
      const [largestId, otherId] = largest.person!.name === 'obama' ? [ids.obama!, ids.biden!] : [ids.biden!, ids.obama!];
      const boxes = (
        await expectJson<{ faces: Array<{ box: number[] }> }>(await post('/v1/detect', form({ image: photos.group! })), 200)
      ).faces.map((f) => f.box);

      const refused = await post('/v1/verify', form({ image: photos.group! }, { personId: largestId }));
      expect(refused.status).toBe(422);
      expect(((await refused.json()) as ErrorBody).error).toMatchObject({ code: 'MULTIPLE_FACES', details: { facesInPhoto: 3, boxes } });

      const yes = await expectJson<MatchJson & { box: number[]; facesInPhoto: number; person: { name: string } }>(
        await post('/v1/verify', form({ image: photos.group! }, { personId: largestId, largestFace: 'true' })),
        200,
      );
      expect(yes).toMatchObject({ match: true, facesInPhoto: 3, box: boxes[0], person: { name: largest.person!.name } });
      const no = await expectJson<MatchJson>(
        await post('/v1/verify', form({ image: photos.group! }, { personId: otherId, largestFace: 'true' })),
        200,
      );
      expect(no).toMatchObject({ match: false, facesInPhoto: 3, box: boxes[0] });

      const refusedPair = await post('/v1/compare', form({ imageA: photos.obamaProbe!, imageB: photos.group! }));
      expect(refusedPair.status).toBe(422);
      expect(((await refusedPair.json()) as ErrorBody).error).toMatchObject({
        code: 'MULTIPLE_FACES',
        details: { image: 'image B', facesInPhoto: 3, boxes },
      });
      const pair = await expectJson<MatchJson & { boxes: number[][]; facesInPhotos: number[] }>(
        await post('/v1/compare', form({ imageA: photos.obamaProbe!, imageB: photos.group! }, { largestFace: 'true' })),
        200,
      );
      expect(pair).toMatchObject({ match: largest.person!.name === 'obama', facesInPhotos: [1, 3] });
      expect(pair.boxes[1]).toEqual(boxes[0]);
    },
  );

  it('uses an animated GIF by its first frame, and every photo endpoint says so in its answer', HEAVY, async () => {
    // Three frames: the probe, then a stranger and the probe again, which are never searched.
    const frame = (bytes: Uint8Array) => sharp(bytes).resize(640, 360, { fit: 'cover' }).png().toBuffer();
    const gif = await sharp([await frame(photos.obamaProbe!), await frame(photos.stranger!), await frame(photos.obamaProbe!)], {
      join: { animated: true },
    })
      .gif()
      .toBuffer();
    const warning = { code: 'FIRST_FRAME_ONLY', message: expect.stringContaining('first of the 3 frames'), format: 'gif', frames: 3 };

    const identified = await identify(gif);
    expect(identified.faces.map((f) => f.label)).toEqual(['obama']);
    expect((identified as IdentifyJson & { warnings: unknown }).warnings).toEqual([warning]);
    const detected = await expectJson<{ faces: unknown[]; warnings: unknown }>(await post('/v1/detect', form({ image: gif })), 200);
    expect(detected).toMatchObject({ faces: [expect.any(Object)], warnings: [warning] });
    const verified = await expectJson<{ match: boolean; warnings: unknown }>(
      await post('/v1/verify', form({ image: gif }, { personId: ids.obama! })),
      200,
    );
    expect(verified).toMatchObject({ match: true, warnings: [warning] });
    const compared = await expectJson<{ match: boolean; warnings: unknown }>(
      await post('/v1/compare', form({ imageA: photos.obamaA!, imageB: gif })),
      200,
    );
    expect(compared).toMatchObject({ match: true, warnings: [{ ...warning, image: 'image B' }] });
    // An image answer carries the codes in a header.
    for (const res of [
      await post('/v1/annotate', form({ image: gif })),
      await post('/v1/identify', form({ image: gif }), { Accept: 'image/jpeg' }),
    ]) {
      expect(res.status).toBe(200);
      expect(res.headers.get('facerec-warnings')).toBe('FIRST_FRAME_ONLY; frames=3');
      await res.arrayBuffer();
    }
    // Enrollment says it per photo, beside the photos that were whole; a still photo has no warning.
    await expectJson(await api('/v1/galleries', { method: 'POST', json: { name: 'animated' } }), 201);
    const enrolled = await expectJson<EnrollJson>(
      await post('/v1/people?gallery=animated', form({ images: [photos.obamaA!, gif] }, { name: 'obama gif' })),
      201,
    );
    expect(enrolled.faces.map((f) => f.warnings)).toEqual([[], [warning]]);
    const added = await expectJson<EnrollJson>(
      await post(
        `/v1/people/${enrolled.person.id}/faces?gallery=animated`,
        form({ images: await sharp(gif, { pages: -1 }).webp().toBuffer() }),
      ),
      201,
    );
    expect(added.faces[0]!.warnings).toEqual([{ ...warning, format: 'webp' }]);
    expect((await api('/v1/galleries/animated?force=true', { method: 'DELETE' })).status).toBe(200);
    // A still photo's answer has no warnings at all.
    expect(await identify(photos.obamaProbe!)).not.toHaveProperty('warnings');
  });

  it('detects every face of a group photo', HEAVY, async () => {
    const res = await expectJson<{ width: number; height: number; faces: Array<{ box: number[]; score: number; landmarks?: number[][] }> }>(
      await post('/v1/detect', form({ image: photos.twoPeople! }, { includeLandmarks: 'true' })),
      200,
    );
    expect(res).toMatchObject({ width: 1126, height: 661 });
    expect(res.faces).toHaveLength(2);
    for (const face of res.faces) {
      expect(face.box).toHaveLength(4);
      expect(face.score).toBeGreaterThan(0.5);
      expect(face.landmarks).toHaveLength(68);
    }
  });

  it(
    'annotates a photo as JPEG (default) or PNG, the size of the input; identify gives the image on Accept: image/png',
    HEAVY,
    async () => {
      const input = await sharp(photos.obamaProbe!).metadata();
      const cases: Array<[Promise<Response>, string]> = [
        [post('/v1/annotate', form({ image: photos.obamaProbe! })), 'jpeg'],
        [post('/v1/annotate', form({ image: photos.obamaProbe! }, { format: 'png' })), 'png'],
        [post('/v1/identify', form({ image: photos.obamaProbe! }), { Accept: 'image/png' }), 'png'],
      ];
      for (const [request, format] of cases) {
        const res = await request;
        expect(res.status).toBe(200);
        expect(res.headers.get('content-type')).toBe(`image/${format}`);
        const output = await sharp(Buffer.from(await res.arrayBuffer())).metadata();
        expect(output).toMatchObject({ format, width: input.width, height: input.height });
      }
    },
  );

  it('lists people by page and by name, and shows one with faces whose thumbnails are JPEGs', async () => {
    // Names that sort alike under any collation (PGlite's and the server's may differ).
    const extra: string[] = [];
    for (const name of ['Anne', 'ANNIKA', 'Bob'])
      extra.push((await expectJson<EnrollJson>(await api('/v1/people', { method: 'POST', json: { name } }), 201)).person.id);
    const seen: Array<PersonJson & { thumbnailUrl: string | null }> = [];
    for (const offset of [0, 2, 4]) {
      const page = await expectJson<{
        people: Array<PersonJson & { thumbnailUrl: string | null }>;
        total: number;
        limit: number;
        offset: number;
      }>(await api(`/v1/people?limit=2&offset=${offset}`), 200);
      expect(page).toMatchObject({ total: 5, limit: 2, offset });
      expect(page.people).toHaveLength(offset === 4 ? 1 : 2);
      seen.push(...page.people);
    }
    expect(seen.map((p) => p.name)).toEqual(['Anne', 'ANNIKA', 'biden', 'Bob', 'obama']);
    // Each listed person carries a thumbnail (null without faces), so a list needs no request per person.
    const listed = Object.fromEntries(seen.map((p) => [p.name, p.thumbnailUrl]));
    expect(listed).toMatchObject({
      Anne: null,
      ANNIKA: null,
      Bob: null,
      biden: expect.stringMatching(/^\/v1\/faces\/[0-9a-f-]{36}\/thumbnail$/),
    });
    const search = await expectJson<{ people: PersonJson[]; total: number }>(await api('/v1/people?search=aNn'), 200);
    expect(search.people.map((p) => p.name)).toEqual(['Anne', 'ANNIKA']);
    expect(search.total).toBe(2);
    for (const id of extra) await expectJson(await api(`/v1/people/${id}`, { method: 'DELETE' }), 200);

    const { person } = await expectJson<{ person: PersonJson & { faces: FaceJson[] } }>(await api(`/v1/people/${ids.obama}`), 200);
    expect(person).toMatchObject({ id: ids.obama, name: 'obama', faceCount: 2 });
    expect(person.faces).toHaveLength(2);
    expect(listed.obama).toBe(person.faces[0]!.thumbnailUrl); // the list shows the person's first face
    for (const url of [...person.faces.map((f) => f.thumbnailUrl), listed.biden]) {
      const res = await api(url!);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('image/jpeg');
      expect(res.headers.get('cache-control')).toMatch(/private/);
      expect(await sharp(Buffer.from(await res.arrayBuffer())).metadata()).toMatchObject({ format: 'jpeg', width: 150, height: 150 });
    }
  });

  it('renames a person, adds a photo, removes a face, and erases the person: then they are Unknown and 404', HEAVY, async () => {
    const renamed = await expectJson<{ person: PersonJson }>(
      await api(`/v1/people/${ids.obama}`, { method: 'PATCH', json: { name: 'Barack Obama', externalId: 'potus-44' } }),
      200,
    );
    expect(renamed.person).toMatchObject({ id: ids.obama, name: 'Barack Obama', externalId: 'potus-44', metadata: { role: 'president' } });

    const added = await expectJson<EnrollJson>(await post(`/v1/people/${ids.obama}/faces`, form({ images: photos.obama480! })), 201);
    expect(added.faces).toHaveLength(1);
    expect(added.person).toMatchObject({ name: 'Barack Obama', faceCount: 3 });
    const shown = await expectJson<{ person: { faces: FaceJson[] } }>(await api(`/v1/people/${ids.obama}`), 200);
    expect(shown.person.faces.map((f) => f.id)).toContain(added.faces[0]!.id);

    const faceId = added.faces[0]!.id;
    const removed = await expectJson<{ deleted: FaceJson }>(
      await api(`/v1/people/${ids.obama}/faces/${faceId}`, { method: 'DELETE' }),
      200,
    );
    expect(removed.deleted.id).toBe(faceId);
    expect((await expectJson<{ person: PersonJson }>(await api(`/v1/people/${ids.obama}`), 200)).person.faceCount).toBe(2);
    await expectError(await api(`/v1/faces/${faceId}/thumbnail`), 404, 'FACE_NOT_FOUND');

    const before = await counts();
    const erased = await expectJson<{ deleted: PersonJson }>(await api(`/v1/people/${ids.obama}`, { method: 'DELETE' }), 200);
    expect(erased.deleted).toMatchObject({ id: ids.obama, name: 'Barack Obama' });
    expect(await counts()).toEqual({ people: before.people - 1, faces: before.faces - 2 });
    const error = await expectError(await api(`/v1/people/${ids.obama}`), 404, 'PERSON_NOT_FOUND');
    expect(error.details).toEqual({ personId: ids.obama });
    await expectError(await api(`/v1/people/${ids.obama}`, { method: 'DELETE' }), 404, 'PERSON_NOT_FOUND');

    const after = await identify(photos.obamaProbe!);
    expect(after.faces[0]).toMatchObject({ outcome: 'unknown', label: 'Unknown', person: null });
    expect(labels(await identify(photos.group!))).toEqual(['Unknown', 'Unknown', 'biden']);
  });

  it('keeps galleries apart: someone enrolled in one is Unknown in the default gallery', HEAVY, async () => {
    const { gallery } = await expectJson<{ gallery: GalleryJson }>(
      await api('/v1/galleries', { method: 'POST', json: { name: 'studio' } }),
      201,
    );
    expect(gallery).toMatchObject({ id: expect.stringMatching(UUID), name: 'studio', people: 0, faces: 0 });

    const alex = await expectJson<EnrollJson>(
      await post('/v1/people?gallery=studio', form({ image: photos.alexTrain! }, { name: 'alex' })),
      201,
    );
    expect(alex.person.galleryId).toBe(gallery.id);

    const listed = await expectJson<{ galleries: GalleryJson[] }>(await api('/v1/galleries'), 200);
    expect(listed.galleries.map((g) => [g.name, g.people, g.faces])).toEqual([
      ['default', 1, 1],
      ['studio', 1, 1],
    ]);
    expect((await expectJson<{ people: PersonJson[] }>(await api('/v1/people?gallery=studio'), 200)).people.map((p) => p.name)).toEqual([
      'alex',
    ]);
    expect((await expectJson<{ people: PersonJson[] }>(await api('/v1/people'), 200)).people.map((p) => p.name)).toEqual(['biden']);

    expect(labels(await identify(photos.alexProbe!))).toEqual(['Unknown']);
    const scoped = await identify(photos.alexProbe!, '?gallery=studio');
    expect(scoped.gallery).toEqual({ id: gallery.id, name: 'studio' });
    expect(scoped.faces[0]).toMatchObject({ outcome: 'match', label: 'alex', person: { id: alex.person.id } });

    // A person lives in one gallery: looked up elsewhere they do not exist.
    await expectError(await api(`/v1/people/${alex.person.id}`), 404, 'PERSON_NOT_FOUND');
    expect((await expectJson<{ person: PersonJson }>(await api(`/v1/people/${alex.person.id}?gallery=studio`), 200)).person.name).toBe(
      'alex',
    );
    const renamed = await expectJson<{ person: PersonJson }>(
      await api(`/v1/people/${alex.person.id}?gallery=studio`, { method: 'PATCH', json: { name: 'Alex Lacamoire' } }),
      200,
    );
    expect(renamed.person.name).toBe('Alex Lacamoire');

    // A gallery renamed keeps its people, by its new name; the default one keeps its name.
    const moved = await expectJson<{ gallery: GalleryJson }>(
      await api('/v1/galleries/STUDIO', { method: 'PATCH', json: { name: 'Studio B' } }),
      200,
    );
    expect(moved.gallery).toMatchObject({ id: gallery.id, name: 'Studio B', people: 1, faces: 1 });
    expect((await identify(photos.alexProbe!, '?gallery=studio%20b')).faces[0]).toMatchObject({ label: 'Alex Lacamoire' });
    await expectError(await api('/v1/galleries/studio', { method: 'PATCH', json: { name: 'x' } }), 404, 'GALLERY_NOT_FOUND');
    await expectError(await api('/v1/galleries/default', { method: 'PATCH', json: { name: 'main' } }), 400, 'INVALID_ARGUMENT');
    await expectError(await api(`/v1/galleries/${gallery.id}`, { method: 'PATCH', json: { name: 'Default' } }), 409, 'GALLERY_EXISTS');
    await expectError(await api(`/v1/galleries/${gallery.id}`, { method: 'PATCH', json: {} }), 400, 'INVALID_ARGUMENT');
    await expectJson(await api(`/v1/galleries/${gallery.id}`, { method: 'PATCH', json: { name: 'studio' } }), 200);

    await expectError(await api('/v1/galleries/studio', { method: 'DELETE' }), 409, 'GALLERY_NOT_EMPTY');
    await expectError(await api('/v1/galleries', { method: 'POST', json: { name: 'studio' } }), 409, 'GALLERY_EXISTS');
    await expectJson(await api(`/v1/people/${alex.person.id}?gallery=studio`, { method: 'DELETE' }), 200);
    const deleted = await expectJson<{ deleted: GalleryJson }>(await api('/v1/galleries/studio', { method: 'DELETE' }), 200);
    expect(deleted.deleted).toMatchObject({ id: gallery.id, people: 0 });

    // force=true erases a gallery with its people.
    await expectJson(await api('/v1/galleries', { method: 'POST', json: { name: 'temp' } }), 201);
    await expectJson(await api('/v1/people', { method: 'POST', json: { name: 'Temp Person', gallery: 'temp' } }), 201);
    const before = await counts();
    await expectJson(await api('/v1/galleries/temp?force=true', { method: 'DELETE' }), 200);
    expect(await counts()).toEqual({ people: before.people - 1, faces: before.faces });
    expect((await expectJson<{ galleries: GalleryJson[] }>(await api('/v1/galleries'), 200)).galleries.map((g) => g.name)).toEqual([
      'default',
    ]);
    await expectError(await post('/v1/identify?gallery=studio', form({ image: photos.alexProbe! })), 404, 'GALLERY_NOT_FOUND');
  });

  it('exposes Prometheus metrics: request durations, inference stages, faces per image, queue depth and enrollment rejections', async () => {
    const rejected = await expectError(
      await post('/v1/people', form({ images: photos.corrupted! }, { name: 'Corrupt' }), {}),
      415,
      'UNSUPPORTED_IMAGE',
    );
    expect(rejected.details.rejected).toEqual([expect.objectContaining({ index: 0, code: 'UNSUPPORTED_IMAGE' })]);

    const res = await api('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    const value = (pattern: RegExp): number => {
      const m = pattern.exec(text);
      expect(m, String(pattern)).not.toBeNull();
      return Number(m![1]);
    };
    expect(
      value(/^facerec_http_request_duration_seconds_count\{method="POST",route="\/v1\/identify",status="200"\} (\d+)$/m),
    ).toBeGreaterThanOrEqual(5);
    expect(
      value(/^facerec_http_request_duration_seconds_count\{method="GET",route="\/v1\/people\/:id",status="404"\} (\d+)$/m),
    ).toBeGreaterThanOrEqual(1);
    expect(text).not.toMatch(/route="\/v1\/people\/[0-9a-f]{8}-/); // route patterns, never ids
    expect(value(/^facerec_inference_duration_seconds_count\{stage="detect"\} (\d+)$/m)).toBeGreaterThanOrEqual(10);
    expect(value(/^facerec_faces_per_image_count (\d+)$/m)).toBeGreaterThanOrEqual(10);
    expect(value(/^facerec_faces_per_image_bucket\{le="1"\} (\d+)$/m)).toBeGreaterThanOrEqual(1);
    expect(value(/^facerec_queue_depth (\d+)$/m)).toBe(0);
    expect(value(/^facerec_workers (\d+)$/m)).toBe(1);
    expect(value(/^facerec_enroll_rejections_total\{reason="UNSUPPORTED_IMAGE"\} (\d+)$/m)).toBe(1);
  });

  it('needs API keys once one exists: Bearer or X-API-Key, admin for admin routes, revocable, stored only as a hash', HEAVY, async () => {
    // No key exists yet: the loopback server is open.
    const created = await expectJson<KeyJson>(await api('/v1/keys', { method: 'POST', json: { name: 'ops', role: 'admin' } }), 201);
    expect(created.apiKey).toMatchObject({ role: 'admin', revokedAt: null });
    expect(created.key.startsWith(created.apiKey.prefix)).toBe(true);
    const admin = created.key;
    // Keys made outside HTTP (the CLI) work the same.
    const recognize = await createApiKey(server.db, { name: 'kiosk', role: 'recognize' });

    const noKey = () => fetch(`${server.url}/v1/galleries`);
    // Whether any key exists is cached for a moment.
    await expect
      .poll(
        async () => {
          const res = await noKey();
          await res.body?.cancel();
          return res.status;
        },
        { timeout: 10_000, interval: 250 },
      )
      .toBe(401);
    await expectError(await noKey(), 401, 'UNAUTHORIZED');
    for (const wrong of [
      'Bearer frk_wrongwrongwrongwrongwrongwrongwrongwrongwro',
      'Bearer not-even-a-key',
      'Basic dXNlcjpwYXNz',
      'Bearer',
    ]) {
      await expectError(await fetch(`${server.url}/v1/galleries`, { headers: { Authorization: wrong } }), 401, 'UNAUTHORIZED');
    }
    await expectError(await fetch(`${server.url}/v1/galleries`, { headers: { 'X-API-Key': `${admin}x` } }), 401, 'UNAUTHORIZED');

    await expectJson(await fetch(`${server.url}/v1/galleries`, { headers: { Authorization: `Bearer ${admin}` } }), 200);
    await expectJson(await fetch(`${server.url}/v1/galleries`, { headers: { 'X-API-Key': admin } }), 200);
    adminKey = admin;

    const before = await counts();
    const forbidden = await expectError(
      await api('/v1/people', { method: 'POST', json: { name: 'Mallory' }, headers: { 'X-API-Key': recognize.key } }),
      403,
      'FORBIDDEN',
    );
    expect(forbidden.details).toEqual({ role: 'recognize' });
    await expectError(
      await api('/v1/keys', {
        method: 'POST',
        json: { name: 'escalate', role: 'admin' },
        headers: { Authorization: `Bearer ${recognize.key}` },
      }),
      403,
      'FORBIDDEN',
    );
    expect(await counts()).toEqual(before);
    const recognized = await expectJson<IdentifyJson>(
      await post('/v1/identify', form({ image: photos.biden! }), { Authorization: `Bearer ${recognize.key}` }),
      200,
    );
    expect(recognized.faces[0]?.label).toBe('biden');

    // Only a hash is stored; the listing never shows a key.
    const rows = await server.db.query<{ key_hash: string }>('SELECT key_hash FROM api_keys');
    expect(rows).toHaveLength(2);
    for (const row of rows) {
      expect(row.key_hash).toMatch(/^[0-9a-f]{64}$/);
      expect([admin, recognize.key]).not.toContain(row.key_hash);
    }
    const everything = JSON.stringify(await server.db.query('SELECT * FROM api_keys'));
    expect(everything).not.toContain(admin);
    expect(everything).not.toContain(recognize.key);
    const listing = await (await api('/v1/keys')).text();
    expect(listing).not.toContain(admin);
    expect(listing).not.toContain(recognize.key);
    expect((JSON.parse(listing) as { keys: unknown[] }).keys).toHaveLength(2);

    const revoked = await expectJson<{ revoked: KeyJson['apiKey'] }>(
      await api(`/v1/keys/${recognize.apiKey.id}`, { method: 'DELETE' }),
      200,
    );
    expect(revoked.revoked.revokedAt).not.toBeNull();
    await expectError(
      await post('/v1/identify', form({ image: photos.biden! }), { Authorization: `Bearer ${recognize.key}` }),
      401,
      'UNAUTHORIZED',
    );

    // The service endpoints stay open for probes and scrapers.
    for (const path of ['/healthz', '/readyz', '/metrics', '/openapi.json', '/docs/']) {
      const res = await fetch(`${server.url}${path}`);
      expect(res.status, path).toBe(200);
      await res.body?.cancel();
    }
  });

  describe('rate limit', () => {
    let limited: TestServer;
    beforeAll(async () => {
      limited = await startTestServer(kind, { FACEREC_RATE_LIMIT: '3' });
    }, 180_000);
    afterAll(async () => {
      await limited?.stop();
    });

    it('answers the 4th request of a key within a minute with 429 RATE_LIMITED; other keys are not affected', async () => {
      const one = await createApiKey(limited.db, { name: 'one', role: 'admin' });
      const two = await createApiKey(limited.db, { name: 'two', role: 'admin' });
      const get = (key: string) => fetch(`${limited.url}/v1/galleries`, { headers: { Authorization: `Bearer ${key}` } });
      for (let i = 0; i < 3; i++) {
        const res = await get(one.key);
        await expectJson(res, 200);
        expect(res.headers.get('ratelimit-policy')).toMatch(/q=3/);
      }
      const fourth = await get(one.key);
      const error = await expectError(fourth, 429, 'RATE_LIMITED');
      expect(error.details).toEqual({ limit: 3 });
      expect(Number(fourth.headers.get('retry-after'))).toBeGreaterThan(0);
      await expectError(await get(one.key), 429, 'RATE_LIMITED');
      await expectJson(await get(two.key), 200);
      // Probes are never limited.
      for (let i = 0; i < 5; i++) expect((await fetch(`${limited.url}/healthz`)).status).toBe(200);
    });
  });
});
