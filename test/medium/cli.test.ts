/**
 * The `facerec` command in this process (src/cli/program.ts, as src/cli/main.ts runs it) on a real database: how its
 * commands parse their options with the use cases' schemas, what they print, and their exit codes. Only what needs no
 * engine runs here (people, galleries, keys, and every refusal that comes before a photo is analysed); people are
 * enrolled through the service with the fake analyzer. test/e2e/cli*.test.ts start the real process for the rest.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPerson } from '../../src/service/enroll.service.js';
import { runFacerecInProcess, type Run } from '../helpers/cli.js';
import { describeEachDatabase, type DatabaseKind } from '../helpers/databases.js';
import { faceless, portrait } from '../helpers/fake-analyzer.js';
import { asPhoto, openMedium, type Medium } from './harness.js';

// The configuration of an empty environment: nothing of the machine's FACEREC_* or DATABASE_URL leaks in.
const ENV = { FACEREC_WORKERS: '1' };

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- parsed CLI output, checked by the assertions
const json = (run: Run): any => {
  expect(run.stderr, run.stderr).toBe('');
  expect(run.code).toBe(0);
  return JSON.parse(run.stdout);
};

/** A refusal: its exit code, and one line on stderr with the code (and nothing on stdout). */
const refused = (run: Run, exitCode: number, line: RegExp): void => {
  expect(run.code, run.stderr).toBe(exitCode);
  expect(run.stdout).toBe('');
  expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(run.stderr).toMatch(line);
};

let tmp: string;
let photo: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'facerec-medium-cli-'));
  photo = path.join(tmp, 'faceless.png');
  await writeFile(photo, await faceless());
});
afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe('facerec, before any database or photo', () => {
  const facerec = (...args: string[]) => runFacerecInProcess(args, ENV);

  it('a bad FACEREC_* variable is one line on stderr and exit 2, not a stack trace', async () => {
    refused(await runFacerecInProcess(['info'], { FACEREC_WORKERS: 'many' }), 2, /^facerec: INVALID_CONFIG: .*FACEREC_WORKERS/);
  });

  it('takes numbers in flags as plain decimals only', async () => {
    for (const value of ['0x1', '1e-1', 'Infinity', ' 1', ''])
      refused(await facerec('detect', photo, '--min-score', value), 2, /^facerec: INVALID_ARGUMENT: --min-score: .*plain decimal/);
    refused(await facerec('detect', photo, '--min-score', '1.5'), 2, /^facerec: INVALID_ARGUMENT: --min-score: /);
    refused(await facerec('compare', photo, photo, '--threshold', 'abc'), 2, /^facerec: INVALID_ARGUMENT: --threshold: /);
    refused(await facerec('embed', '--root', tmp, '--list', photo, '--out', photo, '--workers', '1.5'), 2, /--workers must be an integer/);
  });

  it('gives one clear line and its own exit code for each mistake', async () => {
    refused(await facerec('detect', path.join(tmp, 'nope.jpg')), 4, /^facerec: FILE_NOT_FOUND: /);
    refused(await facerec('detect', '--no-such-flag', 'x.jpg'), 2, /^facerec: INVALID_ARGUMENT: .*--no-such-flag/);
    refused(await facerec('detect', photo, '--detector', 'mtcnn'), 2, /^facerec: INVALID_ARGUMENT: .*ssd, tiny/);
    // A bad --attributes names the allowed values, before the photo is read (the file named here does not exist).
    refused(
      await facerec('detect', path.join(tmp, 'nope.jpg'), '--attributes', 'age,race'),
      2,
      /^facerec: INVALID_ARGUMENT: --attributes: unknown attribute 'race'; allowed: age, gender, expression, all/,
    );
    refused(await facerec('annotate', photo, '-o', 'out.jpg', '--attributes', ''), 2, /--attributes: no attribute named; allowed: /);
    refused(await facerec('annotate', path.join(tmp, 'nope.jpg'), '-o', 'out.jpg'), 4, /^facerec: FILE_NOT_FOUND: /);
    expect((await facerec('--help')).code).toBe(0);
  });
});

