import sharp from 'sharp';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { FacerecError } from '../../src/errors.js';
import type { ServiceContext } from '../../src/service/context.js';
import { createPerson } from '../../src/service/enroll.service.js';
import { identify, verify } from '../../src/service/identify.service.js';
import { galleries } from '../../src/service/people.service.js';
import { reembedGallery, reembedStatus, startReembed } from '../../src/service/reembed.service.js';
import { listModels } from '../../src/service/models.service.js';
import { describeEachDatabase, type DatabaseKind } from '../helpers/databases.js';
import { fakeAnalyzer, portrait, FAKE_DESCRIPTOR_MODEL_ID, type FakeAnalyzer } from '../helpers/fake-analyzer.js';
import { rejection } from '../helpers/errors.js';
import { asPhoto, codeOf, count, openMedium, uniqueName, withConfig, type Medium } from './harness.js';

const NEW_MODEL = 'fake-new-model';

describeEachDatabase('re-embedding a gallery with another model', (kind: DatabaseKind) => {
  let m: Medium;
  let ctx: ServiceContext;
  let analyzer: FakeAnalyzer;

  beforeAll(async () => {
    m = await openMedium(kind, { otherModels: [NEW_MODEL] });
    ctx = m.ctx;
    analyzer = m.analyzer;
  });

  afterAll(async () => {
    await m?.test.drop();
  });

  /** A gallery of `people`, two photos each, on the default fake model. */
  async function gallery(people: string[]): Promise<string> {
    const name = (await galleries.create(ctx, uniqueName('reembed'))).name;
    for (const p of people) await createPerson(ctx, { gallery: name, name: p }, [asPhoto(await portrait(p)), asPhoto(await portrait(p))]);
    return name;
  }

  /** The analyzer, failing like a crashed worker from its `after`-th call on. */
  function crashingAfter(after: number): ServiceContext {
    let calls = 0;
    const crashing = {
      ...analyzer,
      analyze: (bytes: Uint8Array, options?: Parameters<FakeAnalyzer['analyze']>[1]) =>
        ++calls > after ? Promise.reject(new FacerecError('WORKER_CRASHED', 'crashed on cue')) : analyzer.analyze(bytes, options),
    };
    return { ...ctx, analyzer: crashing };
  }

  it('moves every face to the new model at once, with search answering from the old ones until then', async () => {
    const name = await gallery(['ann', 'ben', 'cat', 'dev', 'eli']);
    const probe = await portrait('cat');
    const answers: string[] = [];
    const status = await reembedGallery(ctx, {
      gallery: name,
      model: NEW_MODEL,
      // Between batches: the gallery still searches with its old model and names the person.
      onProgress: async () => {
        const r = await identify(ctx, probe, { gallery: name });
        answers.push(`${r.model}:${r.faces[0]!.label}`);
      },
    });
    expect(status).toMatchObject({ state: 'done', model: NEW_MODEL, total: 10, staged: 10, failed: [] });
    expect(answers.length).toBeGreaterThan(0);
    expect(new Set(answers)).toEqual(new Set([`${FAKE_DESCRIPTOR_MODEL_ID}:cat`]));

    expect((await galleries.get(ctx, name)).descriptorModel).toBe(NEW_MODEL);
    const models = await m.test.db.query<{ model_id: string }>(
      'SELECT DISTINCT model_id FROM faces WHERE gallery_id = (SELECT id FROM galleries WHERE name = $1)',
      [name],
    );
    expect(models).toEqual([{ model_id: NEW_MODEL }]);
    // Now searched with the new model: the probe is described with it, and still named.
    const after = await identify(ctx, probe, { gallery: name });
    expect(after).toMatchObject({ model: NEW_MODEL, thresholdSource: 'model-card' });
    expect(after.faces[0]).toMatchObject({ outcome: 'match', label: 'cat' });
    expect(analyzer.calls.at(-1)!.options.model).toBe(NEW_MODEL);
    expect(await reembedStatus(ctx, name)).toMatchObject({ state: 'idle', model: NEW_MODEL });
  });

  it('resumes after a crash without losing or repeating work, and switches only at the end', async () => {
    const name = await gallery(['fay', 'gus', 'hal', 'ida', 'joe', 'kim', 'lea', 'max', 'ned', 'oli']);
    // The first run dies after 20 of the 20 thumbnails' first 18 analyses (batches of 16 are staged as they finish).
    expect(await codeOf(reembedGallery(crashingAfter(18), { gallery: name, model: NEW_MODEL }))).toBe('WORKER_CRASHED');
    const stopped = await reembedStatus(ctx, name);
    expect(stopped).toMatchObject({ state: 'pending', model: FAKE_DESCRIPTOR_MODEL_ID, target: NEW_MODEL, total: 20, staged: 16 });
    // Still searching, with the old model.
    const during = await identify(ctx, await portrait('kim'), { gallery: name });
    expect(during).toMatchObject({ model: FAKE_DESCRIPTOR_MODEL_ID });
    expect(during.faces[0]!.label).toBe('kim');

    const callsBefore = analyzer.calls.length;
    const done = await reembedGallery(ctx, { gallery: name, model: NEW_MODEL });
    expect(done).toMatchObject({ state: 'done', model: NEW_MODEL, total: 20, staged: 20 });
    // Only the 4 faces not staged were described again.
    expect(analyzer.calls.length - callsBefore).toBe(4);
    expect((await identify(ctx, await portrait('kim'), { gallery: name })).faces[0]).toMatchObject({ label: 'kim' });
  });

  it('describes faces enrolled while it runs before it switches', async () => {
    const name = await gallery(['pia', 'quin']);
    let enrolled = false;
    const status = await reembedGallery(ctx, {
      gallery: name,
      model: NEW_MODEL,
      onProgress: async () => {
        if (enrolled) return;
        enrolled = true;
        await createPerson(ctx, { gallery: name, name: 'rex' }, [asPhoto(await portrait('rex'))]);
      },
    });
    expect(status).toMatchObject({ state: 'done', model: NEW_MODEL });
    expect(
      await count(ctx.db, 'faces WHERE model_id <> $1 AND gallery_id = (SELECT id FROM galleries WHERE name = $2)', [NEW_MODEL, name]),
    ).toBe(0);
    expect(await count(ctx.db, 'faces WHERE gallery_id = (SELECT id FROM galleries WHERE name = $1)', [name])).toBe(5);
  });

  it('refuses a gallery with faces stored without thumbnails, changing nothing', async () => {
    const bare = withConfig(ctx, { thumbnails: false });
    const name = (await galleries.create(bare, uniqueName('bare'))).name;
    await createPerson(bare, { gallery: name, name: 'sam' }, [asPhoto(await portrait('sam'))]);
    const err = await rejection(reembedGallery(ctx, { gallery: name, model: NEW_MODEL }));
    expect(err).toMatchObject({ code: 'REEMBED_NOT_POSSIBLE', details: { faces: 1, withoutThumbnail: 1 } });
    expect(err.message).toContain('enroll');
    expect(await reembedStatus(ctx, name)).toMatchObject({ state: 'idle', model: FAKE_DESCRIPTOR_MODEL_ID });
  });

  it('stalls on a thumbnail that shows no face, listing it, and switches without it when told to', async () => {
    const name = await gallery(['uri', 'val']);
    const [victim] = await ctx.db.query<{ id: string; person_id: string }>(
      'SELECT f.id, f.person_id FROM faces f JOIN galleries g ON g.id = f.gallery_id WHERE g.name = $1 ORDER BY f.id LIMIT 1',
      [name],
    );
    // A thumbnail in which nothing can be found (a plain grey JPEG the fake analyzer has never made).
    const grey = await sharp({ create: { width: 32, height: 32, channels: 3, background: { r: 90, g: 90, b: 90 } } })
      .jpeg()
      .toBuffer();
    await ctx.db.query('UPDATE faces SET thumbnail = $1 WHERE id = $2', [grey, victim!.id]);
    const stalled = await reembedGallery(ctx, { gallery: name, model: NEW_MODEL });
    expect(stalled).toMatchObject({ state: 'stalled', model: FAKE_DESCRIPTOR_MODEL_ID, target: NEW_MODEL, total: 4, staged: 3 });
    expect(stalled.failed).toEqual([{ faceId: victim!.id, personId: victim!.person_id, code: 'NO_FACE', message: expect.any(String) }]);
    expect(await reembedStatus(ctx, name)).toMatchObject({ state: 'stalled', failed: [{ faceId: victim!.id }] });
    const done = await reembedGallery(ctx, { gallery: name, model: NEW_MODEL, dropFailed: true });
    expect(done).toMatchObject({ state: 'done', model: NEW_MODEL, failed: [{ faceId: victim!.id }] });
    expect(await count(ctx.db, 'faces WHERE id = $1', [victim!.id])).toBe(0);
    expect(await count(ctx.db, 'faces WHERE gallery_id = (SELECT id FROM galleries WHERE name = $1)', [name])).toBe(3);
  });

  it('runs in the background for the HTTP API: one job per gallery, its progress and its end readable', async () => {
    const name = await gallery(['wes', 'xia']);
    // Already on the model asked for: nothing to do.
    expect(await reembedGallery(ctx, { gallery: name, model: FAKE_DESCRIPTOR_MODEL_ID })).toMatchObject({ state: 'idle' });
    const started = await startReembed(ctx, { gallery: name, model: NEW_MODEL });
    // Running, or (a fast database, four faces) already switched.
    expect(started.state === 'running' || (started.state === 'idle' && started.model === NEW_MODEL)).toBe(true);
    // A second request joins the job instead of starting another.
    const joined = await reembedGallery(ctx, { gallery: name, model: NEW_MODEL });
    // (or, when the job was faster than this call, finds the gallery already moved)
    expect(joined.model).toBe(NEW_MODEL);
    expect(['done', 'idle']).toContain(joined.state);
    expect(await reembedStatus(ctx, name)).toMatchObject({ state: 'idle', model: NEW_MODEL });
    // A run that dies says why, for the next GET.
    const other = await gallery(['yan']);
    expect(['running', 'pending']).toContain((await startReembed(crashingAfter(0), { gallery: other, model: NEW_MODEL })).state);
    for (let i = 0; i < 100 && (await reembedStatus(ctx, other)).state === 'running'; i++) await new Promise((r) => setTimeout(r, 50));
    expect(await reembedStatus(ctx, other)).toMatchObject({ state: 'pending', error: expect.stringContaining('WORKER_CRASHED') });
    expect(listModels(ctx).map((m) => [m.id, m.default])).toEqual([
      [FAKE_DESCRIPTOR_MODEL_ID, true],
      [NEW_MODEL, false],
    ]);
  });

  it('searches again with the new model when the gallery switched while the photo was being described', async () => {
    /** The analyzer, moving `name` to the new model right after describing the first probe with the old one. */
    const switching = (name: string): ServiceContext => {
      let done = false;
      const analyze: FakeAnalyzer['analyze'] = async (bytes, options) => {
        const result = await analyzer.analyze(bytes, options);
        if (!done && options?.model === FAKE_DESCRIPTOR_MODEL_ID) {
          done = true;
          await reembedGallery(ctx, { gallery: name, model: NEW_MODEL });
        }
        return result;
      };
      return { ...ctx, analyzer: { ...analyzer, analyze } };
    };
    const a = await gallery(['zed']);
    const found = await identify(switching(a), await portrait('zed'), { gallery: a });
    expect(found).toMatchObject({ model: NEW_MODEL, faces: [{ label: 'zed', outcome: 'match' }] });
    const b = await gallery(['zoe']);
    expect(await verify(switching(b), await portrait('zoe'), 'zoe', { gallery: b })).toMatchObject({ match: true });
  });

  it('says UNKNOWN_MODEL for a model that is not installed', async () => {
    const name = await gallery(['tom']);
    expect(await codeOf(reembedGallery(ctx, { gallery: name, model: 'no-such-model' }))).toBe('UNKNOWN_MODEL');
    const other = { ...ctx, analyzer: fakeAnalyzer() };
    expect(await codeOf(reembedGallery(other, { gallery: name, model: NEW_MODEL }))).toBe('UNKNOWN_MODEL');
  });
});
