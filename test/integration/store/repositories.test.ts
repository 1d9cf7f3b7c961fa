import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/index.js';
import { openDatabase, type Database, type Queryable } from '../../../src/store/database.js';
import {
  galleryDescriptors,
  getFace,
  getThumbnail,
  insertFace,
  listFaces,
  nearestFaces,
  type NewFace,
} from '../../../src/store/faces.repository.js';
import {
  bindGallery,
  createGallery,
  deleteGallery,
  DEFAULT_GALLERY,
  findGallery,
  listGalleries,
  type Gallery,
} from '../../../src/store/galleries.repository.js';
import {
  deletePerson,
  findPeopleByName,
  findPersonByExternalId,
  getPerson,
  insertPerson,
  listPeople,
  updatePerson,
  type Person,
} from '../../../src/store/people.repository.js';
import { isUniqueViolation, vectorParam } from '../../../src/store/sql.js';
import { descriptorExpr, ensureDescriptorIndex, indexName, modelFilter } from '../../../src/store/descriptor-index.js';
import { createTestDatabase, describeEachDatabase, migratedTestDatabase, type TestDatabase } from '../../helpers/databases.js';
import { rng } from '../../helpers/random.js';
import { rejection } from '../../helpers/errors.js';

// The app's default candidate list (FACEREC_EF_SEARCH unset).
const EF_SEARCH = loadConfig({}).efSearch;

