/**
 * A gallery that learns (issue 24) through the use cases, on PGlite and PostgreSQL with the fake analyzer: confirming a
 * sighting (a template added, a near-duplicate refused, the cap and its replacement rule, enrolled faces never
 * displaced, the consistency guard, a correction moving the template), certain matches learned only when the gallery
 * says so, learned faces listed and removed (one, a person's, a gallery's), and erasure.
 *
 * The fake analyzer's geometry (test/helpers/fake-analyzer.ts): a face of drift d is d from its identity's centre (drift
 * 0 is the centre itself), two faces of drift d of one identity are about d·√2 apart, two identities about 1.0. Its
 * impostor model puts the near-duplicate distance (genuine 10th percentile) at 0.279, the 1:1 threshold at 0.59 and
 * identify's threshold at about 0.9 for a few faces.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServiceContext } from '../../src/service/context.js';
import { addFaces, createPerson } from '../../src/service/enroll.service.js';
import { identify } from '../../src/service/identify.service.js';
import {
  confirmSighting,
  listLearnedFaces,
  removeLearnedFace,
  removeLearnedFaces,
  setGalleryLearning,
} from '../../src/service/learning.service.js';
import { deletePerson, galleries, showPerson } from '../../src/service/people.service.js';
import { correctSighting, setGallerySightings, showSighting } from '../../src/service/sightings.service.js';
import { sampleGalleryFaces } from '../../src/store/faces.repository.js';
import { describeEachDatabase, type DatabaseKind } from '../helpers/databases.js';
import { portrait, FAKE_DESCRIPTOR_MODEL_ID } from '../helpers/fake-analyzer.js';
import { asPhoto, codeOf, count, openMedium, uniqueName, withConfig, type Medium } from './harness.js';

describeEachDatabase('a gallery that learns', (kind: DatabaseKind) => {
  let m: Medium;
  let ctx: ServiceContext;

  beforeAll(async () => {
    m = await openMedium(kind);
    ctx = m.ctx;
  });
  afterAll(async () => {
    await m?.test.drop();
  });

  /** A gallery keeping every face seen, with `name` enrolled from the centre of their identity (drift 0). */
  async function galleryWith(name: string, options: { learn?: 'off' | 'certain'; photos?: number } = {}) {
    const gallery = (await galleries.create(ctx, uniqueName('learn'))).name;
    await setGallerySightings(ctx, gallery, 'all');
    if (options.learn) await setGalleryLearning(ctx, gallery, options.learn);
    const photos = [asPhoto(await portrait(name, { drift: 0 }))];
    for (let i = 1; i < (options.photos ?? 1); i++) photos.push(asPhoto(await portrait(name, { drift: 0.35 })));
    const { person } = await createPerson(ctx, { gallery, name }, photos, { force: true });
    return { gallery, person };
  }
  /** A sighting of `identity` seen by identify in the gallery (drift 0.35 by default: a new look, within the guard). */
  async function seen(gallery: string, identity: string, drift = 0.35, c: ServiceContext = ctx) {
    const result = await identify(c, await portrait(identity, { drift }), { gallery });
    return { id: result.faces[0]!.sightingId!, face: result.faces[0]! };
  }
  const facesOf = async (personId: string, gallery: string) => (await showPerson(ctx, personId, gallery)).faces;

  describe('confirming a sighting', () => {
    it('labels it on the user’s word and makes the face a confirmed template that says its sighting', async () => {
      const { gallery, person } = await galleryWith('ann');
      const { id, face } = await seen(gallery, 'ann');
      expect(face).toMatchObject({ outcome: 'match', person: { id: person.id } });
      const { sighting, template } = await confirmSighting(ctx, id, {}, 'reviewer');
      expect(sighting).toMatchObject({ person: { id: person.id }, labelledBy: 'user', labelledByKey: 'reviewer' });
      expect(template).toMatchObject({ added: true, reason: 'added' });
      expect(template.nearest).toBeCloseTo(0.35, 2);
      const faces = await facesOf(person.id, gallery);
      expect(faces.map((f) => [f.origin, f.sightingId])).toEqual([
        ['enrolled', null],
        ['confirmed', id],
      ]);
      expect(faces[1]!.id).toBe(template.faceId);
      expect(faces[1]!.hasThumbnail).toBe(true);
      // Again: it is a template already, nothing changes.
      expect((await confirmSighting(ctx, id)).template).toEqual({ added: false, faceId: template.faceId, reason: 'already' });
      expect(await facesOf(person.id, gallery)).toHaveLength(2);
    });

    it('refuses a near-duplicate of a template the person has, and a face below the quality gates', async () => {
      const { gallery, person } = await galleryWith('bea');
      const near = await seen(gallery, 'bea', 0.1);
      const { template } = await confirmSighting(ctx, near.id);
      expect(template).toMatchObject({ added: false, reason: 'near-duplicate', faceId: (await facesOf(person.id, gallery))[0]!.id });
      expect(template.nearest).toBeCloseTo(0.1, 2);
      // Still the user's word on who it is.
      expect(await showSighting(ctx, near.id)).toMatchObject({ person: { id: person.id }, labelledBy: 'user' });

      const blurry = await identify(ctx, await portrait('bea', { drift: 0.35, sharpness: 2 }), { gallery });
      expect((await confirmSighting(ctx, blurry.faces[0]!.sightingId!)).template).toEqual({ added: false, reason: 'quality' });
      expect(await facesOf(person.id, gallery)).toHaveLength(1);
    });

    it('runs the consistency guard: a face unlike every face of the person is not added', async () => {
      const { gallery, person } = await galleryWith('cid');
      const stranger = await seen(gallery, 'someone-else');
      expect(stranger.face.outcome).toBe('unknown');
      const { sighting, template } = await confirmSighting(ctx, stranger.id, { personId: person.id });
      expect(template).toMatchObject({ added: false, reason: 'guard' });
      expect(template.nearest).toBeGreaterThan(0.59);
      expect(sighting.person?.id).toBe(person.id);
      expect(await facesOf(person.id, gallery)).toHaveLength(1);
    });

    it('keeps at most FACEREC_TEMPLATE_CAP: a confirmed face displaces a learned one, never an enrolled one', async () => {
      const capped = withConfig(ctx, { templateCap: 3 });
      const { gallery, person } = await galleryWith('dan', { learn: 'certain' });
      const learned = await seen(gallery, 'dan', 0.35, capped);
      expect(learned.face.learnedFaceId).toBeDefined();
      await setGalleryLearning(ctx, gallery, 'off');
      const first = await confirmSighting(capped, (await seen(gallery, 'dan')).id);
      expect(first.template).toMatchObject({ added: true, reason: 'added' });
      expect((await facesOf(person.id, gallery)).map((f) => f.origin)).toEqual(['enrolled', 'learned', 'confirmed']);

      // At the cap: the next confirmed face takes the learned one's place.
      const second = await confirmSighting(capped, (await seen(gallery, 'dan')).id);
      expect(second.template).toMatchObject({ added: true, reason: 'added', replacedFaceId: learned.face.learnedFaceId });
      expect((await facesOf(person.id, gallery)).map((f) => f.origin)).toEqual(['enrolled', 'confirmed', 'confirmed']);

      // Two enrolled photos and a cap of two: nothing the confirmed face may displace.
      const full = await galleryWith('eve', { photos: 2 });
      const capTwo = withConfig(ctx, { templateCap: 2 });
      const refused = await confirmSighting(capTwo, (await seen(full.gallery, 'eve')).id);
      expect(refused.template).toMatchObject({ added: false, reason: 'cap' });
      expect((await facesOf(full.person.id, full.gallery)).map((f) => f.origin)).toEqual(['enrolled', 'enrolled']);
    });

    it('re-labels with personId (a correction): the template made for the wrong person goes', async () => {
      const { gallery, person: fay } = await galleryWith('fay', { learn: 'certain' });
      const { person: gus } = await createPerson(ctx, { gallery, name: 'gus' }, [asPhoto(await portrait('gus', { drift: 0 }))]);
      // A face of fay's learned as fay; then the user says it is gus: fay's learned face goes, gus gets it if it fits.
      const seenFay = await seen(gallery, 'fay');
      expect(seenFay.face.learnedFaceId).toBeDefined();
      const { sighting, template } = await confirmSighting(ctx, seenFay.id, { personId: gus.id });
      expect(sighting.person?.id).toBe(gus.id);
      expect(template.reason).toBe('guard'); // it does not look like gus at all
      expect((await facesOf(fay.id, gallery)).map((f) => f.origin)).toEqual(['enrolled']);
      // A plain correction (PATCH) removes it too.
      const again = await seen(gallery, 'fay');
      expect(again.face.learnedFaceId).toBeDefined();
      await correctSighting(ctx, again.id, null);
      expect((await facesOf(fay.id, gallery)).map((f) => f.origin)).toEqual(['enrolled']);
      // The person's name works as well as an id.
      const third = await seen(gallery, 'fay', 0.4);
      expect((await confirmSighting(ctx, third.id, { person: 'fay' })).template.reason).toMatch(/added|already/);
    });

    it('refuses with stable codes: no such sighting, nobody to confirm, a person of another gallery, a bad id', async () => {
      const { gallery } = await galleryWith('hal');
      const other = await galleryWith('ivy');
      expect(await codeOf(confirmSighting(ctx, '00000000-0000-4000-8000-000000000000'))).toBe('SIGHTING_NOT_FOUND');
      expect(await codeOf(confirmSighting(ctx, 'not-a-uuid'))).toBe('SIGHTING_NOT_FOUND');
      const stranger = await seen(gallery, 'nobody-known');
      expect(await codeOf(confirmSighting(ctx, stranger.id))).toBe('SIGHTING_UNLABELLED');
      expect(await codeOf(confirmSighting(ctx, stranger.id, { personId: other.person.id }))).toBe('WRONG_GALLERY');
      expect(await codeOf(confirmSighting(ctx, stranger.id, { personId: '00000000-0000-4000-8000-000000000000' }))).toBe(
        'PERSON_NOT_FOUND',
      );
      expect(await codeOf(confirmSighting(ctx, stranger.id, { personId: other.person.id, person: 'ivy' }))).toBe('INVALID_ARGUMENT');
      // Nothing was labelled or added by the refusals.
      expect(await showSighting(ctx, stranger.id)).toMatchObject({ person: null, labelledBy: null });
      expect(
        await count(ctx.db, "faces WHERE origin <> 'enrolled' AND gallery_id = (SELECT id FROM galleries WHERE name = $1)", [gallery]),
      ).toBe(0);
    });

    it('refuses a sighting of another descriptor model than the gallery’s (MODEL_MISMATCH)', async () => {
      const { gallery } = await galleryWith('jon');
      const { id } = await seen(gallery, 'jon');
      await ctx.db.query("UPDATE sightings SET model_id = 'another-model' WHERE id = $1", [id]);
      expect(await codeOf(confirmSighting(ctx, id))).toBe('MODEL_MISMATCH');
      expect(FAKE_DESCRIPTOR_MODEL_ID).not.toBe('another-model');
    });
  });

  describe('certain matches', () => {
    it('are learned only when the gallery says so, with their sighting when it is kept', async () => {
      const off = await galleryWith('kim');
      const plain = await seen(off.gallery, 'kim');
      expect(plain.face.outcome).toBe('match');
      expect(plain.face.learnedFaceId).toBeUndefined();
      expect(await facesOf(off.person.id, off.gallery)).toHaveLength(1);

      const on = await galleryWith('lou', { learn: 'certain' });
      const learned = await seen(on.gallery, 'lou');
      expect(learned.face.learnedFaceId).toBeDefined();
      const faces = await facesOf(on.person.id, on.gallery);
      expect(faces.map((f) => [f.origin, f.sightingId])).toEqual([
        ['enrolled', null],
        ['learned', learned.id],
      ]);
      // Without sightings kept it is learned all the same, without a sighting.
      await setGallerySightings(ctx, on.gallery, 'off');
      const unkept = await identify(ctx, await portrait('lou', { drift: 0.35 }), { gallery: on.gallery });
      expect(unkept.faces[0]!.learnedFaceId).toBeDefined();
      expect((await facesOf(on.person.id, on.gallery)).map((f) => [f.origin, f.sightingId])).toEqual([
        ['enrolled', null],
        ['learned', learned.id],
        ['learned', null],
      ]);
      // The calibration sample of identify's threshold leaves learned faces out.
      const g = await galleries.get(ctx, on.gallery);
      expect(await sampleGalleryFaces(ctx.db, g.id, FAKE_DESCRIPTOR_MODEL_ID, 100)).toHaveLength(1);
      // Back off: nothing more is learned.
      await setGalleryLearning(ctx, on.gallery, 'off');
      expect(
        (await identify(ctx, await portrait('lou', { drift: 0.35 }), { gallery: on.gallery })).faces[0]!.learnedFaceId,
      ).toBeUndefined();
      expect(await facesOf(on.person.id, on.gallery)).toHaveLength(3);
    });

    it('never learns a stranger, a near-duplicate, a face of poor quality or one past the cap', async () => {
      const { gallery, person } = await galleryWith('max', { learn: 'certain' });
      expect((await seen(gallery, 'a-stranger')).face.learnedFaceId).toBeUndefined();
      expect((await seen(gallery, 'max', 0.1)).face.learnedFaceId).toBeUndefined(); // within the near-duplicate distance
      const turned = await identify(ctx, await portrait('max', { drift: 0.35, yaw: 60 }), { gallery });
      expect(turned.faces[0]!.outcome).toBe('match');
      expect(turned.faces[0]!.learnedFaceId).toBeUndefined();
      const capTwo = withConfig(ctx, { templateCap: 2 });
      expect((await seen(gallery, 'max', 0.35, capTwo)).face.learnedFaceId).toBeDefined();
      expect((await facesOf(person.id, gallery)).map((f) => f.origin)).toEqual(['enrolled', 'learned']);
      // A cap the enrolled faces fill: a learned face displaces none of them.
      const { person: nia } = await createPerson(ctx, { gallery, name: 'nia' }, [asPhoto(await portrait('nia', { drift: 0 }))]);
      const capOne = withConfig(ctx, { templateCap: 1 });
      const full = await seen(gallery, 'nia', 0.35, capOne);
      expect(full.face).toMatchObject({ outcome: 'match', person: { id: nia.id } });
      expect(full.face.learnedFaceId).toBeUndefined();
      expect((await facesOf(nia.id, gallery)).map((f) => f.origin)).toEqual(['enrolled']);
    });
  });

  describe('learned faces', () => {
    it('are listed with their person and removed one by one, per person, or per gallery, with a count', async () => {
      const { gallery, person: ned } = await galleryWith('ned', { learn: 'certain' });
      const { person: ola } = await createPerson(ctx, { gallery, name: 'ola' }, [asPhoto(await portrait('ola', { drift: 0 }))]);
      for (let i = 0; i < 3; i++) await seen(gallery, 'ned');
      for (let i = 0; i < 2; i++) await seen(gallery, 'ola');
      await setGalleryLearning(ctx, gallery, 'off');
      const confirmed = await confirmSighting(ctx, (await seen(gallery, 'ola', 0.4)).id);
      expect(confirmed.template.added).toBe(true);

      const all = await listLearnedFaces(ctx, { gallery, origin: 'learned', limit: 50, offset: 0 });
      expect(all.total).toBe(5);
      expect(all.faces.every((f) => f.origin === 'learned' && f.sightingId)).toBe(true);
      expect(all.faces.filter((f) => f.personName === 'ned')).toHaveLength(3);
      expect((await listLearnedFaces(ctx, { gallery, person: 'ola', origin: 'any', limit: 50, offset: 0 })).total).toBe(3);
      expect((await listLearnedFaces(ctx, { gallery, origin: 'confirmed', limit: 50, offset: 0 })).faces.map((f) => f.id)).toEqual([
        confirmed.template.faceId,
      ]);
      const page = await listLearnedFaces(ctx, { gallery, origin: 'learned', limit: 2, offset: 4 });
      expect(page.faces).toHaveLength(1);

      // One by one; an enrolled face is not one of them.
      const one = all.faces.find((f) => f.personId === ned.id)!;
      expect((await removeLearnedFace(ctx, one.id, gallery)).id).toBe(one.id);
      expect(await codeOf(removeLearnedFace(ctx, one.id, gallery))).toBe('FACE_NOT_FOUND');
      const enrolled = (await facesOf(ned.id, gallery)).find((f) => f.origin === 'enrolled')!;
      expect(await codeOf(removeLearnedFace(ctx, enrolled.id, gallery))).toBe('FACE_NOT_FOUND');
      // A person's.
      const neds = await removeLearnedFaces(ctx, { gallery, personId: ned.id, origin: 'learned' });
      expect(neds.deleted).toBe(2);
      expect((await facesOf(ned.id, gallery)).map((f) => f.origin)).toEqual(['enrolled']);
      // The gallery's: ola's learned ones go, the confirmed one stays unless asked.
      expect((await removeLearnedFaces(ctx, { gallery, origin: 'learned' })).deleted).toBe(2);
      expect((await facesOf(ola.id, gallery)).map((f) => f.origin)).toEqual(['enrolled', 'confirmed']);
      expect((await removeLearnedFaces(ctx, { gallery, origin: 'any' })).deleted).toBe(1);
      expect((await removeLearnedFaces(ctx, { gallery, origin: 'any' })).deleted).toBe(0);
      expect(await codeOf(removeLearnedFaces(ctx, { gallery, person: 'nobody', origin: 'learned' }))).toBe('PERSON_NOT_FOUND');
    });

    it('go with their person when the person is erased, as do the person’s sightings', async () => {
      const { gallery, person } = await galleryWith('pia', { learn: 'certain' });
      const one = await seen(gallery, 'pia');
      await confirmSighting(ctx, (await seen(gallery, 'pia', 0.4)).id);
      expect(one.face.learnedFaceId).toBeDefined();
      const mine = 'WHERE person_id = $1 OR matched_person_id = $1';
      expect(await count(ctx.db, `sightings ${mine}`, [person.id])).toBe(2);
      await deletePerson(ctx, person.id, gallery);
      expect(await count(ctx.db, 'faces WHERE person_id = $1', [person.id])).toBe(0);
      expect(await count(ctx.db, `sightings ${mine}`, [person.id])).toBe(0);
    });

    it('still match after their sighting is purged (the template stays, its sightingId becomes null)', async () => {
      const { gallery, person } = await galleryWith('quin', { learn: 'certain' });
      const { id } = await seen(gallery, 'quin');
      await ctx.db.query('DELETE FROM sightings WHERE id = $1', [id]);
      expect((await facesOf(person.id, gallery)).map((f) => [f.origin, f.sightingId])).toEqual([
        ['enrolled', null],
        ['learned', null],
      ]);
      // Added to a person by hand later, the enrolled faces are counted with the learned ones.
      await addFaces(ctx, person.id, [asPhoto(await portrait('quin', { drift: 0.35 }))], { force: true });
      expect(await facesOf(person.id, gallery)).toHaveLength(3);
    });
  });
});
