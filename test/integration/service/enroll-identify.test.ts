/**
 * Enrollment, identification, verification, erasure and calibration on real photos, through the real store: the
 * same suite on PGlite and on PostgreSQL with pgvector.
 */
import { readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/index.js';
import { FacerecError } from '../../../src/errors.js';
import type { Queryable } from '../../../src/store/database.js';
import type { ServiceContext } from '../../../src/service/context.js';
import { addFaces, createPerson, type Photo } from '../../../src/service/enroll.service.js';
import { identify, verify } from '../../../src/service/identify.service.js';
import { importFolder } from '../../../src/service/import.service.js';
import { deletePerson, galleries, showPerson } from '../../../src/service/people.service.js';
import { calibrateGallery } from '../../../src/service/calibrate.service.js';
import { cachedAnalyzer } from '../../helpers/analyzer.js';
import { verifyThresholdOf } from '../../helpers/models.js';
import { rejection } from '../../helpers/errors.js';
import { describeEachDatabase, failingOnFaceInsert, migratedTestDatabase, type TestDatabase } from '../../helpers/databases.js';
import { dataset, HAS_DATASETS, KNN, SKIP_DATASETS_REASON } from '../../helpers/datasets.js';

const BBT = (...p: string[]) => dataset('bbt', ...p);
const TWO_PEOPLE = dataset('face-recognition-examples', 'misc', 'two_people.jpg');
/** The n-th photo (1-based, in file order) of a person in LFW View 1, which holds only some of LFW's photos. */
const LFW = (name: string, n: number): string => {
  const dir = dataset('lfw-view1', 'images', name);
  const file = readdirSync(dir).sort()[n - 1];
  if (!file) throw new Error(`${dir} has fewer than ${n} photos`);
  return `${dir}/${file}`;
};

const photo = async (file: string): Promise<Photo> => ({ bytes: await readFile(file), name: file.split('/').slice(-2).join('/') });

const codeOf = async (promise: Promise<unknown>): Promise<string> => (await rejection(promise)).code;

async function count(db: Queryable, sql: string, params: unknown[] = []): Promise<number> {
  const [row] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${sql}`, params);
  return row!.n;
}

const rowCounts = async (db: Queryable) => ({ people: await count(db, 'people'), faces: await count(db, 'faces') });

if (!HAS_DATASETS) it.skip(`enroll and identify: ${SKIP_DATASETS_REASON}`, () => {});

describeEachDatabase('enroll and identify on real photos', (kind) => {
  if (!HAS_DATASETS) return;
  let test: TestDatabase;
  let ctx: ServiceContext;

  beforeAll(async () => {
    test = await migratedTestDatabase(kind);
    ctx = { db: test.db, analyzer: await cachedAnalyzer(), config: loadConfig({}) };
  });
  afterAll(async () => {
    await test?.drop();
  });

  it('imports the k-NN training folders and names every test photo; re-running adds nothing', { timeout: 600_000 }, async () => {
    const summary = await importFolder(ctx, KNN('train'));
    expect(summary.created).toBe(5);
    expect(summary.enrolled).toBe(9);
    expect(summary.rejected).toBe(0);

    const expected: Record<string, string[]> = {
      'alex_lacamoire1.jpg': ['alex_lacamoire'],
      'johnsnow_test1.jpg': ['kit_harington'],
      'kit_with_rose.jpg': ['kit_harington', 'rose_leslie'],
      'obama1.jpg': ['obama'],
      // With the girl at the lower right (looking down, never enrolled), whom the detector finds since issue 15.
      'obama_and_biden.jpg': ['Unknown', 'biden', 'obama'],
    };
    for (const [file, names] of Object.entries(expected)) {
      const result = await identify(ctx, await readFile(KNN('test', file)));
      expect(result.faces.map((f) => f.label).sort(), file).toEqual(names);
      for (const face of result.faces.filter((f) => f.label !== 'Unknown')) {
        expect(face.outcome).toBe('match');
        expect(face.distance).toBeLessThanOrEqual(result.threshold);
        expect(face.person?.name).toBe(face.label);
        expect(face.confidence).toBeGreaterThan(0.5);
        expect(face.candidates[0]?.person.name).toBe(face.label);
      }
    }

    const again = await importFolder(ctx, KNN('train'));
    expect(again).toMatchObject({ created: 0, enrolled: 0, alreadyEnrolled: 9, rejected: 0 });
    expect(await rowCounts(test.db)).toEqual({ people: 5, faces: 9 });
  });

  it('says Unknown for people never enrolled', async () => {
    for (const file of [LFW('Aaron_Peirsol', 1), LFW('Serena_Williams', 1), BBT('identities', 'penny', 'penny1.png')]) {
      const { faces } = await identify(ctx, await readFile(file));
      expect(faces).toHaveLength(1);
      expect(faces[0]).toMatchObject({ outcome: 'unknown', label: 'Unknown', person: null });
      expect(faces[0]!.distance).toBeGreaterThan(verifyThresholdOf(ctx));
    }
  });

  it(
    'enrolls the BBT characters from three photos each and names their other photos, and never a person twice in a group',
    { timeout: 900_000 },
    async () => {
      const bbt = await galleries.create(ctx, 'bbt');
      const people = ['amy', 'bernadette', 'howard', 'leonard', 'penny', 'raj', 'sheldon', 'stuart'];
      for (const name of people) {
        const photos = await Promise.all([1, 2, 3].map((i) => photo(BBT('identities', name, `${name}${i}.png`))));
        const result = await createPerson(ctx, { gallery: bbt.name, name }, photos);
        expect(result.faces).toHaveLength(3);
        expect(result.person.faceCount).toBe(3);
      }
      let named = 0;
      for (const name of people) {
        for (const i of [4, 5]) {
          const bytes = await readFile(BBT('identities', name, `${name}${i}.png`));
          const result = await identify(ctx, bytes, { gallery: 'bbt' }).catch((err: FacerecError) => err);
          // stuart4 and stuart5 are tight, tilted crops in which the detector finds no face.
          if (result instanceof FacerecError) {
            expect(result.code).toBe('NO_FACE');
            continue;
          }
          // At the gallery's threshold (1% of strangers named in a gallery of 24 faces) a hard photo may be Unknown,
          // never someone else.
          const label = result.faces[0]?.label;
          expect([name, 'Unknown'], `${name}${i}: ${label}`).toContain(label);
          if (label === name) named++;
        }
      }
      // 13 of 14: leonard5 is 0.541 from Leonard, over this gallery's 0.512 (it was named at the fixed 0.59).
      expect(named).toBeGreaterThanOrEqual(13);

      // The k-NN people are in the default gallery, not this one.
      const obama = await identify(ctx, await readFile(KNN('test', 'obama1.jpg')), { gallery: 'bbt' });
      expect(obama.faces[0]?.label).toBe('Unknown');

      for (const group of ['bbt1.jpg', 'bbt2.jpg', 'bbt3.jpg', 'bbt4.jpg', 'bbt5.jpg']) {
        const { faces } = await identify(ctx, await readFile(BBT('group', group)), { gallery: 'bbt' });
        const names = faces.filter((f) => f.outcome === 'match').map((f) => f.label);
        expect(faces.length, group).toBeGreaterThanOrEqual(2);
        expect(new Set(names).size, `${group}: ${names.join(', ')}`).toBe(names.length);
        expect(names.length, group).toBeGreaterThanOrEqual(2);
      }
    },
  );

  it('rejects unusable photos with a reason each, and by default stores nothing', async () => {
    const before = await rowCounts(test.db);
    const cases: Array<[string, string]> = [
      [dataset('dlib-examples', 'no-face', 'mmod_cars_test_image.jpg'), 'NO_FACE'],
      [TWO_PEOPLE, 'MULTIPLE_FACES'],
      [dataset('image-formats', 'corrupted.png'), 'UNSUPPORTED_IMAGE'],
      [dataset('image-formats', 'truncated.jpg'), 'UNSUPPORTED_IMAGE'],
    ];
    for (const [file, code] of cases) {
      expect(await codeOf(createPerson(ctx, { name: 'Nobody' }, [await photo(file)])), file).toBe(code);
    }
    // One bad photo among good ones fails the call: the good ones are not stored either.
    const err = await createPerson(ctx, { name: 'Joe' }, [
      await photo(KNN('train', 'biden', 'biden.jpg')),
      await photo(cases[0]![0]),
    ]).catch((e: FacerecError) => e);
    expect(err).toBeInstanceOf(FacerecError);
    expect((err as FacerecError).code).toBe('NO_FACE');
    expect((err as FacerecError).details.rejected).toEqual([expect.objectContaining({ index: 1, code: 'NO_FACE' })]);
    expect(await rowCounts(test.db)).toEqual(before);
  });

  it('skips rejected photos on request, and takes the largest face on request', async () => {
    const skipped = await createPerson(
      ctx,
      { name: 'Skip' },
      [await photo(LFW('Aaron_Peirsol', 2)), await photo(dataset('dlib-examples', 'no-face', 'mmod_cars_test_image.jpg'))],
      {
        onReject: 'skip',
      },
    );
    expect(skipped.faces.map((f) => f.index)).toEqual([0]);
    expect(skipped.rejected).toEqual([expect.objectContaining({ index: 1, code: 'NO_FACE' })]);

    const group = await photo(TWO_PEOPLE);
    // Its largest face is Biden, enrolled already (distance 0.084): a second person on purpose (DUPLICATE_PERSON otherwise).
    expect(await codeOf(createPerson(ctx, { name: 'Largest' }, [group], { largestFace: true }))).toBe('DUPLICATE_PERSON');
    const largest = await createPerson(ctx, { name: 'Largest' }, [group], { largestFace: true, allowDuplicatePerson: true });
    expect(largest.faces).toHaveLength(1);
    await deletePerson(ctx, largest.person.id);
    await deletePerson(ctx, skipped.person.id);
  });

  it('refuses the same photo twice, and a photo of someone else (unless forced)', async () => {
    const obama = (await showPerson(ctx, 'obama')).id;
    const again = await photo(KNN('train', 'obama', 'obama.jpg'));
    expect(await codeOf(addFaces(ctx, obama, [again]))).toBe('DUPLICATE_IMAGE');

    const twice = await photo(KNN('test', 'obama1.jpg'));
    const err = await addFaces(ctx, obama, [twice, twice]).catch((e: FacerecError) => e);
    expect((err as FacerecError).details.rejected).toEqual([expect.objectContaining({ index: 1, code: 'DUPLICATE_IMAGE' })]);

    const biden = await photo(KNN('train', 'biden', 'biden2.jpg'));
    const wrong = await addFaces(ctx, obama, [biden]).catch((e: FacerecError) => e);
    expect((wrong as FacerecError).code).toBe('INCONSISTENT_IDENTITY');
    expect(((wrong as FacerecError).details.rejected as Array<{ details: { distance: number } }>)[0]!.details.distance).toBeGreaterThan(
      verifyThresholdOf(ctx),
    );

    // Two photos of different people for a new person: neither can vouch for the other.
    const mixed = await createPerson(ctx, { name: 'Mixed' }, [
      await photo(KNN('train', 'rose_leslie', 'img1.jpg')),
      await photo(KNN('train', 'alex_lacamoire', 'img1.jpg')),
    ]).catch((e: FacerecError) => e);
    expect((mixed as FacerecError).code).toBe('INCONSISTENT_IDENTITY');

    // biden2.jpg is enrolled as biden: forcing past the consistency guard is not enough, the same face under a second
    // name needs its own override (DUPLICATE_PERSON).
    expect(await codeOf(addFaces(ctx, obama, [biden], { force: true }))).toBe('DUPLICATE_PERSON');
    const forced = await addFaces(ctx, obama, [biden], { force: true, allowDuplicatePerson: true });
    expect(forced.faces).toHaveLength(1);
    // It also matches another enrolled person, which is worth a warning.
    expect(forced.faces[0]!.warnings).toEqual([
      expect.objectContaining({ code: 'POSSIBLE_DUPLICATE_PERSON', person: expect.objectContaining({ name: 'biden' }) }),
    ]);
    await test.db.query('DELETE FROM faces WHERE id = $1', [forced.faces[0]!.face.id]);
  });

  it('warns when a new person looks like someone already enrolled; two such people make a face ambiguous', async () => {
    const photos = [await photo(KNN('train', 'obama', 'obama.jpg')), await photo(KNN('train', 'obama', 'obama2.jpg'))];
    // The very photos obama was enrolled from: refused under a second name unless the admin means it.
    expect(await createPerson(ctx, { name: 'Barack' }, photos).catch((e: FacerecError) => e.code)).toBe('DUPLICATE_PERSON');
    const result = await createPerson(ctx, { name: 'Barack' }, photos, { allowDuplicatePerson: true });
    for (const face of result.faces) {
      expect(face.warnings).toEqual([
        expect.objectContaining({ code: 'POSSIBLE_DUPLICATE_PERSON', person: expect.objectContaining({ name: 'obama' }) }),
      ]);
    }
    // The same faces under two names: no one can be named, both are listed.
    const { faces } = await identify(ctx, await readFile(KNN('test', 'obama1.jpg')));
    expect(faces[0]).toMatchObject({ outcome: 'ambiguous', label: 'Unknown', person: null });
    expect(
      faces[0]!.candidates
        .map((c) => c.person.name)
        .slice(0, 2)
        .sort(),
    ).toEqual(['Barack', 'obama']);
    await deletePerson(ctx, result.person.id);
    expect((await identify(ctx, await readFile(KNN('test', 'obama1.jpg')))).faces[0]!.label).toBe('obama');
  });

  it('verifies a photo against one person', async () => {
    const bytes = await readFile(KNN('test', 'obama1.jpg'));
    const yes = await verify(ctx, bytes, 'obama');
    expect(yes).toMatchObject({ match: true, threshold: verifyThresholdOf(ctx), person: { name: 'obama' } });
    expect(yes.distance).toBeLessThan(0.5);
    const no = await verify(ctx, bytes, 'biden');
    expect(no.match).toBe(false);
    expect(no.distance).toBeGreaterThan(verifyThresholdOf(ctx));
    expect(await codeOf(verify(ctx, bytes, 'Nobody Enrolled'))).toBe('PERSON_NOT_FOUND');
    expect(await codeOf(verify(ctx, bytes, '00000000-0000-4000-8000-000000000000'))).toBe('PERSON_NOT_FOUND');
  });

  it('leaves no row behind when enrollment fails midway', async () => {
    const before = await rowCounts(test.db);
    const broken = { ...ctx, db: failingOnFaceInsert(test.db, 2) };
    const photos = [await photo(LFW('Serena_Williams', 1)), await photo(LFW('Serena_Williams', 2))];
    await expect(createPerson(broken, { name: 'Serena' }, photos)).rejects.toThrow('injected failure');
    expect(await rowCounts(test.db)).toEqual(before);
    expect(await count(test.db, 'people WHERE name = $1', ['Serena'])).toBe(0);
  });

  it('loses and duplicates nothing under 20 concurrent enrollments and identifications', { timeout: 300_000 }, async () => {
    const before = await rowCounts(test.db);
    const names = [
      'Aaron_Sorkin',
      'Serena_Williams',
      'Colin_Powell',
      'George_W_Bush',
      'Tony_Blair',
      'Gerhard_Schroeder',
      'AJ_Cook',
      'Abdullah_Gul',
      'Donald_Rumsfeld',
      'Jean_Chretien',
    ];
    const photos = await Promise.all(names.map((n) => photo(LFW(n, 1))));
    const probe = await readFile(KNN('test', 'obama_and_biden.jpg'));
    const results = await Promise.all([
      ...names.map((name, i) => createPerson(ctx, { name, externalId: `lfw-${i}` }, [photos[i]!])),
      ...names.map(() => identify(ctx, probe)),
    ]);
    expect(results.slice(0, 10).every((r) => 'person' in r && r.faces.length === 1)).toBe(true);
    expect(await rowCounts(test.db)).toEqual({ people: before.people + 10, faces: before.faces + 10 });
    for (const r of results.slice(10))
      expect('threshold' in r && r.faces.map((f) => f.label).sort()).toEqual(['Unknown', 'biden', 'obama']);

    // The same new photo for one person from 5 callers at once: stored once.
    const serena = (await showPerson(ctx, 'lfw-1')).id;
    const extra = await photo(LFW('Serena_Williams', 2));
    const settled = await Promise.allSettled(Array.from({ length: 5 }, () => addFaces(ctx, serena, [extra])));
    expect(settled.filter((s) => s.status === 'fulfilled')).toHaveLength(1);
    for (const s of settled) if (s.status === 'rejected') expect((s.reason as FacerecError).code).toBe('DUPLICATE_IMAGE');
    expect(await count(test.db, 'faces WHERE person_id = $1', [serena])).toBe(2);
  });

  it('calibrates the threshold on the gallery', async () => {
    const report = await calibrateGallery(ctx, { far: 0.01 });
    expect(report.genuine.length).toBeGreaterThan(0);
    expect(report.impostor.length).toBeGreaterThan(report.genuine.length);
    expect(report.threshold).toBeGreaterThan(0.3);
    expect(report.threshold).toBeLessThan(0.8);
    expect(report.achievedFar).toBeLessThanOrEqual(0.01);
    expect(report.tar).toBeGreaterThan(0.5);
  });

  it('erases a person completely, after which they are Unknown', async () => {
    const person = await showPerson(ctx, 'biden');
    expect(person.faces.length).toBeGreaterThan(0);
    await deletePerson(ctx, person.id);
    expect(await count(test.db, 'faces WHERE person_id = $1', [person.id])).toBe(0);
    expect(await count(test.db, 'people WHERE id = $1', [person.id])).toBe(0);
    // No descriptor or thumbnail of theirs remains, whatever row it might hide in.
    const faceIds = person.faces.map((f) => f.id);
    expect(await count(test.db, 'faces WHERE id = ANY($1::uuid[])', [faceIds])).toBe(0);
    const { faces } = await identify(ctx, await readFile(KNN('test', 'obama_and_biden.jpg')));
    expect(faces.map((f) => f.label).sort()).toEqual(['Unknown', 'Unknown', 'obama']);
  });
});