const ROOT = path.resolve(import.meta.dirname, '..', '..', '..');
const MODEL = 'test-model@1';
const DIMS = 128;

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** A standard normal sample (Box-Muller). */
function gaussian(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

/** A random direction in descriptor space, of length 1. */
function unitVector(random: () => number): number[] {
  const v = Array.from({ length: DIMS }, () => gaussian(random));
  const norm = Math.hypot(...v);
  return v.map((x) => x / norm);
}

const euclidean = (a: readonly number[], b: readonly number[]) => Math.sqrt(a.reduce((sum, x, i) => sum + (x - b[i]!) ** 2, 0));

const bytesOf = (value: Uint8Array | null) => (value === null ? null : new Uint8Array(value));

const count = async (q: Queryable, sql: string, params: unknown[]) => (await q.query<{ n: number }>(sql, params))[0]?.n;

describeEachDatabase('store repositories', (kind) => {
  let test: TestDatabase;
  let db: Database;
  let galleries = 0;
  let faces = 0;
  const random = rng(7);

  beforeAll(async () => {
    test = await migratedTestDatabase(kind);
    db = test.db;
  });

  afterAll(async () => {
    await test?.drop();
  });

  /** Each test works in galleries of its own, so tests do not see each other's rows. */
  const freshGallery = async () => {
    await ensureDescriptorIndex(db, { id: MODEL, output: { dims: 128 } });
    return createGallery(db, `gallery ${++galleries}`, MODEL);
  };

  const person = (gallery: Gallery, name: string, extra: { externalId?: string | null; metadata?: Record<string, unknown> } = {}) =>
    insertPerson(db, { galleryId: gallery.id, name, ...extra });

  const face = (owner: Person, descriptor: readonly number[], extra: Partial<NewFace> = {}): NewFace => ({
    personId: owner.id,
    galleryId: owner.galleryId,
    descriptor,
    modelId: MODEL,
    box: [10.5, 20, 110, 120.25],
    score: 0.75,
    quality: { size: 100, score: 0.75, sharpness: 12.5, yaw: 0.25, roll: -0.5 },
    imageSha256: sha256(`image ${++faces}`),
    thumbnail: null,
    ...extra,
  });

  describe('galleries', () => {
    it('creates, lists and finds galleries by name and id, and refuses a duplicate name', async () => {
      const created = await createGallery(db, 'holidays');
      expect(created).toMatchObject({ name: 'holidays', people: 0, faces: 0 });
      expect(Date.parse(created.createdAt)).not.toBeNaN();

      expect(await findGallery(db, 'holidays')).toEqual(created);
      expect(await findGallery(db, created.id)).toEqual(created);
      const names = (await listGalleries(db)).map((g) => g.name);
      expect(names).toEqual(expect.arrayContaining([DEFAULT_GALLERY, 'holidays']));
      expect(names).toEqual([...names].sort());

      const duplicate = await rejection(createGallery(db, 'holidays'));
      expect(duplicate.code).toBe('GALLERY_EXISTS');
      expect(duplicate.details).toMatchObject({ name: 'holidays' });
      expect((await rejection(findGallery(db, 'no such gallery'))).code).toBe('GALLERY_NOT_FOUND');
      expect((await rejection(findGallery(db, '00000000-0000-4000-8000-000000000000'))).code).toBe('GALLERY_NOT_FOUND');
    });

    it('treats gallery names regardless of case: one of each, found in any case; the database refuses UUID-shaped ones', async () => {
      const created = await createGallery(db, 'Night Shift');
      expect(await findGallery(db, 'night shift')).toEqual(created);
      expect(await findGallery(db, 'NIGHT SHIFT')).toEqual(created);
      const other = await rejection(createGallery(db, 'NIGHT shift'));
      expect(other.code).toBe('GALLERY_EXISTS');
      expect((await rejection(createGallery(db, 'DEFAULT'))).code).toBe('GALLERY_EXISTS');
      expect((await findGallery(db, 'Default')).name).toBe(DEFAULT_GALLERY);
      expect((await rejection(deleteGallery(db, 'DEFAULT', true))).code).toBe('INVALID_ARGUMENT');
      // Below the service's own check: a name the lookup would take for an id cannot be stored at all.
      const uuidShaped = await createGallery(db, '11111111-1111-1111-1111-111111111111').then(
        () => 'stored',
        (err: { code?: string }) => err.code,
      );
      expect(uuidShaped).toBe('23514'); // check_violation
      expect((await listGalleries(db)).filter((g) => g.name.toLowerCase() === 'night shift')).toHaveLength(1);
    });

    it('keeps the default gallery, and deletes a non-empty one only when forced, with its people and faces', async () => {
      const fallback = await rejection(deleteGallery(db, DEFAULT_GALLERY, true));
      expect(fallback.code).toBe('INVALID_ARGUMENT');
      expect((await findGallery(db, DEFAULT_GALLERY)).name).toBe(DEFAULT_GALLERY);

      const empty = await freshGallery();
      expect((await deleteGallery(db, empty.id, false)).id).toBe(empty.id);
      expect((await rejection(findGallery(db, empty.id))).code).toBe('GALLERY_NOT_FOUND');

      const full = await freshGallery();
      const ada = await person(full, 'Ada');
      await insertFace(db, face(ada, unitVector(random)));
      const refused = await rejection(deleteGallery(db, full.name, false));
      expect(refused.code).toBe('GALLERY_NOT_EMPTY');
      expect(refused.details).toMatchObject({ people: 1 });
      expect(await findGallery(db, full.id)).toMatchObject({ people: 1, faces: 1 });

      expect(await deleteGallery(db, full.name, true)).toMatchObject({ id: full.id, people: 1, faces: 1 });
      expect((await rejection(findGallery(db, full.id))).code).toBe('GALLERY_NOT_FOUND');
      expect(await count(db, 'SELECT count(*)::int AS n FROM people WHERE gallery_id = $1', [full.id])).toBe(0);
      expect(await count(db, 'SELECT count(*)::int AS n FROM faces WHERE gallery_id = $1', [full.id])).toBe(0);
    });
  });

  describe('people', () => {
    it('inserts and reads a person back', async () => {
      const gallery = await freshGallery();
      const metadata = { role: 'engineer', tags: ['a', 'b'], level: 1.5, nested: { ok: true, none: null } };
      const ada = await person(gallery, 'Ada Lovelace', { externalId: 'emp-1', metadata });

      expect(ada).toMatchObject({ galleryId: gallery.id, name: 'Ada Lovelace', externalId: 'emp-1', metadata, faceCount: 0 });
      expect(Date.parse(ada.createdAt)).not.toBeNaN();
      expect(await getPerson(db, ada.id)).toEqual(ada);
      expect(await findPersonByExternalId(db, gallery.id, 'emp-1')).toEqual(ada);
      expect(await findPeopleByName(db, gallery.id, 'ada lovelace')).toEqual([ada]);
      const plain = await person(gallery, 'Bob');
      expect(plain).toMatchObject({ externalId: null, metadata: {} });
      expect((await findGallery(db, gallery.id)).people).toBe(2);
    });

    it('lists a gallery page by page, by name', async () => {
      const gallery = await freshGallery();
      for (const name of ['Eve', 'Bob', 'Dan', 'Ada', 'Cyd']) await person(gallery, name);
      await person(await freshGallery(), 'Aaron'); // another gallery's people stay out

      const pages = [];
      for (let offset = 0; offset < 6; offset += 2) pages.push(await listPeople(db, gallery.id, { limit: 2, offset }));

      expect(pages.map((p) => p.people.map((x) => x.name))).toEqual([['Ada', 'Bob'], ['Cyd', 'Dan'], ['Eve']]);
      expect(pages.map((p) => p.total)).toEqual([5, 5, 5]);
      expect(await listPeople(db, gallery.id, { limit: 10, offset: 10 })).toEqual({ people: [], total: 5 });
    });

    it('searches names case-insensitively, with % and _ taken literally', async () => {
      const gallery = await freshGallery();
      for (const name of ['100% sure', '100 percent', 'snake_case', 'snakeXcase', 'back\\slash', 'ADA Lovelace'])
        await person(gallery, name);
      const search = async (text: string) => {
        const page = await listPeople(db, gallery.id, { search: text, limit: 10, offset: 0 });
        expect(page.total).toBe(page.people.length);
        return page.people.map((p) => p.name);
      };

      expect(await search('%')).toEqual(['100% sure']);
      expect(await search('0%')).toEqual(['100% sure']);
      expect(await search('_')).toEqual(['snake_case']);
      expect(await search('e_c')).toEqual(['snake_case']);
      expect(await search('\\')).toEqual(['back\\slash']);
      expect(await search('ada')).toEqual(['ADA Lovelace']);
      expect(await search('100')).toEqual(['100 percent', '100% sure']);
      expect(await search('nobody')).toEqual([]);
    });

    it("lists each person with their first face that has a thumbnail, in the page's one query", async () => {
      const gallery = await freshGallery();
      const [ada, bob, cyd] = [await person(gallery, 'Ada'), await person(gallery, 'Bob'), await person(gallery, 'Cyd')];
      const jpeg = new Uint8Array([0xff, 0xd8, 0xff]);
      await insertFace(db, face(ada, unitVector(random))); // enrolled without a thumbnail (FACEREC_THUMBNAILS off)
      for (let i = 0; i < 2; i++) await insertFace(db, face(ada, unitVector(random), { thumbnail: jpeg }));
      await insertFace(db, face(bob, unitVector(random)));

      const { people } = await listPeople(db, gallery.id, { limit: 10, offset: 0 });

      // The same face the person's detail shows first among those with a thumbnail.
      const adaFirst = (await listFaces(db, ada.id)).find((f) => f.hasThumbnail);
      expect(adaFirst).toBeDefined();
      expect(people.map((p) => [p.name, p.faceCount, p.thumbnailFaceId])).toEqual([
        ['Ada', 3, adaFirst!.id],
        ['Bob', 1, null],
        ['Cyd', 0, null],
      ]);
      expect(await getPerson(db, cyd.id)).not.toHaveProperty('thumbnailFaceId');
      expect(people[1]).toEqual({ ...(await getPerson(db, bob.id)), thumbnailFaceId: null });
    });

    it('updates name, external id and metadata, each alone or together', async () => {
      const gallery = await freshGallery();
      const ada = await person(gallery, 'Ada', { externalId: 'a-1', metadata: { team: 'x' } });

      const renamed = await updatePerson(db, ada.id, { name: 'Ada Byron' });
      expect(renamed).toMatchObject({ name: 'Ada Byron', externalId: 'a-1', metadata: { team: 'x' } });
      expect(Date.parse(renamed.updatedAt)).toBeGreaterThanOrEqual(Date.parse(ada.updatedAt));

      expect(await updatePerson(db, ada.id, { externalId: 'a-2', metadata: { team: 'y', since: 1843 } })).toMatchObject({
        name: 'Ada Byron',
        externalId: 'a-2',
        metadata: { team: 'y', since: 1843 },
      });
      expect(await updatePerson(db, ada.id, { externalId: null })).toMatchObject({
        externalId: null,
        metadata: { team: 'y', since: 1843 },
      });
      expect(await updatePerson(db, ada.id, { metadata: {} })).toMatchObject({ name: 'Ada Byron', externalId: null, metadata: {} });
      expect(await getPerson(db, ada.id)).toMatchObject({ name: 'Ada Byron', externalId: null, metadata: {} });
    });

    it('refuses a duplicate external id within a gallery, but not across galleries', async () => {
      const first = await freshGallery();
      const second = await freshGallery();
      const ada = await person(first, 'Ada', { externalId: 'emp-7' });

      const taken = await rejection(person(first, 'Another Ada', { externalId: 'emp-7' }));
      expect(taken.code).toBe('EXTERNAL_ID_TAKEN');
      expect(taken.details).toMatchObject({ externalId: 'emp-7' });
      expect((await person(second, 'Ada elsewhere', { externalId: 'emp-7' })).externalId).toBe('emp-7');

      const bob = await person(first, 'Bob', { externalId: 'emp-8' });
      expect((await rejection(updatePerson(db, bob.id, { externalId: 'emp-7' }))).code).toBe('EXTERNAL_ID_TAKEN');
      expect((await getPerson(db, bob.id)).externalId).toBe('emp-8');
      // Several people without an external id are fine.
      await person(first, 'Cyd');
      await person(first, 'Dan');
      expect((await findPersonByExternalId(db, first.id, 'emp-7'))?.id).toBe(ada.id);
    });

    it('answers PERSON_NOT_FOUND for malformed, unknown and other-gallery ids', async () => {
      const gallery = await freshGallery();
      const ada = await person(gallery, 'Ada');
      for (const id of ['not-a-uuid', "1' OR '1'='1", '', `${ada.id}x`, '00000000-0000-4000-8000-000000000000']) {
        expect((await rejection(getPerson(db, id))).code).toBe('PERSON_NOT_FOUND');
        expect((await rejection(updatePerson(db, id, { name: 'x' }))).code).toBe('PERSON_NOT_FOUND');
        expect((await rejection(deletePerson(db, id))).code).toBe('PERSON_NOT_FOUND');
      }
      const other = await freshGallery();
      expect((await rejection(getPerson(db, ada.id, { galleryId: other.id }))).code).toBe('PERSON_NOT_FOUND');
      expect((await getPerson(db, ada.id, { galleryId: gallery.id })).id).toBe(ada.id);
    });

    it('stores SQL-looking and long Unicode names exactly as given', async () => {
      const gallery = await freshGallery();
      const sqlish = "Robert'); DROP TABLE people;--";
      const unicode = 'Zoë Ñúñez 李小龍 🙂';
      // 200 code points (the column's limit) with astral characters: far more than 200 UTF-16 units.
      const long = Array.from(`${unicode} 👩‍👩‍👧 `.repeat(20)).slice(0, 200).join('');
      const decomposed = 'Rene\u0301 Noe\u0308l'; // combining accents must not be normalised away
      expect(Array.from(long)).toHaveLength(200);
      expect(long.length).toBeGreaterThan(200);

      for (const name of [sqlish, unicode, long, decomposed]) {
        const stored = await person(gallery, name, { metadata: { name } });
        const read = await getPerson(db, stored.id);
        expect(read.name).toBe(name);
        expect(read.metadata).toEqual({ name });
        expect((await findPeopleByName(db, gallery.id, name)).map((p) => p.id)).toEqual([stored.id]);
      }
      expect(await count(db, "SELECT count(*)::int AS n FROM information_schema.tables WHERE table_name = 'people'", [])).toBe(1);
      expect((await listPeople(db, gallery.id, { search: sqlish, limit: 10, offset: 0 })).people.map((p) => p.name)).toEqual([sqlish]);
      expect((await listPeople(db, gallery.id, { search: '李小龍 🙂', limit: 10, offset: 0 })).total).toBe(2);
    });
  });

  describe('faces', () => {
    it('stores a face with its descriptor and thumbnail, and reads them back exactly', async () => {
      const gallery = await freshGallery();
      const ada = await person(gallery, 'Ada');
      const descriptor = unitVector(random);
      // Every byte value, including NUL and bytes that are not UTF-8.
      const thumbnail = Uint8Array.from({ length: 1024 }, (_, i) => (i * 37) % 256);

      const stored = await insertFace(db, face(ada, descriptor, { thumbnail }));
      const bare = await insertFace(db, face(ada, unitVector(random)));

      expect(stored).toMatchObject({
        personId: ada.id,
        galleryId: gallery.id,
        modelId: MODEL,
        box: [10.5, 20, 110, 120.25],
        score: 0.75,
        quality: { size: 100, score: 0.75, sharpness: 12.5, yaw: 0.25, roll: -0.5 },
        hasThumbnail: true,
      });
      expect(bare.hasThumbnail).toBe(false);
      expect((await listFaces(db, ada.id)).map((f) => f.id).sort()).toEqual([stored.id, bare.id].sort());
      expect(await getFace(db, stored.id)).toEqual(stored);
      expect(bytesOf(await getThumbnail(db, stored.id))).toEqual(thumbnail);
      expect(await getThumbnail(db, bare.id)).toBeNull();
      expect((await rejection(getThumbnail(db, 'nope'))).code).toBe('FACE_NOT_FOUND');
      expect((await getPerson(db, ada.id)).faceCount).toBe(2);
      expect((await findGallery(db, gallery.id)).faces).toBe(2);

      const [readBack] = (await galleryDescriptors(db, gallery.id, MODEL)).get(ada.id)!.filter((d) => euclidean(d, descriptor) < 1e-5);
      expect(readBack).toHaveLength(DIMS);
      // real (float4) storage: equal to single precision.
      readBack!.forEach((x, i) => expect(x).toBeCloseTo(descriptor[i]!, 6));
    });

    it('refuses the same image twice for one person (unique violation), not for two people', async () => {
      const gallery = await freshGallery();
      const ada = await person(gallery, 'Ada');
      const bob = await person(gallery, 'Bob');
      const imageSha256 = sha256('the same photo');
      await insertFace(db, face(ada, unitVector(random), { imageSha256 }));

      const err = await insertFace(db, face(ada, unitVector(random), { imageSha256 })).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isUniqueViolation(err)).toBe(true);
      await insertFace(db, face(bob, unitVector(random), { imageSha256 }));
      expect((await getPerson(db, ada.id)).faceCount).toBe(1);
    });

    it('finds the nearest faces in order, within one gallery and model, leaving a person out on request', async () => {
      const gallery = await freshGallery();
      const [ada, bob, cyd] = [await person(gallery, 'Ada'), await person(gallery, 'Bob'), await person(gallery, 'Cyd')];
      const probe = unitVector(random);
      // A descriptor at distance `d` from the probe, in a random direction.
      const at = (d: number) => {
        const direction = unitVector(random);
        return probe.map((x, i) => x + d * direction[i]!);
      };
      const expected = [
        await insertFace(db, face(ada, at(0.1))),
        await insertFace(db, face(bob, at(0.3))),
        await insertFace(db, face(ada, at(0.5))),
        await insertFace(db, face(cyd, at(0.8))),
      ];
      // Closer than all of them, but in another gallery or another model's descriptor space.
      const elsewhere = await person(await freshGallery(), 'Elsewhere');
      await insertFace(db, face(elsewhere, at(0.01)));
      // A gallery holds one model's descriptors: another model's are refused, and nothing is stored.
      const mismatch = await rejection(insertFace(db, face(cyd, at(0.02), { modelId: 'other-model@1' })));
      expect(mismatch.code).toBe('MODEL_MISMATCH');
      expect(mismatch.details).toMatchObject({ galleryModel: MODEL, model: 'other-model@1' });
      expect(await listFaces(db, cyd.id)).toHaveLength(1);

      const search = (extra: { limit?: number; excludePersonId?: string; exact?: boolean } = {}) =>
        db.transaction((tx) =>
          nearestFaces(tx, {
            galleryId: gallery.id,
            modelId: MODEL,
            dims: 128,
            descriptor: probe,
            limit: 10,
            efSearch: EF_SEARCH,
            ...extra,
          }),
        );

      const all = await search();
      expect(all.map((n) => n.faceId)).toEqual(expected.map((f) => f.id));
      expect(all.map((n) => n.name)).toEqual(['Ada', 'Bob', 'Ada', 'Cyd']);
      all.forEach((n, i) => expect(n.distance).toBeCloseTo([0.1, 0.3, 0.5, 0.8][i]!, 4));
      expect(await search({ exact: true })).toEqual(all);
      expect((await search({ limit: 2 })).map((n) => n.personId)).toEqual([ada.id, bob.id]);
      expect((await search({ excludePersonId: ada.id })).map((n) => n.personId)).toEqual([bob.id, cyd.id]);
      const otherModel = await db.transaction((tx) =>
        nearestFaces(tx, { galleryId: gallery.id, modelId: 'other-model@1', dims: 128, descriptor: probe, limit: 10, efSearch: EF_SEARCH }),
      );
      expect(otherModel).toEqual([]);
    });

    it('keeps its HNSW settings local to the transaction', async () => {
      const gallery = await freshGallery();
      const inside = await db.transaction(async (tx) => {
        await nearestFaces(tx, {
          galleryId: gallery.id,
          modelId: MODEL,
          dims: 128,
          descriptor: unitVector(random),
          limit: 5,
          efSearch: 123,
        });
        return tx.query<{ ef: string }>("SELECT current_setting('hnsw.ef_search') AS ef");
      });
      expect(inside).toEqual([{ ef: '123' }]);
      // NULL where the session never loaded pgvector; otherwise its default, never the transaction's value.
      const [after] = await db.query<{ ef: string | null }>("SELECT current_setting('hnsw.ef_search', true) AS ef");
      expect(after?.ef).not.toBe('123');
    });

    it('answers like an exact search on 2,000 random descriptors, with the distances JS computes', async () => {
      const gallery = await freshGallery();
      const people: Person[] = [];
      for (let i = 0; i < 20; i++) people.push(await person(gallery, `Person ${i}`));
      const descriptors = Array.from({ length: 2000 }, () => unitVector(random));
      // The model's own index, built once over the rows: in PGlite's WASM, 2,000 inserts into the index take about 3x longer.
      const [index] = await db.query<{ indexdef: string }>('SELECT indexdef FROM pg_indexes WHERE indexname = $1', [indexName(MODEL)]);
      expect(index?.indexdef).toMatch(/USING hnsw/);
      await db.exec(`DROP INDEX ${indexName(MODEL)}`);
      // One statement: inserting row by row would spend the time on round trips.
      const ids = await db.query<{ id: string }>(
        `INSERT INTO faces (person_id, gallery_id, descriptor, model_id, box, score, quality, image_sha256)
         SELECT person, $1, descriptor::vector, $2, '{0,0,1,1}', 0.9, '{}', sha
         FROM unnest($3::uuid[], $4::text[], $5::text[]) WITH ORDINALITY AS t(person, descriptor, sha, n) ORDER BY n RETURNING id`,
        [
          gallery.id,
          MODEL,
          descriptors.map((_, i) => people[i % people.length]!.id),
          descriptors.map(vectorParam),
          descriptors.map((_, i) => sha256(`bulk ${i}`)),
        ],
      );
      await db.exec(index!.indexdef);
      const faceIds = ids.map((r) => r.id);
      expect(faceIds).toHaveLength(2000);
      // Fresh statistics, as autovacuum would give them.
      await db.query('ANALYZE faces');

      const probes = Array.from({ length: 50 }, () => unitVector(random));
      // At 2,000 rows the planner rightly prefers scanning them all; the HNSW index answers for far larger galleries.
      // So the approximate search may not sort (only the index gives that order), or this would compare exact with exact.
      const forceIndex = (tx: Queryable) => tx.query('SELECT set_config($1, $2, true)', ['enable_sort', 'off']);
      const query = (descriptor: number[], exact: boolean) =>
        db.transaction(async (tx) => {
          if (!exact) await forceIndex(tx);
          return nearestFaces(tx, { galleryId: gallery.id, modelId: MODEL, dims: 128, descriptor, limit: 10, efSearch: EF_SEARCH, exact });
        });
      const plan = await db.transaction(async (tx) => {
        await forceIndex(tx);
        await nearestFaces(tx, {
          galleryId: gallery.id,
          modelId: MODEL,
          dims: 128,
          descriptor: probes[0]!,
          limit: 10,
          efSearch: EF_SEARCH,
        });
        return tx.query<{ 'QUERY PLAN': string }>(
          `EXPLAIN SELECT id FROM faces WHERE gallery_id = $2 AND ${modelFilter(MODEL)} ORDER BY ${descriptorExpr(128)} <-> $1::vector(128) LIMIT $3`,
          [vectorParam(probes[0]!), gallery.id, 10],
        );
      });
      expect(plan.map((r) => r['QUERY PLAN']).join('\n')).toContain(indexName(MODEL));

      let firstHits = 0;
      let sameTop10 = 0;
      let found = 0;
      for (const probe of probes) {
        const approximate = await query(probe, false);
        const exact = await query(probe, true);
        const truth = descriptors
          .map((d, i) => ({ id: faceIds[i]!, distance: euclidean(d, probe) }))
          .sort((a, b) => a.distance - b.distance)
          .slice(0, 10);
        expect(exact.map((n) => n.faceId)).toEqual(truth.map((t) => t.id));
        exact.forEach((n, i) => expect(Math.abs(n.distance - truth[i]!.distance)).toBeLessThan(1e-4));
        expect(approximate).toHaveLength(10);
        if (approximate[0]?.faceId === exact[0]?.faceId) firstHits++;
        if (approximate.map((n) => n.faceId).join() === exact.map((n) => n.faceId).join()) sameTop10++;
        const truthIds = new Set(truth.map((t) => t.id));
        found += approximate.filter((n) => truthIds.has(n.faceId)).length;
      }
      // recall@1, and recall@10 over all probes; HNSW levels are random, so the same top 10 for only most probes.
      expect(firstHits / probes.length).toBeGreaterThanOrEqual(0.95);
      expect(found / (10 * probes.length)).toBeGreaterThanOrEqual(0.9);
      expect(sameTop10 / probes.length).toBeGreaterThan(0.5);
    });
  });

  describe('erasure and transactions', () => {
    it('deletes a person with every face, descriptor and thumbnail', async () => {
      const gallery = await freshGallery();
      const ada = await person(gallery, 'Ada');
      const bob = await person(gallery, 'Bob');
      const thumbnails = [1, 2, 3].map((seed) => Uint8Array.from({ length: 256 }, (_, i) => (i * seed + 11) % 256));
      const stored = [];
      for (const thumbnail of thumbnails) stored.push(await insertFace(db, face(ada, unitVector(random), { thumbnail })));
      await insertFace(db, face(bob, unitVector(random)));

      expect((await db.transaction((tx) => deletePerson(tx, ada.id))).id).toBe(ada.id);

      expect(await count(db, 'SELECT count(*)::int AS n FROM faces WHERE person_id = $1', [ada.id])).toBe(0);
      for (const thumbnail of thumbnails)
        expect(await count(db, 'SELECT count(*)::int AS n FROM faces WHERE thumbnail = $1', [thumbnail])).toBe(0);
      expect((await rejection(getPerson(db, ada.id))).code).toBe('PERSON_NOT_FOUND');
      expect((await rejection(getThumbnail(db, stored[0]!.id))).code).toBe('FACE_NOT_FOUND');
      expect((await getPerson(db, bob.id)).faceCount).toBe(1);
      const neighbours = await db.transaction((tx) =>
        nearestFaces(tx, {
          galleryId: gallery.id,
          modelId: MODEL,
          dims: 128,
          descriptor: unitVector(random),
          limit: 10,
          efSearch: EF_SEARCH,
        }),
      );
      expect(neighbours.map((n) => n.personId)).toEqual([bob.id]);
    });

    it('leaves nothing behind when the transaction throws', async () => {
      const gallery = await freshGallery();
      let personId = '';
      const failed = db.transaction(async (tx) => {
        const carl = await insertPerson(tx, { galleryId: gallery.id, name: 'Carl' });
        personId = carl.id;
        await insertFace(tx, face(carl, unitVector(random), { thumbnail: new Uint8Array([1, 2, 3]) }));
        await insertFace(tx, face(carl, unitVector(random)));
        expect(await count(tx, 'SELECT count(*)::int AS n FROM faces WHERE person_id = $1', [carl.id])).toBe(2);
        throw new Error('the third photo was rejected');
      });

      await expect(failed).rejects.toThrow('the third photo was rejected');
      expect(personId).not.toBe('');
      expect((await rejection(getPerson(db, personId))).code).toBe('PERSON_NOT_FOUND');
      expect(await count(db, 'SELECT count(*)::int AS n FROM people WHERE gallery_id = $1', [gallery.id])).toBe(0);
      expect(await count(db, 'SELECT count(*)::int AS n FROM faces WHERE person_id = $1', [personId])).toBe(0);
      expect(await findGallery(db, gallery.id)).toMatchObject({ people: 0, faces: 0 });
    });
  });

  if (kind === 'pglite') {
    describe('the embedded database directory', () => {
      const lockFile = (dataDir: string) => path.join(dataDir, 'facerec.lock');
      const dataDirOf = (t: TestDatabase) => ('dataDir' in t.target ? t.target.dataDir : '');

      it('keeps what was written across close and reopen', async () => {
        const t = await migratedTestDatabase('pglite');
        try {
          const [gallery] = await listGalleries(t.db);
          await bindGallery(t.db, gallery!.id, MODEL);
          const ada = await insertPerson(t.db, {
            galleryId: gallery!.id,
            name: 'Zoë Ñúñez 李小龍 🙂',
            externalId: 'z-1',
            metadata: { kept: true },
          });
          const descriptor = unitVector(random);
          const thumbnail = Uint8Array.from({ length: 300 }, (_, i) => (i * 7) % 256);
          const stored = await insertFace(t.db, face(ada, descriptor, { thumbnail }));
          await t.db.close();
          expect(await readFile(lockFile(dataDirOf(t))).catch(() => 'released')).toBe('released');

          const reopened = await openDatabase(t.target);
          try {
            expect(await getPerson(reopened, ada.id)).toEqual({ ...ada, faceCount: 1 });
            expect(await getFace(reopened, stored.id)).toEqual(stored);
            expect(bytesOf(await getThumbnail(reopened, stored.id))).toEqual(thumbnail);
            const [readBack] = (await galleryDescriptors(reopened, gallery!.id, MODEL)).get(ada.id)!;
            expect(euclidean(readBack!, descriptor)).toBeLessThan(1e-5);
          } finally {
            await reopened.close();
          }
        } finally {
          await t.drop();
        }
      });

      it('refuses a second open of a directory this process holds', async () => {
        const t = await createTestDatabase('pglite');
        try {
          const err = await rejection(openDatabase(t.target));
          expect(err.code).toBe('DATABASE_LOCKED');
          expect(err.details).toMatchObject({ pid: process.pid });
          // The refused open left the holder's lock and connection alone.
          expect(await readFile(lockFile(dataDirOf(t)), 'utf8')).toBe(String(process.pid));
          await t.db.ping();
        } finally {
          await t.drop();
        }
      });

      it('refuses a directory another process holds, and takes its lock over once that process died', async () => {
        const t = await migratedTestDatabase('pglite');
        await t.db.close();
        // The child exits on its own if this test dies: its stdin closes.
        const script = `
          const [module, dataDir] = process.argv.slice(1);
          const { openDatabase } = await import(module);
          await openDatabase({ dataDir });
          process.stdout.write('ready\\n');
          process.stdin.on('end', () => process.exit(0)).resume();`;
        const child = spawn(
          process.execPath,
          [
            '--import',
            'tsx',
            '--input-type=module',
            '-e',
            script,
            pathToFileURL(path.join(ROOT, 'src/store/database.ts')).href,
            dataDirOf(t),
          ],
          { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] },
        );
        const exited = new Promise((resolve) => child.once('exit', resolve));
        try {
          await new Promise<void>((resolve, reject) => {
            child.stdout.on('data', (chunk: Buffer) => {
              if (chunk.toString().includes('ready')) resolve();
            });
            child.once('exit', (code) => reject(new Error(`the child exited (${code}) before opening the database`)));
          });

          const err = await rejection(openDatabase(t.target));
          expect(err.code).toBe('DATABASE_LOCKED');
          expect(err.details).toMatchObject({ pid: child.pid });
          expect(err.message).toContain(String(child.pid));

          child.kill('SIGKILL');
          await exited;
          expect(await readFile(lockFile(dataDirOf(t)), 'utf8')).toBe(String(child.pid)); // left behind by the dead process

          const after = await openDatabase(t.target);
          try {
            expect(await readFile(lockFile(dataDirOf(t)), 'utf8')).toBe(String(process.pid));
            expect((await listGalleries(after)).map((g) => g.name)).toEqual([DEFAULT_GALLERY]);
          } finally {
            await after.close();
          }
        } finally {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
          await exited;
          await t.drop();
        }
      });

      // `kill -9` of a server whose parent (npm, a shell, a container without an init) has not reaped it yet leaves a
      // zombie: kill(pid, 0) still succeeds, yet it holds nothing. The holder's parent here is `sleep`, which never reaps.
      it.skipIf(!existsSync('/proc/self/stat'))('takes over the lock of a killed holder that is still a zombie', async () => {
        const t = await migratedTestDatabase('pglite');
        await t.db.close();
        const script = `
          const [module, dataDir] = process.argv.slice(1);
          const { openDatabase } = await import(module);
          await openDatabase({ dataDir });
          process.stdout.write('ready ' + process.pid + '\\n');
          process.stdin.on('end', () => process.exit(0)).resume();`;
        const holderArgs = [
          '--import',
          'tsx',
          '--input-type=module',
          '-e',
          script,
          pathToFileURL(path.join(ROOT, 'src/store/database.ts')).href,
          dataDirOf(t),
        ];
        // sh starts the holder in the background (its stdin ours, through fd 3, so that it exits if this test dies),
        // then becomes `sleep`: the holder's parent, which never waits for it.
        const quoted = [process.execPath, ...holderArgs].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
        const parent = spawn('/bin/sh', ['-c', `exec 3<&0; ${quoted} <&3 & exec sleep 120`], {
          cwd: ROOT,
          stdio: ['pipe', 'pipe', 'inherit'],
        });
        const parentExited = new Promise((resolve) => parent.once('exit', resolve));
        let holder = 0;
        const holderState = () => {
          const stat = readFileSync(`/proc/${holder}/stat`, 'utf8');
          return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
        };
        try {
          holder = await new Promise<number>((resolve, reject) => {
            let out = '';
            parent.stdout.on('data', (chunk: Buffer) => {
              out += chunk.toString();
              const m = /ready (\d+)/.exec(out);
              if (m) resolve(Number(m[1]));
            });
            parent.once('exit', (code) => reject(new Error(`the holder's parent exited (${code}) before the holder opened the database`)));
          });
          expect((await rejection(openDatabase(t.target))).details).toMatchObject({ pid: holder });

          process.kill(holder, 'SIGKILL');
          for (let waited = 0; holderState() !== 'Z'; waited += 10) {
            if (waited > 10_000) throw new Error(`the killed holder is in state ${holderState()}, not a zombie`);
            await new Promise((resolve) => setTimeout(resolve, 10));
          }
          expect(() => process.kill(holder, 0)).not.toThrow(); // what made the lock look held
          expect(await readFile(lockFile(dataDirOf(t)), 'utf8')).toBe(String(holder));

          const after = await openDatabase(t.target);
          try {
            expect(await readFile(lockFile(dataDirOf(t)), 'utf8')).toBe(String(process.pid));
            expect((await listGalleries(after)).map((g) => g.name)).toEqual([DEFAULT_GALLERY]);
          } finally {
            await after.close();
          }
        } finally {
          // With its parent gone the zombie passes to init, which reaps it.
          if (holder) {
            try {
              process.kill(holder, 'SIGKILL');
            } catch {
              // already dead
            }
          }
          parent.kill('SIGKILL');
          await parentExited;
          await t.drop();
        }
      });

      it('takes over a stale lock file whose pid is dead', async () => {
        const t = await createTestDatabase('pglite');
        try {
          await t.db.close();
          const dead = spawn(process.execPath, ['-e', '']);
          await new Promise((resolve) => dead.once('exit', resolve));
          await writeFile(lockFile(dataDirOf(t)), String(dead.pid));

          const reopened = await openDatabase(t.target);
          expect(await readFile(lockFile(dataDirOf(t)), 'utf8')).toBe(String(process.pid));
          await reopened.close();
          expect(await readFile(lockFile(dataDirOf(t))).catch(() => 'released')).toBe('released');
        } finally {
          await t.drop();
        }
      });
    });
  }
});
