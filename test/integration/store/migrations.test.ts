import { appendFile, cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FacerecError } from '../../../src/errors.js';
import { databaseError, openDatabase, type Database } from '../../../src/store/database.js';
import { galleryDescriptors, nearestFaces } from '../../../src/store/faces.repository.js';
import { listGalleries } from '../../../src/store/galleries.repository.js';
import { vectorParam } from '../../../src/store/sql.js';
import { DEFAULT_MIGRATIONS_DIR, migrate, migrationFile, readMigrations } from '../../../src/store/migrations.js';
import { insertPerson } from '../../../src/store/people.repository.js';
import { createTestDatabase, describeEachDatabase, type TestDatabase } from '../../helpers/databases.js';
import { rejection } from '../../helpers/errors.js';

interface AppliedRow {
  version: number;
  name: string;
  checksum: string;
}

const appliedRows = (db: Database) => db.query<AppliedRow>('SELECT version, name, checksum FROM schema_migrations ORDER BY version');

const tableExists = async (db: Database, table: string) =>
  (await db.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [table]))[0]?.t != null;

/** The version after the last one in `dir`, and the file name a migration of that number and `name` gets. */
async function nextMigration(dir: string, name: string): Promise<{ version: number; file: string }> {
  const version = ((await readMigrations(dir)).at(-1)?.version ?? 0) + 1;
  return { version, file: path.join(dir, migrationFile({ version, name })) };
}

