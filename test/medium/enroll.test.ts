/** Enrollment (createPerson, addFaces) on a real database with the fake analyzer: every rule and every rejection. */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Box } from '../../src/core/face.js';
import type { FacerecError } from '../../src/errors.js';
import { detect } from '../../src/service/detect.service.js';
import { AddFacesInput, CreatePersonInput } from '../../src/service/enroll.schema.js';
import { parseInput } from '../../src/service/input.js';
import type { ServiceContext } from '../../src/service/context.js';
import { addFaces, addFacesTo, createPerson, MAX_PHOTOS_PER_CALL, type Rejection } from '../../src/service/enroll.service.js';
import { galleries, showPerson } from '../../src/service/people.service.js';
import { enrollmentJson } from '../../src/service/views.js';
import { describeEachDatabase, failingOnFaceInsert, type DatabaseKind } from '../helpers/databases.js';
import { verifyThresholdOf } from '../helpers/models.js';
import { rejection } from '../helpers/errors.js';
import { fakeAnalyzer, fakePhoto, faceless, groupPhoto, notAnImage, portrait, FAKE_DESCRIPTOR_MODEL_ID } from '../helpers/fake-analyzer.js';
import { asPhoto, codeOf, count, openMedium, rowCounts, uniqueName, withConfig, type Medium } from './harness.js';

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
const rejectedOf = (err: FacerecError): Rejection[] => err.details.rejected as Rejection[];

