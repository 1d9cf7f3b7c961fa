/** People, galleries and API keys on a real database: lookup, listing, renaming, erasure, and every not-found code. */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServiceContext } from '../../src/service/context.js';
import { CreatePersonInput } from '../../src/service/enroll.schema.js';
import { createPerson } from '../../src/service/enroll.service.js';
import { activeKeyCount, authenticate, createApiKey, listKeys, revokeKey, ROLES } from '../../src/service/keys.service.js';
import {
  deletePerson,
  faceThumbnail,
  galleries,
  listPeople,
  removeFace,
  renamePerson,
  showPerson,
} from '../../src/service/people.service.js';
import { describeEachDatabase, type DatabaseKind } from '../helpers/databases.js';
import { rejection } from '../helpers/errors.js';
import { portrait } from '../helpers/fake-analyzer.js';
import { asPhoto, codeOf, count, openMedium, uniqueName, withConfig, type Medium } from './harness.js';

const NO_SUCH_ID = '00000000-0000-4000-8000-000000000000';

describeEachDatabase('people, galleries and keys', (kind: DatabaseKind) => {
  let m: Medium;
  let ctx: ServiceContext;

  beforeAll(async () => {
    m = await openMedium(kind);
    ctx = m.ctx;
  });
  afterAll(async () => {
    await m?.test.drop();
  });

  const newGallery = async (): Promise<string> => (await galleries.create(ctx, uniqueName('people'))).name;
  const enroll = async (
    gallery: string,
    name: string,
    photos: number,
    extra: { externalId?: string; metadata?: Record<string, unknown> } = {},
    context = ctx,
  ) => {
    const bytes = await Promise.all(Array.from({ length: photos }, () => portrait(name.toLowerCase())));
    return (
      await createPerson(
        context,
        { gallery, name, ...extra },
        bytes.map((b) => asPhoto(b)),
      )
    ).person;
  };

  describe('people', () => {
    it('finds a person by an external id shaped like a UUID, as other systems often give', async () => {
      const g = await newGallery();
      const externalId = '6f1c2a4e-9b7d-4c3e-8a21-5d0f3b9e7c12';
      const ann = await enroll(g, 'Ann', 1, { externalId });
      expect((await showPerson(ctx, externalId, g)).id).toBe(ann.id);
      expect(await codeOf(showPerson(ctx, NO_SUCH_ID, g))).toBe('PERSON_NOT_FOUND');
    });

    it('refuses a page size or offset out of range, and an unknown key role, as INVALID_ARGUMENT (not a database error)', async () => {
      for (const options of [{ limit: 0 }, { limit: -1 }, { limit: 201 }, { limit: 1.5 }, { offset: -1 }]) {
        expect(await codeOf(listPeople(ctx, options)), JSON.stringify(options)).toBe('INVALID_ARGUMENT');
      }
      expect(await codeOf(createApiKey(m.ctx.db, { name: 'ops', role: 'root' as never }))).toBe('INVALID_ARGUMENT');
    });

    it('finds a person by id, external id or name in any case; a shared name is ambiguous; each miss has its code', async () => {
      const g = await newGallery();
      const ann = await enroll(g, 'Ann', 2, { externalId: 'A-7', metadata: { desk: 12 } });
      for (const ref of [ann.id, ann.id.toUpperCase(), 'A-7', 'Ann', 'ANN']) {
        const shown = await showPerson(ctx, ref, g);
        expect(shown, ref).toMatchObject({ id: ann.id, name: 'Ann', externalId: 'A-7', metadata: { desk: 12 }, faceCount: 2 });
        expect(shown.faces).toHaveLength(2);
      }
      // External ids are exact: another case is looked up as a name instead.
      expect(await codeOf(showPerson(ctx, 'a-7', g))).toBe('PERSON_NOT_FOUND');
      // An external id wins over someone else's name.
      await enroll(g, 'A-7', 1);
      expect((await showPerson(ctx, 'A-7', g)).id).toBe(ann.id);

      await enroll(g, 'Ben', 1);
      const ben2 = await enroll(g, 'ben', 1);
      const ambiguous = await rejection(showPerson(ctx, 'Ben', g));
      expect(ambiguous.code).toBe('PERSON_AMBIGUOUS');
      expect((ambiguous.details.ids as string[]).sort()).toHaveLength(2);
      expect((await showPerson(ctx, ben2.id, g)).name).toBe('ben');

      const missing = await rejection(showPerson(ctx, 'Nobody', g));
      expect(missing).toMatchObject({ code: 'PERSON_NOT_FOUND', details: { person: 'Nobody' } });
      expect(await codeOf(showPerson(ctx, NO_SUCH_ID, g))).toBe('PERSON_NOT_FOUND');
      // By default, and when asked for another gallery, Ann is not there.
      expect(await codeOf(showPerson(ctx, ann.id))).toBe('PERSON_NOT_FOUND');
      expect(await codeOf(showPerson(ctx, 'Ann'))).toBe('PERSON_NOT_FOUND');
      expect(await codeOf(showPerson(ctx, 'Ann', 'no-such-gallery'))).toBe('GALLERY_NOT_FOUND');
    });

    it('lists a gallery’s people by name, with totals, search, pages and a picture', async () => {
      const g = await newGallery();
      await enroll(g, 'carl', 1);
      await enroll(g, 'Bea', 2);
      await enroll(g, 'Al', 0);
      await enroll(g, '100% Dan', 1);
      const all = await listPeople(ctx, { gallery: g });
      expect(all.gallery.name).toBe(g);
      expect(all.total).toBe(4);
      expect(all.people.map((p) => p.name)).toEqual(['100% Dan', 'Al', 'Bea', 'carl']);
      expect(all.people.map((p) => p.faceCount)).toEqual([1, 0, 2, 1]);
      // Everyone with a face has a picture (thumbnails are on); Al has none.
      expect(all.people.map((p) => p.thumbnailFaceId === null)).toEqual([false, true, false, false]);
      const bea = await showPerson(ctx, 'Bea', g);
      expect(all.people[2]!.thumbnailFaceId).toBe(bea.faces[0]!.id);

      expect((await listPeople(ctx, { gallery: g, search: 'A' })).people.map((p) => p.name)).toEqual(['100% Dan', 'Al', 'Bea', 'carl']);
      expect((await listPeople(ctx, { gallery: g, search: 'AR' })).people.map((p) => p.name)).toEqual(['carl']);
      // LIKE wildcards in the search are literal.
      expect((await listPeople(ctx, { gallery: g, search: '%' })).people.map((p) => p.name)).toEqual(['100% Dan']);
      expect((await listPeople(ctx, { gallery: g, search: '_' })).total).toBe(0);
      const page = await listPeople(ctx, { gallery: g, limit: 2, offset: 1 });
      expect(page).toMatchObject({ total: 4 });
      expect(page.people.map((p) => p.name)).toEqual(['Al', 'Bea']);
      expect((await listPeople(ctx, { gallery: g, offset: 10 })).people).toEqual([]);
      expect(await codeOf(listPeople(ctx, { gallery: 'no-such-gallery' }))).toBe('GALLERY_NOT_FOUND');
      // Without a gallery: the default one, where this test enrolled nobody.
      expect((await listPeople(ctx)).gallery.name).toBe('default');
      expect((await listPeople(ctx, { search: 'Bea' })).total).toBe(0);
    });

    it('holds metadata to one rule, given as an object or as its JSON text: a JSON object of at most 16 KB and 32 levels, no NUL', async () => {
      const g = await newGallery();
      const nested = (depth: number): unknown => (depth === 0 ? 'leaf' : { a: nested(depth - 1) });
      const bad: unknown[] = ['{not json', '[1,2]', [1, 2], 'null', 42, { notes: 'x'.repeat(17_000) }, nested(100), { 'key\u0000': 'v' }];
      const before = await count(ctx.db, 'people');
      for (const metadata of bad) {
        const what = JSON.stringify(metadata).slice(0, 40);
        expect(await codeOf(createPerson(ctx, { gallery: g, name: 'Meta', metadata: metadata as never })), what).toBe('INVALID_ARGUMENT');
        // The adapters parse with the same schema: HTTP's form field and JSON body, the CLI's --metadata.
        expect(CreatePersonInput.safeParse({ name: 'Meta', metadata }).success, what).toBe(false);
      }
      expect(await count(ctx.db, 'people')).toBe(before);
      const ok = await createPerson(ctx, { gallery: g, name: 'Meta', metadata: '{"desk": 12}' as never });
      expect(ok.person.metadata).toEqual({ desk: 12 });
      expect(await codeOf(renamePerson(ctx, ok.person.id, { metadata: nested(40) as never }, g))).toBe('INVALID_ARGUMENT');
      expect((await renamePerson(ctx, ok.person.id, { metadata: nested(31) as never }, g)).metadata).toEqual(nested(31));
    });

    it('renames, sets and clears the external id, replaces metadata; refuses bad values and taken ids', async () => {
      const g = await newGallery();
      const dee = await enroll(g, 'Dee', 1, { externalId: 'd-1', metadata: { a: 1 } });
      await enroll(g, 'Eli', 1, { externalId: 'e-1' });
      const renamed = await renamePerson(ctx, 'Dee', { name: '  Deborah  ' }, g);
      expect(renamed).toMatchObject({ id: dee.id, name: 'Deborah', externalId: 'd-1', metadata: { a: 1 }, faceCount: 1 });
      expect(Date.parse(renamed.updatedAt)).toBeGreaterThanOrEqual(Date.parse(dee.updatedAt));
      expect(await renamePerson(ctx, dee.id, { externalId: 'd-2', metadata: { b: 2 } }, g)).toMatchObject({
        name: 'Deborah',
        externalId: 'd-2',
        metadata: { b: 2 },
      });
      expect(await renamePerson(ctx, 'd-2', { externalId: null }, g)).toMatchObject({ externalId: null, metadata: { b: 2 } });
      expect(await renamePerson(ctx, 'Deborah', {}, g)).toMatchObject({ name: 'Deborah', externalId: null });

      expect(await codeOf(renamePerson(ctx, dee.id, { name: '' }, g))).toBe('INVALID_ARGUMENT');
      expect(await codeOf(renamePerson(ctx, dee.id, { name: 'esc\u001b[31m' }, g))).toBe('INVALID_ARGUMENT');
      expect(await codeOf(renamePerson(ctx, dee.id, { externalId: ' ' }, g))).toBe('INVALID_ARGUMENT');
      expect(await rejection(renamePerson(ctx, dee.id, { externalId: 'e-1' }, g))).toMatchObject({
        code: 'EXTERNAL_ID_TAKEN',
        details: { externalId: 'e-1' },
      });
      expect(await codeOf(renamePerson(ctx, 'Nobody', { name: 'X' }, g))).toBe('PERSON_NOT_FOUND');
      expect(await codeOf(renamePerson(ctx, dee.id, { name: 'X' }))).toBe('PERSON_NOT_FOUND');
      expect(await codeOf(renamePerson(ctx, dee.id, { name: 'X' }, 'no-such-gallery'))).toBe('GALLERY_NOT_FOUND');
      await enroll(g, 'eli', 0);
      expect(await codeOf(renamePerson(ctx, 'ELI', { name: 'X' }, g))).toBe('PERSON_AMBIGUOUS');
      expect((await showPerson(ctx, dee.id, g)).name).toBe('Deborah');
    });

    it('erases a person with every face; then they are not found', async () => {
      const g = await newGallery();
      const fox = await enroll(g, 'Fox', 3);
      const faceIds = (await showPerson(ctx, fox.id, g)).faces.map((f) => f.id);
      const deleted = await deletePerson(ctx, 'fox', g);
      expect(deleted).toMatchObject({ id: fox.id, name: 'Fox', faceCount: 3 });
      expect(await count(ctx.db, 'faces WHERE id = ANY($1::uuid[])', [faceIds])).toBe(0);
      expect(await count(ctx.db, 'people WHERE id = $1', [fox.id])).toBe(0);
      expect(await codeOf(showPerson(ctx, fox.id, g))).toBe('PERSON_NOT_FOUND');
      expect(await codeOf(deletePerson(ctx, fox.id, g))).toBe('PERSON_NOT_FOUND');
      expect(await codeOf(faceThumbnail(ctx, faceIds[0]!))).toBe('FACE_NOT_FOUND');
      const other = await enroll(await newGallery(), 'Fox', 1);
      // Only within the gallery asked.
      expect(await codeOf(deletePerson(ctx, other.id, g))).toBe('PERSON_NOT_FOUND');
      expect(await codeOf(deletePerson(ctx, other.id, 'no-such-gallery'))).toBe('GALLERY_NOT_FOUND');
    });

    it("removes one face of a person, and only that person's", async () => {
      const g = await newGallery();
      const gil = await enroll(g, 'Gil', 2);
      const hoa = await enroll(g, 'Hoa', 1);
      const [first, second] = (await showPerson(ctx, gil.id, g)).faces;
      const [hoaFace] = (await showPerson(ctx, hoa.id, g)).faces;
      expect(await removeFace(ctx, gil.id, first!.id)).toMatchObject({ id: first!.id, personId: gil.id });
      expect((await showPerson(ctx, gil.id, g)).faces.map((f) => f.id)).toEqual([second!.id]);
      expect(await codeOf(removeFace(ctx, gil.id, first!.id))).toBe('FACE_NOT_FOUND');
      expect(await codeOf(removeFace(ctx, gil.id, hoaFace!.id))).toBe('FACE_NOT_FOUND');
      expect(await codeOf(removeFace(ctx, gil.id, 'not-an-id'))).toBe('FACE_NOT_FOUND');
      expect(await codeOf(removeFace(ctx, NO_SUCH_ID, hoaFace!.id))).toBe('FACE_NOT_FOUND');
      expect((await showPerson(ctx, hoa.id, g)).faceCount).toBe(1);
    });

    it('serves a face thumbnail (a JPEG), and FACE_NOT_FOUND for a face stored without one or no face at all', async () => {
      const g = await newGallery();
      const ida = await enroll(g, 'Ida', 1);
      const [face] = (await showPerson(ctx, ida.id, g)).faces;
      expect(face!.hasThumbnail).toBe(true);
      const jpeg = await faceThumbnail(ctx, face!.id);
      expect([jpeg[0], jpeg[1], jpeg[2]]).toEqual([0xff, 0xd8, 0xff]);

      const jo = await enroll(g, 'Jo', 1, {}, withConfig(ctx, { thumbnails: false }));
      const [bare] = (await showPerson(ctx, jo.id, g)).faces;
      expect(bare!.hasThumbnail).toBe(false);
      const none = await rejection(faceThumbnail(ctx, bare!.id));
      expect(none).toMatchObject({
        code: 'FACE_NOT_FOUND',
        details: { faceId: bare!.id, hint: expect.stringContaining('FACEREC_THUMBNAILS') },
      });
      expect(await codeOf(faceThumbnail(ctx, NO_SUCH_ID))).toBe('FACE_NOT_FOUND');
      expect(await codeOf(faceThumbnail(ctx, 'not-an-id'))).toBe('FACE_NOT_FOUND');
      expect((await listPeople(ctx, { gallery: g })).people.find((p) => p.name === 'Jo')!.thumbnailFaceId).toBeNull();
    });
  });

  describe('galleries', () => {
    it('creates galleries, unique regardless of case, found by name in any case or by id, with counts', async () => {
      const name = uniqueName('Holiday');
      const created = await galleries.create(ctx, `  ${name}  `);
      expect(created).toMatchObject({ name, people: 0, faces: 0 });
      expect(await galleries.get(ctx, name.toUpperCase())).toMatchObject({ id: created.id, name });
      expect((await galleries.get(ctx, created.id)).name).toBe(name);
      const exists = await rejection(galleries.create(ctx, name.toLowerCase()));
      expect(exists).toMatchObject({ code: 'GALLERY_EXISTS', details: { name: name.toLowerCase() } });
      await enroll(name, 'Kim', 2);
      expect(await galleries.get(ctx, name)).toMatchObject({ people: 1, faces: 2 });
      const listed = await galleries.list(ctx);
      expect(listed.map((g) => g.name)).toEqual(expect.arrayContaining(['default', name]));
      expect(listed.find((g) => g.name === name)).toMatchObject({ people: 1, faces: 2 });
      expect(await codeOf(galleries.get(ctx, 'no-such-gallery'))).toBe('GALLERY_NOT_FOUND');
      expect(await codeOf(galleries.get(ctx, NO_SUCH_ID))).toBe('GALLERY_NOT_FOUND');
    });

    it('refuses names that are empty, too long, with control characters, / ? #, or shaped like an id', async () => {
      for (const name of ['', '   ', 'a/b', 'what?', 'x#1', 'ta\tb', 'g'.repeat(101), NO_SUCH_ID, NO_SUCH_ID.toUpperCase()]) {
        // galleries.create throws these synchronously instead of rejecting: called as the adapters do, with await.
        expect(await codeOf((async () => galleries.create(ctx, name))()), JSON.stringify(name)).toBe('INVALID_ARGUMENT');
      }
      expect(await codeOf(galleries.create(ctx, 'DEFAULT'))).toBe('GALLERY_EXISTS');
    });

    it('renames a gallery, keeping its people, faces and model; never the default one, nor to a name taken', async () => {
      const name = await newGallery();
      const lee = await enroll(name, 'Lee', 2);
      const before = await galleries.get(ctx, name);
      const newName = uniqueName('Renamed');
      const renamed = await galleries.rename(ctx, name.toUpperCase(), `  ${newName} `);
      expect(renamed).toMatchObject({ id: before.id, name: newName, people: 1, faces: 2, descriptorModel: before.descriptorModel });
      expect(await galleries.get(ctx, newName.toLowerCase())).toMatchObject({ id: before.id, name: newName });
      expect(await codeOf(galleries.get(ctx, name))).toBe('GALLERY_NOT_FOUND');
      expect((await showPerson(ctx, lee.id, newName)).faces).toHaveLength(2);
      // By id, and to its own name in another case.
      expect((await galleries.rename(ctx, before.id, newName.toUpperCase())).name).toBe(newName.toUpperCase());

      const other = await newGallery();
      expect(await rejection(galleries.rename(ctx, other, newName.toLowerCase()))).toMatchObject({ code: 'GALLERY_EXISTS' });
      expect(await codeOf(galleries.rename(ctx, other, 'default'))).toBe('GALLERY_EXISTS');
      expect(await codeOf(galleries.rename(ctx, 'default', uniqueName('x')))).toBe('INVALID_ARGUMENT');
      expect(await codeOf(galleries.rename(ctx, 'no-such-gallery', uniqueName('x')))).toBe('GALLERY_NOT_FOUND');
      for (const bad of ['', 'a/b', NO_SUCH_ID, 'ta\tb'])
        expect(await codeOf((async () => galleries.rename(ctx, other, bad))()), JSON.stringify(bad)).toBe('INVALID_ARGUMENT');
      expect((await galleries.get(ctx, other)).name).toBe(other);
    });

    it('deletes an empty gallery; a non-empty one only by force, with its people and faces; never the default one', async () => {
      const empty = await newGallery();
      expect((await galleries.delete(ctx, empty)).name).toBe(empty);
      expect(await codeOf(galleries.get(ctx, empty))).toBe('GALLERY_NOT_FOUND');

      const full = await newGallery();
      const lou = await enroll(full, 'Lou', 2);
      const refused = await rejection(galleries.delete(ctx, full.toUpperCase()));
      expect(refused).toMatchObject({ code: 'GALLERY_NOT_EMPTY', details: { people: 1 } });
      expect(await count(ctx.db, 'people WHERE id = $1', [lou.id])).toBe(1);
      const deleted = await galleries.delete(ctx, full, true);
      expect(deleted).toMatchObject({ name: full, people: 1, faces: 2 });
      expect(await count(ctx.db, 'people WHERE id = $1', [lou.id])).toBe(0);
      expect(await count(ctx.db, 'faces WHERE person_id = $1', [lou.id])).toBe(0);

      expect(await codeOf(galleries.delete(ctx, 'default', true))).toBe('INVALID_ARGUMENT');
      expect(await codeOf(galleries.delete(ctx, 'Default'))).toBe('INVALID_ARGUMENT');
      expect(await codeOf(galleries.delete(ctx, 'no-such-gallery'))).toBe('GALLERY_NOT_FOUND');
      expect((await galleries.get(ctx, 'default')).name).toBe('default');
    });
  });

  describe('API keys', () => {
    it('creates a key shown once, stored by hash, with a role; authenticates it until revoked', async () => {
      expect(ROLES).toEqual(['admin', 'recognize']);
      const before = await activeKeyCount(ctx.db);
      const { key, apiKey } = await createApiKey(ctx.db, { name: '  ci bot  ', role: 'recognize' });
      expect(key).toMatch(/^frk_[A-Za-z0-9_-]{43}$/);
      expect(apiKey).toMatchObject({ name: 'ci bot', role: 'recognize', prefix: key.slice(0, 10), lastUsedAt: null, revokedAt: null });
      expect(JSON.stringify(apiKey)).not.toContain(key.slice(10));
      // Only the key's sha256 is stored.
      expect(await count(ctx.db, 'api_keys WHERE key_hash = $1', [createHash('sha256').update(key).digest('hex')])).toBe(1);
      expect(await count(ctx.db, 'api_keys WHERE key_hash = $1 OR prefix = $1', [key])).toBe(0);
      expect(await activeKeyCount(ctx.db)).toBe(before + 1);

      const admin = await createApiKey(ctx.db, { name: 'ops', role: 'admin' });
      expect(admin.key).not.toBe(key);
      expect((await authenticate(ctx.db, admin.key))?.role).toBe('admin');
      const found = await authenticate(ctx.db, key);
      expect(found).toMatchObject({ id: apiKey.id, role: 'recognize' });
      expect((await listKeys(ctx.db)).find((k) => k.id === apiKey.id)!.lastUsedAt).not.toBeNull();

      for (const wrong of [key.slice(0, -1), `${key}x`, key.slice(4), '', `frk_${'a'.repeat(300)}`])
        expect(await authenticate(ctx.db, wrong)).toBeUndefined();

      const revoked = await revokeKey(ctx.db, apiKey.id);
      expect(revoked.revokedAt).not.toBeNull();
      expect(await authenticate(ctx.db, key)).toBeUndefined();
      expect(await activeKeyCount(ctx.db)).toBe(before + 1);
      // Revoking again keeps the first time.
      expect((await revokeKey(ctx.db, apiKey.id)).revokedAt).toBe(revoked.revokedAt);
      expect((await listKeys(ctx.db)).map((k) => k.id)).toEqual(expect.arrayContaining([apiKey.id, admin.apiKey.id]));
    });

    it('refuses bad key names and unknown keys', async () => {
      for (const name of ['', '  ', 'k'.repeat(101), 'nul\u0000'])
        expect(await codeOf(createApiKey(ctx.db, { name, role: 'admin' })), JSON.stringify(name)).toBe('INVALID_ARGUMENT');
      expect(await codeOf(revokeKey(ctx.db, NO_SUCH_ID))).toBe('KEY_NOT_FOUND');
      expect(await codeOf(revokeKey(ctx.db, 'not-an-id'))).toBe('KEY_NOT_FOUND');
    });
  });
});
