/**
 * Speed of detect + landmarks + describe on equal cores, in one run, on the same photos, in two sets: LFW-sized
 * photos (LFW View 1 DevTest images, 250×250, one face) and group photos (face-api's 6 demo samples and the 5 BBT cast
 * photos, 1280–1920 px, 2–7 faces):
 * - plain face-api (detectAllFaces(SSD 0.3).withFaceLandmarks().withFaceDescriptors() on tfjs-wasm), one process
 *   per core, all at once: the baseline;
 * - the engine's worker pool on ONNX Runtime, one worker per core × 1 thread, at FP32 and int8, with SSD at 512² and
 *   sized to the photo (FACEREC_PRECISION, FACEREC_SSD_INPUT); `--modes` adds tfjs and 1 worker × N threads;
 * - each ONNX net alone, 1 thread, FP32 and int8: ms and GFLOP/s from its FLOP count, beside the FP32 bound;
 * - the whole `facerec detect one.jpg` and `facerec identify one.jpg` commands (node dist/cli/main.js: build first),
 *   on the embedded database with one person enrolled, and on a new data directory.
 * Each mode runs in its own process(es), so that its peak RSS is its own. The machine may be shared: the ratios are
 * within one run, and the load average is printed before and after.
 *   npm run bench:engine [-- --lfw 120 --cores 2 --modes plain,fp32-512,fp32-sized,int8-512,int8-sized]
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { loadRuntime } from '../src/engine/backend.js';
import type { StageTimings } from '../src/engine/face-engine.js';
import { DEFAULT_MODELS_DIR, loadModels, readManifest, type NetName } from '../src/engine/models.js';
import type { RuntimeOptions } from '../src/engine/nets.js';
import { WorkerPool } from '../src/engine/pool.js';
import { parsePairs } from '../src/eval/lfw.js';
import { decodeImage } from '../src/image/decode.js';
import { Graph } from '../scripts/onnx-graph.js';
import { graphFlops } from './flops.js';

const DEFAULT_MODES = 'plain,fp32-512,fp32-sized,int8-512,int8-sized';
const { values } = parseArgs({
  options: {
    mode: { type: 'string' },
    modes: { type: 'string', default: DEFAULT_MODES },
    lfw: { type: 'string', default: '120' },
    cores: { type: 'string', default: String(Math.min(2, os.availableParallelism())) },
    commands: { type: 'boolean', default: true },
  },
});
const CORES = Number(values.cores);
const ROOT = path.resolve(import.meta.dirname, '..');
const DATASETS = process.env.FACEREC_DATASETS ?? path.resolve(ROOT, '..', 'shared', 'datasets');
const DEMO = path.join(ROOT, 'node_modules', '@vladmandic', 'face-api', 'demo');

/** The two sets of photos: LFW-sized, and group photos. */
function photoSets(): Record<'lfw' | 'groups', string[]> {
  const groups = [1, 2, 3, 4, 5, 6].map((i) => path.join(DEMO, `sample${i}.jpg`));
  const bbt = path.join(DATASETS, 'bbt', 'group');
  if (existsSync(bbt))
    groups.push(
      ...readdirSync(bbt)
        .sort()
        .map((f) => path.join(bbt, f)),
    );
  const pairs = path.join(DATASETS, 'lfw-view1', 'pairsDevTest.txt');
  if (!existsSync(pairs)) throw new Error(`${pairs} is missing: the LFW set needs ../shared/datasets (or FACEREC_DATASETS)`);
  const lfw = [...new Set(parsePairs(readFileSync(pairs, 'utf8')).pairs.map((p) => p.a))]
    .slice(0, Number(values.lfw))
    .map((f) => path.join(DATASETS, 'lfw-view1', 'images', f));
  return { lfw, groups };
}

interface SetResult {
  images: number;
  faces: number;
  seconds: number;
}
interface ModeResult {
  sets: Record<string, SetResult>;
  maxRssMb: number;
  stages?: StageTimings;
}

