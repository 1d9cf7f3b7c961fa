/**
 * A gallery that learns over real HTTP (the app with the fake analyzer on PGlite): the confirm contract the web UI
 * calls (POST /v1/sightings/{id}/confirm → { sighting, template }), its 4xx codes, the learning setting, faces saying
 * their origin and sighting, and learned faces listed and removed with a count.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeAnalyzer, portrait } from '../helpers/fake-analyzer.js';
import { call, form, startTestApp, type Reply, type TestApp } from '../helpers/server.js';
import { FAKE_MODELS_DIR } from './harness.js';

const NO_SUCH = '00000000-0000-4000-8000-000000000000';

describe('a gallery that learns over HTTP', () => {
  let app: TestApp;
  const json = (method: string, path: string, body?: unknown): Promise<Reply> =>
    call(`${app.url}${path}`, {
      method,
      ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    });
  const identify = async (gallery: string, identity: string, drift = 0.35) =>
    (await call(`${app.url}/v1/identify`, { method: 'POST', body: form({ image: await portrait(identity, { drift }) }, { gallery }) })).body
      .faces[0];

  beforeAll(async () => {
    app = await startTestApp('pglite', fakeAnalyzer(), { FACEREC_MODELS_DIR: FAKE_MODELS_DIR, FACEREC_LOG_LEVEL: 'silent' });
  });
  afterAll(async () => {
    await app?.stop();
  });

  let annId = '';
  let bobId = '';
  beforeAll(async () => {
    expect((await json('POST', '/v1/galleries', { name: 'home' })).status).toBe(201);
    expect((await json('PATCH', '/v1/galleries/home/sightings', { keepSightings: 'all' })).status).toBe(200);
    for (const name of ['ann', 'bob']) {
      const reply = await call(`${app.url}/v1/people`, {
        method: 'POST',
        body: form({ images: await portrait(name, { drift: 0 }) }, { name, gallery: 'home' }),
      });
      expect(reply.status).toBe(201);
      if (name === 'ann') annId = reply.body.person.id;
      else bobId = reply.body.person.id;
    }
  });

  it('confirms a sighting: 200 { sighting, template }, and the face says it is confirmed, from that sighting', async () => {
    const face = await identify('home', 'ann');
    expect(face).toMatchObject({ outcome: 'match', person: { id: annId } });
    const reply = await json('POST', `/v1/sightings/${face.sightingId}/confirm`);
    expect(reply.status).toBe(200);
    expect(reply.body.sighting).toMatchObject({ id: face.sightingId, person: { id: annId }, labelledBy: 'user' });
    expect(reply.body.template).toMatchObject({ added: true, reason: 'added' });
    expect(typeof reply.body.template.faceId).toBe('string');

    const person = (await json('GET', `/v1/people/${annId}?gallery=home`)).body.person;
    expect(person.faces.map((f: { origin: string; sightingId: string | null }) => [f.origin, f.sightingId])).toEqual([
      ['enrolled', null],
      ['confirmed', face.sightingId],
    ]);
    // A near-duplicate is answered as such, still 200.
    const near = await identify('home', 'ann', 0.1);
    const refused = await json('POST', `/v1/sightings/${near.sightingId}/confirm`, {});
    expect(refused.status).toBe(200);
    expect(refused.body.template).toMatchObject({ added: false, reason: 'near-duplicate' });
  });

  it('re-labels with personId, and answers each bad call with its code', async () => {
    const face = await identify('home', 'ann');
    const toBob = await json('POST', `/v1/sightings/${face.sightingId}/confirm`, { personId: bobId });
    expect(toBob.status).toBe(200);
    expect(toBob.body.sighting.person).toMatchObject({ id: bobId, name: 'bob' });
    expect(toBob.body.template).toMatchObject({ added: false, reason: 'guard' });

    const codes: Array<[string, unknown, number, string]> = [
      [`/v1/sightings/${NO_SUCH}/confirm`, undefined, 404, 'SIGHTING_NOT_FOUND'],
      ['/v1/sightings/not-a-uuid/confirm', undefined, 400, 'INVALID_ARGUMENT'],
      [`/v1/sightings/${face.sightingId}/confirm`, { personId: 'bob' }, 400, 'INVALID_ARGUMENT'],
      [`/v1/sightings/${face.sightingId}/confirm`, { personId: NO_SUCH }, 404, 'PERSON_NOT_FOUND'],
    ];
    const stranger = await identify('home', 'nobody-here');
    expect(stranger.outcome).toBe('unknown');
    codes.push([`/v1/sightings/${stranger.sightingId}/confirm`, undefined, 422, 'SIGHTING_UNLABELLED']);
    expect((await json('POST', '/v1/galleries', { name: 'work' })).status).toBe(201);
    const other = await call(`${app.url}/v1/people`, {
      method: 'POST',
      body: form({ images: await portrait('cat', { drift: 0 }) }, { name: 'cat', gallery: 'work' }),
    });
    codes.push([`/v1/sightings/${stranger.sightingId}/confirm`, { personId: other.body.person.id }, 409, 'WRONG_GALLERY']);
    for (const [path, body, status, code] of codes) {
      const reply = await json('POST', path, body);
      expect([path, reply.status, reply.body?.error?.code]).toEqual([path, status, code]);
    }
    expect((await json('GET', `/v1/sightings/${stranger.sightingId}`)).body.sighting.person).toBeNull();
  });

  it('learns certain matches once the gallery says so; lists them and removes them with a count', async () => {
    expect((await json('PATCH', '/v1/galleries/home/learning', { learn: 'sometimes' })).status).toBe(400);
    const set = await json('PATCH', '/v1/galleries/home/learning', { learn: 'certain' });
    expect(set.status).toBe(200);
    expect(set.body.gallery).toMatchObject({ name: 'home', learn: 'certain' });
    expect((await json('GET', '/v1/galleries')).body.galleries.find((g: { name: string }) => g.name === 'home').learn).toBe('certain');

    const learned = [await identify('home', 'bob'), await identify('home', 'bob', 0.4), await identify('home', 'ann', 0.4)];
    expect(learned.every((f) => typeof f.learnedFaceId === 'string')).toBe(true);
    const page = await json('GET', '/v1/galleries/home/learned-faces');
    expect(page.status).toBe(200);
    expect(page.body.total).toBe(3);
    expect(page.body.faces[0]).toMatchObject({ origin: 'learned', person: { id: annId, name: 'ann' }, sightingId: learned[2].sightingId });
    expect((await json('GET', `/v1/galleries/home/learned-faces?personId=${bobId}`)).body.total).toBe(2);
    expect((await json('GET', '/v1/galleries/home/learned-faces?origin=any')).body.total).toBe(4);
    expect((await json('GET', '/v1/galleries/home/learned-faces?origin=enrolled')).status).toBe(400);

    const one = await json('DELETE', `/v1/galleries/home/learned-faces/${learned[0].learnedFaceId}`);
    expect(one.status).toBe(200);
    expect(one.body.deleted).toMatchObject({ id: learned[0].learnedFaceId, origin: 'learned' });
    expect((await json('DELETE', `/v1/galleries/home/learned-faces/${learned[0].learnedFaceId}`)).body.error.code).toBe('FACE_NOT_FOUND');
    const bobs = await json('DELETE', `/v1/galleries/home/learned-faces?personId=${bobId}`);
    expect(bobs.body).toMatchObject({ deleted: 1 });
    const rest = await json('DELETE', '/v1/galleries/home/learned-faces');
    expect(rest.body).toMatchObject({ deleted: 1, gallery: { name: 'home' } });
    expect((await json('GET', '/v1/galleries/home/learned-faces?origin=any')).body.total).toBe(1); // the confirmed one
    expect((await json('DELETE', '/v1/galleries/nowhere/learned-faces')).status).toBe(404);
  });
});
