import { cp, mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/index.js';
import { FaceEngine, type Face } from '../../../src/engine/face-engine.js';
import { loadRuntime } from '../../../src/engine/backend.js';
import { DEFAULT_MODELS_DIR, loadModels } from '../../../src/engine/models.js';
import { squareInput, type Region } from '../../../src/engine/net-input.js';
import { FacerecError } from '../../../src/errors.js';
import { euclidean } from '../../../src/match/distance.js';
import { dataset, describeWithDatasets, FACE_API_DEMO } from '../../helpers/datasets.js';

let engine: FaceEngine;
const threshold = loadConfig({}).threshold ?? 0.59;

beforeAll(async () => {
  engine = await FaceEngine.create();
});

async function facesIn(file: string): Promise<Face[]> {
  return (await engine.analyzeBytes(await readFile(file))).faces;
}

async function mainDescriptor(file: string): Promise<number[]> {
  const faces = await facesIn(file);
  expect(faces.length).toBeGreaterThan(0);
  return [...faces].sort((a, b) => b.box[2] * b.box[3] - a.box[2] * a.box[3])[0]!.descriptor!;
}

describe('face-api demo samples', () => {
  // Every person in each photo, counted by eye on the annotated output; the detector must keep finding them all.
  const expected: Record<string, number> = {
    'sample1.jpg': 3,
    'sample2.jpg': 3,
    'sample3.jpg': 3,
    'sample4.jpg': 4,
    'sample5.jpg': 5,
    'sample6.jpg': 4,
  };
  for (const [file, count] of Object.entries(expected)) {
    it(`finds ${count} faces in ${file}`, async () => {
      const faces = await facesIn(path.join(FACE_API_DEMO, file));
      expect(faces).toHaveLength(count);
      for (const f of faces) {
        expect(f.descriptor).toHaveLength(128);
        expect(f.landmarks).toHaveLength(68);
        expect(f.quality.size).toBeGreaterThan(50);
      }
    });
  }
});

describeWithDatasets('same and different people', () => {
  it('Obama vs Obama is the same person at the default threshold', async () => {
    const a = await mainDescriptor(dataset('face-recognition-examples/test_images/obama.jpg'));
    const b = await mainDescriptor(dataset('face-recognition-examples/test_images/obama2.jpg'));
    expect(euclidean(a, b)).toBeLessThan(threshold);
  });

  it('Obama vs Biden is different at the default threshold', async () => {
    const a = await mainDescriptor(dataset('face-recognition-examples/test_images/obama.jpg'));
    const b = await mainDescriptor(dataset('face-recognition-examples/test_images/biden.jpg'));
    expect(euclidean(a, b)).toBeGreaterThan(threshold);
  });

  it('finds no face in the photos of cars', async () => {
    for (const file of await readdir(dataset('dlib-examples/no-face'))) {
      expect(await facesIn(dataset('dlib-examples/no-face', file))).toHaveLength(0);
    }
  });

  it('finds both people in two_people.jpg', async () => {
    expect(await facesIn(dataset('face-recognition-examples/misc/two_people.jpg'))).toHaveLength(2);
  });

  it('finds the one face of a 240p photo and matches it to the 1080p one', async () => {
    const small = await mainDescriptor(dataset('face-recognition-examples/misc/obama-240p.jpg'));
    const large = await mainDescriptor(dataset('face-recognition-examples/misc/obama-1080p.jpg'));
    expect(euclidean(small, large)).toBeLessThan(threshold);
  });

  it('finds a photo taken sideways upright through its EXIF orientation', async () => {
    const file = dataset('face-recognition-examples/test_images/obama.jpg');
    const upright = await facesIn(file);
    // Store the pixels turned 90° anticlockwise, tagged orientation 6: a viewer turns them back upright.
    const sideways = await sharp(await readFile(file))
      .rotate(-90)
      .withMetadata({ orientation: 6 })
      .jpeg()
      .toBuffer();
    const meta = await sharp(sideways).metadata();
    expect(meta.orientation).toBe(6);
    const analysis = await engine.analyzeBytes(sideways);
    const original = await sharp(await readFile(file)).metadata();
    expect([analysis.width, analysis.height]).toEqual([original.width, original.height]);
    expect(analysis.faces).toHaveLength(1);
    const [x, y] = analysis.faces[0]!.box;
    // Same place as in the upright original, and an upright face: small roll.
    expect(Math.abs(x - upright[0]!.box[0])).toBeLessThan(10);
    expect(Math.abs(y - upright[0]!.box[1])).toBeLessThan(10);
    expect(Math.abs(analysis.faces[0]!.quality.roll)).toBeLessThan(15);
  });

  it('finds the face that fills a small photo, which one full-frame pass misses', async () => {
    // An LFW image whose face SSD scores under 0.1 at full frame at 512² (FP32, face-api's own pass); the padded retry
    // sees it. (The sized input, opt-in, searches this 250 px photo at 256² and finds it in one pass.)
    const bytes = await readFile(dataset('lfw-view1/images/David_Sibleyk/David_Sibleyk_0001.jpg'));
    const at512 = await FaceEngine.create({ runtime: 'onnx', precision: 'fp32', ssdInput: '512' });
    try {
      expect((await at512.analyzeBytes(bytes, { singlePass: true })).faces).toHaveLength(0);
      expect((await at512.analyzeBytes(bytes)).faces).toHaveLength(1);
    } finally {
      await at512.dispose();
    }
    const faces = (await engine.analyzeBytes(bytes)).faces;
    expect(faces).toHaveLength(1);
    expect(faces[0]!.box[2]).toBeGreaterThan(60);
  });

  it('keeps small faces in a large photo by searching tiles', async () => {
    // A group photo (faces 37-44 px) pasted into a phone-sized 4032x3024 frame: at 512 px they shrink to ~5 px.
    const photo = await readFile(dataset('dlib-examples/faces/2008_002470.jpg'));
    const large = await sharp({ create: { width: 4032, height: 3024, channels: 3, background: '#808080' } })
      .composite([{ input: photo, left: 1700, top: 1300 }])
      .jpeg()
      .toBuffer();
    const single = (await engine.analyzeBytes(large, { singlePass: true, descriptors: false })).faces;
    const searched = (await engine.analyzeBytes(large, { descriptors: false })).faces;
    expect(single.length).toBeLessThan(2);
    expect(searched.length).toBeGreaterThanOrEqual(4);
    for (const f of searched) {
      expect(f.box[0]).toBeGreaterThan(1650);
      expect(f.box[1]).toBeGreaterThan(1250);
    }
  });

  it('rejects broken images with UNSUPPORTED_IMAGE', async () => {
    for (const file of ['corrupted.png', 'empty.png', 'truncated.jpg']) {
      await expect(engine.analyzeBytes(await readFile(dataset('image-formats', file)))).rejects.toMatchObject({
        code: 'UNSUPPORTED_IMAGE',
      });
    }
  });
});

describe('memory budget (issue 12, D1)', () => {
  // 20-49 MP photos with no face: the padded retry used to allocate (2 × long side)² tensors and broke the WASM heap.
  const blank = (width: number, height: number, format: 'jpeg' | 'png') => {
    const canvas = sharp({ create: { width, height, channels: 3, background: '#889' } });
    return (format === 'png' ? canvas.png() : canvas.jpeg()).toBuffer();
  };
  it('analyses 6000x4000, 5000x4000 and 7000x7000 photos without a face, and the engine stays right', async () => {
    const before = await facesIn(path.join(FACE_API_DEMO, 'sample1.jpg'));
    const tensors = engine.memory().numTensors;
    for (const [width, height, format] of [
      [6000, 4000, 'jpeg'],
      [5000, 4000, 'jpeg'],
      [7000, 7000, 'png'],
    ] as const) {
      expect((await engine.analyzeBytes(await blank(width, height, format))).faces).toEqual([]);
    }
    expect(engine.memory().numTensors).toBe(tensors);
    const after = await facesIn(path.join(FACE_API_DEMO, 'sample1.jpg'));
    expect(after.map((f) => f.descriptor)).toEqual(before.map((f) => f.descriptor));
  });

  it('analyses a photo over 4096 px at 4096 px, and answers in the photo’s own pixels', async () => {
    const sample = await readFile(path.join(FACE_API_DEMO, 'sample2.jpg'));
    const at1920 = (await engine.analyzeBytes(sample, { descriptors: false })).faces;
    const big = await engine.analyzeBytes(await sharp(sample).resize(8000).jpeg({ quality: 90 }).toBuffer(), { descriptors: false });
    expect([big.width, big.height]).toEqual([8000, 5696]);
    expect(big.faces).toHaveLength(at1920.length);
    const k = 8000 / 1920;
    big.faces.forEach((face, i) => {
      const expected = at1920[i]!.box.map((v) => v * k);
      face.box.forEach((v, j) => expect(Math.abs(v - expected[j]!)).toBeLessThan(0.05 * expected[3]!));
      expect(face.quality.size).toBeGreaterThan(500);
      expect(
        face.landmarks.every(([x, y]) => x >= face.box[0] - 100 && x <= face.box[0] + face.box[2] + 100 && y >= face.box[1] - 200),
      ).toBe(true);
    });
  });

  it('feeds the nets exactly what face-api would make of the region, without a tensor of the whole photo', async () => {
    // face-api's own NetInput on tfjs, the reference.
    const { faceapi, tf } = await loadRuntime('wasm');
    const { data, info } = await sharp(path.join(FACE_API_DEMO, 'sample2.jpg'))
      .resize(301, 217)
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    const image = { width: info.width, height: info.height, data: new Uint8Array(data) };
    const whole = tf.tensor3d(new Int32Array(image.data), [image.height, image.width, 3], 'int32');
    // The whole frame, one padded past every edge (the retry), a tile, a landmark crop (centred), upscaled and not.
    const cases: Array<[Region, number, boolean]> = [
      [{ x: 0, y: 0, width: 301, height: 217 }, 512, false],
      [{ x: -151, y: -151, width: 603, height: 519 }, 512, false],
      [{ x: 150, y: 100, width: 151, height: 117 }, 416, false],
      [{ x: 40, y: 30, width: 61, height: 90 }, 112, true],
      [{ x: 41, y: 30, width: 90, height: 61 }, 112, true],
      [{ x: 10, y: 10, width: 150, height: 150 }, 150, true],
    ];
    for (const [region, size, center] of cases) {
      const pad = 400;
      const crop = tf.tidy(() =>
        tf.slice(
          tf.pad(whole, [
            [pad, pad],
            [pad, pad],
            [0, 0],
          ]),
          [region.y + pad, region.x + pad, 0],
          [region.height, region.width, 3],
        ),
      );
      const expected = new faceapi.NetInput([crop] as never).toBatchTensor(size, center);
      const want = expected.dataSync();
      expected.dispose();
      crop.dispose();
      const got = squareInput(image, region, size, center);
      expect(got.length).toBe(want.length);
      let worst = 0;
      for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
      expect(worst, JSON.stringify(region)).toBeLessThan(1e-4);
    }
    whole.dispose();
  });
});

describe('tiny detector', () => {
  it('is an option and finds the same people', async () => {
    const analysis = await engine.analyzeBytes(await readFile(path.join(FACE_API_DEMO, 'sample3.jpg')), { detector: 'tiny' });
    expect(analysis.faces).toHaveLength(3);
  });
});

describe('tensors', () => {
  it("keeps the runtime's live tensors flat across many images", async () => {
    const photo = await readFile(path.join(FACE_API_DEMO, 'sample2.jpg'));
    const small = await sharp(photo).resize(480).jpeg().toBuffer();
    await engine.analyzeBytes(small, { mirror: true });
    const before = engine.memory().numTensors;
    for (let i = 0; i < 12; i++) {
      await engine.analyzeBytes(small, { align: i % 2 ? 'dlib' : 'box', mirror: i % 3 === 0 });
      await expect(engine.analyzeBytes(Buffer.from('not an image'))).rejects.toBeInstanceOf(FacerecError);
    }
    expect(engine.memory().numTensors).toBe(before);
  });
});

describe('model checksums', () => {
  it('refuses a model file that does not match manifest.json, naming the file', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'facerec-models-'));
    await cp(DEFAULT_MODELS_DIR, dir, { recursive: true });
    const target = path.join(dir, 'face_landmark_68_model.bin');
    const bytes = await readFile(target);
    bytes[1000] = bytes[1000]! ^ 0xff;
    await writeFile(target, bytes);
    const err = await loadModels(await loadRuntime('wasm'), dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FacerecError);
    expect(err).toMatchObject({ code: 'MODEL_CHECKSUM_MISMATCH' });
    expect((err as Error).message).toContain('face_landmark_68_model.bin');
  });

  it('refuses an ONNX graph that does not match manifest.json, naming the file', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'facerec-models-'));
    await cp(DEFAULT_MODELS_DIR, dir, { recursive: true });
    // Each precision checks the graph it runs: the FP32 one, and the int8 one (the default).
    for (const [precision, file] of [
      ['fp32', 'face_recognition.onnx'],
      ['int8', 'face_recognition.int8.onnx'],
    ] as const) {
      const target = path.join(dir, file);
      const bytes = await readFile(target);
      bytes[bytes.length - 100] = bytes[bytes.length - 100]! ^ 0xff;
      await writeFile(target, bytes);
      const err = await FaceEngine.create({ runtime: 'onnx', precision, modelsDir: dir }).catch((e: unknown) => e);
      expect(err, precision).toBeInstanceOf(FacerecError);
      expect(err).toMatchObject({ code: 'MODEL_CHECKSUM_MISMATCH' });
      expect((err as Error).message).toContain(file);
    }
  });
});