/** Plain face-api on one thread over every photo of each set: one of the baseline's processes. */
async function plain(sets: Record<string, Buffer[]>): Promise<ModeResult> {
  const rt = await loadRuntime('wasm');
  await loadModels(rt, DEFAULT_MODELS_DIR);
  const { faceapi, tf } = rt;
  const run = async (b: Buffer) => {
    const image = await decodeImage(b);
    const tensor = tf.tensor3d(image.data, [image.height, image.width, 3], 'int32');
    const input = tensor as unknown as Parameters<typeof faceapi.detectAllFaces>[0];
    const result = await faceapi
      .detectAllFaces(input, new faceapi.SsdMobilenetv1Options({ minConfidence: 0.3 }))
      .withFaceLandmarks()
      .withFaceDescriptors();
    tensor.dispose();
    return result.length;
  };
  await run(Object.values(sets)[0]![0]!);
  const out: Record<string, SetResult> = {};
  for (const [name, bytes] of Object.entries(sets)) {
    let faces = 0;
    const t0 = performance.now();
    for (const b of bytes) faces += await run(b);
    out[name] = { images: bytes.length, faces, seconds: (performance.now() - t0) / 1000 };
  }
  return { sets: out, maxRssMb: process.resourceUsage().maxRSS / 1024 };
}

/** The engine's pool: each set's photos queued at once. */
async function pool(sets: Record<string, Buffer[]>, size: number, runtime: RuntimeOptions): Promise<ModeResult> {
  const all = Object.values(sets).flat();
  const p = await WorkerPool.start({ size, runtime, queueSize: all.length });
  await Promise.all(Array.from({ length: size }, () => p.run('analyze', { bytes: all[0]!, options: {} })));
  const stages: StageTimings = { decode: 0, detect: 0, landmarks: 0, describe: 0 };
  const out: Record<string, SetResult> = {};
  for (const [name, bytes] of Object.entries(sets)) {
    const t0 = performance.now();
    const results = await Promise.all(bytes.map((b) => p.run('analyze', { bytes: b, options: {} })));
    out[name] = { images: bytes.length, faces: results.reduce((n, a) => n + a.faces.length, 0), seconds: (performance.now() - t0) / 1000 };
    for (const a of results)
      for (const k of Object.keys(stages) as (keyof StageTimings)[]) stages[k] = (stages[k] ?? 0) + (a.timings[k] ?? 0);
  }
  await p.close();
  return { sets: out, maxRssMb: process.resourceUsage().maxRSS / 1024, stages };
}

/** Each net at its input side; SSD at 512 and at 256 (a photo of 256 px or less), the ResNet as the chip and its mirror. */
const NET_INPUTS: [NetName, number, number][] = [
  ['ssdMobilenetv1', 1, 512],
  ['ssdMobilenetv1', 1, 256],
  ['faceRecognitionNet', 2, 150],
  ['faceLandmark68Net', 1, 112],
  ['tinyFaceDetector', 1, 416],
];

async function timeSession(session: ort.InferenceSession, feeds: Record<string, ort.Tensor>): Promise<number> {
  for (let i = 0; i < 3; i++) await session.run(feeds);
  let runs = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < 2000 || runs < 5) {
    await session.run(feeds);
    runs++;
  }
  return (performance.now() - t0) / runs;
}

type NetTimes = Record<string, { ms: number; gflop: number }>;