describeEachDatabase('migrations', (kind) => {
  let test: TestDatabase;
  let db: Database;
  // A private copy of migrations/ that a test may edit.
  let dir: string;

  beforeEach(async () => {
    test = await createTestDatabase(kind);
    db = test.db;
    dir = await mkdtemp(path.join(os.tmpdir(), 'facerec-migrations-'));
    await cp(DEFAULT_MIGRATIONS_DIR, dir, { recursive: true });
  });

  afterEach(async () => {
    await test?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('applies on an empty database: tables, the default gallery and the HNSW index', async () => {
    expect(await tableExists(db, 'faces')).toBe(false);
    const onDisk = await readMigrations();

    const result = await migrate(db);

    expect(result.applied.map((m) => m.version)).toEqual(onDisk.map((m) => m.version));
    expect(result.current).toBe(onDisk.at(-1)?.version);
    for (const table of ['galleries', 'people', 'faces', 'schema_migrations']) expect(await tableExists(db, table)).toBe(true);
    expect((await listGalleries(db)).map((g) => g.name)).toEqual(['default']);
    // The default model's own index: on the descriptor cast to its 128 dimensions, for its faces only.
    const [index] = await db.query<{ indexdef: string }>(
      "SELECT indexdef FROM pg_indexes WHERE tablename = 'faces' AND indexname = 'faces_hnsw_dlib128'",
    );
    expect(index?.indexdef).toMatch(
      /USING hnsw \(\(\(descriptor\)::vector\(128\)\) vector_l2_ops\) WHERE \(model_id = 'dlib-resnet-v1@face-api-1\.7\.15\/chip150p25\+mirror'::text\)/,
    );
    expect(await appliedRows(db)).toEqual(onDisk.map((m) => ({ version: m.version, name: m.name, checksum: m.checksum })));
  });

  it('0003 renames galleries that differ only in case or look like a UUID, then keeps names unique regardless of case', async () => {
    // The database as 0002 left it, with names 0003 forbids.
    const later = (await readMigrations(dir)).filter((m) => m.version >= 3);
    for (const m of later) await rm(path.join(dir, migrationFile(m)));
    await migrate(db, dir);
    const uuidName = 'AAAAAAAA-1111-1111-1111-111111111111';
    await db.exec(
      `INSERT INTO galleries (name, created_at) VALUES ('DEFAULT', now() - interval '1 day'), ('Staff', now() - interval '2 days'), ('staff', now()), ('${uuidName}', now())`,
    );
    const [oldStaff] = await db.query<{ id: string }>("SELECT id FROM galleries WHERE name = 'staff'");
    const [oldDefault] = await db.query<{ id: string }>("SELECT id FROM galleries WHERE name = 'DEFAULT'");

    await migrate(db);

    const names = (await listGalleries(db)).map((g) => g.name).sort();
    expect(names).toEqual(
      ['DEFAULT-' + oldDefault!.id.slice(0, 8), 'Staff', 'default', `gallery ${uuidName}`, 'staff-' + oldStaff!.id.slice(0, 8)].sort(),
    );
    const refused = await db.query("INSERT INTO galleries (name) VALUES ('STAFF')").then(
      () => 'stored',
      (err: { code?: string }) => err.code,
    );
    expect(refused).toBe('23505');
  });

  it('0004 binds each gallery to its faces’ model and keeps every descriptor, searchable through the new index', async () => {
    // The database as 0003 left it: 128-d descriptors of the one model there was, in a fixed-size column.
    for (const m of (await readMigrations(dir)).filter((m) => m.version >= 4)) await rm(path.join(dir, migrationFile(m)));
    await migrate(db, dir);
    const legacy = 'dlib-resnet-v1@face-api-1.7.15/chip150p25+mirror';
    const [gallery] = await db.query<{ id: string }>("SELECT id FROM galleries WHERE name = 'default'");
    const [empty] = await db.query<{ id: string }>("INSERT INTO galleries (name) VALUES ('empty') RETURNING id");
    const ada = await insertPerson(db, { galleryId: gallery!.id, name: 'Ada' });
    const descriptors = [0.1, 0.2, 0.3].map((v) => Array.from({ length: 128 }, (_, i) => (i === 0 ? v : 0.01 * (i % 7))));
    for (const [i, d] of descriptors.entries()) {
      await db.query(
        `INSERT INTO faces (person_id, gallery_id, descriptor, model_id, box, score, quality, image_sha256)
         VALUES ($1, $2, $3, $4, '{0,0,1,1}', 0.9, '{}', $5)`,
        [ada.id, gallery!.id, vectorParam(d), legacy, String(i).repeat(64)],
      );
    }

    await migrate(db);

    const galleries = await listGalleries(db);
    expect(galleries.find((g) => g.id === gallery!.id)?.descriptorModel).toBe(legacy);
    expect(galleries.find((g) => g.id === empty!.id)?.descriptorModel).toBeNull();
    const readBack = (await galleryDescriptors(db, gallery!.id, legacy)).get(ada.id)!.sort((a, b) => a[0]! - b[0]!);
    expect(readBack).toHaveLength(3);
    readBack.forEach((d, i) => d.forEach((v, k) => expect(v).toBeCloseTo(descriptors[i]![k]!, 6)));
    const hits = await db.transaction((tx) =>
      nearestFaces(tx, { galleryId: gallery!.id, modelId: legacy, dims: 128, descriptor: descriptors[1]!, limit: 5, efSearch: 40 }),
    );
    expect(hits.map((h) => Math.round(h.distance * 1000) / 1000)).toEqual([0, 0.1, 0.1]);
  });

  it('applies nothing the second time and leaves the data alone', async () => {
    await migrate(db);
    const [gallery] = await listGalleries(db);
    await insertPerson(db, { galleryId: gallery!.id, name: 'Ada' });
    const before = await appliedRows(db);

    const again = await migrate(db);

    expect(again.applied).toEqual([]);
    expect(again.current).toBe(before.at(-1)?.version);
    expect(await appliedRows(db)).toEqual(before);
    expect(await listGalleries(db)).toMatchObject([{ name: 'default', people: 1 }]);
  });

  it('refuses an applied migration whose file changed, naming it, and changes nothing', async () => {
    await migrate(db, dir);
    const before = await appliedRows(db);
    await appendFile(path.join(dir, '0001_initial.sql'), '\nCREATE TABLE tampered (id int);\n');
    // A pending migration must not be applied either.
    await writeFile((await nextMigration(dir, 'later')).file, 'CREATE TABLE later (id int);\n');

    const err = await rejection(migrate(db, dir));

    expect(err.code).toBe('MIGRATION_CHECKSUM_MISMATCH');
    expect(err.details).toMatchObject({ version: 1 });
    expect(err.message).toContain('0001_initial.sql');
    expect(await appliedRows(db)).toEqual(before);
    expect(await tableExists(db, 'tampered')).toBe(false);
    expect(await tableExists(db, 'later')).toBe(false);
  });

  it('refuses a database that has a migration this code does not know (SCHEMA_TOO_NEW)', async () => {
    await migrate(db, dir);
    const future = await nextMigration(dir, 'from_the_future');
    await db.query("INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, 'from_the_future', 'abc')", [future.version]);
    const before = await appliedRows(db);

    const err = await rejection(migrate(db, dir));

    expect(err.code).toBe('SCHEMA_TOO_NEW');
    expect(err.details).toMatchObject({ version: future.version });
    expect(err.message).toContain(String(future.version));
    expect(await appliedRows(db)).toEqual(before);
  });

  it('applies a migration added later on the next run, once', async () => {
    await migrate(db, dir);
    const [gallery] = await listGalleries(db);
    const ada = await insertPerson(db, { galleryId: gallery!.id, name: 'Ada' });
    const added = await nextMigration(dir, 'people_nickname');
    await writeFile(added.file, 'ALTER TABLE people ADD COLUMN nickname text;\n');

    const second = await migrate(db, dir);

    expect(second.applied.map(migrationFile)).toEqual([path.basename(added.file)]);
    expect(second.current).toBe(added.version);
    const columns = await db.query<{ column_name: string }>(
      "SELECT column_name FROM information_schema.columns WHERE table_name = 'people' AND column_name = 'nickname'",
    );
    expect(columns).toHaveLength(1);
    expect(await db.query('SELECT id, nickname FROM people')).toEqual([{ id: ada.id, nickname: null }]);
    expect((await migrate(db, dir)).applied).toEqual([]);
    expect((await appliedRows(db)).map((r) => r.version)).toEqual((await readMigrations(dir)).map((m) => m.version));
  });

  it('refuses two migration files with one number before touching the database', async () => {
    await writeFile(path.join(dir, '0001_again.sql'), 'CREATE TABLE again (id int);\n');

    const err = await rejection(migrate(db, dir));

    expect(err.code).toBe('INVALID_CONFIG');
    expect(err.message).toContain('0001_again.sql');
    expect(await tableExists(db, 'schema_migrations')).toBe(false);
  });

  it('lets two concurrent migrate() calls both succeed and apply each migration once', async () => {
    // Postgres: a slow second migration keeps the first caller inside the lock long enough to see the other wait.
    if (kind === 'postgres') await writeFile((await nextMigration(dir, 'slow')).file, 'SELECT pg_sleep(0.5);\n');
    // Two pools on one database stand for two app replicas starting together.
    const other = kind === 'postgres' ? await openDatabase(test.target) : db;
    try {
      let done = false;
      const both = Promise.all([migrate(db, dir), migrate(other, dir)]).finally(() => {
        done = true;
      });
      both.catch(() => {}); // awaited below; this only keeps a failure from counting as unhandled meanwhile
      let sawWaiter = false;
      while (kind === 'postgres' && !done && !sawWaiter) {
        const [row] = await db.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM pg_locks l JOIN pg_database d ON d.oid = l.database WHERE l.locktype = 'advisory' AND NOT l.granted AND d.datname = current_database()",
        );
        sawWaiter = (row?.n ?? 0) > 0;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }

      const results = await both;

      const versions = (await readMigrations(dir)).map((m) => m.version);
      expect(results.flatMap((r) => r.applied.map((m) => m.version)).sort((a, b) => a - b)).toEqual(versions);
      expect(results.some((r) => r.applied.length === 0)).toBe(true);
      expect((await appliedRows(db)).map((r) => r.version)).toEqual(versions);
      if (kind === 'postgres') expect(sawWaiter).toBe(true);
    } finally {
      if (other !== db) await other.close();
    }
  });
});

describe('databaseError', () => {
  it('turns a missing vector extension into PGVECTOR_MISSING that says how to install it', () => {
    for (const driverError of [
      { code: '0A000', message: 'extension "vector" is not available' },
      {
        code: '58P01',
        message: 'could not open extension control file "/usr/share/postgresql/15/extension/vector.control": No such file or directory',
      },
    ]) {
      const err = databaseError(driverError);
      expect(err).toBeInstanceOf(FacerecError);
      expect((err as FacerecError).code).toBe('PGVECTOR_MISSING');
      expect((err as FacerecError).message).toMatch(/pgvector/);
      expect((err as FacerecError).message).toMatch(/install/i);
      expect((err as FacerecError).message).toMatch(/postgresql-<version>-pgvector/);
    }
  });

  it('turns a refused connection into DATABASE_UNAVAILABLE', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    expect(databaseError(refused)).toMatchObject({ code: 'DATABASE_UNAVAILABLE' });
    expect(databaseError({ code: '57P01', message: 'terminating connection due to administrator command' })).toMatchObject({
      code: 'DATABASE_UNAVAILABLE',
    });
  });

  it('leaves statement errors and domain errors as they are', () => {
    const syntax = Object.assign(new Error('syntax error at or near "SELEC"'), { code: '42601' });
    expect(databaseError(syntax)).toBe(syntax);
    const domain = new FacerecError('PERSON_NOT_FOUND', 'Person x was not found');
    expect(databaseError(domain)).toBe(domain);
  });

  it('reports a server nobody listens on as DATABASE_UNAVAILABLE when opening', async () => {
    await expect(openDatabase({ url: 'postgres://facerec:facerec@127.0.0.1:1/facerec_test' })).rejects.toMatchObject({
      code: 'DATABASE_UNAVAILABLE',
    });
  });
});
