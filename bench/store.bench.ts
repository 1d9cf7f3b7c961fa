/**
 * 1:N search over the store: how fast and how exact `nearestFaces` is at 10k / 100k / 1M faces on PostgreSQL
 * (pgvector HNSW), and on PGlite (WASM) at the sizes an embedded install may reach. Figures only, no assertions.
 *   npm run bench:store [-- --sizes 10000,100000,1000000 --pglite-sizes 10000,100000 --queries 1000]
 * PostgreSQL comes from BENCH_DATABASE_URL (else TEST_DATABASE_URL): every size gets its own throwaway database
 * (facerec_bench_<size>_<pid>), dropped afterwards, also on error or Ctrl-C. Without a URL only PGlite runs.
 *
 * Descriptors: N/4 synthetic people with 4 faces each. With .eval/lfw-view1-final.jsonl (the `eval --save` output)
 * the synthetic people follow the real descriptors' statistics (mean, spread between and within people), the real
 * LFW descriptors (dlib chip + mirror, the shipped pipeline) are enrolled too, and held-out LFW images are among
 * the probes. Without it, a unit-norm-ish isotropic model stands in.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import type { FaceQuality } from '../src/engine/quality.js';
import { euclidean as distance } from '../src/match/distance.js';
import { openDatabase, type Database, type Queryable } from '../src/store/database.js';
import { insertFace, nearestFaces, type FaceNeighbour } from '../src/store/faces.repository.js';
import { loadConfig } from '../src/config/index.js';

// The app's default (FACEREC_EF_SEARCH unset), from the one place it is written.
const DEFAULT_EF_SEARCH = loadConfig({}).efSearch;
import { createGallery } from '../src/store/galleries.repository.js';
import { ensureDescriptorIndex, indexName } from '../src/store/descriptor-index.js';
import { migrate } from '../src/store/migrations.js';
import { vectorParam } from '../src/store/sql.js';
import { rng } from '../test/helpers/random.js';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '10000,100000,1000000' },
    'pglite-sizes': { type: 'string', default: '10000,100000' },
    queries: { type: 'string', default: '1000' },
    'pglite-queries': { type: 'string', default: '300' },
    ef: { type: 'string', default: '40,100,200' },
    /** Probes whose exact neighbours are computed (a sequential scan each) for recall. */
    'recall-probes': { type: 'string', default: '200' },
    /** Seconds of exact search per size at most; at 1M a scan takes long, so fewer probes are used there. */
    'exact-budget': { type: 'string', default: '300' },
    'row-sample': { type: 'string', default: '1000' },
    'pglite-row-sample': { type: 'string', default: '300' },
    /** Sizes from this one on are loaded without the HNSW index, which is built afterwards. */
    'index-after': { type: 'string', default: '1000000' },
    /** Minutes of bulk loading after which PGlite stops and the size is benchmarked with what was loaded. */
    'pglite-budget': { type: 'string', default: '15' },
    'maintenance-work-mem': { type: 'string', default: '2GB' },
    'parallel-workers': { type: 'string', default: '1' },
    warmup: { type: 'string', default: '200' },
    explain: { type: 'string', default: '50' },
    batch: { type: 'string', default: '2000' },
    seed: { type: 'string', default: '1' },
    'no-lfw': { type: 'boolean', default: false },
  },
});

const ROOT = path.resolve(import.meta.dirname, '..');
const LFW_FILE = path.join(ROOT, '.eval', 'lfw-view1-final.jsonl');
const DIM = 128;
const FACES_PER_PERSON = 4;
const LIMIT = 32; // what identify asks for: max(MIN_NEIGHBOURS 32, topK 3 × 8)
const MODEL_ID = 'bench-dlib-mirror';
// The model's own partial index (src/store/descriptor-index.ts).
const HNSW_INDEX = indexName(MODEL_ID);
const TIE = 1e-6;
const PGLITE_MAINTENANCE_WORK_MEM = '1GB';

const list = (s: string | undefined): number[] =>
  (s ?? '')
    .split(',')
    .filter((x) => x.trim() !== '')
    .map(Number);
const num = (s: string | undefined): number => Number(s);
const efValues = [...new Set([...list(values.ef), DEFAULT_EF_SEARCH])].sort((a, b) => a - b);
const SEED = num(values.seed);

// ---------- small helpers ----------

