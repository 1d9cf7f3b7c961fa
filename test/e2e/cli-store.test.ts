/**
 * The database commands of the real `facerec` CLI, on the embedded database and on PostgreSQL: migrate, enroll,
 * import, identify (JSON and annotated), verify, calibrate, on real photos; and acknowledged writes survive a killed
 * process. The commands that need no engine (people, galleries, keys) and every refusal before a photo is analysed
 * run in-process in the medium tier, test/medium/cli.test.ts.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openDatabase } from '../../src/store/database.js';
import { runFacerec, type Run } from '../helpers/cli.js';
import { describeEachDatabase, createTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { dataset, HAS_DATASETS, KNN, SKIP_DATASETS_REASON } from '../helpers/datasets.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

const facerec = (db: string, ...args: string[]): Promise<Run> =>
  runFacerec([...args, '--db', db], { env: { ...process.env, FACEREC_WORKERS: '2', DATABASE_URL: '' }, maxBuffer: 16 * 1024 * 1024 });

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- parsed CLI output, checked by the assertions
const json = (run: Run): any => {
  expect(run.stderr.replace(/^.*ExperimentalWarning.*$/gm, '').trim(), run.stderr).toBe('');
  expect(run.code).toBe(0);
  return JSON.parse(run.stdout);
};

if (!HAS_DATASETS) it.skip(`facerec CLI with a database: ${SKIP_DATASETS_REASON}`, () => {});

describeEachDatabase('facerec CLI with a database', (kind) => {
  if (!HAS_DATASETS) return;
  let test: TestDatabase;
  let db: string;
  let tmp: string;

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'facerec-cli-db-'));
    test = await createTestDatabase(kind);
    // The CLI opens the database itself: for PGlite the directory must not stay open in this process.
    if (kind === 'pglite') await test.db.close();
    db = 'url' in test.target ? test.target.url : 'dataDir' in test.target ? test.target.dataDir : '';
  });
  afterAll(async () => {
    await test?.drop();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('migrate applies the schema once', async () => {
    const first = json(await facerec(db, 'migrate', '--json'));
    expect(first.applied[0]).toBe('1_initial');
    expect(json(await facerec(db, 'migrate', '--json'))).toEqual({ applied: [], current: first.current });
  });

  it('enroll, import, identify, verify: names the known, Unknown for the rest', { timeout: 600_000 }, async () => {
    const enrolled = json(
      await facerec(
        db,
        'enroll',
        '--json',
        '--name',
        'Barack Obama',
        '--external-id',
        'potus-44',
        KNN('train', 'obama', 'obama.jpg'),
        KNN('train', 'obama', 'obama2.jpg'),
      ),
    );
    expect(enrolled.person).toMatchObject({ name: 'Barack Obama', externalId: 'potus-44', faceCount: 2 });
    // The API's enrollment JSON: the person, a face per accepted photo, a reason per rejected one.
    expect(enrolled.created).toBe(true);
    expect(enrolled.faces.map((f: { index: number; file: string }) => [f.index, f.file])).toEqual([
      [0, KNN('train', 'obama', 'obama.jpg')],
      [1, KNN('train', 'obama', 'obama2.jpg')],
    ]);
    for (const face of enrolled.faces) expect(face.thumbnailUrl).toBe(`/v1/faces/${face.id}/thumbnail`);
    expect(enrolled.rejected).toEqual([]);

    const imported = await facerec(db, 'import', KNN('train'));
    expect(imported.code).toBe(0);
    // The obama folder holds the photos just enrolled as Barack Obama: the same faces under a second name are refused
    // (DUPLICATE_PERSON, issue 22), the other four people are created.
    expect(imported.stdout).toMatch(/people created\s+4/);
    expect(imported.stdout).toMatch(/photos rejected\s+2 \(DUPLICATE_PERSON 2\)/);
    // Nothing new the second time.
    expect(json(await facerec(db, 'import', '--json', KNN('train')))).toMatchObject({ created: 0, enrolled: 0, alreadyEnrolled: 7 });

    const out = path.join(tmp, 'identified.jpg');
    const identified = json(await facerec(db, 'identify', '--json', '--annotate', out, KNN('test', 'kit_with_rose.jpg')));
    expect(identified.faces.map((f: { label: string }) => f.label).sort()).toEqual(['kit_harington', 'rose_leslie']);
    for (const face of identified.faces) {
      expect(face.box).toHaveLength(4);
      expect(face.outcome).toBe('match');
      expect(face.person).toEqual({ id: expect.any(String), name: face.label });
      expect(face.distance).toBeLessThan(0.59);
      expect(face.candidates.length).toBeGreaterThan(0);
    }
    const meta = await sharp(await readFile(out)).metadata();
    expect(meta.format).toBe('jpeg');

    const stranger = json(await facerec(db, 'identify', '--json', dataset('bbt', 'identities', 'penny', 'penny1.png')));
    expect(stranger.faces).toEqual([expect.objectContaining({ outcome: 'unknown', label: 'Unknown', person: null })]);

    // Two people named obama-ish now: the id and the external id still say exactly who.
    const verified = json(await facerec(db, 'verify', '--json', '--person', 'potus-44', KNN('test', 'obama1.jpg')));
    expect(verified).toMatchObject({ match: true, threshold: 0.59 });
    const notBiden = json(await facerec(db, 'verify', '--json', '--person', 'biden', KNN('test', 'obama1.jpg')));
    expect(notBiden.match).toBe(false);
  });

  it('calibrate prints a threshold and writes the plot', async () => {
    // Barack Obama was enrolled from the very photos that import gave the person obama: two people at distance 0,
    // an impostor pair that no threshold above 0 keeps out. Erased first, as a user would.
    expect(json(await facerec(db, 'people', 'delete', 'potus-44', '--json')).deleted.name).toBe('Barack Obama');
    const plot = path.join(tmp, 'calibration.png');
    const report = json(await facerec(db, 'calibrate', '--json', '--far', '0.01', '--plot', plot));
    expect(report.verification.threshold).toBeGreaterThan(0.3);
    expect(report.verification.genuinePairs).toBeGreaterThan(0);
    // identify's threshold in force: a handful of people, so the shipped impostor model at the target FPIR.
    expect(report.identify).toMatchObject({ source: 'target-fpir', targetFpir: 0.01 });
    expect(report.identify.threshold).toBeGreaterThan(0.4);
    expect(report.identify.expectedFpir).toBeCloseTo(0.01, 4);
    expect((await sharp(await readFile(plot)).metadata()).format).toBe('png');
  });

  it('enrolls the face of a group photo named by --face-box, the box detect printed', { timeout: 300_000 }, async () => {
    const group = KNN('test', 'obama_and_biden.jpg');
    const detected = await runFacerec(['detect', '--json', group], { env: { ...process.env, FACEREC_WORKERS: '1' } });
    const boxes = json(detected).faces.map((f: { box: number[] }) => f.box) as number[][];
    expect(boxes).toHaveLength(3);
    // The smallest face, the girl at the right: not what --largest-face would take. (Every refusal: test/medium.)
    const smallest = [...boxes].sort((a, b) => a[2]! * a[3]! - b[2]! * b[3]!)[0]!;
    expect(json(await facerec(db, 'galleries', 'create', 'group', '--json')).name).toBe('group');
    const enrolled = json(
      await facerec(db, 'enroll', '-g', 'group', '--name', 'Chosen', '--face-box', smallest.join(','), '--json', group),
    );
    expect(enrolled.faces.map((f: { box: number[] }) => f.box)).toEqual([smallest]);
    expect(json(await facerec(db, 'people', 'list', '-g', 'group', '--json')).people.map((p: { name: string }) => p.name)).toEqual([
      'Chosen',
    ]);
  });

  it(
    'gallery reembed exits non-zero when it stalls, even with --json, and switches with the listing’s drop token',
    { timeout: 600_000 },
    async () => {
      json(await facerec(db, 'galleries', 'create', 'cli-move', '--json'));
      json(
        await facerec(
          db,
          'enroll',
          '--json',
          '-g',
          'cli-move',
          '--name',
          'biden',
          KNN('train', 'biden', 'biden.jpg'),
          KNN('train', 'biden', 'biden2.jpg'),
        ),
      );
      // One stored thumbnail damaged: that face cannot be described again.
      const damaged = await (async () => {
        const handle = kind === 'pglite' ? await openDatabase(test.target) : test.db;
        try {
          const [face] = await handle.query<{ id: string }>(
            "SELECT f.id FROM faces f JOIN galleries g ON g.id = f.gallery_id WHERE g.name = 'cli-move' ORDER BY f.id LIMIT 1",
          );
          await handle.query('UPDATE faces SET thumbnail = $1 WHERE id = $2', [Buffer.from('damaged'), face!.id]);
          return face!.id;
        } finally {
          if (kind === 'pglite') await handle.close();
        }
      })();
      const stalled = await facerec(db, 'gallery', 'reembed', '-g', 'cli-move', '--model', 'faceplugin-512', '--json');
      expect(stalled.code, stalled.stderr).toBe(10);
      const listing = JSON.parse(stalled.stdout);
      expect(listing).toMatchObject({ state: 'stalled', failed: [{ faceId: damaged, personName: 'biden' }], wouldLeaveWithoutFaces: [] });
      expect(stalled.stderr).toContain(`--drop-failed ${listing.dropToken}`);
      const done = json(
        await facerec(
          db,
          'gallery',
          'reembed',
          '-g',
          'cli-move',
          '--model',
          'faceplugin-512',
          '--drop-failed',
          listing.dropToken,
          '--json',
        ),
      );
      expect(done).toMatchObject({ state: 'done', staged: 1, total: 2, dropped: [{ faceId: damaged }] });
    },
  );

  it('reports rejected photos with their code and exit status', async () => {
    const cars = dataset('dlib-examples', 'no-face', 'mmod_cars_test_image.jpg');
    const run = await facerec(db, 'enroll', '--name', 'Cars', cars);
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/^facerec: NO_FACE: /);
    expect(json(await facerec(db, 'people', 'list', '--json', '--search', 'Cars')).total).toBe(0);
  });
});

if (HAS_DATASETS) {
  describeEachDatabase('acknowledged enrollments survive a killed process', (kind) => {
    let test: TestDatabase;
    beforeAll(async () => {
      test = await createTestDatabase(kind);
      if (kind === 'pglite') await test.db.close();
    });
    afterAll(async () => {
      await test?.drop();
    });

    it('enrolls in a child process, SIGKILLs it right after the acknowledgement, and finds the person', async () => {
      const target = JSON.stringify(test.target);
      // The child enrolls, prints the acknowledgement, and then hangs on with the database open until killed.
      const script = `
        import { readFile } from 'node:fs/promises';
        import { loadConfig } from './src/config/index.ts';
        import { openFacerec } from './src/service/context.ts';
        import { createPerson } from './src/service/enroll.service.ts';
        const app = await openFacerec(loadConfig({}), { db: ${target}, workers: 0 });
        const result = await createPerson(app, { name: 'Durable' }, [{ bytes: await readFile(${JSON.stringify(KNN('train', 'biden', 'biden.jpg'))}) }]);
        process.stdout.write('ACK ' + result.person.id + '\\n');
        setInterval(() => {}, 1000);
      `;
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const id = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /ACK (\S+)\n/.exec(out);
          if (m) resolve(m[1]!);
        });
        child.on('exit', (code) => reject(new Error(`child exited with ${code} before acknowledging: ${stderr.slice(-2000)}`)));
      });
      const exited = new Promise((resolve) => child.on('exit', resolve));
      child.kill('SIGKILL');
      await exited;

      const reopened = await openDatabase(test.target);
      try {
        const rows = await reopened.query<{ name: string; faces: number }>(
          'SELECT p.name, (SELECT count(*)::int FROM faces f WHERE f.person_id = p.id) AS faces FROM people p WHERE p.id = $1',
          [id],
        );
        expect(rows).toEqual([{ name: 'Durable', faces: 1 }]);
      } finally {
        await reopened.close();
      }
    });
  });
}