describeEachDatabase('enrollment', (kind: DatabaseKind) => {
  let m: Medium;
  let ctx: ServiceContext;
  /** A new gallery per test keeps the tests of this file apart. */
  let gallery: string;

  beforeAll(async () => {
    m = await openMedium(kind);
    ctx = m.ctx;
  });
  afterAll(async () => {
    await m?.test.drop();
  });

  const newGallery = async (): Promise<string> => (gallery = (await galleries.create(ctx, uniqueName('enroll'))).name);
  const create = (name: string, photos: Uint8Array[], options = {}, context = ctx) =>
    createPerson(
      context,
      { gallery, name },
      photos.map((bytes, i) => asPhoto(bytes, `${name}-${i + 1}.png`)),
      options,
    );

  it('creates a person with several photos: one face each, with model id, hash, box, quality and thumbnail', async () => {
    await newGallery();
    const photos = await Promise.all([portrait('alice'), portrait('alice'), portrait('alice')]);
    const result = await create('Alice', photos);
    expect(result.created).toBe(true);
    expect(result.rejected).toEqual([]);
    expect(result.person).toMatchObject({ name: 'Alice', faceCount: 3, externalId: null, metadata: {} });
    expect(result.faces.map((f) => f.index)).toEqual([0, 1, 2]);
    expect(result.faces.map((f) => f.file)).toEqual(['Alice-1.png', 'Alice-2.png', 'Alice-3.png']);
    for (const [i, { face, warnings }] of result.faces.entries()) {
      expect(warnings).toEqual([]);
      expect(face).toMatchObject({
        personId: result.person.id,
        modelId: FAKE_DESCRIPTOR_MODEL_ID,
        imageSha256: sha256(photos[i]!),
        hasThumbnail: true,
        box: [10, 10, 120, 144],
      });
      expect(face.quality).toMatchObject({ size: 120, sharpness: 250, yaw: 0, roll: 0 });
    }
    const shown = await showPerson(ctx, result.person.id, gallery);
    expect(shown.faces).toHaveLength(3);
    expect(await count(ctx.db, 'faces WHERE person_id = $1', [result.person.id])).toBe(3);
  });

  it('creates a person without photos, with an external id and metadata, and trims the name', async () => {
    await newGallery();
    const result = await createPerson(ctx, { gallery, name: '  Bob  ', externalId: ' emp-42 ', metadata: { team: 'blue', level: 3 } });
    expect(result).toMatchObject({ created: true, faces: [], rejected: [] });
    expect(result.person).toMatchObject({ name: 'Bob', externalId: 'emp-42', metadata: { team: 'blue', level: 3 }, faceCount: 0 });
    expect((await showPerson(ctx, 'emp-42', gallery)).metadata).toEqual({ team: 'blue', level: 3 });
    // A person without faces takes a first photo without a consistency check against anyone.
    const added = await addFaces(ctx, result.person.id, [asPhoto(await portrait('bob'))]);
    expect(added.created).toBe(false);
    expect(added.person.faceCount).toBe(1);
    expect(Date.parse(added.person.updatedAt)).toBeGreaterThanOrEqual(Date.parse(result.person.updatedAt));
  });

  it('refuses bad names, external ids and photo counts before analysing anything', async () => {
    await newGallery();
    const calls = m.analyzer.calls.length;
    const one = [asPhoto(await portrait('carl'))];
    for (const name of ['', '   ', 'tab\there', 'bell\u0007', 'x'.repeat(201)])
      expect(await codeOf(createPerson(ctx, { gallery, name }, one)), JSON.stringify(name)).toBe('INVALID_ARGUMENT');
    for (const externalId of ['', 'new\nline', 'y'.repeat(201)])
      expect(await codeOf(createPerson(ctx, { gallery, name: 'Carl', externalId }, one))).toBe('INVALID_ARGUMENT');
    const photo = asPhoto(await portrait('carl'));
    const tooMany = Array.from({ length: MAX_PHOTOS_PER_CALL + 1 }, () => photo);
    const err = await rejection(createPerson(ctx, { gallery, name: 'Carl' }, tooMany));
    expect(err).toMatchObject({ code: 'INVALID_ARGUMENT', details: { max: MAX_PHOTOS_PER_CALL, got: MAX_PHOTOS_PER_CALL + 1 } });
    const carl = await createPerson(ctx, { gallery, name: 'Carl', externalId: null });
    expect(carl.person.externalId).toBeNull();
    expect(await codeOf(addFaces(ctx, carl.person.id, []))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(addFaces(ctx, carl.person.id, tooMany))).toBe('INVALID_ARGUMENT');
    expect(m.analyzer.calls.length).toBe(calls);
    expect(await count(ctx.db, 'people WHERE gallery_id = (SELECT id FROM galleries WHERE name = $1)', [gallery])).toBe(1);
  });

  it('rejects each unusable photo with its own code, and stores nothing', async () => {
    await newGallery();
    const before = await rowCounts(ctx.db);
    const cases: Array<[string, Uint8Array, Record<string, unknown>]> = [
      ['NO_FACE', await faceless(), {}],
      ['MULTIPLE_FACES', await groupPhoto(['dora', 'ed']), {}],
      ['FACE_TOO_SMALL', await portrait('dora', { size: 30 }), { size: 30, min: 40 }],
      ['BLURRY', await portrait('dora', { sharpness: 4 }), { sharpness: 4, min: 10 }],
      ['EXTREME_POSE', await portrait('dora', { yaw: 60 }), { yaw: 60, maxYaw: 45 }],
      ['EXTREME_POSE', await portrait('dora', { roll: -50 }), { roll: -50, maxRoll: 45 }],
      ['UNSUPPORTED_IMAGE', notAnImage(), {}],
      ['UNSUPPORTED_IMAGE', new Uint8Array(), {}],
    ];
    for (const [code, bytes, details] of cases) {
      const err = await rejection(create('Dora', [bytes]));
      expect(err.code, code).toBe(code);
      expect(rejectedOf(err)).toEqual([expect.objectContaining({ index: 0, file: 'Dora-1.png', code, message: expect.any(String) })]);
      if (Object.keys(details).length > 0) expect(rejectedOf(err)[0]!.details).toMatchObject(details);
    }
    const group = rejectedOf(await rejection(create('Dora', [await groupPhoto(['dora', 'ed', 'fay'])])))[0]!;
    expect((group.details as { boxes: unknown[] }).boxes).toHaveLength(3);
    // A face unsure enough to be dropped by the detector's minScore is no face at all.
    expect(await codeOf(create('Dora', [await portrait('dora', { score: 0.4 })]))).toBe('NO_FACE');
    expect(await rowCounts(ctx.db)).toEqual(before);
  });

  it('rejects LOW_SCORE and IMAGE_TOO_LARGE as configured, and applies the gates in order', async () => {
    await newGallery();
    const strict = withConfig(ctx, { enrollment: { minScore: 0.8 } });
    const unsure = rejectedOf(await rejection(create('Eve', [await portrait('eve', { score: 0.6 })], {}, strict)))[0]!;
    expect(unsure).toMatchObject({ code: 'LOW_SCORE', details: { score: 0.6, min: 0.8 } });
    // Small and blurry and turned: the size gate speaks first, then score, sharpness, pose.
    expect(await codeOf(create('Eve', [await portrait('eve', { size: 20, sharpness: 1, yaw: 80 })]))).toBe('FACE_TOO_SMALL');
    expect(await codeOf(create('Eve', [await portrait('eve', { score: 0.6, sharpness: 1 })], {}, strict))).toBe('LOW_SCORE');
    expect(await codeOf(create('Eve', [await portrait('eve', { sharpness: 1, yaw: 80 })]))).toBe('BLURRY');
    // The gates are configuration: a looser one lets the same photo in.
    const loose = withConfig(ctx, { enrollment: { maxYaw: 70 } });
    expect((await create('Eve', [await portrait('eve', { yaw: 60 })], {}, loose)).faces).toHaveLength(1);

    const small = { ...ctx, analyzer: fakeAnalyzer({ limits: { maxBytes: 1_000_000, maxPixels: 50_000 } }) };
    const big = rejectedOf(await rejection(create('Eve', [await portrait('eve')], {}, small)))[0]!;
    expect(big).toMatchObject({ code: 'IMAGE_TOO_LARGE', details: { maxPixels: 50_000 } });
  });

  it('holds enrollment to a stricter bar than detection: a face whose landmarks do not outline its box is LOW_SCORE', async () => {
    await newGallery();
    const before = await rowCounts(ctx.db);
    // Detection reports faces whose landmark span is 0.7 or more (or that a second look confirms); enrollment asks 0.8.
    const loose = rejectedOf(await rejection(create('Gus', [await portrait('gus', { landmarkSpan: 0.75 })])))[0]!;
    expect(loose).toMatchObject({ code: 'LOW_SCORE', details: { landmarkSpan: 0.75, min: 0.8 } });
    expect(loose.message).toContain('landmark span');
    expect(await rowCounts(ctx.db)).toEqual(before);
    const lenient = withConfig(ctx, { enrollment: { minLandmarkSpan: 0.7 } });
    expect((await create('Gus', [await portrait('gus', { landmarkSpan: 0.75 })], {}, lenient)).faces).toHaveLength(1);
  });

  it('is atomic: one bad photo among good ones fails the call and stores nothing, and every rejection is listed', async () => {
    await newGallery();
    const before = await rowCounts(ctx.db);
    const good = await Promise.all([portrait('finn'), portrait('finn')]);
    const err = await rejection(create('Finn', [good[0]!, good[1]!, await portrait('finn', { sharpness: 2 })]));
    expect(err.code).toBe('BLURRY');
    expect(err.message).toContain('Finn-3.png');
    expect(rejectedOf(err).map((r) => [r.index, r.code])).toEqual([[2, 'BLURRY']]);

    const several = await rejection(create('Finn', [await faceless(), good[0]!, notAnImage(), await portrait('finn', { size: 12 })]));
    expect(several.code).toBe('NO_FACE');
    expect(rejectedOf(several).map((r) => [r.index, r.code])).toEqual([
      [0, 'NO_FACE'],
      [2, 'UNSUPPORTED_IMAGE'],
      [3, 'FACE_TOO_SMALL'],
    ]);
    expect(several.message).toContain('2 more');

    // Adding to an existing person is atomic too.
    const finn = await create('Finn', good);
    const added = await rejection(addFaces(ctx, finn.person.id, [asPhoto(await portrait('finn')), asPhoto(await faceless())]));
    expect(added.code).toBe('NO_FACE');
    expect((await showPerson(ctx, finn.person.id, gallery)).faceCount).toBe(2);
    expect(await rowCounts(ctx.db)).toEqual({ people: before.people + 1, faces: before.faces + 2 });
  });

  it('leaves no row behind when the database fails midway through the faces', async () => {
    await newGallery();
    const before = await rowCounts(ctx.db);
    const broken = { ...ctx, db: failingOnFaceInsert(ctx.db, 2) };
    await expect(create('Gus', [await portrait('gus'), await portrait('gus')], {}, broken)).rejects.toThrow('injected failure');
    expect(await rowCounts(ctx.db)).toEqual(before);
  });

  it("with onReject 'skip', stores the good photos and lists the rest; with none good it still fails", async () => {
    await newGallery();
    const result = await create(
      'Hana',
      [await faceless(), await portrait('hana'), await portrait('hana', { yaw: 80 }), await portrait('hana')],
      { onReject: 'skip' },
    );
    expect(result.faces.map((f) => f.index)).toEqual([1, 3]);
    expect(result.rejected.map((r) => [r.index, r.code])).toEqual([
      [0, 'NO_FACE'],
      [2, 'EXTREME_POSE'],
    ]);
    expect(result.person.faceCount).toBe(2);
    const before = await rowCounts(ctx.db);
    expect(await codeOf(create('Nobody', [await faceless(), notAnImage()], { onReject: 'skip' }))).toBe('NO_FACE');
    expect(await rowCounts(ctx.db)).toEqual(before);
  });

  it('presents an enrollment as the one JSON the API answers and the CLI prints: faces and reasons by index and file', async () => {
    await newGallery();
    const noThumbnail = withConfig(ctx, { thumbnails: false });
    const result = await create(
      'Ines',
      [await portrait('ines'), await faceless(), await portrait('ines')],
      { onReject: 'skip' },
      noThumbnail,
    );
    const json = enrollmentJson(result);
    expect(json).toEqual({
      person: result.person,
      created: true,
      faces: [0, 2].map((index) => ({
        index,
        file: `Ines-${index + 1}.png`,
        id: expect.any(String),
        box: [10, 10, 120, 144],
        score: expect.any(Number),
        quality: expect.objectContaining({ size: 120 }),
        origin: 'enrolled',
        sightingId: null,
        createdAt: expect.any(String),
        thumbnailUrl: null,
        warnings: [],
      })),
      rejected: [{ index: 1, file: 'Ines-2.png', code: 'NO_FACE', message: expect.any(String) }],
    });
    // Descriptors, hashes and model ids stay inside; a stored thumbnail is named by the API path that serves it.
    expect(JSON.stringify(json)).not.toMatch(/descriptor|imageSha256|modelId|hasThumbnail/);
    const added = enrollmentJson(await addFaces(ctx, result.person.id, [asPhoto(await portrait('ines'))]));
    expect(added).toMatchObject({ created: false, person: { faceCount: 3 }, rejected: [] });
    expect(added.faces).toEqual([expect.objectContaining({ index: 0, thumbnailUrl: `/v1/faces/${added.faces[0]!.id}/thumbnail` })]);
    expect(added.faces[0]).not.toHaveProperty('file');
  });

  it('takes the largest face of a group photo on request', async () => {
    await newGallery();
    const group = await groupPhoto([
      { identity: 'ida', size: 90 },
      { identity: 'jon', size: 160 },
    ]);
    expect(await codeOf(create('Jon', [group]))).toBe('MULTIPLE_FACES');
    const result = await create('Jon', [group], { largestFace: true });
    expect(result.faces[0]!.face.box[2]).toBe(160);
    // It is Jon's face that was stored: another photo of Jon is consistent with it, one of Ida is not.
    expect((await addFaces(ctx, result.person.id, [asPhoto(await portrait('jon'))])).faces).toHaveLength(1);
    expect(await codeOf(addFaces(ctx, result.person.id, [asPhoto(await portrait('ida'))]))).toBe('INCONSISTENT_IDENTITY');
  });

  it('enrolls the face chosen by its box in a group photo, whichever its size; a box where no face is, is NO_FACE', async () => {
    await newGallery();
    const group = await groupPhoto([
      { identity: 'ida', size: 90 },
      { identity: 'jon', size: 160 },
      { identity: 'kim', size: 30 },
    ]);
    // The boxes as the UI gets them, from detect (largest first).
    const boxes = (await detect(ctx, group)).faces.map((f) => f.box);
    const [jonBox, idaBox, kimBox] = boxes as [Box, Box, Box];
    expect(idaBox[2]).toBe(90);
    // Not the largest: Ida's own face, found by a box a few pixels off (a client may round or scale it).
    const nudged: Box = [idaBox[0] + 4, idaBox[1] - 3, idaBox[2] - 6, idaBox[3] + 5];
    const ida = await create('Ida', [group], { faceBoxes: [nudged] });
    expect(ida.faces[0]!.face.box).toEqual(idaBox);
    expect((await addFaces(ctx, ida.person.id, [asPhoto(await portrait('ida'))])).faces).toHaveLength(1);
    expect(await codeOf(addFaces(ctx, ida.person.id, [asPhoto(await portrait('jon'))]))).toBe('INCONSISTENT_IDENTITY');

    // Per photo, by index: null keeps the default rule for its photo (one face here).
    const jon = await create('Jon', [await portrait('jon'), group], { faceBoxes: [null, jonBox] });
    expect(jon.faces.map((f) => f.face.box[2])).toEqual([120, 160]);

    // The chosen face still passes the quality gates.
    const small = rejectedOf(await rejection(create('Kim', [group], { faceBoxes: [kimBox] })))[0]!;
    expect(small).toMatchObject({ index: 0, code: 'FACE_TOO_SMALL' });
    // Empty space, or a box that only grazes a face: no face there, with the boxes that are.
    const nowhere = rejectedOf(await rejection(create('Nobody', [group], { faceBoxes: [[2, 250, 40, 40]] })))[0]!;
    expect(nowhere).toMatchObject({ index: 0, code: 'NO_FACE', details: { box: [2, 250, 40, 40], boxes } });
    expect(nowhere.message).toMatch(/at the chosen box \[2, 250, 40, 40\]/);
    const grazing: Box = [jonBox[0] + jonBox[2] * 0.6, jonBox[1], jonBox[2], jonBox[3]];
    expect(rejectedOf(await rejection(create('Nobody', [group], { faceBoxes: [grazing] })))[0]!.code).toBe('NO_FACE');
    const before = await rowCounts(ctx.db);
    // More boxes than photos, or a box of no size: refused before anything is analysed.
    expect(await codeOf(create('Nobody', [group], { faceBoxes: [null, jonBox] }))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(create('Nobody', [group], { faceBoxes: [[1, 1, 0, 5]] }))).toBe('INVALID_ARGUMENT');
    expect(await rowCounts(ctx.db)).toEqual(before);
  });

  it('reads the face boxes of a form field as JSON, and refuses what is not a list of boxes', () => {
    const parsed = parseInput(CreatePersonInput, { name: 'Ida', faceBoxes: '[[10, 20, 90, 108.5], null]' });
    expect(parsed.faceBoxes).toEqual([[10, 20, 90, 108.5], null]);
    expect(parseInput(AddFacesInput, { faceBoxes: [[1, 2, 3, 4]] }).faceBoxes).toEqual([[1, 2, 3, 4]]);
    for (const faceBoxes of ['[[1, 2, 3]]', '[[1, 2, 3, -4]]', '{"a": 1}', '[[1, 2, 3, 4]', '[["1", 2, 3, 4]]', '[1, 2, 3, 4]']) {
      expect(() => parseInput(CreatePersonInput, { name: 'Ida', faceBoxes }), faceBoxes).toThrow(/faceBoxes/);
    }
    const many = JSON.stringify(Array.from({ length: MAX_PHOTOS_PER_CALL + 1 }, () => null));
    expect(() => parseInput(CreatePersonInput, { name: 'Ida', faceBoxes: many })).toThrow(/faceBoxes/);
  });

  it('refuses the same image twice, in one call or across calls, but not for another person', async () => {
    await newGallery();
    const photo = await portrait('kai');
    const twice = await rejection(create('Kai', [photo, photo]));
    expect(twice.code).toBe('DUPLICATE_IMAGE');
    expect(rejectedOf(twice)).toEqual([expect.objectContaining({ index: 1, code: 'DUPLICATE_IMAGE' })]);
    const skipped = await create('Kai', [photo, photo], { onReject: 'skip' });
    expect(skipped.faces).toHaveLength(1);
    expect(skipped.rejected.map((r) => r.code)).toEqual(['DUPLICATE_IMAGE']);

    const again = await rejection(addFaces(ctx, skipped.person.id, [asPhoto(photo, 'again.png')]));
    expect(again.code).toBe('DUPLICATE_IMAGE');
    expect(rejectedOf(again)).toEqual([expect.objectContaining({ index: 0, file: 'again.png', code: 'DUPLICATE_IMAGE' })]);
    // Even forced: force overrides the identity check, not the duplicate check.
    expect(await codeOf(addFaces(ctx, skipped.person.id, [asPhoto(photo)], { force: true }))).toBe('DUPLICATE_IMAGE');

    // The same photo for a second person is refused (409 over HTTP), naming the person it is enrolled as; nothing is stored.
    const faces = await count(ctx.db, 'faces');
    const refused = await rejection(create('Kai Two', [photo]));
    expect(refused.code).toBe('DUPLICATE_PERSON');
    expect(refused.message).toContain('Kai');
    expect(refused.details).toMatchObject({ person: { id: skipped.person.id, name: 'Kai' }, image: 0, distance: 0 });
    expect(await count(ctx.db, 'faces')).toBe(faces);
    expect(await count(ctx.db, "people WHERE name = 'Kai Two'")).toBe(0);
    // Skipped among other photos, it is listed with the rest of the rejections.
    const mixed = await create('Kai Three', [await portrait('kai'), photo], { onReject: 'skip' });
    expect(mixed.rejected).toEqual([expect.objectContaining({ index: 1, code: 'DUPLICATE_PERSON' })]);
    // Another photo of one who looks like Kai is no copy: enrolled, with a warning that they may be one person.
    expect(mixed.faces[0]!.warnings).toEqual([expect.objectContaining({ code: 'POSSIBLE_DUPLICATE_PERSON' })]);
    // The admin who means it says so: stored, with the warning.
    const allowed = await create('Kai Two', [photo], { allowDuplicatePerson: true });
    expect(allowed.faces[0]!.warnings).toEqual([
      expect.objectContaining({ code: 'POSSIBLE_DUPLICATE_PERSON', person: { id: skipped.person.id, name: 'Kai' }, distance: 0 }),
    ]);
  });

  it('refuses a face that does not look like the person (INCONSISTENT_IDENTITY) unless forced', async () => {
    await newGallery();
    const lea = await create('Lea', [await portrait('lea'), await portrait('lea')]);
    const max = await create('Max', [await portrait('max')]);
    const wrong = await rejection(addFaces(ctx, lea.person.id, [asPhoto(await portrait('max'))]));
    expect(wrong.code).toBe('INCONSISTENT_IDENTITY');
    const distance = (rejectedOf(wrong)[0]!.details as { distance: number; threshold: number }).distance;
    expect(distance).toBeGreaterThan(verifyThresholdOf(ctx));
    expect(rejectedOf(wrong)[0]!.details).toMatchObject({ threshold: verifyThresholdOf(ctx) });

    // The threshold of the check is the configured one.
    const lax = withConfig(ctx, { threshold: 1.5 });
    expect((await addFaces(lax, lea.person.id, [asPhoto(await portrait('max'))])).faces).toHaveLength(1);

    // Forced, it is stored, with a warning naming the person it matches.
    const forced = await addFaces(ctx, lea.person.id, [asPhoto(await portrait('max'))], { force: true });
    expect(forced.faces[0]!.warnings).toEqual([
      expect.objectContaining({ code: 'POSSIBLE_DUPLICATE_PERSON', person: { id: max.person.id, name: 'Max' } }),
    ]);
    expect(forced.person.faceCount).toBe(4);
  });

  it('checks the photos of a new person against each other: the odd one out is rejected, two strangers reject each other', async () => {
    await newGallery();
    const odd = await rejection(create('Nia', [await portrait('nia'), await portrait('nia'), await portrait('oscar')]));
    expect(odd.code).toBe('INCONSISTENT_IDENTITY');
    expect(rejectedOf(odd).map((r) => r.index)).toEqual([2]);
    const mixed = await rejection(create('Nia', [await portrait('nia'), await portrait('oscar')]));
    expect(rejectedOf(mixed).map((r) => [r.index, r.code])).toEqual([
      [0, 'INCONSISTENT_IDENTITY'],
      [1, 'INCONSISTENT_IDENTITY'],
    ]);
    const skipped = await create('Nia', [await portrait('nia'), await portrait('nia'), await portrait('oscar')], { onReject: 'skip' });
    expect(skipped.faces.map((f) => f.index)).toEqual([0, 1]);
    const forced = await create('Nia Forced', [await portrait('nia'), await portrait('oscar')], { force: true });
    expect(forced.faces).toHaveLength(2);
  });

  it('adds to a person only by id and within the gallery named; an unknown gallery is GALLERY_NOT_FOUND', async () => {
    await newGallery();
    const pia = await create('Pia', [await portrait('pia')]);
    const photo = () => portrait('pia').then((b) => [asPhoto(b)]);
    expect(await codeOf(addFaces(ctx, '00000000-0000-4000-8000-000000000000', await photo()))).toBe('PERSON_NOT_FOUND');
    expect(await codeOf(addFaces(ctx, 'Pia', await photo()))).toBe('PERSON_NOT_FOUND');
    expect(await codeOf(addFaces(ctx, pia.person.id, await photo(), {}, 'default'))).toBe('PERSON_NOT_FOUND');
    expect(await codeOf(addFaces(ctx, pia.person.id, await photo(), {}, 'no-such-gallery'))).toBe('GALLERY_NOT_FOUND');
    expect((await addFaces(ctx, pia.person.id, await photo(), {}, gallery.toUpperCase())).faces).toHaveLength(1);
    expect(await codeOf(createPerson(ctx, { gallery: 'no-such-gallery', name: 'Pia' }, await photo()))).toBe('GALLERY_NOT_FOUND');
    expect(await count(ctx.db, 'people WHERE name = $1', ['Pia'])).toBe(1);
  });

  it('adds to a person named by id, external id or name within a gallery (addFacesTo), with the lookup codes', async () => {
    await newGallery();
    const wes = await createPerson(ctx, { gallery, name: 'Wes', externalId: 'w-9' }, [asPhoto(await portrait('wes'))]);
    for (const ref of [wes.person.id, 'w-9', 'wes'])
      expect((await addFacesTo(ctx, ref, [asPhoto(await portrait('wes'))], {}, gallery)).person.id, ref).toBe(wes.person.id);
    expect((await showPerson(ctx, 'Wes', gallery)).faceCount).toBe(4);
    const photo = [asPhoto(await portrait('wes'))];
    expect(await codeOf(addFacesTo(ctx, 'Wes', photo))).toBe('PERSON_NOT_FOUND');
    expect(await codeOf(addFacesTo(ctx, 'Nobody', photo, {}, gallery))).toBe('PERSON_NOT_FOUND');
    expect(await codeOf(addFacesTo(ctx, 'Wes', photo, {}, 'no-such-gallery'))).toBe('GALLERY_NOT_FOUND');
    await createPerson(ctx, { gallery, name: 'WES' });
    expect(await codeOf(addFacesTo(ctx, 'Wes', photo, {}, gallery))).toBe('PERSON_AMBIGUOUS');
    expect(await codeOf(addFacesTo(ctx, 'w-9', [], {}, gallery))).toBe('INVALID_ARGUMENT');
  });

  it('keeps external ids unique per gallery', async () => {
    const first = await newGallery();
    await createPerson(ctx, { gallery, name: 'Quinn', externalId: 'q-1' });
    const taken = await rejection(
      createPerson(ctx, { gallery, name: 'Other Quinn', externalId: 'q-1' }, [asPhoto(await portrait('quinn'))]),
    );
    expect(taken).toMatchObject({ code: 'EXTERNAL_ID_TAKEN', details: { externalId: 'q-1' } });
    expect(await count(ctx.db, 'people WHERE name = $1', ['Other Quinn'])).toBe(0);
    await newGallery();
    expect((await createPerson(ctx, { gallery, name: 'Quinn', externalId: 'q-1' })).person.externalId).toBe('q-1');
    expect(gallery).not.toBe(first);
  });

  it('fails the whole call, not one photo, when the engine fails (overload, unhealthy)', async () => {
    await newGallery();
    const before = await rowCounts(ctx.db);
    for (const code of ['QUEUE_FULL', 'ENGINE_UNHEALTHY'] as const) {
      const err = await rejection(create('Rex', [await portrait('rex'), await fakePhoto({ error: code })], { onReject: 'skip' }));
      expect(err.code).toBe(code);
      expect(err.details.rejected).toBeUndefined();
    }
    expect(await rowCounts(ctx.db)).toEqual(before);
  });

  it('passes the configured detector, minimum score and thumbnail setting to the analyzer, and stores no thumbnail when off', async () => {
    await newGallery();
    const noThumbnails = withConfig(ctx, { thumbnails: false, detector: 'tiny', minScore: 0.3 });
    const result = await create('Sam', [await portrait('sam')], {}, noThumbnails);
    expect(result.faces[0]!.face.hasThumbnail).toBe(false);
    expect(m.analyzer.calls.at(-1)!.options).toMatchObject({ descriptors: true, thumbnails: false, detector: 'tiny', minScore: 0.3 });
    // Found by a lenient detector setting, a face still needs the enrollment gate's score.
    expect(await codeOf(create('Sam', [await portrait('sam', { score: 0.4 })], {}, noThumbnails))).toBe('LOW_SCORE');
  });

  it('binds a gallery to one model: new faces are described with it, whatever model new galleries get', async () => {
    await newGallery();
    const tia = await create('Tia', [await portrait('tia')]);
    expect((await galleries.get(ctx, gallery)).descriptorModel).toBe(FAKE_DESCRIPTOR_MODEL_ID);
    // Configured for another model now: Tia's gallery keeps its own, so her next photo is described with it.
    const analyzer = fakeAnalyzer({ descriptorModelId: 'fake-other-model', otherModels: [FAKE_DESCRIPTOR_MODEL_ID] });
    const added = await addFaces({ ...ctx, analyzer }, tia.person.id, [asPhoto(await portrait('tia'))]);
    expect(added.faces[0]!.face.modelId).toBe(FAKE_DESCRIPTOR_MODEL_ID);
    // A new gallery gets the configured model, from its creation.
    const other = await galleries.create({ ...ctx, analyzer }, uniqueName('other-model'));
    expect(other.descriptorModel).toBe('fake-other-model');
    const uma = await createPerson({ ...ctx, analyzer }, { gallery: other.name, name: 'Uma' }, [asPhoto(await portrait('uma'))]);
    expect(uma.faces[0]!.face.modelId).toBe('fake-other-model');
    // Without the gallery's model, nothing is described or stored.
    const missing = { ...ctx, analyzer: fakeAnalyzer({ descriptorModelId: 'fake-other-model' }) };
    expect(await codeOf(addFaces(missing, tia.person.id, [asPhoto(await portrait('tia'))]))).toBe('UNKNOWN_MODEL');
    expect(await count(ctx.db, 'faces WHERE person_id = $1', [tia.person.id])).toBe(2);
  });

  it('serialises concurrent enrollments of the same new photo for one person: stored once', async () => {
    await newGallery();
    const vic = await create('Vic', [await portrait('vic')]);
    const extra = asPhoto(await portrait('vic'));
    const settled = await Promise.allSettled(Array.from({ length: 4 }, () => addFaces(ctx, vic.person.id, [extra])));
    expect(settled.filter((s) => s.status === 'fulfilled')).toHaveLength(1);
    for (const s of settled) if (s.status === 'rejected') expect((s.reason as FacerecError).code).toBe('DUPLICATE_IMAGE');
    expect(await count(ctx.db, 'faces WHERE person_id = $1', [vic.person.id])).toBe(2);
  });
});
