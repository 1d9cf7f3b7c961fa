/**
 * int8 graphs of the nets where int8 holds their accuracy (npm run models:int8, after npm run models:onnx has written
 * the FP32 graphs they start from), with their sha256 in models/manifest.json under `int8`. Static QDQ quantisation (scripts/onnx-qdq.ts):
 * - ONNX Runtime's basic optimisations first (batch norms and per-channel scales folded into the convolutions), as
 *   its own quantiser does;
 * - activation ranges from calibration photos in ../shared/datasets that no accuracy figure is measured on (listed
 *   below: not LFW, not the detection benchmark's sets), fed exactly as the engine feeds the nets; each range is the
 *   one that minimises the quantisation's squared error over the calibration histogram (`--method`);
 * - int8 weights, one scale per output channel; uint8 activations, one scale per tensor;
 * - what stays FP32 (RECIPES): SSD's box and class predictors (their outputs are the scores and box offsets, which
 *   int8 moved by up to 0.5) and the landmark and tiny-detector nets (a few percent of the time; landmarks place the
 *   alignment), the ResNet's last fully connected layer (it writes the descriptor).
 * The same inputs give the same bytes, so running it again adds nothing to git unless something changed.
 * `--check` compares int8 with FP32 on LFW DevTrain photos (never DevTest) and writes nothing.
 *   npm run models:int8 [-- --check] [-- --method mse|percentile|minmax]
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { chipToImage, extractChip } from '../src/engine/align.js';
import { ssdInputSide, anchorsFor } from '../src/engine/detector-size.js';
import { ssdDetections } from '../src/engine/detections.js';
import { FaceEngine } from '../src/engine/face-engine.js';
import { DEFAULT_MODELS_DIR, type ModelManifest, type NetName } from '../src/engine/models.js';
import { squareInput, type Region } from '../src/engine/net-input.js';
import { SSD_INPUT } from '../src/engine/nets.js';
import { parsePairs } from '../src/eval/lfw.js';
import { decodeImage, type RgbImage } from '../src/image/decode.js';
import {
  activationParams,
  decodeModel,
  encodeModel,
  quantiseModel,
  quantisedTensors,
  withOutputs,
  type Model,
  type Range,
} from './onnx-qdq.js';

const { values: args } = parseArgs({
  options: {
    check: { type: 'boolean', default: false },
    method: { type: 'string', default: 'mse' },
    nets: { type: 'string', default: 'ssdMobilenetv1,faceRecognitionNet' },
    keep: { type: 'string' },
    dev: { type: 'string', default: '60' },
  },
});
const DATASETS = process.env.FACEREC_DATASETS ?? path.resolve(import.meta.dirname, '..', '..', 'shared', 'datasets');

/**
 * Calibration photos: colour and greyscale, portraits, groups, chips and photos without a face, none of them in LFW
 * or in `facerec eval detect`'s annotated sets.
 */
export const CALIBRATION = [
  'dlib-examples/faces/bald_guys.jpg',
  'dlib-examples/faces/Tom_Cruise_avp_2014_4.jpg',
  'dlib-examples/faces/dogs.jpg',
  'dlib-examples/no-face/mmod_cars_test_image.jpg',
  'dlib-examples/no-face/mmod_cars_test_image2.jpg',
  'face-recognition-examples/test_images/biden.jpg',
  'face-recognition-examples/test_images/obama.jpg',
  'face-recognition-examples/test_images/obama2.jpg',
  'face-recognition-examples/knn_examples/train/obama/obama.jpg',
  'face-recognition-examples/knn_examples/train/obama/obama2.jpg',
  'face-recognition-examples/knn_examples/train/biden/biden.jpg',
  'bbt/misc/angry.jpg',
  'bbt/misc/surprised.jpg',
  'bbt/misc/faces.jpg',
  'bbt/misc/face_rectangular.png',
  'bbt/identities/amy/amy1.png',
  'bbt/identities/leonard/leonard1.png',
  'bbt/identities/penny/penny1.png',
  'bbt/identities/raj/raj1.png',
  ...['John_Salley', 'John_Savage', 'John_Schneider', 'John_Shimkus', 'John_Simm'].map((p) => `dlib-examples/johns/${p}`),
  ...[1, 7, 13, 19, 25, 31, 37].map((s) => `orl-att-faces/s${s}/1.png`),
  ...['01', '04', '07', '10', '13'].flatMap((s) => [
    `yalefaces/subject${s}/subject${s}.leftlight.png`,
    `yalefaces/subject${s}/subject${s}.happy.png`,
  ]),
];

