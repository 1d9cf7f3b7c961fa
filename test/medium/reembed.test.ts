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
    expect(await reembedStatus(ctx, name)).toMatchObject({ state: 'done', model: NEW_MODEL, fromModel: FAKE_DESCRIPTOR_MODEL_ID });
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

  /** Makes the stored thumbnails of `faceIds` unreadable, as a damaged row would be: those faces cannot be described again. */
  async function damage(faceIds: string[]): Promise<void> {
    for (const id of faceIds) await ctx.db.query('UPDATE faces SET thumbnail = $1 WHERE id = $2', [Buffer.from('not a jpeg any more'), id]);
  }

  const facesOf = (name: string) =>
    ctx.db.query<{ id: string; person_id: string; name: string }>(
      `SELECT f.id, f.person_id, p.name FROM faces f JOIN people p ON p.id = f.person_id JOIN galleries g ON g.id = f.gallery_id
       WHERE g.name = $1 ORDER BY p.name, f.id`,
      [name],
    );

  it('describes every stored thumbnail again without detecting it, so a chip the detector misses still moves', async () => {
    const name = await gallery(['abe', 'bea']);
    // The fake's stored-chip reading always finds the face, as the engine's does: no failure, no second detection.
    const callsBefore = analyzer.calls.length;
    expect(await reembedGallery(ctx, { gallery: name, model: NEW_MODEL })).toMatchObject({ state: 'done', staged: 4, failed: [] });
    expect(analyzer.calls.slice(callsBefore).every((c) => c.options.storedChip === true)).toBe(true);
  });

  it('stalls on a thumbnail that cannot be described, listing it with its person and a token, and drops exactly it when told', async () => {
    const name = await gallery(['uri', 'val']);
    const [victim] = await facesOf(name);
    await damage([victim!.id]);
    const stalled = await reembedGallery(ctx, { gallery: name, model: NEW_MODEL });
    expect(stalled).toMatchObject({
      state: 'stalled',
      model: FAKE_DESCRIPTOR_MODEL_ID,
      target: NEW_MODEL,
      total: 4,
      staged: 3,
      remaining: 0,
    });
    expect(stalled.failed).toEqual([
      { faceId: victim!.id, personId: victim!.person_id, personName: 'uri', code: 'UNSUPPORTED_IMAGE', message: expect.any(String) },
    ]);
    // uri keeps another face: nobody would be left without one.
    expect(stalled.wouldLeaveWithoutFaces).toEqual([]);
    expect(stalled.dropToken).toMatch(/^[0-9a-f]{16}$/);
    expect(await reembedStatus(ctx, name)).toMatchObject({
      state: 'stalled',
      dropToken: stalled.dropToken,
      failed: [{ faceId: victim!.id }],
    });
    // A token of another listing, or an id the listing does not hold, drops nothing.
    expect(await codeOf(reembedGallery(ctx, { gallery: name, model: NEW_MODEL, dropFailed: '0123456789abcdef' }))).toBe(
      'REEMBED_LISTING_CHANGED',
    );
    const other = (await facesOf(name)).find((f) => f.id !== victim!.id)!;
    expect(await codeOf(reembedGallery(ctx, { gallery: name, model: NEW_MODEL, dropFailed: [victim!.id, other.id] }))).toBe(
      'REEMBED_LISTING_CHANGED',
    );
    expect(await count(ctx.db, 'faces WHERE gallery_id = (SELECT id FROM galleries WHERE name = $1)', [name])).toBe(4);

    const done = await reembedGallery(ctx, { gallery: name, model: NEW_MODEL, dropFailed: stalled.dropToken });
    expect(done).toMatchObject({ state: 'done', model: NEW_MODEL, fromModel: FAKE_DESCRIPTOR_MODEL_ID, total: 4, staged: 3, failed: [] });
    expect(done.dropped).toEqual(stalled.failed);
    expect(done.leftWithoutFaces).toEqual([]);
    expect(await count(ctx.db, 'faces WHERE id = $1', [victim!.id])).toBe(0);
    expect(await count(ctx.db, 'faces WHERE gallery_id = (SELECT id FROM galleries WHERE name = $1)', [name])).toBe(3);
    // The record stays readable after the switch, and its counters add up.
    const record = await reembedStatus(ctx, name);
    expect(record).toMatchObject({ state: 'done', staged: 3, total: 4, dropped: [{ faceId: victim!.id, personName: 'uri' }] });
    expect(record.staged + record.dropped!.length).toBe(record.total);
  });

  it('names the people a drop would leave without faces before it drops, and reports them after', async () => {
    const name = await gallery(['wyn', 'xan']);
    const wyn = (await facesOf(name)).filter((f) => f.name === 'wyn');
    await damage(wyn.map((f) => f.id));
    const stalled = await reembedGallery(ctx, { gallery: name, model: NEW_MODEL });
    expect(stalled.failed.map((f) => f.faceId).sort()).toEqual(wyn.map((f) => f.id).sort());
    expect(stalled.wouldLeaveWithoutFaces).toEqual([{ personId: wyn[0]!.person_id, name: 'wyn' }]);
    const done = await reembedGallery(ctx, { gallery: name, model: NEW_MODEL, dropFailed: wyn.map((f) => f.id) });
    expect(done).toMatchObject({ state: 'done', leftWithoutFaces: [{ personId: wyn[0]!.person_id, name: 'wyn' }] });
    // The person is kept, with no face, for the operator to enroll again.
    expect(await count(ctx.db, 'people WHERE id = $1', [wyn[0]!.person_id])).toBe(1);
  });

  it('never drops a face that was not listed: faces enrolled during the run that fail stall it again, dropping nothing', async () => {
    // The attack's scenario: a stall listed some faces; meanwhile more people were enrolled, and some of their thumbnails
    // fail too; the operator asks to drop what was listed.
    const name = await gallery(['ada', 'bob', 'cyd']);
    const [first] = await facesOf(name);
    await damage([first!.id]);
    const stalled = await reembedGallery(ctx, { gallery: name, model: NEW_MODEL });
    expect(stalled.failed.map((f) => f.faceId)).toEqual([first!.id]);
    // Enrolled after the listing was shown; one of them will fail as well.
    await createPerson(ctx, { gallery: name, name: 'dee' }, [asPhoto(await portrait('dee'))]);
    const late = (await facesOf(name)).find((f) => f.name === 'dee')!;
    await damage([late.id]);
    const again = await reembedGallery(ctx, { gallery: name, model: NEW_MODEL, dropFailed: stalled.dropToken });
    // Nothing was dropped: the new failure is listed beside the one named, with a new token.
    expect(again).toMatchObject({ state: 'stalled', model: FAKE_DESCRIPTOR_MODEL_ID, total: 7 });
    expect(again.failed.map((f) => f.faceId).sort()).toEqual([first!.id, late.id].sort());
    expect(again.dropToken).not.toBe(stalled.dropToken);
    expect(again.wouldLeaveWithoutFaces).toEqual([{ personId: late.person_id, name: 'dee' }]);
    expect(again.staged + again.failed.length + again.remaining).toBe(again.total);
    expect(await count(ctx.db, 'faces WHERE gallery_id = (SELECT id FROM galleries WHERE name = $1)', [name])).toBe(7);
    // Named, the first listing's face alone: the late face still blocks the switch, and neither goes.
    expect(await reembedGallery(ctx, { gallery: name, model: NEW_MODEL, dropFailed: [first!.id] })).toMatchObject({ state: 'stalled' });
    expect(await count(ctx.db, 'faces WHERE gallery_id = (SELECT id FROM galleries WHERE name = $1)', [name])).toBe(7);
    const done = await reembedGallery(ctx, { gallery: name, model: NEW_MODEL, dropFailed: again.dropToken });
    expect(done).toMatchObject({ state: 'done', total: 7, staged: 5 });
    expect(done.dropped!.map((f) => f.faceId).sort()).toEqual([first!.id, late.id].sort());
  });

  it('runs in the background for the HTTP API: one job per gallery, its progress and its end readable', async () => {
    const name = await gallery(['wes', 'xia']);
    // Already on the model asked for: nothing to do.
    expect(await reembedGallery(ctx, { gallery: name, model: FAKE_DESCRIPTOR_MODEL_ID })).toMatchObject({ state: 'idle' });
    const started = await startReembed(ctx, { gallery: name, model: NEW_MODEL });
    // Running, or (a fast database, four faces) already switched.
    expect(started.state === 'running' || (started.state === 'done' && started.model === NEW_MODEL)).toBe(true);
    // A second request joins the job instead of starting another.
    const joined = await reembedGallery(ctx, { gallery: name, model: NEW_MODEL });
    // (or, when the job was faster than this call, finds the gallery already moved)
    expect(joined.model).toBe(NEW_MODEL);
    expect(joined.state).toBe('done');
    expect(await reembedStatus(ctx, name)).toMatchObject({ state: 'done', model: NEW_MODEL });
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
