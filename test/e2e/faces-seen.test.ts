/**
 * Faces seen end to end with the real engine on real LFW photos (issue 23). The newcomer's path with the `facerec`
 * command: scan a folder of photos of several people, list the clusters (each face with the source scan read), name
 * two, and identify a new photo of one of them by name. Then the HTTP API: a scan batch, the clusters, naming, ignoring,
 * a correction, and the bad inputs with their codes.
 */
import { readdirSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runFacerec, type Run } from '../helpers/cli.js';
import { createTestDatabase, describeEachDatabase, type TestDatabase } from '../helpers/databases.js';
import { dataset, HAS_DATASETS, SKIP_DATASETS_REASON } from '../helpers/datasets.js';
import { call, form, startTestServer, type TestServer } from '../helpers/server.js';

const LFW = (...p: string[]) => dataset('lfw-view1', 'images', ...p);
const HEAVY = { timeout: 600_000 };
// Four people with several photos (five scanned, the sixth kept back), and strangers seen once.
const PEOPLE = ['Jennifer_Lopez', 'Paul_Wolfowitz', 'Hans_Blix', 'Angelina_Jolie'];
const STRANGERS = ['AJ_Cook', 'Aaron_Guiel', 'Abdoulaye_Wade', 'Adam_Kennedy', 'Aby_Har-Even', 'Abner_Martinez'];
/** The `n`-th photo (from 1) of a person in LFW View 1, whose photo numbers have gaps. */
const photo = (name: string, n: number) => LFW(name, readdirSync(LFW(name)).sort()[n - 1]!);
// Who a photo shows, from its LFW file name (Name_NNNN.jpg), wherever the library put it.
const personOf = (source: string) => path.basename(source).replace(/_\d{4}\.jpg$/, '');

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- parsed CLI output, checked by the assertions
const json = (run: Run): any => {
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.stdout);
};

if (!HAS_DATASETS) it.skip(`faces seen end to end: ${SKIP_DATASETS_REASON}`, () => {});

describeEachDatabase('faces seen, the newcomer’s path with the CLI', (kind) => {
  if (!HAS_DATASETS) return;
  let test: TestDatabase;
  let db: string;
  let folder: string;
  const facerec = (...args: string[]) =>
    runFacerec([...args, '--db', db], { env: { ...process.env, FACEREC_WORKERS: '2', DATABASE_URL: '' }, maxBuffer: 16 * 1024 * 1024 });

  beforeAll(async () => {
    test = await createTestDatabase(kind);
    if (kind === 'pglite') await test.db.close();
    db = 'url' in test.target ? test.target.url : 'dataDir' in test.target ? test.target.dataDir : '';
    // A photo library: one folder per day, people mixed, as a user's would be (links to the dataset, nothing copied).
    folder = await mkdtemp(path.join(os.tmpdir(), 'facerec-library-'));
    for (let day = 1; day <= 5; day++) {
      const dir = path.join(folder, `day${day}`);
      await mkdir(dir);
      for (const name of PEOPLE) await symlink(photo(name, day), path.join(dir, path.basename(photo(name, day))));
    }
    for (const name of STRANGERS) await symlink(photo(name, 1), path.join(folder, path.basename(photo(name, 1))));
  });
  afterAll(async () => {
    await test?.drop();
    if (folder) await rm(folder, { recursive: true, force: true });
  });

  it('scans a folder, groups its unknown faces, names two people, and identifies a new photo of one', HEAVY, async () => {
    const scanned = json(await facerec('scan', folder, '--json'));
    expect(scanned.summary).toMatchObject({ photos: 26, new: 26, seen: 0, failed: 0 });
    expect(scanned.summary.sightings).toBeGreaterThanOrEqual(26);
    // A second run is resumable: nothing new to look at.
    expect(json(await facerec('scan', folder, '--json')).summary).toMatchObject({ photos: 26, new: 0, seen: 26 });

    const { clusters } = json(await facerec('clusters', '--json'));
    // Every suggested cluster is one person (the faces' sources say who), and each of the four has one of 3+ faces.
    for (const c of clusters) expect(new Set(c.samples.map((s: { photo: { source: string } }) => personOf(s.photo.source))).size).toBe(1);
    const byPerson = new Map<string, { id: string; size: number }>();
    for (const c of clusters) {
      const who = personOf(c.samples[0].photo.source);
      if (!byPerson.has(who) || byPerson.get(who)!.size < c.size) byPerson.set(who, { id: c.id, size: c.size });
    }
    for (const name of PEOPLE) expect(byPerson.get(name)?.size ?? 0, name).toBeGreaterThanOrEqual(3);
    // The strangers seen once are in no suggested cluster.
    for (const c of clusters) expect(STRANGERS).not.toContain(personOf(c.samples[0].photo.source));

    const lopez = json(await facerec('clusters', 'name', byPerson.get('Jennifer_Lopez')!.id, '--name', 'Jennifer Lopez', '--json'));
    expect(lopez).toMatchObject({ created: true, person: { name: 'Jennifer Lopez' } });
    expect(lopez.enrolled.length).toBeGreaterThanOrEqual(3);
    json(await facerec('clusters', 'name', byPerson.get('Hans_Blix')!.id, '--name', 'Hans Blix', '--json'));

    const named = json(await facerec('identify', photo('Jennifer_Lopez', 6), '--json'));
    expect(named.faces.map((f: { label: string }) => f.label)).toContain('Jennifer Lopez');
    const notNamed = json(await facerec('identify', photo('Paul_Wolfowitz', 6), '--json'));
    expect(notNamed.faces.map((f: { label: string }) => f.label)).not.toContain('Jennifer Lopez');
    expect(notNamed.faces.map((f: { label: string }) => f.label)).not.toContain('Hans Blix');
    // The named clusters are gone from the suggestions; the other two remain.
    const after = json(await facerec('clusters', '--json')).clusters.map((c: { samples: Array<{ photo: { source: string } }> }) =>
      personOf(c.samples[0]!.photo.source),
    );
    expect(after).not.toContain('Jennifer_Lopez');
    expect(after).toContain('Paul_Wolfowitz');
  });
});