/** A net's input as the engine feeds it: NHWC float pixels, one square. */
interface Feed {
  data: Float32Array;
  side: number;
}

/** What a recipe knows of a node: its op, its outputs' readers' ops, and its place among the graph's convolutions. */
interface NodeView {
  opType: string;
  /** The ops that read its first output. */
  readers: string[];
  /** Its index among the Conv nodes in graph order (-1 for other ops). */
  conv: number;
}

interface Recipe {
  file: string;
  int8File: string;
  /** Nodes kept in FP32 (docs/models.md says why). */
  keepFloat: (node: NodeView) => boolean;
}

export const RECIPES: Partial<Record<NetName, Recipe>> = {
  ssdMobilenetv1: {
    file: 'ssd_mobilenetv1.onnx',
    int8File: 'ssd_mobilenetv1.int8.onnx',
    // The box and class predictors (a Conv read by the Transpose before the anchors' reshape): their outputs are the
    // scores and offsets themselves. The first four convolutions (the stem, conv_1, conv_2's depthwise), at half the
    // input's resolution: in int8 they moved the score of small faces by up to 0.1 (a 126 px face in a 2000 px photo
    // fell from 0.33 to 0.23, under the search's 0.3 floor); in FP32 they cost about 7% of SSD's operations.
    keepFloat: (n) => (n.opType === 'Conv' && n.readers.includes('Transpose')) || (n.conv >= 0 && n.conv < 4),
  },
  faceRecognitionNet: {
    file: 'face_recognition.onnx',
    int8File: 'face_recognition.int8.onnx',
    keepFloat: () => false,
  },
};

/** A calibration entry's files: a file as it is, a folder's first four images in name order. */
export function expand(entry: string): string[] {
  const full = path.join(DATASETS, entry);
  if (!existsSync(full)) throw new Error(`calibration photo ${full} is missing: is FACEREC_DATASETS the shared datasets folder?`);
  return statSync(full).isDirectory()
    ? readdirSync(full)
        .sort()
        .slice(0, 4)
        .map((f) => path.join(full, f))
    : [full];
}

