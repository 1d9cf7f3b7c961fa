/**
 * Speed of detect + landmarks + describe on equal cores, in one run, on the same photos:
 * - plain face-api (detectAllFaces(SSD 0.3).withFaceLandmarks().withFaceDescriptors() on tfjs-wasm), one process
 *   per core, all at once: the baseline;
 * - the engine's worker pool on tfjs (the reference runtime) and on ONNX Runtime, as N workers × 1 thread and as
 *   1 worker × N threads;
 * - each ONNX net alone, 1 thread: GFLOP/s from its FLOP count, beside the measured FP32 GEMM peak of one core.
 * Each mode runs in its own process(es), so that its peak RSS is its own.
 *   npm run bench:engine [-- --lfw 120 --cores 2]
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
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

const { values } = parseArgs({
  options: {
    mode: { type: 'string' },
    lfw: { type: 'string', default: '120' },
    cores: { type: 'string', default: String(Math.min(2, os.availableParallelism())) },
  },
});
const CORES = Number(values.cores);
const ROOT = path.resolve(import.meta.dirname, '..');
const DATASETS = process.env.FACEREC_DATASETS ?? path.resolve(ROOT, '..', 'shared', 'datasets');

function photos(): string[] {
  const demo = path.join(ROOT, 'node_modules', '@vladmandic', 'face-api', 'demo');
  const list = [1, 2, 3, 4, 5, 6].map((i) => path.join(demo, `sample${i}.jpg`));
  const pairs = path.join(DATASETS, 'lfw-view1', 'pairsDevTest.txt');
  if (existsSync(pairs)) {
    const images = [...new Set(parsePairs(readFileSync(pairs, 'utf8')).pairs.map((p) => p.a))].slice(0, Number(values.lfw));
    list.push(...images.map((f) => path.join(DATASETS, 'lfw-view1', 'images', f)));
  }
  return list;
}

interface ModeResult {
  images: number;
  faces: number;
  seconds: number;
  maxRssMb: number;
  stages?: StageTimings;
}

/** Plain face-api on one thread over every photo: one of the baseline's processes. */
async function plain(bytes: Buffer[]): Promise<ModeResult> {
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
  await run(bytes[0]!);
  let faces = 0;
  const t0 = performance.now();
  for (const b of bytes) faces += await run(b);
  return { images: bytes.length, faces, seconds: (performance.now() - t0) / 1000, maxRssMb: process.resourceUsage().maxRSS / 1024 };
}

/** The engine's pool: every photo queued at once. */
async function pool(bytes: Buffer[], size: number, runtime: RuntimeOptions): Promise<ModeResult> {
  const p = await WorkerPool.start({ size, runtime, queueSize: bytes.length });
  await Promise.all(Array.from({ length: size }, () => p.run('analyze', { bytes: bytes[0]!, options: {} })));
  const t0 = performance.now();
  const results = await Promise.all(bytes.map((b) => p.run('analyze', { bytes: b, options: {} })));
  const seconds = (performance.now() - t0) / 1000;
  await p.close();
  const stages: StageTimings = { decode: 0, detect: 0, landmarks: 0, describe: 0 };
  for (const a of results)
    for (const k of Object.keys(stages) as (keyof StageTimings)[]) stages[k] = (stages[k] ?? 0) + (a.timings[k] ?? 0);
  const faces = results.reduce((n, a) => n + a.faces.length, 0);
  return { images: bytes.length, faces, seconds, maxRssMb: process.resourceUsage().maxRSS / 1024, stages };
}

const NET_INPUTS: Record<NetName, [number, number]> = {
  ssdMobilenetv1: [1, 512],
  tinyFaceDetector: [1, 416],
  faceLandmark68Net: [1, 112],
  faceRecognitionNet: [2, 150],
};

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

