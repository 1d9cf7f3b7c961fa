/** Bulk import of DIR/<person>/<photos> on a real database with the fake analyzer. */
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ServiceContext } from '../../src/service/context.js';
import { createPerson } from '../../src/service/enroll.service.js';
import { countImport, importFolder, type ImportedPerson } from '../../src/service/import.service.js';
import { galleries, showPerson } from '../../src/service/people.service.js';
import { describeEachDatabase, type DatabaseKind } from '../helpers/databases.js';
import { rejection } from '../helpers/errors.js';
import { fakeAnalyzer, faceless, notAnImage, portrait } from '../helpers/fake-analyzer.js';
import { asPhoto, codeOf, openMedium, uniqueName, type Medium } from './harness.js';

/** Writes a tree of files: { 'alice/1.png': bytes, ... } under a new directory. */
async function tree(root: string, files: Record<string, Uint8Array | string>): Promise<string> {
  const dir = await mkdtemp(path.join(root, 'import-'));
  for (const [file, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, file)), { recursive: true });
    await writeFile(path.join(dir, file), content);
  }
  return dir;
}

describeEachDatabase('import', (kind: DatabaseKind) => {
  let m: Medium;
  let ctx: ServiceContext;
  let tmp: string;

  beforeAll(async () => {
    m = await openMedium(kind);
    ctx = m.ctx;
    tmp = await mkdtemp(path.join(os.tmpdir(), 'facerec-medium-import-'));
  });
  afterAll(async () => {
    await m?.test.drop();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  const newGallery = async (): Promise<string> => (await galleries.create(ctx, uniqueName('import'))).name;

  it('finds a person again by a folder name in another Unicode form (macOS gives names decomposed)', async () => {
    const gallery = await newGallery();
    const decomposed = 'Jose\u0301';
    const first = await importFolder(ctx, await tree(tmp, { [`${decomposed}/1.png`]: await portrait('jose') }), { gallery });
    expect(first.people[0]).toMatchObject({ person: { name: 'Jos\u00e9', created: true }, enrolled: 1 });
    const again = await importFolder(ctx, await tree(tmp, { [`${decomposed}/2.png`]: await portrait('jose') }), { gallery });
    expect(again.people[0]).toMatchObject({ person: { id: first.people[0]!.person!.id, created: false }, enrolled: 1 });
    expect(again.created).toBe(0);
  });

  it('creates one person per folder, enrolls the photos, skips other files, and reports rejections per folder', async () => {
    const gallery = await newGallery();
    const dir = await tree(tmp, {
      'alice/1.png': await portrait('alice'),
      'alice/2.jpg': await portrait('alice'),
      'alice/notes.txt': 'not a photo',
      'bob/a.png': await portrait('bob'),
      'bob/cars.png': await faceless(),
      'bob/.DS_Store': 'junk',
      '.hidden/x.png': await portrait('hidden'),
      'empty/readme.md': 'no photos here',
      'top-level.png': await portrait('nobody'),
    });
    expect(await countImport(dir)).toEqual({ people: 2, photos: 4 });
    const progress: Array<[string, number]> = [];
    const summary = await importFolder(ctx, dir, { gallery, concurrency: 1, onPerson: (p, done) => progress.push([p.folder, done]) });
    expect(summary).toMatchObject({ created: 2, enrolled: 3, alreadyEnrolled: 0, rejected: 1, rejectedByCode: { NO_FACE: 1 } });
    expect(summary.people.map((p) => p.folder)).toEqual(['alice', 'bob']);
    expect(summary.people[0]).toMatchObject({ person: { name: 'alice', created: true }, enrolled: 2, rejected: [] });
    expect(summary.people[1]).toMatchObject({ person: { name: 'bob', created: true }, enrolled: 1 });
    expect(summary.people[1]!.rejected).toEqual([expect.objectContaining({ code: 'NO_FACE', file: path.join('bob', 'cars.png') })]);
    expect(progress).toEqual([
      ['alice', 2],
      ['bob', 4],
    ]);
    expect((await showPerson(ctx, 'alice', gallery)).faceCount).toBe(2);
    expect(await codeOf(showPerson(ctx, 'hidden', gallery))).toBe('PERSON_NOT_FOUND');

    // Again: photos already enrolled are recognised by hash and not analysed again; only the rejected one is.
    const calls = m.analyzer.calls.length;
    const again = await importFolder(ctx, dir, { gallery });
    expect(again).toMatchObject({ created: 0, enrolled: 0, alreadyEnrolled: 3, rejected: 1 });
    expect(again.people[0]).toMatchObject({ person: { name: 'alice', created: false }, enrolled: 0, alreadyEnrolled: 2 });
    expect(m.analyzer.calls.length - calls).toBe(1);

    // A new photo in a folder is added to the person it names.
    await writeFile(path.join(dir, 'alice', '3.png'), await portrait('alice'));
    const more = await importFolder(ctx, dir, { gallery });
    expect(more).toMatchObject({ created: 0, enrolled: 1, alreadyEnrolled: 3 });
    expect((await showPerson(ctx, 'alice', gallery)).faceCount).toBe(3);
  });

  it('adds to a person already enrolled under the folder name (any case), and follows symbolic links', async () => {
    const gallery = await newGallery();
    const existing = await createPerson(ctx, { gallery, name: 'Carol' }, [asPhoto(await portrait('carol'))]);
    const source = await tree(tmp, { 'carol.png': await portrait('carol') });
    const dir = await tree(tmp, {});
    await mkdir(path.join(dir, 'carol'));
    await symlink(path.join(source, 'carol.png'), path.join(dir, 'carol', 'linked.png'));
    // A dangling link is neither a photo nor a person's folder.
    await symlink(path.join(source, 'gone.png'), path.join(dir, 'carol', 'dangling.png'));
    await symlink(path.join(source, 'gone'), path.join(dir, 'dangling-person'));
    expect(await countImport(dir)).toEqual({ people: 1, photos: 1 });
    const summary = await importFolder(ctx, dir, { gallery });
    expect(summary.people[0]).toMatchObject({ person: { id: existing.person.id, name: 'Carol', created: false }, enrolled: 1 });
    expect(summary.created).toBe(0);
  });

  it('skips odd photos within a folder, takes the largest face or forces only when asked, and reports a folder with nothing usable', async () => {
    const gallery = await newGallery();
    const dir = await tree(tmp, {
      'dan/1.png': await portrait('dan'),
      'dan/2.png': await portrait('dan'),
      'dan/3-eve.png': await portrait('eve'),
      'dan/4-broken.png': notAnImage(),
      'nobody/1.png': await faceless(),
      'nobody/2.png': await portrait('nobody', { size: 10 }),
    });
    const summary = await importFolder(ctx, dir, { gallery });
    expect(summary).toMatchObject({
      created: 1,
      enrolled: 2,
      rejected: 4,
      rejectedByCode: { INCONSISTENT_IDENTITY: 1, UNSUPPORTED_IMAGE: 1, NO_FACE: 1, FACE_TOO_SMALL: 1 },
    });
    const [dan, nobody] = summary.people as [ImportedPerson, ImportedPerson];
    expect(dan.rejected.map((r) => [r.file, r.code])).toEqual([
      [path.join('dan', '3-eve.png'), 'INCONSISTENT_IDENTITY'],
      [path.join('dan', '4-broken.png'), 'UNSUPPORTED_IMAGE'],
    ]);
    expect(nobody.person).toBeUndefined();
    expect(nobody.enrolled).toBe(0);
    expect(nobody.error?.code).toBe('NO_FACE');
    expect(nobody.rejected.map((r) => r.code)).toEqual(['NO_FACE', 'FACE_TOO_SMALL']);
    expect(await codeOf(showPerson(ctx, 'nobody', gallery))).toBe('PERSON_NOT_FOUND');

    const forced = await importFolder(ctx, dir, { gallery, force: true });
    expect(forced.people[0]).toMatchObject({ enrolled: 1, alreadyEnrolled: 2 });
    expect((await showPerson(ctx, 'dan', gallery)).faceCount).toBe(3);
  });

  it('enrolls a folder of more than 20 photos in batches, as one person', async () => {
    const gallery = await newGallery();
    const files: Record<string, Uint8Array> = {};
    for (let i = 0; i < 23; i++) files[`fay/${String(i).padStart(2, '0')}.png`] = await portrait('fay');
    files['fay/21.png'] = await faceless();
    const summary = await importFolder(ctx, await tree(tmp, files), { gallery });
    expect(summary).toMatchObject({ created: 1, enrolled: 22, rejected: 1 });
    // The index counts from the folder's first photo to import, across batches.
    expect(summary.people[0]!.rejected).toEqual([
      expect.objectContaining({ index: 21, file: path.join('fay', '21.png'), code: 'NO_FACE' }),
    ]);
    expect((await showPerson(ctx, 'fay', gallery)).faceCount).toBe(22);
  });

  it('reports a folder whose name several people share, and carries on with the others', async () => {
    const gallery = await newGallery();
    await createPerson(ctx, { gallery, name: 'Gus' });
    await createPerson(ctx, { gallery, name: 'gus' });
    const dir = await tree(tmp, { 'gus/1.png': await portrait('gus'), 'hal/1.png': await portrait('hal') });
    const summary = await importFolder(ctx, dir, { gallery });
    expect(summary.people[0]).toMatchObject({ folder: 'gus', enrolled: 0, error: { code: 'PERSON_AMBIGUOUS' } });
    expect(summary.people[1]).toMatchObject({ folder: 'hal', enrolled: 1, person: { created: true } });
  });

  it('refuses a missing folder, a folder without person folders, and an unknown gallery', async () => {
    const missing = await rejection(importFolder(ctx, path.join(tmp, 'no-such-dir')));
    expect(missing).toMatchObject({ code: 'FILE_NOT_FOUND', details: { path: path.join(tmp, 'no-such-dir') } });
    expect(await codeOf(countImport(path.join(tmp, 'no-such-dir')))).toBe('FILE_NOT_FOUND');
    const flat = await tree(tmp, { 'photo.png': await portrait('ivy'), 'empty/notes.txt': 'x' });
    expect(await codeOf(importFolder(ctx, flat))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(importFolder(ctx, flat, { gallery: 'no-such-gallery' }))).toBe('GALLERY_NOT_FOUND');
  });

  it('stops at once when the engine is closed, instead of reporting it folder by folder', async () => {
    const gallery = await newGallery();
    const analyzer = fakeAnalyzer();
    await analyzer.close();
    const dir = await tree(tmp, { 'jo/1.png': await portrait('jo'), 'kai/1.png': await portrait('kai') });
    expect(await codeOf(importFolder({ ...ctx, analyzer }, dir, { gallery }))).toBe('POOL_CLOSED');
    expect((await galleries.get(ctx, gallery)).people).toBe(0);
  });
});
