/**
 * Age, gender and expression: the ONNX graphs against face-api's own nets on tfjs (the reference) on real photos, the
 * engine's box crop against face-api's whole pipeline, and the nets loading only when a request asks for them.
 */
import { readdirSync } from 'node:fs';
import { cp, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ATTRIBUTE_NAMES, EXPRESSIONS, type Point } from '../../../src/core/face.js';
import { chipToImage, extractChip } from '../../../src/engine/align.js';
import { ATTRIBUTE_INPUT, attributeNets, type AttributeNets } from '../../../src/engine/attribute-nets.js';
import { loadRuntime } from '../../../src/engine/backend.js';
import { boxIou, FaceEngine } from '../../../src/engine/face-engine.js';
import { ATTRIBUTE_NET_NAMES, DEFAULT_MODELS_DIR, loadModels, readManifest } from '../../../src/engine/models.js';
import { FacerecError } from '../../../src/errors.js';
import { decodeImage, type RgbImage } from '../../../src/image/decode.js';
import { dataset, FACE_API_DEMO, HAS_DATASETS } from '../../helpers/datasets.js';

// The bounds of the other nets' equivalence (scores within 1e-3); measured, the runtimes agree to about 2e-5 years
// and 1e-6 in probability.
const MAX_AGE = 0.01;
const MAX_PROBABILITY = 1e-3;

let engine: FaceEngine;
let onnx: AttributeNets;
let tfjs: AttributeNets;

beforeAll(async () => {
  engine = await FaceEngine.create({ runtime: 'onnx' });
  const manifest = await readManifest(DEFAULT_MODELS_DIR);
  const options = { manifest, modelsDir: DEFAULT_MODELS_DIR, provider: 'cpu' as const, threads: 1, backend: 'wasm' as const };
  onnx = attributeNets('onnx', options);
  tfjs = attributeNets('tfjs', options);
});

const photo = async (file: string): Promise<RgbImage> => decodeImage(await readFile(file), engine.imageLimits);

// face-api's demo samples, and with the datasets the first photo of every 160th person of LFW View 1 (20 people).
const files = [1, 2, 3, 4, 5, 6].map((n) => path.join(FACE_API_DEMO, `sample${n}.jpg`));
if (HAS_DATASETS) {
  const root = dataset('lfw-view1', 'images');
  files.push(
    ...readdirSync(root)
      .sort()
      .filter((_, i) => i % 160 === 0)
      .map((person) => path.join(root, person, readdirSync(path.join(root, person)).sort()[0]!)),
  );
}

describe('the attribute nets on ONNX Runtime and on tfjs (face-api’s own code)', () => {
  it(`give the same age, gender and expressions on ${files.length} photos`, { timeout: 300_000 }, async () => {
    let faces = 0;
    for (const file of files) {
      const image = await photo(file);
      const found = (await engine.analyze(image, { descriptors: false })).faces;
      // Both crops the engine can feed them: dlib's aligned chip here, face-api's box through attributesOf below.
      const inputs = found.map((f) => extractChip(image, chipToImage(f.landmarks, ATTRIBUTE_INPUT), ATTRIBUTE_INPUT));
      const [a, b] = [await onnx.ageGender(inputs), await tfjs.ageGender(inputs)];
      const [ea, eb] = [await onnx.expressions(inputs), await tfjs.expressions(inputs)];
      found.forEach((_, i) => {
        expect(Math.abs(a[i]!.age - b[i]!.age), file).toBeLessThanOrEqual(MAX_AGE);
        expect(Math.abs(a[i]!.male - b[i]!.male), file).toBeLessThanOrEqual(MAX_PROBABILITY);
        expect(ea[i]!.length).toBe(EXPRESSIONS.length);
        for (let k = 0; k < EXPRESSIONS.length; k++) expect(Math.abs(ea[i]![k]! - eb[i]![k]!), file).toBeLessThanOrEqual(MAX_PROBABILITY);
        // Probabilities: the softmax is in the graph.
        expect(ea[i]!.reduce((s, p) => s + p, 0)).toBeCloseTo(1, 4);
        expect(a[i]!.male).toBeGreaterThanOrEqual(0);
        expect(a[i]!.male).toBeLessThanOrEqual(1);
      });
      faces += found.length;
    }
    expect(faces).toBeGreaterThanOrEqual(files.length);
  });

  it('are the same answer through the whole engine on either runtime', async () => {
    // At the same precision and SSD input as tfjs (face-api's FP32 512² pass): the int8 default's boxes differ a little.
    const tfjsEngine = await FaceEngine.create({ runtime: 'tfjs', backend: 'wasm' });
    const onnxEngine = await FaceEngine.create({ runtime: 'onnx', precision: 'fp32', ssdInput: '512' });
    const bytes = await readFile(path.join(FACE_API_DEMO, 'sample5.jpg'));
    for (const crop of ['box', 'chip'] as const) {
      const options = { descriptors: false, attributes: ATTRIBUTE_NAMES, attributeCrop: crop };
      const [a, b] = [await onnxEngine.analyzeBytes(bytes, options), await tfjsEngine.analyzeBytes(bytes, options)];
      expect(a.faces).toHaveLength(5);
      expect(a.faces.map((f) => f.attributes)).toEqual(b.faces.map((f) => f.attributes));
    }
    await Promise.all([onnxEngine.dispose(), tfjsEngine.dispose()]);
  });
});

