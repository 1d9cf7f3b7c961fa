/**
 * identify's threshold at a target FPIR, per gallery, on a real database with the fake analyzer and its impostor
 * model (test/fixtures/fake-models): from the gallery's size, cached until the gallery changes, re-centred on the
 * gallery's own distances once it has enough people, overridden by the caller's threshold.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { calibrateIdentify, calibrationSummary } from '../../src/service/calibrate.service.js';
import type { ServiceContext } from '../../src/service/context.js';
import { createPerson } from '../../src/service/enroll.service.js';
import { identify } from '../../src/service/identify.service.js';
import { FINGERPRINT_CHECK_MS, galleryThreshold, impostorModel } from '../../src/service/open-set.service.js';
import { expectedFpir, MIN_PEOPLE_FOR_GALLERY_CALIBRATION, thresholdForFpir } from '../../src/match/open-set.js';
import { deletePerson, galleries } from '../../src/service/people.service.js';
import { describeEachDatabase, type DatabaseKind } from '../helpers/databases.js';
import { portrait } from '../helpers/fake-analyzer.js';
import { asPhoto, openMedium, uniqueName, withConfig, type Medium } from './harness.js';

const round4 = (v: number) => Math.round(v * 10000) / 10000;

describeEachDatabase('identify at a target FPIR', (kind: DatabaseKind) => {
  let m: Medium;
  let ctx: ServiceContext;

  const enroll = async (gallery: string, name: string, photos = 1) =>
    (
      await createPerson(
        ctx,
        { gallery, name },
        await Promise.all(Array.from({ length: photos }, () => portrait(name).then((b) => asPhoto(b)))),
      )
    ).person;

  beforeAll(async () => {
    m = await openMedium(kind);
    ctx = m.ctx;
  });
  afterAll(async () => {
    await m?.test.drop();
  });

  it('derives the threshold from the gallery’s faces, tightens it as the gallery grows, and follows every change', async () => {
    const gallery = (await galleries.create(ctx, uniqueName('growing'))).name;
    const { tail } = (await impostorModel(ctx)).reductions.min;
    await enroll(gallery, 'ann', 2);
    await enroll(gallery, 'ben', 1);
    const small = await identify(ctx, await portrait('ann'), { gallery });
    // 3 faces: the impostor quantile at 1 − 0.99^(1/3).
    expect(small).toMatchObject({ thresholdSource: 'target-fpir', threshold: round4(thresholdForFpir(tail, ctx.config.targetFpir, 3)) });
    expect(small.faces[0]).toMatchObject({ outcome: 'match', label: 'ann' });

    const added = [];
    for (let i = 0; i < 20; i++) added.push(await enroll(gallery, `extra-${i}`));
    const large = await identify(ctx, await portrait('ann'), { gallery });
    expect(large.threshold).toBe(round4(thresholdForFpir(tail, ctx.config.targetFpir, 23)));
    expect(large.threshold).toBeLessThan(small.threshold);
    expect(large.expectedFpir).toBeCloseTo(ctx.config.targetFpir, 4);

    // Deleting people is a change too: back to three faces, back to the first threshold.
    for (const person of added) await deletePerson(ctx, person.id, gallery);
    expect((await identify(ctx, await portrait('ann'), { gallery })).threshold).toBe(small.threshold);
  });

  it('caches the threshold while the gallery stays the same', async () => {
    const { id, name: gallery } = await galleries.create(ctx, uniqueName('cached'));
    await enroll(gallery, 'cat');
    const first = await galleryThreshold(ctx, id, ctx.analyzer.descriptorModelId);
    // The same object while nothing changed (and within FINGERPRINT_CHECK_MS, without asking the database)…
    expect(await galleryThreshold(ctx, id, ctx.analyzer.descriptorModelId)).toBe(first);
    await enroll(gallery, 'dan');
    // …and a new one after an enrollment.
    expect(await galleryThreshold(ctx, id, ctx.analyzer.descriptorModelId)).not.toBe(first);
  });

  it('sees a change made behind its back (another process, a replica) within FINGERPRINT_CHECK_MS', async () => {
    const { id, name: gallery } = await galleries.create(ctx, uniqueName('elsewhere'));
    for (const name of ['ida', 'jo', 'kim']) await enroll(gallery, name);
    const before = await identify(ctx, await portrait('ida'), { gallery });
    // Straight to the table, as another process would: this process's cache is not told.
    await ctx.db.query('DELETE FROM faces WHERE id = (SELECT id FROM faces WHERE gallery_id = $1 ORDER BY id LIMIT 1)', [id]);
    await new Promise((resolve) => setTimeout(resolve, FINGERPRINT_CHECK_MS + 50));
    const after = await identify(ctx, await portrait('ida'), { gallery });
    expect(after.threshold).toBeGreaterThan(before.threshold); // two faces now: a looser threshold
  });

  it('follows FACEREC_TARGET_FPIR', async () => {
    const gallery = (await galleries.create(ctx, uniqueName('target'))).name;
    for (const name of ['eve', 'fay', 'gus']) await enroll(gallery, name);
    const strict = await identify(withConfig(ctx, { targetFpir: 0.001 }), await portrait('eve'), { gallery });
    const lax = await identify(withConfig(ctx, { targetFpir: 0.05 }), await portrait('eve'), { gallery });
    expect(strict.threshold).toBeLessThan(lax.threshold);
    expect(strict.expectedFpir).toBeCloseTo(0.001, 5);
    expect(lax.expectedFpir).toBeCloseTo(0.05, 4);
  });

  it('lets the caller’s threshold override it, and says what that threshold promises here', async () => {
    const gallery = (await galleries.create(ctx, uniqueName('override'))).name;
    await enroll(gallery, 'hal');
    const { tail } = (await impostorModel(ctx)).reductions.min;
    const result = await identify(ctx, await portrait('hal'), { gallery, threshold: 0.9 });
    expect(result).toMatchObject({ threshold: 0.9, thresholdSource: 'request' });
    expect(result.expectedFpir).toBeCloseTo(expectedFpir(tail, 0.9, 1), 6);
    const strict = await identify(ctx, await portrait('hal'), { gallery, threshold: 0.05 });
    expect(strict.faces[0]).toMatchObject({ outcome: 'unknown' });
  });

  it(`calibrates itself on its own cross-person distances from ${MIN_PEOPLE_FOR_GALLERY_CALIBRATION} people`, async () => {
    const gallery = await galleries.create(ctx, uniqueName('self'));
    for (let i = 0; i < MIN_PEOPLE_FOR_GALLERY_CALIBRATION - 1; i++) await enroll(gallery.name, `p${i}`);
    expect((await calibrateIdentify(ctx, { gallery: gallery.name })).source).toBe('target-fpir');
    await enroll(gallery.name, 'last', 2);
    const report = await calibrationSummary(ctx, { gallery: gallery.name });
    const { identify: id } = report;
    expect(id).toMatchObject({ source: 'gallery-calibrated', people: MIN_PEOPLE_FOR_GALLERY_CALIBRATION, faces: 51 });
    // The fake's people are drawn as the fit's were: the re-centred tail stays close to the shipped one.
    expect(Math.abs(id.impostor.inForce.mean - id.impostor.shipped.mean)).toBeLessThan(0.02);
    expect(id.impostor.crossPersonDistances).toBe((51 * 50) / 2 - 1);
    // The spread in force is the shipped one widened by the uncertainty of the gallery's mean.
    expect(id.impostor.tailMeanSe).toBeGreaterThan(0);
    expect(id.impostor.inForce.sd).toBeCloseTo(Math.sqrt(id.impostor.shipped.sd ** 2 + id.impostor.tailMeanSe ** 2), 9);
    expect(id.expectedFpir).toBeCloseTo(ctx.config.targetFpir, 4);
    // One person with two faces: no 1:1 calibration, and the report says why.
    expect(report.verification).toBeNull();
    expect(report.verificationUnavailable).toMatch(/2 people with 2 or more faces/);
    const answer = await identify(ctx, await portrait('last'), { gallery: gallery.name });
    expect(answer).toMatchObject({ thresholdSource: 'gallery-calibrated', threshold: round4(id.threshold) });
    expect(answer.faces[0]).toMatchObject({ outcome: 'match', label: 'last' });
  });
});