describeEachDatabase('facerec with a database, in-process', (kind: DatabaseKind) => {
  let m: Medium;
  let db: string;
  const facerec = (...args: string[]) => runFacerecInProcess([...args, '--db', db], ENV);

  beforeAll(async () => {
    m = await openMedium(kind);
    const enroll = async (name: string, identity: string, faces: number, externalId?: string) => {
      const photos = await Promise.all(Array.from({ length: faces }, () => portrait(identity)));
      await createPerson(
        m.ctx,
        { name, externalId },
        photos.map((bytes) => asPhoto(bytes)),
      );
    };
    await enroll('Barack Obama', 'obama', 2, 'potus-44');
    await enroll('obama', 'obama-look-alike', 1);
    await enroll('biden', 'biden', 2);
    await enroll('kit', 'kit', 1);
    // The command opens the database itself: a PGlite directory must not stay open in this process too.
    if (kind === 'pglite') await m.test.db.close();
    const target = m.test.target;
    if ('memory' in target) throw new Error('the command needs a database it can open itself');
    db = 'url' in target ? target.url : target.dataDir;
  });
  afterAll(async () => {
    await m?.test.drop();
  });

  it('people and galleries: list, search, show, rename, delete', async () => {
    const list = json(await facerec('people', 'list', '--json', '--search', 'OBAMA'));
    expect(list.people.map((p: { name: string }) => p.name).sort()).toEqual(['Barack Obama', 'obama']);
    expect(list.total).toBe(2);
    const page = json(await facerec('people', 'list', '--json', '--limit', '2', '--offset', '+1'));
    expect(page.people.map((p: { name: string }) => p.name)).toEqual(['biden', 'kit']);
    expect(page.total).toBe(4);
    const shown = json(await facerec('people', 'show', 'potus-44', '--json'));
    expect(shown).toMatchObject({ name: 'Barack Obama', externalId: 'potus-44' });
    expect(shown.faces).toHaveLength(2);
    expect(json(await facerec('people', 'rename', 'potus-44', ' Obama ', '--json')).name).toBe('Obama');
    const deleted = json(await facerec('people', 'delete', 'potus-44', '--json'));
    expect(deleted.deleted).toMatchObject({ name: 'Obama', faceCount: 2 });
    refused(await facerec('people', 'show', 'potus-44'), 8, /^facerec: PERSON_NOT_FOUND: /);
    refused(await facerec('people', 'show', 'obama', '--gallery', 'nowhere'), 8, /^facerec: GALLERY_NOT_FOUND: /);

    expect(json(await facerec('galleries', 'create', 'staff', '--json')).name).toBe('staff');
    refused(await facerec('galleries', 'create', 'staff'), 10, /^facerec: GALLERY_EXISTS: /);
    const galleries = json(await facerec('galleries', 'list', '--json')).galleries;
    expect(galleries.map((g: { name: string }) => g.name)).toEqual(['default', 'staff']);
    expect(galleries[0]).toMatchObject({ people: 3, faces: 4 });
    expect(json(await facerec('galleries', 'rename', 'STAFF', 'crew', '--json')).gallery).toMatchObject({ name: 'crew', people: 0 });
    expect(await facerec('galleries', 'rename', 'crew', 'staff')).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(/^renamed gallery crew to staff /),
    });
    refused(await facerec('galleries', 'rename', 'staff', 'default'), 10, /^facerec: GALLERY_EXISTS: /);
    refused(
      await facerec('galleries', 'rename', 'default', 'main'),
      2,
      /^facerec: INVALID_ARGUMENT: The default gallery cannot be renamed/,
    );
    refused(await facerec('galleries', 'rename', 'nowhere', 'main'), 8, /^facerec: GALLERY_NOT_FOUND: /);
    expect(json(await facerec('galleries', 'delete', 'staff', '--json')).deleted.name).toBe('staff');
  });

  it('galleries: found in any case, never named like a UUID; no control characters in any name', async () => {
    refused(await facerec('galleries', 'create', '11111111-1111-1111-1111-111111111111'), 2, /^facerec: INVALID_ARGUMENT: <name>: .*UUID/);
    // The same rules as the API's, from the same schemas: control characters too, and the terminal never sees them.
    const control = await facerec('galleries', 'create', 'night\u001b[31mshift');
    refused(control, 2, /^facerec: INVALID_ARGUMENT: <name>: .*control characters/);
    expect(control.stderr).not.toContain('\u001b');
    refused(await facerec('keys', 'create', '--role', 'admin', '--name', 'ops\u0007'), 2, /^facerec: INVALID_ARGUMENT: --name: .*control/);
    refused(await facerec('enroll', '--name', 'Ada\u009b31m', photo), 2, /^facerec: INVALID_ARGUMENT: --name: .*control characters/);
    refused(await facerec('people', 'rename', 'kit', 'Kit\u0085'), 2, /^facerec: INVALID_ARGUMENT: <new-name>: .*control characters/);
    // Bidirectional controls, invisible characters and U+FFFD (what Node makes of argv bytes that are not UTF-8).
    refused(
      await facerec('galleries', 'create', 'staff\u202e'),
      2,
      /^facerec: INVALID_ARGUMENT: <name>: .*U\+202E, a bidirectional control/,
    );
    refused(
      await facerec('enroll', '--name', 'Ada\u200bLovelace', photo),
      2,
      /^facerec: INVALID_ARGUMENT: --name: .*U\+200B, an invisible/,
    );
    refused(await facerec('people', 'rename', 'kit', 'Zo\ufffd'), 2, /^facerec: INVALID_ARGUMENT: <new-name>: .*U\+FFFD.*not valid UTF-8/);

    expect(json(await facerec('galleries', 'create', ' Night Shift ', '--json')).name).toBe('Night Shift');
    expect(json(await facerec('people', 'list', '--json', '--gallery', 'NIGHT SHIFT')).total).toBe(0);
    expect(json(await facerec('galleries', 'delete', 'night shift', '--json')).deleted.name).toBe('Night Shift');
  });

  it('parses its options with the use cases’ schemas before reading a photo: a bad value names its flag', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['people', 'list', '--limit', '0'], /--limit: Too small/],
      [['people', 'list', '--limit', '201'], /--limit: Too big/],
      [['people', 'list', '--offset', '1e1'], /--offset: must be a plain decimal/],
      [['people', 'list', '--offset', '1000001'], /--offset: Too big/],
      [['people', 'list', '--search', 'nul\u0000'], /--search: .*NUL/],
      [['identify', photo, '--top-k', '21'], /--top-k: Too big/],
      [['identify', photo, '--max-faces', '0'], /--max-faces: Too small/],
      [['identify', photo, '--threshold', '0x1'], /--threshold: must be a plain decimal/],
      [['verify', photo, '--person', 'kit', '--threshold', '5'], /--threshold: Too big/],
      [['enroll', '--name', 'Ada', '--metadata', '[1, 2]', photo], /--metadata: .*JSON object/],
      [['enroll', '--name', 'Ada', '--metadata', '{"a":', photo], /--metadata: .*JSON object/],
      [['enroll', '--name', 'Ada', '--external-id', ' ', photo], /--external-id: /],
      [['enroll', '--name', 'x'.repeat(201), photo], /--name: Too big/],
      [['calibrate', '--far', '2'], /--far: Too big/],
      [['keys', 'revoke', 'not-a-uuid'], /<id>: /],
      [['galleries', 'create', 'a/b'], /<name>: must not contain \/ \? or #/],
      [['galleries', 'rename', 'default', 'a/b'], /<new-name>: must not contain \/ \? or #/],
      [['enroll', '--name', 'Ada', '--face-box', '1,2,3', photo], /--face-box must be x,y,width,height/],
      [['enroll', '--name', 'Ada', '--face-box', '1,2,3,-4', photo], /--face-box must be x,y,width,height/],
      [['enroll', '--name', 'Ada', '--face-box', '1,2,0,4', photo], /--face-box must be .*positive width/],
      [['enroll', '--name', 'Ada', '--face-box', 'auto', '--face-box', '1,2,3,4', photo], /--face-box is given 2 times, for 1 photo/],
      [['identify', photo, '--attributes', 'mood'], /--attributes: unknown attribute 'mood'; allowed: age, gender, expression, all/],
    ];
    for (const [args, message] of cases) {
      const run = await facerec(...args);
      refused(run, 2, /^facerec: INVALID_ARGUMENT: /);
      expect(run.stderr, args.join(' ')).toMatch(message);
    }
    // Nothing was stored on the way, here or by the refusals of the test before.
    expect(json(await facerec('people', 'list', '--json')).total).toBe(3);
    expect(json(await facerec('keys', 'list', '--json')).keys).toEqual([]);
    expect(json(await facerec('galleries', 'list', '--json')).galleries.map((g: { name: string }) => g.name)).toEqual(['default']);
  });
});