type Rng = () => number;
const gauss = (r: Rng): number => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
const pick = <T>(items: readonly T[], r: Rng): T => items[Math.floor(r() * items.length)]!;
function shuffle<T>(items: T[], r: Rng): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}
/** Nearest-rank percentile of ascending values. */
const pct = (sorted: readonly number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? NaN;
const mean = (xs: readonly number[]): number => (xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : NaN);
const int = (n: number): string => Math.round(n).toLocaleString('en-US');
const fix = (n: number, d: number): string => (Number.isFinite(n) ? n.toFixed(d) : '-');
const mb = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(0)} MB`;
const load = (): string =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
const log = (msg: string) => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

// ---------- descriptors ----------

interface RealImage {
  person: string;
  descriptor: number[];
}

function loadLfw(): RealImage[] {
  if (values['no-lfw'] || !existsSync(LFW_FILE)) return [];
  const out: RealImage[] = [];
  for (const line of readFileSync(LFW_FILE, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const s = JSON.parse(line) as { f: string; engine: { dlibMirror?: number[] | null } | null };
    const d = s.engine?.dlibMirror;
    if (d && d.length === DIM) out.push({ person: s.f.split('/')[0]!, descriptor: d });
  }
  return out;
}

/** How synthetic people and their faces are drawn. */
interface DescriptorModel {
  description: string;
  centre(r: Rng): Float64Array;
  face(centre: ArrayLike<number>, r: Rng): number[];
}

/**
 * Faces that look like the real ones: a person centre is the real mean plus half the sum of 4 random real
 * deviations from it, shrunk so that the spread between people matches LFW's (total variance minus within-person
 * variance); a face adds (two random real within-person deviations)/√2. Same covariance shapes and scale as
 * the dlib descriptors (effective dimension ~30, not 128), which is what HNSW's recall depends on.
 */
function lfwModel(real: RealImage[]): DescriptorModel {
  const mu = new Float64Array(DIM);
  for (const x of real) for (let i = 0; i < DIM; i++) mu[i]! += x.descriptor[i]! / real.length;
  const devs = real.map((x) => Float64Array.from(x.descriptor, (v, i) => v - mu[i]!));
  const byPerson = new Map<string, number[][]>();
  for (const x of real) byPerson.set(x.person, [...(byPerson.get(x.person) ?? []), x.descriptor]);
  const within: Float64Array[] = [];
  for (const faces of byPerson.values()) {
    if (faces.length < 2) continue;
    const m = new Float64Array(DIM);
    for (const f of faces) for (let i = 0; i < DIM; i++) m[i]! += f[i]! / faces.length;
    const scale = Math.sqrt(faces.length / (faces.length - 1));
    for (const f of faces) within.push(Float64Array.from(f, (v, i) => (v - m[i]!) * scale));
  }
  const trace = (vs: Float64Array[]) => mean(vs.map((v) => v.reduce((s, x) => s + x * x, 0)));
  const total = trace(devs),
    inside = trace(within);
  const shrink = Math.sqrt((total - inside) / total);
  return {
    description:
      `fitted to ${real.length} LFW descriptors (dlib chip + mirror): mean norm ${fix(Math.hypot(...mu), 2)}, ` +
      `variance between people ${fix(total - inside, 3)}, within a person ${fix(inside, 3)}`,
    centre: (r) => {
      const c = Float64Array.from(mu);
      for (let k = 0; k < 4; k++) {
        const d = pick(devs, r);
        for (let i = 0; i < DIM; i++) c[i]! += (shrink * d[i]!) / 2;
      }
      return c;
    },
    face: (centre, r) => {
      const a = pick(within, r),
        b = pick(within, r);
      return Array.from({ length: DIM }, (_, i) => centre[i]! + (a[i]! + b[i]!) / Math.SQRT2);
    },
  };
}

/** Without LFW: unit-norm-ish centres sharing one direction (different people ~1.0 apart), isotropic noise (~0.4). */
function isotropicModel(): DescriptorModel {
  const r0 = rng(SEED + 7);
  const u = Array.from({ length: DIM }, () => gauss(r0));
  const norm = Math.hypot(...u);
  const sigma = 0.4 / Math.sqrt(2 * DIM);
  return {
    description: 'isotropic (no LFW descriptors): centres 0.7·u + 0.7·g/√128, faces + N(0, 0.025²) per dimension',
    centre: (r) => Float64Array.from(u, (x) => (0.7 * x) / norm + (0.7 * gauss(r)) / Math.sqrt(DIM)),
    face: (centre, r) => Array.from({ length: DIM }, (_, i) => centre[i]! + sigma * gauss(r)),
  };
}

function distanceStats(model: DescriptorModel, real: RealImage[]): string[] {
  const r = rng(SEED + 11);
  const q = (xs: number[]) => {
    xs.sort((a, b) => a - b);
    return `p5 ${fix(pct(xs, 0.05), 2)} / p50 ${fix(pct(xs, 0.5), 2)} / p95 ${fix(pct(xs, 0.95), 2)}`;
  };
  const same: number[] = [],
    diff: number[] = [];
  for (let i = 0; i < 2000; i++) {
    const c = model.centre(r),
      c2 = model.centre(r);
    same.push(distance(model.face(c, r), model.face(c, r)));
    diff.push(distance(model.face(c, r), model.face(c2, r)));
  }
  const lines = [`synthetic: same person ${q(same)}, different people ${q(diff)}`];
  if (real.length) {
    const byPerson = new Map<string, number[][]>();
    for (const x of real) byPerson.set(x.person, [...(byPerson.get(x.person) ?? []), x.descriptor]);
    const rs: number[] = [],
      rd: number[] = [];
    for (const faces of byPerson.values())
      for (let i = 0; i < faces.length; i++) for (let j = i + 1; j < faces.length; j++) rs.push(distance(faces[i]!, faces[j]!));
    while (rd.length < 2000) {
      const a = pick(real, r),
        b = pick(real, r);
      if (a.person !== b.person) rd.push(distance(a.descriptor, b.descriptor));
    }
    lines.push(`LFW real:  same person ${q(rs)}, different people ${q(rd)}`);
  }
  return lines;
}

// ---------- gallery plan ----------

interface Person {
  id: string;
  name: string;
  /** Index into the centres of synthetic people. */
  synthetic?: number;
  real?: number[][];
  faces: number;
}

interface Probe {
  descriptor: number[];
  genuine: boolean;
  source: 'synthetic' | 'LFW';
  /** The enrolled person a genuine probe is. */
  personId?: string;
}

interface Plan {
  size: number;
  people: Person[];
  centres: Float32Array;
  synthetic: Person[];
  realPeople: number;
  realFaces: number;
  heldGenuine: Probe[];
  heldImpostor: Probe[];
  note: string;
}

function planGallery(size: number, model: DescriptorModel, real: RealImage[]): Plan {
  const byPerson = new Map<string, number[][]>();
  for (const x of real) byPerson.set(x.person, [...(byPerson.get(x.person) ?? []), x.descriptor]);
  const realPeople: Person[] = [],
    heldGenuine: Probe[] = [],
    heldImpostor: Probe[] = [];
  let singles = 0;
  for (const [name, faces] of byPerson) {
    const id = randomUUID();
    if (faces.length >= 2) {
      // One image of everyone with several is held out: a genuine probe whose person is enrolled.
      heldGenuine.push({ descriptor: faces.at(-1)!, genuine: true, source: 'LFW', personId: id });
      realPeople.push({ id, name, real: faces.slice(0, -1), faces: faces.length - 1 });
    } else if (singles++ % 3 === 0) {
      heldImpostor.push({ descriptor: faces[0]!, genuine: false, source: 'LFW' }); // never enrolled
    } else {
      realPeople.push({ id, name, real: faces, faces: 1 });
    }
  }
  let realFaces = realPeople.reduce((s, p) => s + p.faces, 0);
  let note = '';
  if (realFaces > 0 && size < 2 * realFaces) {
    note = ` (too small to mix in ${realFaces} LFW faces: synthetic only)`;
    realPeople.length = heldGenuine.length = heldImpostor.length = 0;
    realFaces = 0;
  }
  const syntheticFaces = size - realFaces;
  const count = Math.ceil(syntheticFaces / FACES_PER_PERSON);
  const centres = new Float32Array(count * DIM);
  const r = rng(SEED * 1000 + 1);
  const synthetic: Person[] = [];
  for (let k = 0; k < count; k++) {
    centres.set(model.centre(r), k * DIM);
    synthetic.push({
      id: randomUUID(),
      name: `person ${k + 1}`,
      synthetic: k,
      faces: Math.min(FACES_PER_PERSON, syntheticFaces - k * FACES_PER_PERSON),
    });
  }
  // Enrolled person by person, as the app does, real and synthetic people interleaved.
  const people = shuffle([...synthetic, ...realPeople], rng(SEED * 1000 + 2));
  return { size, people, centres, synthetic, realPeople: realPeople.length, realFaces, heldGenuine, heldImpostor, note };
}

interface FaceRow {
  personId: string;
  descriptor: number[];
}

function* faceRows(plan: Plan, model: DescriptorModel): Generator<FaceRow> {
  for (const p of plan.people) {
    if (p.real) {
      for (const d of p.real) yield { personId: p.id, descriptor: d };
    } else {
      const r = rng(SEED * 7919 + p.synthetic!);
      const c = plan.centres.subarray(p.synthetic! * DIM, (p.synthetic! + 1) * DIM);
      for (let i = 0; i < p.faces; i++) yield { personId: p.id, descriptor: model.face(c, r) };
    }
  }
}

/** `enrolled` narrows genuine probes to people whose faces were loaded (PGlite may stop loading early). */
function probes(
  plan: Plan,
  model: DescriptorModel,
  count: number,
  seed: number,
  withReal: boolean,
  enrolled: (personId: string) => boolean,
): Probe[] {
  const r = rng(seed);
  const out: Probe[] = [];
  const synthetic = plan.synthetic.filter((p) => enrolled(p.id));
  if (withReal) {
    out.push(
      ...shuffle(
        plan.heldGenuine.filter((p) => enrolled(p.personId!)),
        r,
      ).slice(0, Math.floor(count / 4)),
    );
    out.push(...shuffle([...plan.heldImpostor], r).slice(0, Math.floor(count / 4)));
  }
  const genuine = Math.floor(count / 2) - out.filter((p) => p.genuine).length;
  for (let i = 0; i < genuine; i++) {
    const p = pick(synthetic, r);
    out.push({
      descriptor: model.face(plan.centres.subarray(p.synthetic! * DIM, (p.synthetic! + 1) * DIM), r),
      genuine: true,
      source: 'synthetic',
      personId: p.id,
    });
  }
  while (out.length < count) out.push({ descriptor: model.face(model.centre(r), r), genuine: false, source: 'synthetic' });
  return shuffle(out, r);
}

// ---------- loading ----------

const QUALITY: FaceQuality = { size: 112, score: 0.98, sharpness: 180, yaw: 0.05, roll: 0.02 };
const BOX = [40, 52, 112, 112];
const sha = (i: number) => i.toString(16).padStart(64, '0');

async function insertPeople(db: Database, galleryId: string, people: Person[]): Promise<void> {
  for (let i = 0; i < people.length; i += 10_000) {
    const chunk = people.slice(i, i + 10_000);
    await db.query('INSERT INTO people (id, gallery_id, name) SELECT t.id, $1, t.name FROM unnest($2::uuid[], $3::text[]) AS t(id, name)', [
      galleryId,
      chunk.map((p) => p.id),
      chunk.map((p) => p.name),
    ]);
  }
}

const BULK_SQL = `INSERT INTO faces (person_id, gallery_id, descriptor, model_id, box, score, quality, image_sha256)
  SELECT t.p, $1, t.d::vector, $2, $3::real[], t.s, $4::jsonb, t.h
  FROM unnest($5::uuid[], $6::text[], $7::real[], $8::text[]) AS t(p, d, s, h)`;

async function bulkInsert(db: Database, galleryId: string, rows: FaceRow[], firstIndex: number): Promise<void> {
  await db.query(BULK_SQL, [
    galleryId,
    MODEL_ID,
    BOX,
    JSON.stringify(QUALITY),
    rows.map((r) => r.personId),
    rows.map((r) => vectorParam(r.descriptor)),
    rows.map((_, i) => 0.9 + ((firstIndex + i) % 100) / 1000),
    rows.map((_, i) => sha(firstIndex + i)),
  ]);
}

interface BuildResult {
  seconds: number;
  settings: string;
  notices: string[];
}

/** CREATE INDEX as the migration wrote it, with the build settings given; PostgreSQL's progress is logged. */
async function buildIndex(db: Database, url: string | undefined, definition: string): Promise<BuildResult> {
  const mwm = values['maintenance-work-mem']!,
    workers = values['parallel-workers']!;
  if (!url) {
    // PGlite is 32-bit WASM: maintenance_work_mem stops below 2GB, and there are no parallel workers.
    const t0 = performance.now();
    await db.transaction(async (tx) => {
      await tx.exec(`SET LOCAL maintenance_work_mem = '${PGLITE_MAINTENANCE_WORK_MEM}'`);
      await tx.exec(definition);
    });
    return {
      seconds: (performance.now() - t0) / 1000,
      settings: `maintenance_work_mem ${PGLITE_MAINTENANCE_WORK_MEM}, PGlite: no parallel workers`,
      notices: [],
    };
  }
  const client = new pg.Client({ connectionString: url });
  const notices: string[] = [];
  client.on('notice', (n) => notices.push(n.message ?? String(n)));
  await client.connect();
  const timer = setInterval(() => {
    db.query<Record<string, unknown>>(
      'SELECT phase, tuples_done, tuples_total, blocks_done, blocks_total FROM pg_stat_progress_create_index',
    )
      .then((rows) => log(`  index build: ${rows.map((r) => JSON.stringify(r)).join(' ') || '(no progress row)'} · load ${load()}`))
      .catch(() => {});
  }, 60_000);
  try {
    await client.query(`SET maintenance_work_mem = '${mwm}'`);
    await client.query(`SET max_parallel_maintenance_workers = ${Number(workers)}`);
    const [s] = (
      await client.query<{ m: string; w: string }>(
        "SELECT current_setting('maintenance_work_mem') AS m, current_setting('max_parallel_maintenance_workers') AS w",
      )
    ).rows;
    const t0 = performance.now();
    await client.query(definition);
    return {
      seconds: (performance.now() - t0) / 1000,
      settings: `maintenance_work_mem ${s?.m}, max_parallel_maintenance_workers ${s?.w}`,
      notices,
    };
  } finally {
    clearInterval(timer);
    await client.end();
  }
}

// ---------- searching ----------

interface Timed {
  ms: number[];
  results: FaceNeighbour[][];
  seconds: number;
}

async function search(
  db: Database,
  galleryId: string,
  list: Probe[],
  options: { efSearch?: number; exact?: boolean; budgetSeconds?: number; minimum?: number },
): Promise<Timed> {
  const ms: number[] = [],
    results: FaceNeighbour[][] = [];
  const t0 = performance.now();
  for (const p of list) {
    const t = performance.now();
    // Exactly as identify does it: one transaction, nearestFaces with limit 32.
    const hits = await db.transaction((tx) =>
      nearestFaces(tx, {
        galleryId,
        modelId: MODEL_ID,
        dims: DIM,
        descriptor: p.descriptor,
        limit: LIMIT,
        efSearch: options.efSearch ?? DEFAULT_EF_SEARCH,
        ...(options.exact ? { exact: true } : {}),
      }),
    );
    ms.push(performance.now() - t);
    results.push(hits);
    if (options.budgetSeconds && results.length >= (options.minimum ?? 1) && performance.now() - t0 > options.budgetSeconds * 1000) break;
  }
  return { ms, results, seconds: (performance.now() - t0) / 1000 };
}

/** Runs nearestFaces with the app's SQL under EXPLAIN: what plan, how long on the server, how many buffers. */
async function explain(
  db: Database,
  galleryId: string,
  list: Probe[],
): Promise<{ plan: string; serverMs: number[]; hit: number[]; read: number[] }> {
  const serverMs: number[] = [],
    hit: number[] = [],
    read: number[] = [];
  let plan = '';
  for (const p of list) {
    await db.transaction(async (tx) => {
      const wrapped: Queryable = {
        async query<R>(sql: string, params?: readonly unknown[]): Promise<R[]> {
          if (sql.includes('set_config')) return tx.query<R>(sql, params);
          const [row] = await tx.query<{ 'QUERY PLAN': unknown }>(`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${sql}`, params);
          const raw = row?.['QUERY PLAN'];
          const doc = (typeof raw === 'string' ? JSON.parse(raw) : raw) as Array<{ Plan: PlanNode; 'Execution Time': number }>;
          const top = doc[0]!;
          serverMs.push(top['Execution Time']);
          hit.push(top.Plan['Shared Hit Blocks'] ?? 0);
          read.push(top.Plan['Shared Read Blocks'] ?? 0);
          if (!plan) plan = scans(top.Plan).join(', ');
          return [];
        },
        exec: (sql) => tx.exec(sql),
      };
      await nearestFaces(wrapped, {
        galleryId,
        modelId: MODEL_ID,
        dims: DIM,
        descriptor: p.descriptor,
        limit: LIMIT,
        efSearch: DEFAULT_EF_SEARCH,
      });
    });
  }
  return { plan, serverMs, hit, read };
}

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Shared Hit Blocks'?: number;
  'Shared Read Blocks'?: number;
  Plans?: PlanNode[];
}

function scans(node: PlanNode): string[] {
  const here =
    node['Relation Name'] === 'faces' ? [`${node['Node Type']}${node['Index Name'] ? ` using ${node['Index Name']}` : ' on faces'}`] : [];
  return [...here, ...(node.Plans ?? []).flatMap(scans)];
}

/** Share of the exact top-k found (ties at the k-th distance count as found). */
function recall(approx: FaceNeighbour[], exact: FaceNeighbour[], k: number): number {
  const kth = exact[Math.min(k, exact.length) - 1]?.distance;
  if (kth === undefined) return NaN;
  return approx.slice(0, k).filter((a) => a.distance <= kth + TIE).length / Math.min(k, exact.length);
}

// ---------- one size on one database ----------

interface EfRow {
  ef: number;
  p50: number;
  p95: number;
  p99: number;
  mean: number;
  max: number;
  qps: number;
  r1: number;
  r10: number;
  r1Genuine: number;
  r1Impostor: number;
}

interface RunResult {
  kind: 'postgres' | 'pglite';
  size: number;
  loaded: number;
  bulkRate: number;
  bulkWithIndex: boolean;
  rowRate: number;
  rowCount: number;
  build?: BuildResult;
  totalBytes: number;
  hnswBytes: number;
  exactProbes: number;
  efRows: EfRow[];
}

async function runSize(
  kind: 'postgres' | 'pglite',
  size: number,
  db: Database,
  url: string | undefined,
  model: DescriptorModel,
  real: RealImage[],
): Promise<RunResult> {
  const isPg = kind === 'postgres';
  const queries = num(isPg ? values.queries : values['pglite-queries']);
  const rowSample = Math.min(num(isPg ? values['row-sample'] : values['pglite-row-sample']), Math.floor(size / 10));
  const indexAfter = size >= num(values['index-after']);
  const budget = isPg ? Infinity : num(values['pglite-budget']) * 60;
  const batch = num(values.batch);

  await migrate(db);
  await ensureDescriptorIndex(db, { id: MODEL_ID, output: { dims: DIM } });
  const gallery = await createGallery(db, 'bench', MODEL_ID);
  const plan = planGallery(size, model, real);
  const header = `${kind} · ${int(size)} faces: ${int(plan.synthetic.length)} synthetic people × ${FACES_PER_PERSON}${plan.realFaces ? ` + ${int(plan.realFaces)} LFW faces of ${int(plan.realPeople)} people` : ''}${plan.note}`;
  log(`${header} · load ${load()}`);
  await insertPeople(db, gallery.id, plan.people);

  let definition = '';
  if (indexAfter) {
    const [row] = await db.query<{ def: string }>('SELECT pg_get_indexdef($1::regclass) AS def', [HNSW_INDEX]);
    definition = row!.def;
    await db.exec(`DROP INDEX ${HNSW_INDEX}`);
  }

  // Bulk: all but the row-by-row sample, in multi-row INSERT … SELECT unnest statements.
  const rows = faceRows(plan, model);
  const bulkCount = size - rowSample;
  const enrolled = new Set<string>();
  let loaded = 0,
    dbSeconds = 0,
    stopped = false;
  const tLoad = performance.now();
  while (loaded < bulkCount) {
    const chunk: FaceRow[] = [];
    for (let i = 0; i < Math.min(batch, bulkCount - loaded); i++) chunk.push(rows.next().value as FaceRow);
    for (const r of chunk) enrolled.add(r.personId);
    const t = performance.now();
    await bulkInsert(db, gallery.id, chunk, loaded);
    dbSeconds += (performance.now() - t) / 1000;
    loaded += chunk.length;
    if (loaded % Math.max(batch, Math.round(bulkCount / 10 / batch) * batch) < batch)
      log(`  bulk ${int(loaded)}/${int(bulkCount)} · ${int(loaded / dbSeconds)} faces/s · load ${load()}`);
    if ((performance.now() - tLoad) / 1000 > budget && loaded < bulkCount) {
      stopped = true;
      log(`  bulk load stopped after ${fix(budget / 60, 1)} min at ${int(loaded)} faces`);
      break;
    }
  }
  const bulkRate = loaded / dbSeconds;

  let build: BuildResult | undefined;
  if (indexAfter) {
    log(`  building the HNSW index over ${int(loaded)} faces · load ${load()}`);
    build = await buildIndex(db, url, definition);
    log(`  index built in ${fix(build.seconds, 0)} s`);
  }

  // Row by row through the repository, HNSW present, one transaction per face: the app's enrollment path.
  const tRow = performance.now();
  let rowCount = 0;
  if (!stopped) {
    for (let i = 0; i < rowSample; i++) {
      const r = rows.next().value as FaceRow;
      enrolled.add(r.personId);
      await db.transaction((tx) =>
        insertFace(tx, {
          personId: r.personId,
          galleryId: gallery.id,
          descriptor: r.descriptor,
          modelId: MODEL_ID,
          box: [BOX[0]!, BOX[1]!, BOX[2]!, BOX[3]!],
          score: 0.95,
          quality: QUALITY,
          imageSha256: sha(loaded + i),
          thumbnail: null,
        }),
      );
      rowCount++;
    }
  }
  const rowRate = rowCount / ((performance.now() - tRow) / 1000);
  loaded += rowCount;
  // Autovacuum would get there; without it the first searches pay for hint bits and the planner has no statistics.
  await db.exec('VACUUM ANALYZE faces');
  await db.exec('VACUUM ANALYZE people');

  const [sz] = await db.query<{ total: number; heap: number; hnsw: number; indexes: number; people: number }>(
    `SELECT pg_total_relation_size('faces')::float8 AS total, pg_relation_size('faces')::float8 AS heap, pg_relation_size('${HNSW_INDEX}')::float8 AS hnsw,
            pg_indexes_size('faces')::float8 AS indexes, pg_total_relation_size('people')::float8 AS people`,
  );

  // Probes of this gallery. Warm-up first (not measured): the index was just written, the cache is not steady.
  const withReal = plan.realFaces > 0;
  const isEnrolled = (id: string) => enrolled.has(id);
  const list = probes(plan, model, queries, SEED * 31 + 5, withReal, isEnrolled);
  const warm = probes(plan, model, num(values.warmup), SEED * 31 + 9, false, isEnrolled);
  log(`  warm-up: ${warm.length} probes · load ${load()}`);
  await search(db, gallery.id, warm, {});

  const recallTarget = Math.min(num(values['recall-probes']), list.length);
  log(`  exact search for recall: up to ${recallTarget} probes, ${values['exact-budget']} s at most · load ${load()}`);
  const exact = await search(db, gallery.id, list.slice(0, recallTarget), {
    exact: true,
    budgetSeconds: num(values['exact-budget']),
    minimum: 20,
  });
  const nExact = exact.results.length;

  const ex = await explain(db, gallery.id, list.slice(0, num(values.explain)));

  // Every probe is asked at every ef_search, the order rotating per probe: the machine is shared, so background load
  // and cache warmth fall on all values alike rather than on whichever ran last.
  log(`  ef_search ${efValues.join(', ')}: ${list.length} probes each, interleaved · load ${load()}`);
  const timed = new Map(efValues.map((ef) => [ef, { ms: [] as number[], results: [] as FaceNeighbour[][] }]));
  const tSweep = performance.now();
  for (let i = 0; i < list.length; i++) {
    for (let j = 0; j < efValues.length; j++) {
      const ef = efValues[(i + j) % efValues.length]!;
      const t = await search(db, gallery.id, [list[i]!], { efSearch: ef });
      timed.get(ef)!.ms.push(t.ms[0]!);
      timed.get(ef)!.results[i] = t.results[0]!;
    }
  }
  const sweepSeconds = (performance.now() - tSweep) / 1000;
  const efRows: EfRow[] = [];
  const rank1 = new Map<string, [number, number]>();
  for (const ef of efValues) {
    const t = timed.get(ef)!;
    const sorted = [...t.ms].sort((a, b) => a - b);
    const r1: number[] = [],
      r10: number[] = [],
      r1g: number[] = [],
      r1i: number[] = [];
    for (let i = 0; i < nExact; i++) {
      const a = recall(t.results[i]!, exact.results[i]!, 1);
      r1.push(a);
      (list[i]!.genuine ? r1g : r1i).push(a);
      r10.push(recall(t.results[i]!, exact.results[i]!, 10));
    }
    // One client back to back: QPS is 1000 / mean latency.
    efRows.push({
      ef,
      p50: pct(sorted, 0.5),
      p95: pct(sorted, 0.95),
      p99: pct(sorted, 0.99),
      mean: mean(t.ms),
      max: sorted.at(-1)!,
      qps: 1000 / mean(t.ms),
      r1: mean(r1),
      r10: mean(r10),
      r1Genuine: mean(r1g),
      r1Impostor: mean(r1i),
    });
    if (ef === DEFAULT_EF_SEARCH) {
      list.forEach((p, i) => {
        if (!p.genuine) return;
        const [ok, n] = rank1.get(p.source) ?? [0, 0];
        rank1.set(p.source, [ok + (t.results[i]![0]?.personId === p.personId ? 1 : 0), n + 1]);
      });
    }
  }

  // ---- the table for this size ----
  const exactSorted = [...exact.ms].sort((a, b) => a - b);
  const genuine = list.filter((p) => p.genuine).length;
  const lfwProbes = list.filter((p) => p.source === 'LFW').length;
  const lines = [
    '',
    `== ${header}${stopped ? ` — LOAD STOPPED at ${int(loaded)} faces after the ${values['pglite-budget']} min budget` : ''}`,
    `  load average      ${load()} (2 cores shared with other work)`,
    `  bulk insert       ${int(bulkRate)} faces/s (${int(loaded - rowCount)} faces in ${batch}-row INSERT … SELECT unnest(…), HNSW ${indexAfter ? 'absent (built afterwards)' : 'present'}; ${fix(dbSeconds, 0)} s in the database)`,
    `  row-by-row insert ${rowCount ? `${int(rowRate)} faces/s (insertFace, one transaction per face, HNSW present, ${int(rowCount)} faces into ~${int(loaded - rowCount)})` : 'not measured (load stopped)'}`,
  ];
  if (build) {
    lines.push(
      `  HNSW build        ${fix(build.seconds, 0)} s for ${int(loaded - rowCount)} faces = ${int((loaded - rowCount) / build.seconds)} faces/s (${build.settings})`,
    );
    for (const n of build.notices) lines.push(`    notice: ${n}`);
  }
  const perFace = sz!.total / loaded;
  lines.push(
    `  size              faces table + indexes ${mb(sz!.total)} = ${int(perFace)} B/face (heap+TOAST ${mb(sz!.total - sz!.indexes)}, HNSW ${mb(sz!.hnsw)} = ${int(sz!.hnsw / loaded)} B/face, other indexes ${mb(sz!.indexes - sz!.hnsw)}); people ${mb(sz!.people)}`,
    `                    → per million faces: ${fix((perFace * 1e6) / 2 ** 30, 2)} GiB on disk, of which HNSW ${fix(((sz!.hnsw / loaded) * 1e6) / 2 ** 30, 2)} GiB (thumbnails excluded: null here)`,
    `  plan              ${ex.plan || '?'}; server execution p50 ${fix(
      pct(
        [...ex.serverMs].sort((a, b) => a - b),
        0.5,
      ),
      2,
    )} ms, p99 ${fix(
      pct(
        [...ex.serverMs].sort((a, b) => a - b),
        0.99,
      ),
      2,
    )} ms; buffers per query: ${int(mean(ex.hit))} hit, ${fix(mean(ex.read), 1)} read (EXPLAIN ANALYZE, ${ex.serverMs.length} probes, ef ${DEFAULT_EF_SEARCH})`,
    `  probes            ${list.length}: ${genuine} genuine (enrolled person, new face) + ${list.length - genuine} impostor (not enrolled); ${lfwProbes} of them held-out LFW images; ${warm.length} warm-up probes before`,
    `  sweep             ${int(list.length * efValues.length)} searches in ${fix(sweepSeconds, 0)} s (all ef values, interleaved); QPS below = 1000 / mean ms of one client`,
    `  exact search      ${nExact} probes${nExact < recallTarget ? ` (of ${recallTarget}: ${values['exact-budget']} s budget)` : ''}, sequential scan: p50 ${fix(pct(exactSorted, 0.5), 1)} ms, p99 ${fix(pct(exactSorted, 0.99), 1)} ms — the ground truth for recall`,
    `  ${'ef_search'.padEnd(18)} ${'p50 ms'.padStart(7)} ${'p95 ms'.padStart(7)} ${'p99 ms'.padStart(7)} ${'mean ms'.padStart(8)} ${'max ms'.padStart(7)} ${'QPS'.padStart(6)} ${'recall@1'.padStart(9)} ${'recall@10'.padStart(10)} ${'r@1 genuine'.padStart(12)} ${'r@1 impostor'.padStart(13)}`,
  );
  for (const r of efRows) {
    lines.push(
      `  ${`${r.ef}${r.ef === DEFAULT_EF_SEARCH ? ' (app default)' : ''}`.padEnd(18)} ${fix(r.p50, 2).padStart(7)} ${fix(r.p95, 2).padStart(7)} ${fix(r.p99, 2).padStart(7)} ${fix(r.mean, 2).padStart(8)} ${fix(r.max, 1).padStart(7)} ${int(r.qps).padStart(6)} ${fix(r.r1, 3).padStart(9)} ${fix(r.r10, 3).padStart(10)} ${fix(r.r1Genuine, 3).padStart(12)} ${fix(r.r1Impostor, 3).padStart(13)}`,
    );
  }
  const rk = [...rank1].map(([source, [ok, n]]) => `${source} ${fix(ok / n, 3)} (${n})`).join(', ');
  lines.push(`  rank-1 identification of genuine probes at ef ${DEFAULT_EF_SEARCH} (nearest face is the probe's person): ${rk}`);
  console.log(lines.join('\n'));

  return {
    kind,
    size,
    loaded,
    bulkRate,
    bulkWithIndex: !indexAfter,
    rowRate,
    rowCount,
    ...(build ? { build } : {}),
    totalBytes: sz!.total,
    hnswBytes: sz!.hnsw,
    exactProbes: nExact,
    efRows,
  };
}