describeEachDatabase('faces seen over HTTP', (kind) => {
  if (!HAS_DATASETS) return;
  let server: TestServer;
  const api = (p: string, init: RequestInit & { json?: unknown } = {}) => {
    const { json: body, ...rest } = init;
    return call(`${server.url}${p}`, {
      ...rest,
      ...(body !== undefined ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}),
    });
  };

  beforeAll(async () => {
    server = await startTestServer(kind, {}, { workers: 2 });
  }, 180_000);
  afterAll(async () => {
    await server?.stop();
  });

  it('scans a batch, lists clusters with thumbnails, names one, ignores another, and answers bad input with codes', HEAVY, async () => {
    expect((await api('/v1/galleries', { method: 'POST', json: { name: 'events' } })).status).toBe(201);
    const files = [...PEOPLE.slice(0, 3).flatMap((n) => [1, 2, 3, 4].map((i) => photo(n, i))), photo('AJ_Cook', 1)];
    const images = await Promise.all(files.map((f) => readFile(f)));
    const body = form({ images });
    for (const f of files) body.append('sources', f);
    const scanned = await api('/v1/scan?gallery=events', { method: 'POST', body });
    expect(scanned.status, JSON.stringify(scanned.body)).toBe(200);
    expect(scanned.body.summary).toMatchObject({ photos: 13, new: 13 });

    const listed = await api('/v1/clusters?gallery=events');
    expect(listed.status).toBe(200);
    expect(listed.body.clusters.length).toBeGreaterThanOrEqual(3);
    const [first, second] = listed.body.clusters;
    const thumb = await fetch(`${server.url}${first.samples[0].thumbnailUrl}`);
    expect(thumb.headers.get('content-type')).toBe('image/jpeg');
    expect(
      first.samples.every((s: { photo: { source: string } }) => personOf(s.photo.source) === personOf(first.samples[0].photo.source)),
    ).toBe(true);

    // Bad input: each with its code, nothing changed.
    expect((await api('/v1/clusters/00000000-0000-4000-8000-000000000000')).body.error.code).toBe('CLUSTER_NOT_FOUND');
    expect((await api(`/v1/clusters/${first.id}/name`, { method: 'POST', json: {} })).status).toBe(400);
    expect((await api('/v1/clusters/merge', { method: 'POST', json: { clusters: [first.id] } })).body.error.code).toBe('INVALID_ARGUMENT');
    const wrong = await api(`/v1/clusters/${first.id}/name?gallery=default`, { method: 'POST', json: { name: 'X' } });
    expect([wrong.status, wrong.body.error.code]).toEqual([409, 'WRONG_GALLERY']);

    const named = await api(`/v1/clusters/${first.id}/name`, { method: 'POST', json: { name: 'First' } });
    expect(named.status, JSON.stringify(named.body)).toBe(200);
    expect(named.body).toMatchObject({ created: true, person: { name: 'First' } });
    const ignored = await api(`/v1/clusters/${second.id}/ignore`, { method: 'POST', json: {} });
    expect(ignored.body.cluster.ignored).toBe(true);
    const remaining = (await api('/v1/clusters?gallery=events')).body.clusters.map((c: { id: string }) => c.id);
    expect(remaining).not.toContain(first.id);
    expect(remaining).not.toContain(second.id);

    // Identify keeps the unknown faces of a gallery that asks for them, and a correction is kept as the user's word.
    expect(
      (await api('/v1/galleries/events/sightings', { method: 'PATCH', json: { keepSightings: 'unknown' } })).body.gallery,
    ).toMatchObject({
      keepSightings: 'unknown',
    });
    const seen = await api('/v1/identify?gallery=events', {
      method: 'POST',
      body: form({ image: await readFile(photo('Tiger_Woods', 1)) }),
    });
    const sightingId = seen.body.faces[0].sightingId;
    expect(sightingId).toBeTruthy();
    const corrected = await api(`/v1/sightings/${sightingId}`, { method: 'PATCH', json: { personId: named.body.person.id } });
    expect(corrected.body.sighting).toMatchObject({ person: { name: 'First' }, labelledBy: 'user' });
    const sightings = await api(`/v1/sightings?gallery=events&personId=${named.body.person.id}`);
    expect(sightings.body.total).toBeGreaterThanOrEqual(5);
    expect((await api('/v1/sightings?gallery=events&since=yesterday')).status).toBe(400);

    const job = await api('/v1/galleries/events/recluster', { method: 'POST' });
    expect(job.status).toBe(202);
    let status = job.body;
    for (let i = 0; i < 200 && status.state !== 'done'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      status = (await api('/v1/galleries/events/recluster')).body;
    }
    expect(status.state).toBe('done');
  });
});
