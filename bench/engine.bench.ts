/**
 * Speed of detect+describe: plain face-api usage vs the engine (one thread) vs the engine's worker pool, on the
 * same photos and backend. Each mode runs in its own process so that its peak RSS is its own.
 *   npm run bench:engine [-- --lfw 60 --workers 2]
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { FaceEngine, type StageTimings } from '../src/engine/face-engine.js';
import { WorkerPool } from '../src/engine/pool.js';
import { parsePairs } from '../src/eval/lfw.js';
import { decodeImage } from '../src/image/decode.js';

const { values } = parseArgs({
  options: { mode: { type: 'string' }, lfw: { type: 'string', default: '40' }, workers: { type: 'string', default: '2' } },
});
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
  mode: string;
  images: number;
  faces: number;
  seconds: number;
  maxRssMb: number;
  stages?: StageTimings;
}

async function runMode(mode: string, files: string[]): Promise<ModeResult> {
  const bytes = await Promise.all(files.map((f) => readFile(f)));
  let faces = 0;
  const stages: StageTimings = { decode: 0, detect: 0, landmarks: 0, describe: 0 };
  const addStages = (t: StageTimings) => {
    for (const k of Object.keys(stages) as (keyof StageTimings)[]) stages[k] += t[k];
  };
  let seconds: number;
  if (mode === 'plain') {
    const engine = await FaceEngine.create(); // only to load face-api on the same backend with the same weights
    const { faceapi, tf } = engine.runtime;
    const warm = await decodeImage(bytes[0]!);
    const run = async (image: Awaited<ReturnType<typeof decodeImage>>) => {
      const tensor = tf.tensor3d(image.data, [image.height, image.width, 3], 'int32');
      const input = tensor as unknown as Parameters<typeof faceapi.detectAllFaces>[0];
      const result = await faceapi
        .detectAllFaces(input, new faceapi.SsdMobilenetv1Options({ minConfidence: 0.3 }))
        .withFaceLandmarks()
        .withFaceDescriptors();
      tensor.dispose();
      return result.length;
    };
    await run(warm);
    const t0 = performance.now();
    for (const b of bytes) faces += await run(await decodeImage(b));
    seconds = (performance.now() - t0) / 1000;
  } else if (mode === 'engine') {
    const engine = await FaceEngine.create();
    await engine.analyzeBytes(bytes[0]!);
    const t0 = performance.now();
    for (const b of bytes) {
      const a = await engine.analyzeBytes(b);
      faces += a.faces.length;
      addStages(a.timings);
    }
    seconds = (performance.now() - t0) / 1000;
  } else {
    const pool = await WorkerPool.start({ size: Number(values.workers), queueSize: bytes.length });
    await Promise.all(Array.from({ length: pool.size }, () => pool.run('analyze', { bytes: bytes[0]!, options: {} })));
    const t0 = performance.now();
    const results = await Promise.all(bytes.map((b) => pool.run('analyze', { bytes: b, options: {} })));
    seconds = (performance.now() - t0) / 1000;
    for (const a of results) {
      faces += a.faces.length;
      addStages(a.timings);
    }
    await pool.close();
  }
  return {
    mode,
    images: bytes.length,
    faces,
    seconds,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
    stages: mode === 'plain' ? undefined : stages,
  };
}

if (values.mode) {
  process.stdout.write(JSON.stringify(await runMode(values.mode, photos())));
} else {
  const files = photos();
  console.log(
    `${files.length} photos (6 face-api demo samples${files.length > 6 ? ` + ${files.length - 6} LFW images` : ''}), workers ${values.workers}`,
  );
  const results: ModeResult[] = [];
  for (const mode of ['plain', 'engine', 'pool']) {
    const out = execFileSync(
      process.execPath,
      ['--import', 'tsx', import.meta.filename, '--mode', mode, '--lfw', values.lfw!, '--workers', values.workers!],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
    );
    results.push(JSON.parse(out.trim().split('\n').pop()!) as ModeResult);
  }
  const label: Record<string, string> = {
    plain: 'plain face-api (1 thread)',
    engine: 'engine (1 thread)',
    pool: `engine pool (${values.workers} workers)`,
  };
  console.log(
    `${'mode'.padEnd(28)} ${'images/s'.padStart(9)} ${'ms/face'.padStart(8)} ${'faces'.padStart(6)} ${'peak RSS'.padStart(9)} ${'vs plain'.padStart(9)}`,
  );
  const plain = results[0]!;
  for (const r of results) {
    const ips = r.images / r.seconds;
    console.log(
      `${label[r.mode]!.padEnd(28)} ${ips.toFixed(2).padStart(9)} ${((r.seconds * 1000) / Math.max(1, r.faces)).toFixed(0).padStart(8)} ${String(r.faces).padStart(6)} ${`${r.maxRssMb.toFixed(0)} MB`.padStart(9)} ${`${(ips / (plain.images / plain.seconds)).toFixed(2)}x`.padStart(9)}`,
    );
  }
  const stages = results[1]!.stages!;
  const total = Object.values(stages).reduce((s, v) => s + v, 0);
  console.log(
    `where the engine's time goes (1 thread): ${Object.entries(stages)
      .map(([k, v]) => `${k} ${((v / total) * 100).toFixed(0)}%`)
      .join(', ')}`,
  );
}
