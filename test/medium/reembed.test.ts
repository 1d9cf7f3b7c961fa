import { afterAll, beforeAll, expect, it } from 'vitest';
import { FacerecError } from '../../src/errors.js';
import type { ServiceContext } from '../../src/service/context.js';
import { createPerson } from '../../src/service/enroll.service.js';
import { identify } from '../../src/service/identify.service.js';
import { galleries } from '../../src/service/people.service.js';
import { reembedGallery, reembedStatus } from '../../src/service/reembed.service.js';
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

  it('says UNKNOWN_MODEL for a model that is not installed', async () => {
    const name = await gallery(['tom']);
    expect(await codeOf(reembedGallery(ctx, { gallery: name, model: 'no-such-model' }))).toBe('UNKNOWN_MODEL');
    const other = { ...ctx, analyzer: fakeAnalyzer() };
    expect(await codeOf(reembedGallery(other, { gallery: name, model: NEW_MODEL }))).toBe('UNKNOWN_MODEL');
  });
});
