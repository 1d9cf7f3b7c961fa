/** Identification (1:N), verification (1:1) and calibration on a real database with the fake analyzer. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { calibrateGallery, calibrationPlot } from '../../src/service/calibrate.service.js';
import type { ServiceContext } from '../../src/service/context.js';
import { createPerson } from '../../src/service/enroll.service.js';
import { compare } from '../../src/service/compare.service.js';
import { detect } from '../../src/service/detect.service.js';
import { identificationAnnotations } from '../../src/service/draw.service.js';
import { DEFAULT_TOP_K, identify, verify } from '../../src/service/identify.service.js';
import { galleries } from '../../src/service/people.service.js';
import { describeEachDatabase, type DatabaseKind } from '../helpers/databases.js';
import { verifyThresholdOf } from '../helpers/models.js';
import { rejection } from '../helpers/errors.js';
import { fakeAnalyzer, faceless, groupPhoto, notAnImage, portrait, FAKE_DESCRIPTOR_MODEL_ID } from '../helpers/fake-analyzer.js';
import { asPhoto, codeOf, openMedium, uniqueName, withConfig, type Medium } from './harness.js';

describeEachDatabase('identification and verification', (kind: DatabaseKind) => {
  let m: Medium;
  let ctx: ServiceContext;
  /** Alice (3 photos), Bob (2), Carol (1), Dan (centre only), Eve (centre + one 0.4 away), Faye (no faces). */
  let gallery: string;
  const ids: Record<string, string> = {};

  const enroll = async (name: string, photos: Uint8Array[], externalId?: string) => {
    const { person } = await createPerson(
      ctx,
      { gallery, name, ...(externalId ? { externalId } : {}) },
      photos.map((b) => asPhoto(b)),
    );
    ids[name] = person.id;
  };

  beforeAll(async () => {
    m = await openMedium(kind);
    ctx = m.ctx;
    gallery = (await galleries.create(ctx, 'People')).name;
    await enroll('Alice', await Promise.all([portrait('alice'), portrait('alice'), portrait('alice')]), 'emp-1');
    await enroll('Bob', await Promise.all([portrait('bob'), portrait('bob')]));
    await enroll('Carol', [await portrait('carol')]);
    await enroll('Dan', [await portrait('dan', { drift: 0 })]);
    await enroll('Eve', [await portrait('eve', { drift: 0 }), await portrait('eve', { drift: 0.4 })]);
    await enroll('Faye', []);
  });
  afterAll(async () => {
    await m?.test.drop();
  });

  describe('input limits (service/limits.ts), the same for every adapter', () => {
    it('refuses a threshold, topK, maxFaces or minFaceSize out of range before any analysis, in identify, verify and compare', async () => {
      const photo = await portrait('alice');
      const calls = m.analyzer.calls.length;
      for (const threshold of [-1, 0, Number.NaN, 2.5]) {
        expect(await codeOf(identify(ctx, photo, { gallery, threshold })), `identify ${threshold}`).toBe('INVALID_ARGUMENT');
        expect(await codeOf(verify(ctx, photo, 'Alice', { gallery, threshold })), `verify ${threshold}`).toBe('INVALID_ARGUMENT');
        expect(await codeOf(compare(ctx, photo, photo, { threshold })), `compare ${threshold}`).toBe('INVALID_ARGUMENT');
      }
      for (const options of [{ topK: 0 }, { topK: 21 }, { topK: 1.5 }, { maxFaces: 0 }, { maxFaces: 101 }, { minFaceSize: -1 }]) {
        expect(await codeOf(identify(ctx, photo, { gallery, ...options })), JSON.stringify(options)).toBe('INVALID_ARGUMENT');
      }
      expect(m.analyzer.calls.length).toBe(calls);
    });
  });

  describe('identify', () => {
    it('names an enrolled person, with distance, confidence and candidates', async () => {
      const result = await identify(ctx, await portrait('alice'), { gallery });
      expect(result.gallery.name).toBe('People');
      // The gallery's threshold at the target FPIR, between the fake's genuine (~0.3) and impostor (~1.0) distances.
      expect(result).toMatchObject({ thresholdSource: 'target-fpir' });
      expect(result.threshold).toBeGreaterThan(0.5);
      expect(result.threshold).toBeLessThan(0.95);
      expect(result.expectedFpir).toBeCloseTo(ctx.config.targetFpir, 4);
      expect(result.width).toBe(320);
      expect(result.faces).toHaveLength(1);
      const [face] = result.faces;
      expect(face).toMatchObject({ outcome: 'match', label: 'Alice', person: { id: ids.Alice, name: 'Alice' } });
      expect(face!.distance).toBeLessThan(0.4);
      expect(face!.confidence).toBeGreaterThan(0.5);
      expect(face!.candidates[0]!.person.name).toBe('Alice');
      expect(face!.candidates).toHaveLength(DEFAULT_TOP_K);
      expect(face!.candidates.map((c) => c.distance)).toEqual([...face!.candidates.map((c) => c.distance)].sort((a, b) => a - b));
      expect(face!.box).toEqual([10, 10, 120, 144]);
      expect(face!.quality.size).toBe(120);
      expect(face).not.toHaveProperty('landmarks');
    });

    it('says Unknown for a stranger, still listing the nearest people', async () => {
      const { faces } = await identify(ctx, await portrait('stranger'), { gallery });
      expect(faces[0]).toMatchObject({ outcome: 'unknown', label: 'Unknown', person: null });
      expect(faces[0]!.distance).toBeGreaterThan(verifyThresholdOf(ctx));
      expect(faces[0]!.candidates).toHaveLength(DEFAULT_TOP_K);
    });

    it('names each person of a group photo, and the stranger among them Unknown', async () => {
      const { faces } = await identify(ctx, await groupPhoto(['bob', 'stranger', 'alice']), { gallery });
      expect(faces.map((f) => f.label)).toEqual(['Bob', 'Unknown', 'Alice']);
    });

    it('names one person at most once per photo: the closer face wins, the other is Unknown', async () => {
      const photo = await groupPhoto([
        { identity: 'carol', drift: 0.35, size: 140 },
        { identity: 'carol', drift: 0.05, size: 120 },
      ]);
      const { faces } = await identify(ctx, photo, { gallery });
      expect(faces.map((f) => f.outcome)).toEqual(['unknown', 'match']);
      expect(faces[1]!.label).toBe('Carol');
      // The loser still lists Carol as its best candidate, within the threshold.
      expect(faces[0]!.candidates[0]!.person.name).toBe('Carol');
      expect(faces[0]!.distance).toBeLessThanOrEqual(verifyThresholdOf(ctx));
    });

    it('calls a face ambiguous when two people are as close, and lists both even with topK 1', async () => {
      const twins = (await galleries.create(ctx, uniqueName('twins'))).name;
      const photo = await portrait('twin');
      await createPerson(ctx, { gallery: twins, name: 'Twin A' }, [asPhoto(photo)]);
      // The same photo under two names, on purpose (refused as DUPLICATE_PERSON without the override).
      const b = await createPerson(ctx, { gallery: twins, name: 'Twin B' }, [asPhoto(photo)], { allowDuplicatePerson: true });
      expect(b.faces[0]!.warnings[0]).toMatchObject({ code: 'POSSIBLE_DUPLICATE_PERSON', person: { name: 'Twin A' } });
      const { faces } = await identify(ctx, await portrait('twin'), { gallery: twins, topK: 1 });
      expect(faces[0]).toMatchObject({ outcome: 'ambiguous', label: 'Unknown', person: null });
      expect(faces[0]!.candidates.map((c) => c.person.name).sort()).toEqual(['Twin A', 'Twin B']);
      // With no margin, a tie is not ambiguous.
      const noMargin = withConfig(ctx, { ambiguityMargin: 0 });
      expect((await identify(noMargin, await portrait('twin'), { gallery: twins })).faces[0]!.outcome).toBe('match');
    });

    it('takes a threshold per call', async () => {
      // Dan is enrolled at his centre: a photo 0.5 from it is 0.5 from him.
      const photo = await portrait('dan', { drift: 0.5 });
      const byDefault = await identify(ctx, photo, { gallery });
      expect(byDefault.faces[0]!.label).toBe('Dan');
      expect(byDefault.faces[0]!.distance).toBeCloseTo(0.5, 3);
      const strict = await identify(ctx, photo, { gallery, threshold: 0.45 });
      expect(strict.threshold).toBe(0.45);
      expect(strict.faces[0]).toMatchObject({ outcome: 'unknown', label: 'Unknown' });
      // Everyone is within 1.5 of everyone: a stranger is no longer Unknown for lack of anyone close enough.
      expect((await identify(ctx, await portrait('stranger'), { gallery, threshold: 1.5 })).faces[0]!.outcome).not.toBe('unknown');
      for (const threshold of [0, -0.5, Number.NaN, Number.POSITIVE_INFINITY]) {
        expect(await codeOf(identify(ctx, photo, { gallery, threshold })), String(threshold)).toBe('INVALID_ARGUMENT');
      }
    });

    it('lists topK candidates', async () => {
      const photo = await portrait('alice');
      expect((await identify(ctx, photo, { gallery, topK: 1 })).faces[0]!.candidates).toHaveLength(1);
      // Five people have faces; Faye has none and is never a candidate.
      const all = (await identify(ctx, photo, { gallery, topK: 10 })).faces[0]!.candidates.map((c) => c.person.name);
      expect(all).toHaveLength(5);
      expect(all[0]).toBe('Alice');
      expect(all).not.toContain('Faye');
      for (const topK of [0, 1.5, -1]) expect(await codeOf(identify(ctx, photo, { gallery, topK })), String(topK)).toBe('INVALID_ARGUMENT');
    });

    it('looks at the largest maxFaces faces, skips faces under minFaceSize, and gives landmarks on request', async () => {
      const photo = await groupPhoto([
        { identity: 'bob', size: 150 },
        { identity: 'alice', size: 30 },
        { identity: 'carol', size: 100 },
      ]);
      expect((await identify(ctx, photo, { gallery })).faces.map((f) => f.label)).toEqual(['Bob', 'Carol', 'Unknown']);
      expect((await identify(ctx, photo, { gallery, maxFaces: 2 })).faces.map((f) => f.label)).toEqual(['Bob', 'Carol']);
      expect(m.analyzer.calls.at(-1)!.options).toMatchObject({ maxFaces: 2, descriptors: true });
      expect((await identify(ctx, photo, { gallery, minFaceSize: 50 })).faces.map((f) => f.label)).toEqual(['Bob', 'Carol']);
      const tooSmall = await rejection(identify(ctx, photo, { gallery, minFaceSize: 200 }));
      expect(tooSmall).toMatchObject({ code: 'NO_FACE', details: { smallerThan: 200 } });
      const withLandmarks = await identify(ctx, photo, { gallery, includeLandmarks: true });
      expect(withLandmarks.faces.every((f) => f.landmarks?.length === 68)).toBe(true);
    });

    it('says unknown with FACE_TOO_SMALL for a face under the enrollment size gate, instead of guessing, and draws it so', async () => {
      const gate = ctx.config.enrollment.minFaceSize;
      // Alice's descriptor is as close as ever: only the size decides.
      const photo = await groupPhoto([
        { identity: 'bob', size: 150 },
        { identity: 'alice', drift: 0, size: gate - 1 },
        { identity: 'carol', size: gate },
      ]);
      const result = await identify(ctx, photo, { gallery });
      expect(result.faces.map((f) => [f.label, f.outcome, f.reason])).toEqual([
        ['Bob', 'match', undefined],
        ['Carol', 'match', undefined],
        ['Unknown', 'unknown', 'FACE_TOO_SMALL'],
      ]);
      expect(result.faces[2]).toMatchObject({ person: null, distance: null, confidence: null, candidates: [] });
      expect(identificationAnnotations(result).map((a) => a.label)).toEqual(['Bob', 'Carol', 'Unknown (too small)']);
      // detect reports it as a face all the same, with its reason.
      const detected = await detect(ctx, photo);
      expect(detected.faces.map((f) => f.reason)).toEqual([undefined, undefined, 'FACE_TOO_SMALL']);
    });

    it('refuses photos without a face and non-images', async () => {
      const none = await rejection(identify(ctx, await faceless(), { gallery }));
      expect(none.code).toBe('NO_FACE');
      expect(none.details).toEqual({});
      expect(await codeOf(identify(ctx, notAnImage(), { gallery }))).toBe('UNSUPPORTED_IMAGE');
    });

    it('searches one gallery, found by name in any case or by id; an unknown one is GALLERY_NOT_FOUND', async () => {
      const photo = await portrait('alice');
      expect((await identify(ctx, photo, { gallery: 'PEOPLE' })).faces[0]!.label).toBe('Alice');
      const { id } = await galleries.get(ctx, gallery);
      expect((await identify(ctx, photo, { gallery: id })).gallery).toEqual({ id, name: 'People' });
      // Nobody is enrolled in the default gallery: no candidates at all.
      const empty = await identify(ctx, photo);
      expect(empty.gallery.name).toBe('default');
      expect(empty.faces[0]).toMatchObject({ outcome: 'unknown', label: 'Unknown', distance: null, confidence: null, candidates: [] });
      expect(await codeOf(identify(ctx, photo, { gallery: 'nope' }))).toBe('GALLERY_NOT_FOUND');
      expect(await codeOf(identify(ctx, photo, { gallery: '00000000-0000-4000-8000-000000000000' }))).toBe('GALLERY_NOT_FOUND');
    });

    it("searches a gallery with the gallery's own model, whatever model new galleries get", async () => {
      // Configured for another model, with the gallery's still installed: the probe is described with the gallery's.
      const analyzer = fakeAnalyzer({ descriptorModelId: 'fake-other-model', otherModels: [FAKE_DESCRIPTOR_MODEL_ID] });
      const result = await identify({ ...ctx, analyzer }, await portrait('alice'), { gallery });
      expect(result.model).toBe(FAKE_DESCRIPTOR_MODEL_ID);
      expect(result.faces[0]).toMatchObject({ outcome: 'match', label: 'Alice' });
      expect(analyzer.calls.at(-1)!.options.model).toBe(FAKE_DESCRIPTOR_MODEL_ID);
      // Without the gallery's model installed there is nothing to describe the probe with: a clear error, no guess.
      const missing = { ...ctx, analyzer: fakeAnalyzer({ descriptorModelId: 'fake-other-model' }) };
      const err = await rejection(identify(missing, await portrait('alice'), { gallery }));
      expect(err).toMatchObject({ code: 'UNKNOWN_MODEL', details: { model: FAKE_DESCRIPTOR_MODEL_ID } });
    });

    it("reduces a person's faces by the configured rule (min, or the mean of the closest two)", async () => {
      // Eve: one face at her centre, one 0.4 from it; the probe is at her centre.
      const probe = await portrait('eve', { drift: 0 });
      expect((await identify(ctx, probe, { gallery })).faces[0]!.distance).toBeCloseTo(0, 3);
      const mean2 = withConfig(ctx, { reduction: 'mean2' });
      expect((await identify(mean2, probe, { gallery })).faces[0]!.distance).toBeCloseTo(0.2, 3);
    });
  });

  describe('verify', () => {
    it('finds the person by id, external id or name (any case) and says whether the photo is them', async () => {
      const photo = await portrait('alice');
      for (const ref of [ids.Alice!, 'emp-1', 'Alice', 'alice']) {
        const result = await verify(ctx, photo, ref, { gallery });
        expect(result, ref).toMatchObject({
          match: true,
          threshold: verifyThresholdOf(ctx),
          person: { id: ids.Alice, name: 'Alice' },
          box: [10, 10, 120, 144],
          facesInPhoto: 1,
        });
        expect(result.distance).toBeLessThan(0.4);
        expect(result.confidence).toBeGreaterThan(0.5);
      }
      const no = await verify(ctx, await portrait('bob'), 'Alice', { gallery });
      expect(no.match).toBe(false);
      expect(no.distance).toBeGreaterThan(verifyThresholdOf(ctx));
      expect(no.confidence).toBeLessThan(0.5);
    });

    it('takes a threshold per call', async () => {
      const photo = await portrait('dan', { drift: 0.5 });
      expect(await verify(ctx, photo, 'Dan', { gallery })).toMatchObject({ match: true });
      expect(await verify(ctx, photo, 'Dan', { gallery, threshold: 0.45 })).toMatchObject({ match: false, threshold: 0.45 });
    });

    it('refuses a photo of several faces unless asked for the largest', async () => {
      const photo = await groupPhoto([
        { identity: 'bob', size: 100 },
        { identity: 'alice', size: 150 },
      ]);
      const err = await rejection(verify(ctx, photo, 'Alice', { gallery }));
      expect(err.code).toBe('MULTIPLE_FACES');
      expect(err.details).toMatchObject({ facesInPhoto: 2 });
      expect(err.details.boxes).toHaveLength(2);
      const largest = await verify(ctx, photo, 'Alice', { gallery, largestFace: true });
      expect(largest).toMatchObject({ match: true, facesInPhoto: 2 });
      expect(largest.box[2]).toBe(150);
    });

    it('has a code for each way it cannot answer', async () => {
      const photo = await portrait('alice');
      expect(await codeOf(verify(ctx, photo, 'Nobody', { gallery }))).toBe('PERSON_NOT_FOUND');
      expect(await codeOf(verify(ctx, photo, '00000000-0000-4000-8000-000000000000', { gallery }))).toBe('PERSON_NOT_FOUND');
      // People are looked up within the gallery asked (the default one here).
      expect(await codeOf(verify(ctx, photo, 'Alice'))).toBe('PERSON_NOT_FOUND');
      expect(await codeOf(verify(ctx, photo, ids.Alice!))).toBe('PERSON_NOT_FOUND');
      expect(await codeOf(verify(ctx, photo, 'Alice', { gallery: 'nope' }))).toBe('GALLERY_NOT_FOUND');
      const none = await rejection(verify(ctx, photo, 'Faye', { gallery }));
      expect(none).toMatchObject({ code: 'NO_ENROLLED_FACES', details: { personId: ids.Faye } });
      expect(await codeOf(verify(ctx, await faceless(), 'Alice', { gallery }))).toBe('NO_FACE');
      expect(await codeOf(verify(ctx, notAnImage(), 'Alice', { gallery }))).toBe('UNSUPPORTED_IMAGE');

      const shared = (await galleries.create(ctx, uniqueName('shared'))).name;
      await createPerson(ctx, { gallery: shared, name: 'Sam' }, [asPhoto(await portrait('sam-1'))]);
      await createPerson(ctx, { gallery: shared, name: 'sam' }, [asPhoto(await portrait('sam-2'))]);
      const ambiguous = await rejection(verify(ctx, photo, 'SAM', { gallery: shared }));
      expect(ambiguous.code).toBe('PERSON_AMBIGUOUS');
      expect(ambiguous.details.ids).toHaveLength(2);
    });

    it("compares with the gallery's model, and says UNKNOWN_MODEL when it is not installed", async () => {
      const analyzer = fakeAnalyzer({ descriptorModelId: 'fake-other-model', otherModels: [FAKE_DESCRIPTOR_MODEL_ID] });
      expect(await verify({ ...ctx, analyzer }, await portrait('alice'), 'Alice', { gallery })).toMatchObject({ match: true });
      const missing = { ...ctx, analyzer: fakeAnalyzer({ descriptorModelId: 'fake-other-model' }) };
      expect(await codeOf(verify(missing, await portrait('alice'), 'Alice', { gallery }))).toBe('UNKNOWN_MODEL');
    });
  });

  describe('calibrate', () => {
    it('chooses a threshold between genuine (~0.3) and impostor (~1.0) distances', async () => {
      const g = (await galleries.create(ctx, uniqueName('calibrate'))).name;
      for (const name of ['p1', 'p2', 'p3', 'p4'])
        await createPerson(ctx, { gallery: g, name }, await Promise.all([1, 2, 3].map(() => portrait(name).then((b) => asPhoto(b)))));
      await createPerson(ctx, { gallery: g, name: 'single' }, [asPhoto(await portrait('single'))]);
      const report = await calibrateGallery(ctx, { gallery: g, far: 0.01 });
      expect(report.gallery.name).toBe(g);
      expect(report).toMatchObject({ people: 5, faces: 13, far: 0.01, tar: 1 });
      expect(report.genuine).toHaveLength(12);
      expect(Math.max(...report.genuine)).toBeLessThan(0.45);
      expect(Math.min(...report.impostor)).toBeGreaterThan(0.75);
      expect(report.threshold).toBeGreaterThan(0.2);
      expect(report.threshold).toBeLessThan(0.8);
      expect(report.achievedFar).toBeLessThanOrEqual(0.01);
      expect(report.current).toEqual({ threshold: verifyThresholdOf(ctx), tar: 1, far: 0 });
      const plot = await sharp(await calibrationPlot(report)).metadata();
      expect(plot.format).toBe('png');
      expect(plot.width).toBeGreaterThan(100);
    });

    it('needs two people with two faces, a known gallery and a rate in [0, 1]', async () => {
      const g = (await galleries.create(ctx, uniqueName('thin'))).name;
      await createPerson(
        ctx,
        { gallery: g, name: 'only' },
        await Promise.all([portrait('only'), portrait('only')]).then((b) => b.map((x) => asPhoto(x))),
      );
      const thin = await rejection(calibrateGallery(ctx, { gallery: g }));
      expect(thin).toMatchObject({ code: 'INVALID_ARGUMENT', details: { peopleWithTwoFaces: 1 } });
      expect(await codeOf(calibrateGallery(ctx, { gallery: 'nope' }))).toBe('GALLERY_NOT_FOUND');
      expect(await codeOf(calibrateGallery(ctx, { gallery, far: 1.5 }))).toBe('INVALID_ARGUMENT');
      // A gallery whose model is not installed cannot be calibrated here.
      const other = { ...ctx, analyzer: fakeAnalyzer({ descriptorModelId: 'fake-other-model' }) };
      expect(await codeOf(calibrateGallery(other, { gallery }))).toBe('UNKNOWN_MODEL');
    });
  });
});