/** Each ONNX graph alone on one thread (FP32 and int8), and the FP32 GEMM peak of one core as ONNX Runtime's MatMul reaches it. */
async function nets(): Promise<NetTimes> {
  const manifest = await readManifest(DEFAULT_MODELS_DIR);
  const options: ort.InferenceSession.SessionOptions = { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all' };
  const out: NetTimes = {};
  for (const [net, batch, side] of NET_INPUTS) {
    const fp32 = readFileSync(path.join(DEFAULT_MODELS_DIR, manifest.models[net].onnx!.file));
    const gflop = graphFlops(fp32, [batch, side, side, 3]) / batch / 1e9;
    const input = new Float32Array(batch * side * side * 3).map(() => Math.random() * 255);
    const graphs: [string, Buffer][] = [['fp32', fp32]];
    const int8 = manifest.models[net].int8;
    if (int8) graphs.push(['int8', readFileSync(path.join(DEFAULT_MODELS_DIR, int8.file))]);
    for (const [precision, bytes] of graphs) {
      const session = await ort.InferenceSession.create(bytes, options);
      const ms = await timeSession(session, { image: new ort.Tensor('float32', input, [batch, side, side, 3]) });
      out[`${net} ${side}² ${precision}`] = { ms: ms / batch, gflop };
      await session.release();
    }
  }
  const n = 1024;
  const g = new Graph('gemm');
  const a = g.input('image', [n, n]);
  g.output(g.node('MatMul', [a, g.constant(new Float32Array(n * n).fill(0.5), [n, n], 'b')]), 'out', [n, n]);
  const gemm = await ort.InferenceSession.create(g.encode('FP32 GEMM peak'), options);
  const ms = await timeSession(gemm, { image: new ort.Tensor('float32', new Float32Array(n * n).fill(1), [n, n]) });
  out.gemm = { ms, gflop: (2 * n ** 3) / 1e9 };
  await gemm.release();
  return out;
}

/**
 * One core's FP32 multiply-add bound from /proc/cpuinfo: FLOP per cycle from the vector units (AVX-512 on Intel: two
 * 512-bit FMA pipes, 64; on AMD Zen 4: two 256-bit pipes, 32; AVX2 + FMA: 32; else 8) times the base clock. A core
 * that boosts above its base clock can pass it. int8 with AVX-512 VNNI does four multiply-adds per 32-bit lane.
 */
function cpuBound(): { bound: number; how: string; vnni: boolean } {
  const info = existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '';
  const flags = /^flags\s*:(.*)$/m.exec(info)?.[1] ?? '';
  const amd = /AuthenticAMD/.test(info);
  const mhz = Number(/^cpu MHz\s*:\s*([\d.]+)/m.exec(info)?.[1] ?? os.cpus()[0]?.speed ?? 0);
  const perCycle = / avx512f/.test(flags) ? (amd ? 32 : 64) : / avx2/.test(flags) && / fma/.test(flags) ? 32 : 8;
  return {
    bound: (perCycle * mhz) / 1000,
    how: `${perCycle} FLOP/cycle × ${(mhz / 1000).toFixed(2)} GHz`,
    vnni: / avx512_vnni| avx_vnni/.test(flags),
  };
}

/** Runs this file in `count` processes at once, in one mode; their results. */
async function inProcesses(mode: string, count: number): Promise<ModeResult[]> {
  const args = ['--import', 'tsx', import.meta.filename, '--mode', mode, '--lfw', values.lfw!, '--cores', values.cores!];
  return Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<ModeResult>((resolve, reject) => {
          const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
          let stdout = '';
          child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
          child.on('exit', (code) =>
            code === 0 ? resolve(JSON.parse(stdout.trim().split('\n').pop()!) as ModeResult) : reject(new Error(`${mode} exited ${code}`)),
          );
        }),
    ),
  );
}