/** Each ONNX net alone on one thread, and the FP32 GEMM peak of one core as ONNX Runtime's own MatMul reaches it. */
async function nets(): Promise<Record<string, { ms: number; gflop: number }>> {
  const manifest = await readManifest(DEFAULT_MODELS_DIR);
  const options: ort.InferenceSession.SessionOptions = { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all' };
  const out: Record<string, { ms: number; gflop: number }> = {};
  for (const [net, [batch, side]] of Object.entries(NET_INPUTS) as [NetName, [number, number]][]) {
    const bytes = readFileSync(path.join(DEFAULT_MODELS_DIR, manifest.models[net].onnx!.file));
    const session = await ort.InferenceSession.create(bytes, options);
    const input = new Float32Array(batch * side * side * 3).map(() => Math.random() * 255);
    const ms = await timeSession(session, { image: new ort.Tensor('float32', input, [batch, side, side, 3]) });
    out[net] = { ms: ms / batch, gflop: graphFlops(bytes, [batch, side, side, 3]) / batch / 1e9 };
    await session.release();
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
 * that boosts above its base clock can pass it.
 */
function fp32Bound(): { bound: number; how: string } {
  const info = existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '';
  const flags = /^flags\s*:(.*)$/m.exec(info)?.[1] ?? '';
  const amd = /AuthenticAMD/.test(info);
  const mhz = Number(/^cpu MHz\s*:\s*([\d.]+)/m.exec(info)?.[1] ?? os.cpus()[0]?.speed ?? 0);
  const perCycle = / avx512f/.test(flags) ? (amd ? 32 : 64) : / avx2/.test(flags) && / fma/.test(flags) ? 32 : 8;
  return { bound: (perCycle * mhz) / 1000, how: `${perCycle} FLOP/cycle × ${(mhz / 1000).toFixed(2)} GHz` };
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

const MODES: Record<string, { label: string; run: (bytes: Buffer[]) => Promise<ModeResult> }> = {
  plain: { label: `plain face-api, ${CORES} process${CORES > 1 ? 'es' : ''}`, run: plain },
  tfjs: { label: `facerec tfjs-wasm, ${CORES} workers`, run: (b) => pool(b, CORES, { runtime: 'tfjs', backend: 'wasm' }) },
  onnxWorkers: { label: `facerec onnx, ${CORES} workers × 1 thread`, run: (b) => pool(b, CORES, { runtime: 'onnx', threads: 1 }) },
  onnxThreads: { label: `facerec onnx, 1 worker × ${CORES} threads`, run: (b) => pool(b, 1, { runtime: 'onnx', threads: CORES }) },
};

if (values.mode === 'nets') {
  process.stdout.write(JSON.stringify(await nets()));
} else if (values.mode) {
  const bytes = await Promise.all(photos().map((f) => readFile(f)));
  process.stdout.write(JSON.stringify(await MODES[values.mode]!.run(bytes)));
} else {
  const files = photos();
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  console.log(`${files.length} photos (6 face-api demo samples + ${files.length - 6} LFW View 1 images), ${CORES} cores of ${cpu}`);
  console.log(`onnxruntime-node ${ort.env.versions.node}; tfjs-wasm 1 thread per process or worker\n`);
  console.log(
    `${'mode'.padEnd(38)} ${'images/s'.padStart(9)} ${'ms/face'.padStart(8)} ${'faces'.padStart(6)} ${'peak RSS'.padStart(9)} ${'vs plain'.padStart(9)}`,
  );
  let baseline = 0;
  const stagesOf: Record<string, StageTimings | undefined> = {};
  for (const [mode, { label }] of Object.entries(MODES)) {
    // The baseline: one plain process per core, all at once; the others: one process with the pool.
    const runs = await inProcesses(mode, mode === 'plain' ? CORES : 1);
    const ips = runs.reduce((s, r) => s + r.images / r.seconds, 0);
    const faces = runs[0]!.faces;
    const rss = runs.reduce((s, r) => s + r.maxRssMb, 0);
    if (mode === 'plain') baseline = ips;
    stagesOf[mode] = runs[0]!.stages;
    // ms/face: wall time per face at this throughput, all cores together.
    console.log(
      `${label.padEnd(38)} ${ips.toFixed(2).padStart(9)} ${(1000 / ips / (faces / runs[0]!.images)).toFixed(1).padStart(8)} ${String(faces).padStart(6)} ${`${rss.toFixed(0)} MB`.padStart(9)} ${`${(ips / baseline).toFixed(2)}x`.padStart(9)}`,
    );
  }
  const stages = stagesOf.onnxWorkers!;
  const total = Object.values(stages).reduce((s, v) => s + v, 0);
  console.log(
    `\nwhere a worker's time goes (onnx, ${CORES} workers): ${Object.entries(stages)
      .map(([k, v]) => `${k} ${((v / total) * 100).toFixed(0)}%`)
      .join(', ')}`,
  );
  const netTimes = JSON.parse(
    execFileSync(process.execPath, ['--import', 'tsx', import.meta.filename, '--mode', 'nets'], { encoding: 'utf8' }),
  ) as Record<string, { ms: number; gflop: number }>;
  const gemm = netTimes.gemm!.gflop / (netTimes.gemm!.ms / 1000);
  const { bound, how } = fp32Bound();
  console.log(`\neach ONNX net alone, 1 thread; FP32 bound of one core: ${how} = ${bound.toFixed(0)} GFLOP/s`);
  console.log(`  (ONNX Runtime's own MatMul 1024³ reaches ${gemm.toFixed(0)} GFLOP/s)`);
  for (const [net, { ms, gflop }] of Object.entries(netTimes)) {
    if (net === 'gemm') continue;
    const rate = gflop / (ms / 1000);
    console.log(
      `  ${net.padEnd(20)} ${gflop.toFixed(2).padStart(6)} GFLOP ${ms.toFixed(1).padStart(7)} ms  ${rate.toFixed(0).padStart(4)} GFLOP/s  ${((100 * rate) / bound).toFixed(0).padStart(3)}% of bound`,
    );
  }
}