/** ONNX Runtime's basic optimisations of a graph, as a decoded model. */
export async function optimised(bytes: Uint8Array): Promise<Model> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'facerec-quantize-'));
  try {
    const file = path.join(dir, 'optimised.onnx');
    const s = await ort.InferenceSession.create(bytes, {
      graphOptimizationLevel: 'basic',
      optimizedModelFilePath: file,
      intraOpNumThreads: 1,
    });
    await s.release();
    return decodeModel(readFileSync(file));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const session = (bytes: Uint8Array) =>
  ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all' });

export const tensorOf = (f: Feed) => new ort.Tensor('float32', f.data, [1, f.side, f.side, 3]);

/** Calibration: per tensor, min and max, then a histogram over them; a range chosen from it by `method`. */
export async function calibrate(model: Model, names: string[], feeds: Feed[], method: string): Promise<Map<string, Range>> {
  const stats = await collect(model, names, feeds);
  return new Map(names.map((n) => [n, chooseRange(stats.get(n)!, method)]));
}

/** Per tensor: min and max over the calibration inputs, and a histogram over [histMin, histMax] (the ends hold what lies beyond). */
export interface TensorStats {
  min: number;
  max: number;
  histMin: number;
  histMax: number;
  hist: Float64Array;
}

/**
 * Runs the FP32 graph with the tensors as extra outputs over the calibration inputs: a first look at every eighth input
 * sets each histogram's span (half as wide again), then every input fills the histograms.
 */
export async function collect(model: Model, names: string[], feeds: Feed[]): Promise<Map<string, TensorStats>> {
  const s = await session(encodeModel(withOutputs(model, names)));
  const stats = new Map<string, TensorStats>(
    names.map((n) => [n, { min: Infinity, max: -Infinity, histMin: 0, histMax: 0, hist: new Float64Array(2048) }]),
  );
  const span = (v: Float32Array, t: TensorStats) => {
    for (let i = 0; i < v.length; i++) {
      const x = v[i]!;
      if (x < t.min) t.min = x;
      if (x > t.max) t.max = x;
    }
  };
  for (const feed of feeds.filter((_, i) => i % 8 === 0)) {
    const out = await s.run({ image: tensorOf(feed) }, names);
    for (const name of names) {
      span(out[name]!.data as Float32Array, stats.get(name)!);
      out[name]!.dispose();
    }
  }
  for (const t of stats.values()) [t.histMin, t.histMax] = [Math.min(0, t.min * 1.5), Math.max(0, t.max * 1.5)];
  for (const feed of feeds) {
    const out = await s.run({ image: tensorOf(feed) }, names);
    for (const name of names) {
      const v = out[name]!.data as Float32Array;
      const t = stats.get(name)!;
      span(v, t);
      const bins = t.hist.length,
        width = (t.histMax - t.histMin) / bins || 1;
      for (let i = 0; i < v.length; i++) t.hist[Math.max(0, Math.min(bins - 1, Math.floor((v[i]! - t.histMin) / width)))]++;
      out[name]!.dispose();
    }
  }
  await s.release();
  return stats;
}

/** A range from the calibration: all of it, a percentile, or the one with the least expected squared quantisation error. */
export function chooseRange(stats: TensorStats, method: string): Range {
  const { min, max, hist: h } = stats;
  if (method === 'minmax') return { lo: min, hi: max };
  const bins = h.length,
    width = (stats.histMax - stats.histMin) / bins;
  const centre = (b: number) => stats.histMin + (b + 0.5) * width;
  const total = h.reduce((a, b) => a + b, 0);
  if (method.startsWith('percentile')) {
    const p = Number(method.split(':')[1] ?? 0.9999);
    let acc = 0,
      a = 0,
      b = bins - 1;
    for (let i = 0; i < bins; i++) if ((acc += h[i]!) <= total * (1 - p)) a = i + 1;
    acc = 0;
    for (let i = bins - 1; i >= 0; i--) if ((acc += h[i]!) <= total * (1 - p)) b = i - 1;
    return { lo: Math.max(min, stats.histMin + a * width), hi: Math.min(max, stats.histMin + (b + 1) * width) };
  }
  // mse: the range shrunk towards 0 by t, for the t with the least error (rounding inside, clipping outside).
  let best = { lo: min, hi: max },
    bestErr = Infinity;
  for (let k = 1; k <= 128; k++) {
    const r = { lo: (min * k) / 128, hi: (max * k) / 128 };
    const { scale, zeroPoint } = activationParams(r);
    const qlo = -zeroPoint * scale,
      qhi = (255 - zeroPoint) * scale;
    let err = 0;
    for (let b = 0; b < bins; b++) {
      if (!h[b]) continue;
      const x = centre(b);
      const d = x < qlo ? qlo - x : x > qhi ? x - qhi : 0;
      err += h[b]! * (d * d + (scale * scale) / 12);
    }
    if (err < bestErr) [bestErr, best] = [err, r];
  }
  return best;
}

interface Photo {
  file: string;
  image: RgbImage;
  faces: { box: [number, number, number, number]; landmarks: [number, number][] }[];
}

export async function loadPhotos(files: string[], engine: FaceEngine): Promise<Photo[]> {
  const photos: Photo[] = [];
  for (const file of files) {
    const image = await decodeImage(readFileSync(file), undefined, { maxSide: 4096 });
    const analysis = await engine.analyze(image, { descriptors: false });
    photos.push({ file, image, faces: analysis.faces.map((f) => ({ box: f.box, landmarks: f.landmarks })) });
  }
  return photos;
}

/** SSD's inputs for a photo, as the engine makes them: the frame (at 512 and at its own size), padded, and zoomed faces. */
export function ssdFeeds(photos: Photo[]): Feed[] {
  const feeds: Feed[] = [];
  for (const { image, faces } of photos) {
    const long = Math.max(image.width, image.height);
    const frame: Region = { x: 0, y: 0, width: image.width, height: image.height };
    const sides = new Set([SSD_INPUT, ssdInputSide(long)]);
    for (const side of sides) feeds.push({ data: squareInput(image, frame, side, false), side });
    const pad = Math.round(long / 2);
    feeds.push({
      data: squareInput(image, { x: -pad, y: -pad, width: image.width + 2 * pad, height: image.height + 2 * pad }, SSD_INPUT, false),
      side: SSD_INPUT,
    });
    for (const {
      box: [x, y, w, h],
    } of faces.slice(0, 3)) {
      const s = Math.round(2.5 * Math.max(w, h));
      const region = { x: Math.round(x + w / 2 - s / 2), y: Math.round(y + h / 2 - s / 2), width: s, height: s };
      feeds.push({ data: squareInput(image, region, ssdInputSide(s), false), side: ssdInputSide(s) });
    }
  }
  return feeds;
}

/** The ResNet's inputs: each face's aligned chip and its mirror image. */
export function chipFeeds(photos: Photo[]): Feed[] {
  return photos.flatMap(({ image, faces }) =>
    faces.flatMap(({ landmarks }) => {
      const t = chipToImage(landmarks);
      return [false, true].map((mirror) => ({ data: extractChip(image, t, 150, mirror), side: 150 }));
    }),
  );
}

/** The first `n` LFW View 1 DevTrain photos (never DevTest): where --check compares int8 with FP32. */
export function devPhotos(n: number): string[] {
  const root = path.join(DATASETS, 'lfw-view1');
  const pairs = parsePairs(readFileSync(path.join(root, 'pairsDevTrain.txt'), 'utf8')).pairs;
  return [...new Set(pairs.flatMap((p) => [p.a, p.b]))].slice(0, n).map((f) => path.join(root, 'images', f));
}

export async function timeRuns(s: ort.InferenceSession, feed: Feed): Promise<number> {
  const t = tensorOf(feed);
  for (let i = 0; i < 3; i++) await s.run({ image: t });
  const t0 = performance.now();
  let runs = 0;
  while (performance.now() - t0 < 1500 || runs < 5) {
    await s.run({ image: t });
    runs++;
  }
  return (performance.now() - t0) / runs;
}

/** int8 against FP32 on the dev photos: what changes, and how much faster. */
async function check(net: NetName, fp32: Uint8Array, int8: Uint8Array, dev: Photo[]): Promise<void> {
  const [a, b] = [await session(fp32), await session(int8)];
  if (net === 'ssdMobilenetv1') {
    let maxScore = 0,
      changed = 0,
      detections = 0,
      minIou = 1;
    for (const feed of ssdFeeds(dev)) {
      const [ra, rb] = [await a.run({ image: tensorOf(feed) }), await b.run({ image: tensorOf(feed) })];
      const sa = ra.scores!.data as Float32Array,
        sb = rb.scores!.data as Float32Array;
      for (let i = 0; i < sa.length; i++) if (sa[i]! > 0.1 || sb[i]! > 0.1) maxScore = Math.max(maxScore, Math.abs(sa[i]! - sb[i]!));
      const anchors = anchorsFor(feed.side, ra.anchors!.data as Float32Array);
      const da = ssdDetections(ra.encodings!.data as Float32Array, sa, anchors, 0.3, 100, feed.side);
      const db = ssdDetections(rb.encodings!.data as Float32Array, sb, anchors, 0.3, 100, feed.side);
      detections += da.length;
      for (const d of da) {
        const best = Math.max(0, ...db.map((e) => iou(d.box, e.box)));
        if (best < 0.5) changed++;
        else minIou = Math.min(minIou, best);
      }
      changed += db.filter((e) => !da.some((d) => iou(d.box, e.box) >= 0.5)).length;
    }
    console.log(
      `  SSD on ${dev.length} DevTrain photos' inputs: scores within ${maxScore.toFixed(3)} (anchors over 0.1), ${detections} detections at 0.3, ${changed} changed, min IoU of the rest ${minIou.toFixed(3)}`,
    );
  } else {
    const feeds = chipFeeds(dev);
    const d: number[] = [];
    for (let i = 0; i < feeds.length; i += 2) {
      const pair = [feeds[i]!, feeds[i + 1]!];
      const desc = async (s: ort.InferenceSession) => {
        const outs = await Promise.all(pair.map(async (f) => (await s.run({ image: tensorOf(f) })).descriptor!.data as Float32Array));
        return outs[0]!.map((v, k) => (v + outs[1]![k]!) / 2);
      };
      const [x, y] = [await desc(a), await desc(b)];
      d.push(Math.hypot(...x.map((v, k) => v - y[k]!)));
    }
    d.sort((p, q) => p - q);
    console.log(
      `  ResNet on ${d.length} DevTrain faces (chip + mirror): distance to FP32 median ${d[d.length >> 1]!.toFixed(4)}, p99 ${d[Math.floor(d.length * 0.99)]!.toFixed(4)}, max ${d.at(-1)!.toFixed(4)}`,
    );
  }
  const feed = net === 'ssdMobilenetv1' ? ssdFeeds(dev.slice(0, 1))[0]! : chipFeeds(dev.slice(0, 1))[0]!;
  const [ta, tb] = [await timeRuns(a, feed), await timeRuns(b, feed)];
  console.log(`  1 thread, ${feed.side}²: FP32 ${ta.toFixed(1)} ms, int8 ${tb.toFixed(1)} ms (${(ta / tb).toFixed(2)}×)`);
  await a.release();
  await b.release();
}

export function iou(a: number[], b: number[]): number {
  const ix = Math.max(0, Math.min(a[0]! + a[2]!, b[0]! + b[2]!) - Math.max(a[0]!, b[0]!));
  const iy = Math.max(0, Math.min(a[1]! + a[3]!, b[1]! + b[3]!) - Math.max(a[1]!, b[1]!));
  return (ix * iy) / (a[2]! * a[3]! + b[2]! * b[3]! - ix * iy);
}

async function main() {
  const modelsDir = DEFAULT_MODELS_DIR;
  const manifestFile = path.join(modelsDir, 'manifest.json');
  const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as ModelManifest;
  const engine = await FaceEngine.create({ runtime: 'onnx', precision: 'fp32', threads: 1 });
  const files = CALIBRATION.flatMap(expand);
  const t0 = performance.now();
  const photos = await loadPhotos(files, engine);
  console.log(`calibration: ${photos.length} photos, ${photos.reduce((n, p) => n + p.faces.length, 0)} faces; method ${args.method}`);
  const dev = args.check ? await loadPhotos(devPhotos(Number(args.dev)), engine) : [];
  console.log(`  photos analysed in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  await engine.dispose();
  for (const net of args.nets!.split(',') as NetName[]) {
    const recipe = RECIPES[net]!;
    const fp32 = readFileSync(path.join(modelsDir, recipe.file));
    const model = await optimised(fp32);
    const readers = new Map<string, string[]>();
    for (const n of model.graph!.node!) for (const i of n.input ?? []) readers.set(i, [...(readers.get(i) ?? []), n.opType!]);
    const convs = model.graph!.node!.filter((n) => n.opType === 'Conv');
    const keep = args.keep?.split(',') ?? [];
    // By name: the quantiser works on a copy of the graph.
    const floatNodes = new Set(
      model
        .graph!.node!.filter(
          (n) =>
            keep.includes(n.name!) ||
            recipe.keepFloat({ opType: n.opType!, readers: readers.get(n.output![0]!) ?? [], conv: convs.indexOf(n) }),
        )
        .map((n) => n.name!),
    );
    const keepFloat = (n: { name?: string | null }) => floatNodes.has(n.name!);
    const names = quantisedTensors(model, keepFloat);
    const feeds = net === 'ssdMobilenetv1' ? ssdFeeds(photos) : chipFeeds(photos);
    let t0 = performance.now();
    const ranges = await calibrate(model, names, feeds, args.method!);
    console.log(`  calibrated in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    t0 = performance.now();
    const q = quantiseModel(model, ranges, keepFloat);
    q.producerName = 'facerec scripts/quantize-onnx.ts';
    q.docString = `${manifest.models[net].id}: int8 (static QDQ, ${args.method} ranges over ${feeds.length} calibration inputs) of ${recipe.file} sha256 ${createHash('sha256').update(fp32).digest('hex')}`;
    const bytes = encodeModel(q);
    console.log(
      `${recipe.int8File}: ${names.length} activations quantised from ${feeds.length} inputs, ${(bytes.length / 1e6).toFixed(2)} MB`,
    );
    if (args.check) {
      await check(net, fp32, bytes, dev);
      console.log(`  checked in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    } else {
      writeFileSync(path.join(modelsDir, recipe.int8File), bytes);
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      manifest.models[net].int8 = { file: recipe.int8File, sha256 };
      console.log(`  sha256 ${sha256}`);
    }
  }
  if (!args.check) {
    writeFileSync(manifestFile, `${JSON.stringify(manifest, null, 2)}\n`);
    console.log('models/manifest.json updated');
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === import.meta.filename) await main();