const onnx = (precision: 'fp32' | 'int8', ssdInput: 'sized' | '512'): RuntimeOptions => ({
  runtime: 'onnx',
  threads: 1,
  precision,
  ssdInput,
});
const MODES: Record<string, { label: string; run: (sets: Record<string, Buffer[]>) => Promise<ModeResult> }> = {
  plain: { label: `plain face-api, ${CORES} process${CORES > 1 ? 'es' : ''}`, run: plain },
  tfjs: { label: `facerec tfjs-wasm, ${CORES} workers`, run: (s) => pool(s, CORES, { runtime: 'tfjs', backend: 'wasm' }) },
  'fp32-512': { label: `facerec FP32, SSD 512²`, run: (s) => pool(s, CORES, onnx('fp32', '512')) },
  'fp32-sized': { label: `facerec FP32, SSD sized`, run: (s) => pool(s, CORES, onnx('fp32', 'sized')) },
  'int8-512': { label: `facerec int8, SSD 512²`, run: (s) => pool(s, CORES, onnx('int8', '512')) },
  'int8-sized': { label: `facerec int8, SSD sized (default)`, run: (s) => pool(s, CORES, onnx('int8', 'sized')) },
  threads: {
    label: `facerec int8 sized, 1 worker × ${CORES} threads`,
    run: (s) => pool(s, 1, { ...onnx('int8', 'sized'), threads: CORES }),
  },
};

