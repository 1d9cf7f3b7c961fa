/**
 * Faces seen (issue 23) through the use cases, on PGlite and PostgreSQL with the fake analyzer: sightings kept per the
 * gallery's setting and the call's, one per face of a photo however often it is seen, retention, erasure, scanning
 * and its resumption, clusters of unknown faces, naming (new and existing person), merge, removal, ignore, re-labelling
 * after an enrollment, correction, re-clustering, and every bad input with its code.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServiceContext } from '../../src/service/context.js';
import {
  ignoreCluster,
  listClusters,
  mergeClusters,
  nameCluster,
  reclusterGallery,
  reclusterStatus,
  removeFromCluster,
  showCluster,
} from '../../src/service/clusters.service.js';
import { createPerson } from '../../src/service/enroll.service.js';
import { identify } from '../../src/service/identify.service.js';
import { deletePerson, galleries } from '../../src/service/people.service.js';
import { reembedGallery } from '../../src/service/reembed.service.js';
import { scanFolder, scanPhotos } from '../../src/service/scan.service.js';
import {
  correctSighting,
  listSightings,
  maintainSightings,
  purgeExpiredSightings,
  setGallerySightings,
  showSighting,
} from '../../src/service/sightings.service.js';
import { describeEachDatabase, type DatabaseKind } from '../helpers/databases.js';
import { faceless, fakePhoto, groupPhoto, notAnImage, portrait, FAKE_DESCRIPTOR_MODEL_ID } from '../helpers/fake-analyzer.js';
import { asPhoto, codeOf, count, openMedium, uniqueName, type Medium } from './harness.js';

const NEW_MODEL = 'fake-other-model';
const list = (ctx: ServiceContext, gallery: string, extra: Record<string, unknown> = {}) =>
  listClusters(ctx, { gallery, samples: 100, limit: 100, offset: 0, ...extra });

describeEachDatabase('faces seen: sightings and clusters', (kind: DatabaseKind) => {
  let m: Medium;
  let ctx: ServiceContext;

  beforeAll(async () => {
    m = await openMedium(kind, { otherModels: [NEW_MODEL] });
    ctx = m.ctx;
  });
  afterAll(async () => {
    await m?.test.drop();
  });

  const newGallery = async (keep?: 'off' | 'unknown' | 'all') => {
    const name = (await galleries.create(ctx, uniqueName('seen'))).name;
    if (keep) await setGallerySightings(ctx, name, keep);
    return name;
  };
  const sightingsIn = (gallery: string) =>
    count(ctx.db, 'sightings WHERE gallery_id = (SELECT id FROM galleries WHERE name = $1)', [gallery]);
  /** Photos of `people` (each `n` takes), scanned into the gallery; a map of identity to its photos' sources. */
  async function scanPeople(gallery: string, people: Record<string, number>) {
    const photos = [];
    for (const [who, n] of Object.entries(people))
      for (let i = 0; i < n; i++) photos.push({ bytes: await portrait(who), source: `${gallery}/${who}/${i}.png` });
    return scanPhotos(ctx, gallery, photos);
  }
  /** Each cluster as the sorted identities of its faces (read back from the sources). */
  const identities = async (gallery: string, extra: Record<string, unknown> = {}) =>
    (await list(ctx, gallery, extra)).clusters.map((c) => c.samples.map((s) => s.photo.source!.split('/')[1]!).sort());

  describe('keeping sightings', () => {
    it('keeps nothing by default; the gallery and the call choose unknown or all', async () => {
      const gallery = await newGallery();
      await createPerson(ctx, { gallery, name: 'Ann' }, [asPhoto(await portrait('ann'))]);
      const photo = await groupPhoto(['ann', 'stranger']);
      const plain = await identify(ctx, photo, { gallery });
      expect(plain.faces.map((f) => f.sightingId)).toEqual([undefined, undefined]);
      expect(await sightingsIn(gallery)).toBe(0);

      // The call asks for the unknown ones: the stranger is kept, Ann (a match) is not.
      const some = await identify(ctx, photo, { gallery, keepSightings: 'unknown', source: 'door-cam' });
      expect(some.faces.map((f) => f.label)).toEqual(['ann', 'Unknown'].map((l) => (l === 'ann' ? 'Ann' : l)));
      expect(some.faces[0]!.sightingId).toBeUndefined();
      const kept = await showSighting(ctx, some.faces[1]!.sightingId!);
      expect(kept).toMatchObject({ outcome: 'unknown', person: null, photo: { source: 'door-cam' }, hasThumbnail: true, faceIndex: 1 });
      expect(await sightingsIn(gallery)).toBe(1);

      // The gallery keeps all: Ann's face too, labelled by the match; the stranger's again is the same sighting.
      await setGallerySightings(ctx, gallery, 'all');
      const all = await identify(ctx, photo, { gallery });
      expect(all.faces[1]!.sightingId).toBe(some.faces[1]!.sightingId);
      expect(await showSighting(ctx, all.faces[0]!.sightingId!)).toMatchObject({
        outcome: 'match',
        person: { name: 'Ann' },
        labelledBy: 'match',
        matchedPerson: { name: 'Ann' },
      });
      expect(await sightingsIn(gallery)).toBe(2);
      // The same photo once more: still one sighting per face.
      await identify(ctx, photo, { gallery });
      expect(await sightingsIn(gallery)).toBe(2);
      // A call can still say off.
      await identify(ctx, await portrait('another'), { gallery, keepSightings: 'off' });
      expect(await sightingsIn(gallery)).toBe(2);
    });

    it('purges what retention says must go, photos and clusters with it', async () => {
      const gallery = await newGallery('all');
      await scanPeople(gallery, { old1: 2 });
      await scanPeople(gallery, { fresh: 1 });
      await ctx.db.query(
        `UPDATE sightings SET seen_at = now() - interval '40 days' WHERE photo_id IN (SELECT id FROM seen_photos WHERE source LIKE $1)`,
        [`${gallery}/old1/%`],
      );
      await ctx.db.query(`UPDATE seen_photos SET last_seen_at = now() - interval '40 days' WHERE source LIKE $1`, [`${gallery}/old1/%`]);
      expect((await list(ctx, gallery)).clusters).toHaveLength(1);
      const purged = await purgeExpiredSightings(ctx);
      expect(purged).toMatchObject({ sightings: 2, photos: 2 });
      expect(purged.clusters).toBeGreaterThanOrEqual(1);
      expect(await sightingsIn(gallery)).toBe(1);
      expect(await count(ctx.db, 'seen_photos WHERE source LIKE $1', [`${gallery}/old1/%`])).toBe(0);
      expect((await list(ctx, gallery)).clusters).toHaveLength(0);
      // The server's hourly pass does the same, and clusters what waits.
      expect((await maintainSightings(ctx)).purged.sightings).toBe(0);
    });

    it('erases the sightings labelled as a person with the person', async () => {
      const gallery = await newGallery('all');
      await createPerson(ctx, { gallery, name: 'Bea' }, [asPhoto(await portrait('bea'))]);
      const seen = await identify(ctx, await portrait('bea'), { gallery });
      expect(seen.faces[0]).toMatchObject({ label: 'Bea' });
      expect(await sightingsIn(gallery)).toBe(1);
      await deletePerson(ctx, 'Bea', gallery);
      expect(await sightingsIn(gallery)).toBe(0);
    });
  });

  describe('scanning', () => {
    it('keeps every face of every photo, skips photos seen before, and says which failed', async () => {
      const gallery = await newGallery();
      const photos = [
        { bytes: await portrait('cal'), source: 'a.png' },
        { bytes: await groupPhoto(['cal', 'dee']), source: 'b.png' },
        { bytes: await faceless(), source: 'c.png' },
        { bytes: notAnImage(), source: 'd.txt' },
      ];
      const first = await scanPhotos(ctx, gallery, photos);
      expect(first.photos.map((p) => [p.source, p.status, p.faces])).toEqual([
        ['a.png', 'new', 1],
        ['b.png', 'new', 2],
        ['c.png', 'new', 0],
        ['d.txt', 'failed', 0],
      ]);
      expect(first.photos[3]!.error!.code).toBe('UNSUPPORTED_IMAGE');
      expect(first.summary).toMatchObject({ photos: 4, new: 3, seen: 0, failed: 1, faces: 3, sightings: 3 });
      // Whatever the gallery's own setting (off), a scan keeps them all.
      expect(await sightingsIn(gallery)).toBe(3);
      const calls = m.analyzer.calls.length;
      const again = await scanPhotos(ctx, gallery, photos);
      expect(again.photos.map((p) => p.status)).toEqual(['seen', 'seen', 'seen', 'failed']);
      // Only the unreadable one was looked at again.
      expect(m.analyzer.calls.length - calls).toBe(1);
      expect(await sightingsIn(gallery)).toBe(3);
    });

    it('scans a folder and its sub-folders, photos only, with progress, and a second run skips what it saw', async () => {
      const gallery = await newGallery();
      const dir = await mkdtemp(path.join(tmpdir(), 'facerec-scan-'));
      try {
        await mkdir(path.join(dir, 'trip', 'day 2'), { recursive: true });
        await writeFile(path.join(dir, 'eve.png'), await portrait('eve'));
        await writeFile(path.join(dir, 'trip', 'group.png'), await groupPhoto(['eve', 'fay']));
        await writeFile(path.join(dir, 'trip', 'day 2', 'fay.png'), await portrait('fay'));
        await writeFile(path.join(dir, 'trip', 'notes.txt'), 'not a photo');
        await writeFile(path.join(dir, 'broken.jpg'), notAnImage());
        const progress: number[] = [];
        let total = -1;
        const first = await scanFolder(ctx, dir, {
          gallery,
          concurrency: 3,
          onStart: (n) => (total = n),
          onPhoto: (_, done) => progress.push(done),
        });
        expect(total).toBe(4);
        expect(progress).toEqual([1, 2, 3, 4]);
        expect(first.summary).toMatchObject({ photos: 4, new: 3, seen: 0, failed: 1, faces: 4, sightings: 4 });
        const sources = first.photos.map((p) => path.relative(dir, p.source!)).sort();
        expect(sources).toEqual(['broken.jpg', 'eve.png', path.join('trip', 'day 2', 'fay.png'), path.join('trip', 'group.png')]);
        const again = await scanFolder(ctx, dir, { gallery });
        expect(again.summary).toMatchObject({ photos: 4, new: 0, seen: 3, failed: 1, sightings: 0 });
        expect(await sightingsIn(gallery)).toBe(4);
        // The kept faces say where they were seen.
        const kept = await listSightings(ctx, { gallery, limit: 10, offset: 0 });
        expect(kept.sightings.map((s) => path.basename(s.photo.source ?? '')).sort()).toEqual([
          'eve.png',
          'fay.png',
          'group.png',
          'group.png',
        ]);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
      expect(await codeOf(scanFolder(ctx, path.join(dir, 'gone'), { gallery }))).toBe('FILE_NOT_FOUND');
      expect(await codeOf(scanPhotos(ctx, 'no such gallery', []))).toBe('GALLERY_NOT_FOUND');
    });
  });

  describe('clusters', () => {
    it('groups unknown faces by identity, largest first, pure, small ones not suggested', async () => {
      const gallery = await newGallery();
      await scanPeople(gallery, { eve: 5, fay: 4, gus: 3, lone: 1 });
      const clusters = await identities(gallery);
      expect(clusters).toEqual([Array(5).fill('eve'), Array(4).fill('fay'), Array(3).fill('gus')]);
      const page = await list(ctx, gallery);
      expect(page.total).toBe(3);
      for (const c of page.clusters) {
        expect(c.cohesion).toBe(1);
        expect(c.photoCount).toBe(c.size);
        expect(c.photos.every((p) => p.source?.startsWith(gallery))).toBe(true);
      }
      // The single face waits, not suggested; with minSize 1 nothing more shows (it is in no cluster yet).
      expect((await list(ctx, gallery, { minSize: 1 })).total).toBe(3);
      // Two faces of one photo are never put together, however alike.
      const twins = await newGallery();
      await scanPhotos(ctx, twins, [{ bytes: await fakePhoto({ faces: [{ identity: 'twin' }, { identity: 'twin' }] }) }]);
      expect((await list(ctx, twins, { minSize: 1 })).clusters.every((c) => c.size === 1)).toBe(true);
    });

    it('names a cluster as a new person: enrolled from its best faces, every face labelled, and the person then named', async () => {
      const gallery = await newGallery();
      await scanPeople(gallery, { hal: 7 });
      const [cluster] = (await list(ctx, gallery)).clusters;
      expect(cluster!.size).toBe(7);
      const named = await nameCluster(ctx, cluster!.id, { name: 'Hal' }, 'tester');
      expect(named).toMatchObject({ created: true, labelled: 7, person: { name: 'Hal', faceCount: 5 } });
      expect(named.enrolled).toHaveLength(5);
      const faces = await ctx.db.query<{ origin: string; sighting_id: string }>(
        'SELECT origin, sighting_id FROM faces WHERE person_id = $1',
        [named.person.id],
      );
      expect(faces.every((f) => f.origin === 'confirmed' && f.sighting_id)).toBe(true);
      const labelled = await listSightings(ctx, { gallery, personId: named.person.id, limit: 50, offset: 0 });
      expect(labelled.total).toBe(7);
      expect(labelled.sightings.every((s) => s.labelledBy === 'user' && s.labelledByKey === 'tester' && s.clusterId === null)).toBe(true);
      expect(await codeOf(showCluster(ctx, cluster!.id))).toBe('CLUSTER_NOT_FOUND');
      expect((await identify(ctx, await portrait('hal'), { gallery })).faces[0]).toMatchObject({ outcome: 'match', label: 'Hal' });
    });

    it('names a cluster into an existing person, and refuses bad references with their codes', async () => {
      const gallery = await newGallery();
      const ivy = await createPerson(ctx, { gallery, name: 'Ivy' }, [asPhoto(await portrait('ivy'))]);
      // Her faces seen below identify's threshold would match; these are of her but scanned as unknown first.
      await setGallerySightings(ctx, gallery, 'all');
      await scanPeople(gallery, { jon: 3 });
      const [cluster] = (await list(ctx, gallery)).clusters;
      const other = await newGallery();
      const stranger = await createPerson(ctx, { gallery: other, name: 'Elsewhere' }, [asPhoto(await portrait('kit'))]);
      expect(await codeOf(nameCluster(ctx, cluster!.id, { personId: stranger.person.id }))).toBe('WRONG_GALLERY');
      expect(await codeOf(nameCluster(ctx, cluster!.id, { name: 'X', gallery: other }))).toBe('WRONG_GALLERY');
      expect(await codeOf(nameCluster(ctx, '00000000-0000-4000-8000-000000000000', { name: 'X' }))).toBe('CLUSTER_NOT_FOUND');
      expect(await codeOf(nameCluster(ctx, 'not-a-cluster', { name: 'X' }))).toBe('CLUSTER_NOT_FOUND');
      // Jon's faces are not Ivy's: the consistency guard refuses, as for any enrollment, unless forced.
      expect(await codeOf(nameCluster(ctx, cluster!.id, { personId: ivy.person.id }))).toBe('INCONSISTENT_IDENTITY');
      expect(await count(ctx.db, 'faces WHERE person_id = $1', [ivy.person.id])).toBe(1);
      const named = await nameCluster(ctx, cluster!.id, { person: 'Ivy', force: true });
      expect(named).toMatchObject({ created: false, labelled: 3, person: { id: ivy.person.id, faceCount: 4 } });
    });

    it('merges clusters, takes a face out, and ignores a cluster (its later faces stay ignored)', async () => {
      const gallery = await newGallery();
      await scanPeople(gallery, { kai: 3, lou: 3 });
      const [a, b] = (await list(ctx, gallery)).clusters;
      expect(await codeOf(mergeClusters(ctx, { clusters: [a!.id] }))).toBe('INVALID_ARGUMENT');
      expect(await codeOf(mergeClusters(ctx, { clusters: [a!.id, a!.id] }))).toBe('INVALID_ARGUMENT');
      const merged = await mergeClusters(ctx, { gallery, clusters: [a!.id, b!.id] });
      expect(merged.size).toBe(6);
      expect((await list(ctx, gallery)).total).toBe(1);

      // One face out: a cluster of its own, not suggested; the rest stay.
      const out = merged.samples[0]!;
      const moved = await removeFromCluster(ctx, merged.id, out.id);
      expect(moved.cluster).not.toBe(merged.id);
      expect((await showCluster(ctx, merged.id)).size).toBe(5);
      expect((await showCluster(ctx, moved.cluster)).size).toBe(1);
      expect(await codeOf(removeFromCluster(ctx, merged.id, out.id))).toBe('SIGHTING_NOT_FOUND');

      // Ignored: not suggested; a later face of that person joins it and stays ignored.
      const ignoredGallery = await newGallery();
      await scanPeople(ignoredGallery, { mia: 3 });
      const [mia] = (await list(ctx, ignoredGallery)).clusters;
      await ignoreCluster(ctx, mia!.id, true, undefined, 'tester');
      expect((await list(ctx, ignoredGallery)).total).toBe(0);
      await scanPeople(ignoredGallery, { mia: 1 });
      expect((await list(ctx, ignoredGallery)).total).toBe(0);
      const ignored = await list(ctx, ignoredGallery, { ignored: true });
      expect(ignored.clusters.map((c) => [c.id, c.size, c.ignored])).toEqual([[mia!.id, 4, true]]);
      // Brought back.
      await ignoreCluster(ctx, mia!.id, false);
      expect((await list(ctx, ignoredGallery)).total).toBe(1);
    });

    it('re-labels faces seen before a person is enrolled, and the clusters shrink', async () => {
      const gallery = await newGallery();
      await scanPeople(gallery, { ned: 4, oli: 3 });
      expect(await identities(gallery)).toEqual([Array(4).fill('ned'), Array(3).fill('oli')]);
      const ned = await createPerson(ctx, { gallery, name: 'Ned' }, [asPhoto(await portrait('ned'))]);
      const his = await listSightings(ctx, { gallery, personId: ned.person.id, limit: 50, offset: 0 });
      expect(his.total).toBe(4);
      expect(his.sightings.every((s) => s.labelledBy === 'rematch')).toBe(true);
      expect(await identities(gallery)).toEqual([Array(3).fill('oli')]);
    });

    it('keeps a correction as the user’s word: to another person, or to unknown (then it may join a cluster)', async () => {
      const gallery = await newGallery('all');
      const pam = await createPerson(ctx, { gallery, name: 'Pam' }, [asPhoto(await portrait('pam'))]);
      const quin = await createPerson(ctx, { gallery, name: 'Quin' }, [asPhoto(await portrait('quin'))]);
      const seen = await identify(ctx, await portrait('pam'), { gallery });
      const id = seen.faces[0]!.sightingId!;
      expect(await showSighting(ctx, id)).toMatchObject({ person: { name: 'Pam' }, labelledBy: 'match' });
      const corrected = await correctSighting(ctx, id, quin.person.id, 'tester');
      expect(corrected).toMatchObject({ person: { name: 'Quin' }, labelledBy: 'user', labelledByKey: 'tester', outcome: 'match' });
      // Enrolled faces are not changed by it.
      expect(await count(ctx.db, 'faces WHERE person_id = $1', [pam.person.id])).toBe(1);
      expect(await count(ctx.db, 'faces WHERE person_id = $1', [quin.person.id])).toBe(1);
      const unknown = await correctSighting(ctx, id, null);
      expect(unknown).toMatchObject({ person: null, labelledBy: 'user' });
      // A later enrollment of Pam does not overturn the user's word.
      await createPerson(ctx, { gallery, name: 'Pam again' }, [asPhoto(await portrait('pam'))], {
        force: true,
        allowDuplicatePerson: true,
      });
      expect((await showSighting(ctx, id)).person).toBeNull();
      const elsewhere = await newGallery();
      const stranger = await createPerson(ctx, { gallery: elsewhere, name: 'Elsewhere' }, [asPhoto(await portrait('zed'))]);
      expect(await codeOf(correctSighting(ctx, id, stranger.person.id))).toBe('WRONG_GALLERY');
      expect(await codeOf(correctSighting(ctx, '00000000-0000-4000-8000-000000000000', null))).toBe('SIGHTING_NOT_FOUND');
      expect(await codeOf(correctSighting(ctx, id, '00000000-0000-4000-8000-000000000000'))).toBe('PERSON_NOT_FOUND');
    });

    it('re-clusters a gallery as a job, keeping what users decided', async () => {
      const gallery = await newGallery();
      await scanPeople(gallery, { rex: 4, sue: 3, tia: 2 });
      const before = await identities(gallery);
      const [, , tia] = (await list(ctx, gallery)).clusters;
      await ignoreCluster(ctx, tia!.id, true);
      expect(await reclusterStatus(ctx, gallery)).toMatchObject({ state: 'idle' });
      const progress: number[] = [];
      const done = await reclusterGallery(ctx, gallery, (d) => progress.push(d));
      expect(done).toMatchObject({ state: 'done', total: 9, done: 9, result: { sightings: 9 } });
      expect(progress.at(-1)).toBe(9);
      expect(await identities(gallery)).toEqual(before.slice(0, 2));
      // The ignored cluster is still ignored, under the same id.
      expect((await list(ctx, gallery, { ignored: true })).clusters.map((c) => c.id)).toEqual([tia!.id]);
    });

    it('refuses to name a cluster of another model than its gallery’s (MODEL_MISMATCH)', async () => {
      const gallery = await newGallery();
      await createPerson(ctx, { gallery, name: 'Uma' }, [asPhoto(await portrait('uma'))]);
      await scanPeople(gallery, { vic: 3 });
      const [cluster] = (await list(ctx, gallery)).clusters;
      expect(cluster!.model).toBe(FAKE_DESCRIPTOR_MODEL_ID);
      await reembedGallery(ctx, { gallery, model: NEW_MODEL });
      expect(await codeOf(nameCluster(ctx, cluster!.id, { name: 'Vic' }))).toBe('MODEL_MISMATCH');
    });
  });
});
