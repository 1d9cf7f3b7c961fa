/**
 * Issue 25 over real HTTP: a 6000×4000 grey pattern of a regular pixel hash, which issue 15's detector took for a face
 * (and enrolled as a person, whom a later identify of the same image matched), is no face: detect finds none, enrollment
 * is refused with NO_FACE and stores nothing, identify finds no face to name. On PGlite only: the engine is what is tested here,
 * and the store's part (nothing written) is the same SQL on PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderRecipe, SYNTHETIC_RECIPES } from '../../src/eval/synthetic.js';
import { form, startTestServer, type TestServer } from '../helpers/server.js';

describe('a synthetic grey pattern of 6000×4000 over HTTP', () => {
  let server: TestServer;
  let pattern: Uint8Array;

  const counts = async () => {
    const [row] = await server.db.query<{ people: number; faces: number }>(
      'SELECT (SELECT count(*)::int FROM people) AS people, (SELECT count(*)::int FROM faces) AS faces',
    );
    return row!;
  };
  const post = async (path: string, body: FormData) => {
    const res = await fetch(`${server.url}${path}`, { method: 'POST', body });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  beforeAll(async () => {
    [server, pattern] = await Promise.all([
      startTestServer('pglite'),
      renderRecipe(SYNTHETIC_RECIPES.find((r) => r.name === 'grey pixel hash 6000×4000')!),
    ]);
  }, 180_000);
  afterAll(async () => {
    await server?.stop();
  });

  it('is no face: detect finds none, enrollment is NO_FACE and stores nothing, identify is NO_FACE', async () => {
    const detected = await post('/v1/detect', form({ image: pattern }));
    expect(detected).toMatchObject({ status: 200, body: { width: 6000, height: 4000, faces: [] } });

    const before = await counts();
    const enrolled = await post('/v1/people', form({ images: pattern }, { name: 'Grey pattern' }, 'pattern.png'));
    expect(enrolled.status).toBe(422);
    expect(enrolled.body).toMatchObject({
      error: { code: 'NO_FACE', details: { rejected: [expect.objectContaining({ index: 0, file: 'pattern.png', code: 'NO_FACE' })] } },
    });
    expect(await counts()).toEqual(before);

    const identified = await post('/v1/identify', form({ image: pattern }));
    expect(identified).toMatchObject({ status: 422, body: { error: { code: 'NO_FACE' } } });
  }, 180_000);
});