describe('face-api’s own crop', () => {
  it('gives what face-api’s detectAllFaces().withFaceLandmarks().withAgeAndGender().withFaceExpressions() gives, from its landmarks', async () => {
    const rt = await loadRuntime('wasm');
    await loadModels(rt, DEFAULT_MODELS_DIR, undefined, ATTRIBUTE_NET_NAMES);
    const { faceapi, tf } = rt;
    let compared = 0;
    for (const n of [1, 4, 5]) {
      const image = await photo(path.join(FACE_API_DEMO, `sample${n}.jpg`));
      const tensor = tf.tensor3d(image.data, [image.height, image.width, 3], 'int32');
      const results = await faceapi
        .detectAllFaces(tensor as never, new faceapi.SsdMobilenetv1Options({ minConfidence: 0.5 }))
        .withFaceLandmarks()
        .withAgeAndGender()
        .withFaceExpressions();
      tensor.dispose();
      const landmarks = results.map((r) => r.landmarks.positions.map((p): Point => [p.x, p.y]));
      const ours = await engine.attributesOf(image, landmarks, new Set(ATTRIBUTE_NAMES), 'box');
      results.forEach((r, i) => {
        const a = ours[i]!;
        // Ours are rounded as reported: age to 0.1 year, probabilities to 1e-4.
        expect(Math.abs(a.age! - r.age)).toBeLessThanOrEqual(0.05 + MAX_AGE);
        expect(a.gender!.label).toBe(r.gender);
        expect(Math.abs(a.gender!.probability - r.genderProbability)).toBeLessThanOrEqual(MAX_PROBABILITY);
        for (const e of EXPRESSIONS)
          expect(Math.abs(a.expression!.probabilities[e] - r.expressions[e])).toBeLessThanOrEqual(MAX_PROBABILITY);
        expect(a.expression!.label).toBe(r.expressions.asSortedArray()[0]!.expression);
      });
      compared += results.length;
      // The engine finds the same faces.
      const found = (await engine.analyze(image, { descriptors: false })).faces;
      for (const r of results) {
        const { x, y, width, height } = r.detection.box;
        expect(found.some((f) => boxIou(f.box, [x, y, width, height]) > 0.95)).toBe(true);
      }
    }
    expect(compared).toBe(12);
  });
});

describe('attributes on request only', () => {
  it('loads no attribute net until one is asked for, then only the one needed, and answers only what was asked', async () => {
    const fresh = await FaceEngine.create({ runtime: 'onnx' });
    const bytes = await readFile(path.join(FACE_API_DEMO, 'sample3.jpg'));
    for (const options of [{}, { attributes: [] }, { descriptors: false }]) {
      const { faces, timings } = await fresh.analyzeBytes(bytes, options);
      expect(faces.every((f) => f.attributes === undefined)).toBe(true);
      expect(timings.attributes).toBeUndefined();
    }
    expect(fresh.memory().attributeNets).toBe(0);

    const expression = await fresh.analyzeBytes(bytes, { attributes: ['expression'] });
    expect(fresh.memory().attributeNets).toBe(1);
    for (const f of expression.faces) expect(Object.keys(f.attributes!)).toEqual(['expression']);
    expect(expression.timings.attributes).toBeGreaterThan(0);

    const age = await fresh.analyzeBytes(bytes, { attributes: ['age'] });
    expect(fresh.memory().attributeNets).toBe(2);
    for (const f of age.faces) expect(Object.keys(f.attributes!)).toEqual(['age']);
    const all = await fresh.analyzeBytes(bytes, { attributes: ATTRIBUTE_NAMES });
    for (const f of all.faces) {
      expect(Object.keys(f.attributes!)).toEqual(['age', 'gender', 'expression']);
      expect(f.attributes!.gender!.probability).toBeGreaterThanOrEqual(0.5);
      expect(f.attributes!.expression!.probability).toBe(Math.max(...Object.values(f.attributes!.expression!.probabilities)));
    }
    // Every tensor released.
    expect(fresh.memory().numTensors).toBe(0);
    await fresh.dispose();
  });

  it('refuses an attribute graph that does not match manifest.json, naming it, when first asked, and facerec info’s self-test with it', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'facerec-models-'));
    await cp(DEFAULT_MODELS_DIR, dir, { recursive: true });
    const target = path.join(dir, 'age_gender.onnx');
    const bytes = await readFile(target);
    bytes[bytes.length - 100] = bytes[bytes.length - 100]! ^ 0xff;
    await writeFile(target, bytes);
    // The start does not load it: a deployment that never asks is not held up.
    const broken = await FaceEngine.create({ runtime: 'onnx', modelsDir: dir });
    const sample = await readFile(path.join(FACE_API_DEMO, 'sample3.jpg'));
    expect((await broken.analyzeBytes(sample)).faces).toHaveLength(3);
    await broken.selfTest();
    for (const attempt of [() => broken.analyzeBytes(sample, { attributes: ['gender'] }), () => broken.selfTest({ attributes: true })]) {
      const err = await attempt().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(FacerecError);
      expect(err).toMatchObject({ code: 'MODEL_CHECKSUM_MISMATCH' });
      expect((err as Error).message).toContain('age_gender.onnx');
    }
    // The expression net is fine on its own.
    expect((await broken.analyzeBytes(sample, { attributes: ['expression'] })).faces[0]!.attributes!.expression).toBeDefined();
    await broken.dispose();
  });
});
