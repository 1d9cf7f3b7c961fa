/**
 * The learning commands of `facerec` in this process on a real database (src/cli/learning-commands.ts): confirm a
 * sighting, set a gallery's learning, list and remove learned faces, and their refusals. The sightings are made by the
 * service with the fake analyzer under the default model's id (so that the command, which loads no engine, knows the
 * gallery's model card and impostor model).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createPerson } from '../../src/service/enroll.service.js';
import { identify } from '../../src/service/identify.service.js';
import { setGalleryLearning } from '../../src/service/learning.service.js';
import { galleries } from '../../src/service/people.service.js';
import { setGallerySightings } from '../../src/service/sightings.service.js';
import { runFacerecInProcess, type Run } from '../helpers/cli.js';
import { describeEachDatabase, type DatabaseKind } from '../helpers/databases.js';
import { portrait } from '../helpers/fake-analyzer.js';
import { asPhoto, openMedium, type Medium } from './harness.js';

const ENV = { FACEREC_WORKERS: '1' };
// The shipped default model (models/descriptors/face-api-128.json): its card and impostor model come with facerec.
const DEFAULT_MODEL_ID = 'dlib-resnet-v1@face-api-1.7.15/chip150p25+mirror';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- parsed CLI output, checked by the assertions
const json = (run: Run): any => {
  expect(run.stderr, run.stderr).toBe('');
  expect(run.code).toBe(0);
  return JSON.parse(run.stdout);
};

describeEachDatabase('facerec learning commands', (kind: DatabaseKind) => {
  let m: Medium;
  let db: string;
  const sightings: string[] = [];
  const facerec = (...args: string[]) => runFacerecInProcess([...args, '--db', db], ENV);

  beforeAll(async () => {
    m = await openMedium(kind, { descriptorModelId: DEFAULT_MODEL_ID });
    await galleries.create(m.ctx, 'home');
    await setGallerySightings(m.ctx, 'home', 'all');
    await createPerson(m.ctx, { gallery: 'home', name: 'ann' }, [asPhoto(await portrait('ann', { drift: 0 }))]);
    await setGalleryLearning(m.ctx, 'home', 'certain');
    for (let i = 0; i < 2; i++)
      sightings.push((await identify(m.ctx, await portrait('ann', { drift: 0.35 }), { gallery: 'home' })).faces[0]!.sightingId!);
    await setGalleryLearning(m.ctx, 'home', 'off');
    sightings.push((await identify(m.ctx, await portrait('ann', { drift: 0.4 }), { gallery: 'home' })).faces[0]!.sightingId!);
    if (kind === 'pglite') await m.test.db.close();
    const target = m.test.target;
    if ('memory' in target) throw new Error('the command needs a database it can open itself');
    db = 'url' in target ? target.url : target.dataDir;
  });
  afterAll(async () => {
    await m?.test.drop();
  });

  it('confirms, sets learning, lists and removes, and refuses with its exit codes', async () => {
    const confirmed = json(await facerec('sightings', 'confirm', sightings[2]!, '--person', 'ann', '--json'));
    expect(confirmed.template).toMatchObject({ added: true, reason: 'added' });
    expect(confirmed.sighting).toMatchObject({ id: sightings[2], labelledBy: 'user', labelledByKey: 'cli' });
    expect((await facerec('sightings', 'confirm', sightings[2]!)).stdout).toMatch(/is ann .*a template already/);

    expect(json(await facerec('galleries', 'learn', 'home', 'certain', '--json')).learn).toBe('certain');
    expect((await facerec('galleries', 'learn', 'home', 'off')).stdout).toMatch(/only when you confirm/);
    expect((await facerec('galleries', 'learn', 'home', 'always')).code).toBe(2);

    const listed = json(await facerec('learned', '-g', 'home', '--json'));
    expect(listed.total).toBe(2);
    expect(listed.faces.map((f: { sightingId: string }) => f.sightingId).sort()).toEqual(sightings.slice(0, 2).sort());
    expect(json(await facerec('learned', 'list', '-g', 'home', '--origin', 'any', '--person', 'ann', '--json')).total).toBe(3);
    expect((await facerec('people', 'show', 'ann', '-g', 'home')).stdout).toMatch(/learned from sighting/);

    const one = json(await facerec('learned', 'remove', listed.faces[0].id, '-g', 'home', '--json'));
    expect(one.deleted.id).toBe(listed.faces[0].id);
    expect(json(await facerec('learned', 'remove', '--person', 'ann', '-g', 'home', '--json')).deleted).toBe(1);
    expect((await facerec('learned', 'remove', '--all', '-g', 'home', '--origin', 'any')).stdout).toMatch(
      /^removed 1 confirmed or learned/,
    );

    const refusals: Array<[string[], number, RegExp]> = [
      [['learned', 'remove', '-g', 'home'], 2, /^facerec: INVALID_ARGUMENT: Give one of/],
      [['learned', 'remove', listed.faces[0].id, '--all', '-g', 'home'], 2, /^facerec: INVALID_ARGUMENT: /],
      [['learned', 'remove', listed.faces[0].id, '-g', 'home'], 8, /^facerec: FACE_NOT_FOUND: /],
      [['sightings', 'confirm', '00000000-0000-4000-8000-000000000000'], 8, /^facerec: SIGHTING_NOT_FOUND: /],
      [['sightings', 'confirm', sightings[0]!, '--person', 'nobody'], 8, /^facerec: PERSON_NOT_FOUND: /],
    ];
    for (const [args, code, line] of refusals) {
      const run = await facerec(...args);
      expect([args.join(' '), run.code, run.stdout]).toEqual([args.join(' '), code, '']);
      expect(run.stderr).toMatch(line);
    }
  });
});