// ---------- throwaway databases ----------

const adminUrl = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL;
const created: string[] = [];
const tempDirs: string[] = [];
const open: Database[] = [];

function databaseUrl(name: string): string {
  const u = new URL(adminUrl!);
  u.pathname = `/${name}`;
  return u.toString();
}

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

async function dropDatabase(name: string): Promise<void> {
  if (!/bench/.test(name)) throw new Error(`refusing to drop ${name}: not a bench database`);
  await admin((c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
  created.splice(created.indexOf(name), 1);
}

let cleaning: Promise<void> | undefined;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (const db of open.splice(0)) await db.close().catch(() => {});
    for (const name of [...created]) {
      await dropDatabase(name).then(
        () => log(`dropped ${name}`),
        (err: Error) => log(`could not drop ${name}: ${err.message}`),
      );
    }
    for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  })();
  return cleaning;
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    log(`${signal}: cleaning up`);
    void cleanup().finally(() => process.exit(130));
  });
}

async function withDatabase<T>(
  kind: 'postgres' | 'pglite',
  size: number,
  fn: (db: Database, url: string | undefined) => Promise<T>,
): Promise<T> {
  let db: Database, url: string | undefined, name: string | undefined, dir: string | undefined;
  if (kind === 'postgres') {
    name = `facerec_bench_${size}_${process.pid}`;
    await admin((c) => c.query(`CREATE DATABASE "${name}"`));
    created.push(name);
    url = databaseUrl(name);
    db = await openDatabase({ url });
  } else {
    dir = mkdtempSync(path.join(os.tmpdir(), 'facerec-bench-pglite-'));
    tempDirs.push(dir);
    db = await openDatabase({ dataDir: dir });
  }
  open.push(db);
  try {
    return await fn(db, url);
  } finally {
    open.splice(open.indexOf(db), 1);
    await db.close();
    if (name) await dropDatabase(name);
    if (dir) {
      rmSync(dir, { recursive: true, force: true });
      tempDirs.splice(tempDirs.indexOf(dir), 1);
    }
  }
}