/** The whole one-shot command, as a user runs it: the least of three wall times (ms). */
function commandMs(args: string[], env: NodeJS.ProcessEnv): number {
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, [path.join(ROOT, 'dist', 'cli', 'main.js'), ...args], { env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`facerec ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
    times.push(performance.now() - t0);
  }
  return Math.min(...times);
}

/** `facerec detect` and `facerec identify` of a one-face 1480×832 photo, on a data directory with one person and on a new one. */
function commands(): void {
  if (!existsSync(path.join(ROOT, 'dist', 'cli', 'main.js'))) {
    console.log('\n(the command times need dist/: npm run build)');
    return;
  }
  const knn = path.join(DATASETS, 'face-recognition-examples', 'knn_examples');
  const probe = path.join(knn, 'test', 'obama1.jpg');
  const enrolled = path.join(knn, 'train', 'obama', 'obama.jpg');
  console.log(`\nwhole commands, one process each (least of 3 wall times), ${path.basename(probe)} (1480×832, one face):`);
  for (const [precision, ssdInput] of [
    ['fp32', '512'],
    ['int8', 'sized'],
  ] as const) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'facerec-bench-'));
    try {
      const env = { ...process.env, FACEREC_PRECISION: precision, FACEREC_SSD_INPUT: ssdInput, FACEREC_DATA_DIR: dir, DATABASE_URL: '' };
      const detect = commandMs(['detect', probe], env);
      spawnSync(process.execPath, [path.join(ROOT, 'dist', 'cli', 'main.js'), 'enroll', '--name', 'Obama', enrolled], { env });
      const identify = commandMs(['identify', probe], env);
      const fresh = (() => {
        const times: number[] = [];
        for (let i = 0; i < 3; i++) {
          const d = mkdtempSync(path.join(os.tmpdir(), 'facerec-bench-new-'));
          times.push(commandMs(['identify', probe], { ...env, FACEREC_DATA_DIR: d }));
          rmSync(d, { recursive: true, force: true });
        }
        return Math.min(...times);
      })();
      console.log(
        `  ${`${precision}, SSD ${ssdInput}`.padEnd(18)} facerec detect ${detect.toFixed(0)} ms, facerec identify ${identify.toFixed(0)} ms (new data directory ${fresh.toFixed(0)} ms)`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

if (values.mode === 'nets') {
  process.stdout.write(JSON.stringify(await nets()));
} else if (values.mode) {
  const sets = photoSets();
  const bytes = Object.fromEntries(
    await Promise.all(Object.entries(sets).map(async ([name, files]) => [name, await Promise.all(files.map((f) => readFile(f)))] as const)),
  );
  process.stdout.write(JSON.stringify(await MODES[values.mode]!.run(bytes)));
} else {
  const sets = photoSets();
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const load = () =>
    os
      .loadavg()
      .map((v) => v.toFixed(1))
      .join(' ');
  console.log(
    `${sets.lfw.length} LFW View 1 photos (250×250) and ${sets.groups.length} group photos (face-api's demo samples, BBT), ${CORES} cores of ${cpu}`,
  );
  console.log(`onnxruntime-node ${ort.env.versions.node}; load average before: ${load()}\n`);
  const head = (set: string) => `${`${set} img/s`.padStart(13)} ${'vs plain'.padStart(9)}`;
  console.log(`${'mode'.padEnd(38)} ${head('LFW')} ${head('groups')} ${'ms/face'.padStart(8)} ${'peak RSS'.padStart(9)}`);
  const baseline: Record<string, number> = {};
  const stagesOf: Record<string, StageTimings | undefined> = {};
  for (const mode of values.modes!.split(',')) {
    const { label } = MODES[mode]!;
    // The baseline: one plain process per core, all at once; the others: one process with the pool.
    const runs = await inProcesses(mode, mode === 'plain' ? CORES : 1);
    const ips = (set: string) => runs.reduce((s, r) => s + r.sets[set]!.images / r.sets[set]!.seconds, 0);
    const rss = runs.reduce((s, r) => s + r.maxRssMb, 0);
    if (mode === 'plain') for (const set of ['lfw', 'groups']) baseline[set] = ips(set);
    stagesOf[mode] = runs[0]!.stages;
    // ms/face: wall time per face at this throughput over both sets, all cores together.
    const facesPerSecond = runs.reduce(
      (s, x) => s + (x.sets.lfw!.faces + x.sets.groups!.faces) / (x.sets.lfw!.seconds + x.sets.groups!.seconds),
      0,
    );
    const cell = (set: string) =>
      `${ips(set).toFixed(2).padStart(13)} ${baseline[set] ? `${(ips(set) / baseline[set]).toFixed(2)}x`.padStart(9) : ''.padStart(9)}`;
    console.log(
      `${label.padEnd(38)} ${cell('lfw')} ${cell('groups')} ${(1000 / facesPerSecond).toFixed(1).padStart(8)} ${`${rss.toFixed(0)} MB`.padStart(9)}`,
    );
  }
  for (const [mode, stages] of Object.entries(stagesOf)) {
    if (!stages) continue;
    const total = Object.values(stages).reduce((s, v) => s + v, 0);
    console.log(
      `where a worker's time goes (${mode}): ${Object.entries(stages)
        .map(([k, v]) => `${k} ${((v / total) * 100).toFixed(0)}%`)
        .join(', ')}`,
    );
  }
  const netTimes = JSON.parse(
    execFileSync(process.execPath, ['--import', 'tsx', import.meta.filename, '--mode', 'nets'], { encoding: 'utf8' }),
  ) as NetTimes;
  const gemm = netTimes.gemm!.gflop / (netTimes.gemm!.ms / 1000);
  const { bound, how, vnni } = cpuBound();
  console.log(
    `\neach ONNX net alone, 1 thread; FP32 bound of one core: ${how} = ${bound.toFixed(0)} GFLOP/s; AVX-512 VNNI: ${vnni ? 'yes' : 'no'}`,
  );
  console.log(`  (ONNX Runtime's own FP32 MatMul 1024³ reaches ${gemm.toFixed(0)} GFLOP/s; int8 GFLOP/s count the same operations)`);
  for (const [net, { ms, gflop }] of Object.entries(netTimes)) {
    if (net === 'gemm') continue;
    const rate = gflop / (ms / 1000);
    const fp32 = netTimes[net.replace(/int8$/, 'fp32')]!;
    const speedup = net.endsWith('int8') ? `  ${(fp32.ms / ms).toFixed(2)}× FP32` : '';
    console.log(
      `  ${net.padEnd(30)} ${gflop.toFixed(2).padStart(6)} GFLOP ${ms.toFixed(1).padStart(7)} ms  ${rate.toFixed(0).padStart(4)} GFLOP/s  ${((100 * rate) / bound).toFixed(0).padStart(3)}% of the FP32 bound${speedup}`,
    );
  }
  if (values.commands) commands();
  console.log(`\nload average after: ${load()}`);
}