// ---------- main ----------

async function main(): Promise<void> {
  const sizes = adminUrl ? list(values.sizes) : [];
  const pgliteSizes = list(values['pglite-sizes']);
  const real = loadLfw();
  const model = real.length ? lfwModel(real) : isotropicModel();

  console.log(`store 1:N search bench · ${new Date().toISOString()} · node ${process.version}`);
  console.log(
    `machine: ${os.cpus().length} cores, ${fix(os.totalmem() / 2 ** 30, 0)} GiB RAM, shared with other work running at the same time (load average ${load()}): absolute timings are noisy, compare within a run`,
  );
  if (adminUrl) {
    const settings = await admin(async (c) => {
      const v = (
        await c.query<{ v: string }>(
          "SELECT version() || ' · pgvector ' || coalesce((SELECT extversion FROM pg_extension WHERE extname = 'vector'), (SELECT default_version FROM pg_available_extensions WHERE name = 'vector')) AS v",
        )
      ).rows[0]!.v;
      const s = (
        await c.query<{ name: string; setting: string }>(
          "SELECT name, current_setting(name) AS setting FROM pg_settings WHERE name IN ('shared_buffers', 'effective_cache_size', 'work_mem', 'max_parallel_workers_per_gather', 'jit', 'synchronous_commit', 'random_page_cost') ORDER BY name",
        )
      ).rows;
      return `${v.split(',')[0]}\n  server settings: ${s.map((r) => `${r.name} ${r.setting}`).join(', ')}`;
    });
    console.log(`postgres: ${new URL(adminUrl).host} · ${settings}`);
    console.log(
      `  HNSW build (sizes ≥ ${int(num(values['index-after']))}): maintenance_work_mem ${values['maintenance-work-mem']}, max_parallel_maintenance_workers ${values['parallel-workers']}`,
    );
  } else {
    console.log('postgres: no BENCH_DATABASE_URL or TEST_DATABASE_URL — PGlite only');
  }
  console.log(`descriptors: ${model.description}`);
  for (const line of distanceStats(model, real)) console.log(`  ${line}`);
  console.log(
    `queries: nearestFaces in db.transaction, limit ${LIMIT}, one client; ef_search ${efValues.join(', ')} (app default ${DEFAULT_EF_SEARCH}); seed ${SEED}`,
  );

  const results: RunResult[] = [];
  for (const size of sizes)
    results.push(await withDatabase('postgres', size, (db, url) => runSize('postgres', size, db, url, model, real)));
  for (const size of pgliteSizes)
    results.push(await withDatabase('pglite', size, (db) => runSize('pglite', size, db, undefined, model, real)));
  summary(results);
}

function summary(results: RunResult[]): void {
  const lines = ['', '== summary (one client; ef_search = app default unless noted)'];
  lines.push(
    `  ${'database'.padEnd(9)} ${'faces'.padStart(10)} ${'bulk/s'.padStart(8)} ${'row/s'.padStart(6)} ${'HNSW build'.padStart(11)} ${'GiB/1M'.padStart(7)} ${'HNSW GiB/1M'.padStart(12)} ${'p50 ms'.padStart(7)} ${'p95 ms'.padStart(7)} ${'p99 ms'.padStart(7)} ${'QPS'.padStart(6)} ${'recall@1'.padStart(9)} ${'recall@10'.padStart(10)} ${'exact n'.padStart(8)}`,
  );
  for (const r of results) {
    const d = r.efRows.find((e) => e.ef === DEFAULT_EF_SEARCH)!;
    lines.push(
      `  ${r.kind.padEnd(9)} ${int(r.loaded).padStart(10)} ${int(r.bulkRate).padStart(8)} ${(r.rowCount ? int(r.rowRate) : '-').padStart(6)} ${(r.build ? `${fix(r.build.seconds, 0)} s` : 'inline').padStart(11)} ${fix(((r.totalBytes / r.loaded) * 1e6) / 2 ** 30, 2).padStart(7)} ${fix(((r.hnswBytes / r.loaded) * 1e6) / 2 ** 30, 2).padStart(12)} ${fix(d.p50, 2).padStart(7)} ${fix(d.p95, 2).padStart(7)} ${fix(d.p99, 2).padStart(7)} ${int(d.qps).padStart(6)} ${fix(d.r1, 3).padStart(9)} ${fix(d.r10, 3).padStart(10)} ${String(r.exactProbes).padStart(8)}`,
    );
  }
  const pgRuns = results.filter((r) => r.kind === 'postgres');
  const target = pgRuns.find((r) => r.size === 1_000_000) ?? pgRuns.at(-1);
  lines.push('', 'target: p99 ≤ 10 ms at 1,000,000 faces with recall@1 ≥ 0.99 (PostgreSQL, one client)');
  if (!target) {
    lines.push('  not assessed: no PostgreSQL run');
  } else {
    if (target.size !== 1_000_000) lines.push(`  no 1M run; largest PostgreSQL size shown (${int(target.loaded)} faces)`);
    for (const e of target.efRows) {
      const misses = [e.p99 > 10 ? 'p99' : '', e.r1 < 0.99 ? 'recall@1' : ''].filter(Boolean);
      lines.push(
        `  ef_search ${String(e.ef).padEnd(4)}${e.ef === DEFAULT_EF_SEARCH ? ' (default)' : '          '} p99 ${fix(e.p99, 2).padStart(6)} ms, recall@1 ${fix(e.r1, 3)} (genuine ${fix(e.r1Genuine, 3)}), recall@10 ${fix(e.r10, 3)} → ${misses.length ? `MISSED (${misses.join(', ')})` : 'met'}`,
      );
    }
    lines.push(`  recall over ${target.exactProbes} probes with exact neighbours; load average now ${load()}`);
  }
  console.log(lines.join('\n'));
}

try {
  await main();
} finally {
  await cleanup();
}
