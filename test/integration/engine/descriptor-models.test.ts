import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/index.js';
import { loadRegistry } from '../../../src/engine/descriptor-models.js';
import { FaceEngine } from '../../../src/engine/face-engine.js';
import { DEFAULT_MODELS_DIR } from '../../../src/engine/models.js';
import { engineAnalyzer, type ServiceContext } from '../../../src/service/context.js';
import { createPerson } from '../../../src/service/enroll.service.js';
import { identify } from '../../../src/service/identify.service.js';
import { listModels } from '../../../src/service/models.service.js';
import { galleries } from '../../../src/service/people.service.js';
import { writeByoModel, type ByoModel } from '../../helpers/byo-model.js';
import { migratedTestDatabase, type TestDatabase } from '../../helpers/databases.js';
import { rejection } from '../../helpers/errors.js';
import { FACE_API_DEMO } from '../../helpers/datasets.js';

const sample = (n: number) => readFile(path.join(FACE_API_DEMO, `sample${n}.jpg`));

describe('the descriptor model registry', () => {
  it('lists the shipped models, face-api’s 128-d net as the default', async () => {
    const models = await loadRegistry({ modelsDir: DEFAULT_MODELS_DIR });
    const rows = listModels({ analyzer: { models } });
    expect(rows.find((m) => m.default)).toMatchObject({
      id: 'dlib-resnet-v1@face-api-1.7.15/chip150p25+mirror',
      name: 'face-api-128',
      dims: 128,
      metric: 'euclidean',
      shipped: true,
    });
    expect(rows.filter((m) => m.default)).toHaveLength(1);
    for (const m of rows) expect(Object.keys(m)).toEqual(expect.arrayContaining(['id', 'dims', 'metric', 'default', 'source']));
    expect(models.get('face-api-128')).toBe(models.get('dlib-resnet-v1@face-api-1.7.15/chip150p25+mirror'));
  });

  it('says which models there are when asked for one it does not know', async () => {
    const models = await loadRegistry({ modelsDir: DEFAULT_MODELS_DIR });
    const err = await rejection(Promise.resolve().then(() => models.get('arcface-r100')));
    expect(err).toMatchObject({ code: 'UNKNOWN_MODEL', details: { model: 'arcface-r100' } });
    expect(err.message).toContain('face-api-128');
    expect((await rejection(loadRegistry({ modelsDir: DEFAULT_MODELS_DIR, defaultModel: 'nope' }))).code).toBe('UNKNOWN_MODEL');
  });

  it('refuses a card that is not valid, naming the file and the field', async () => {
    const byo = await writeByoModel({ patch: { output: { dims: 64, metric: 'manhattan' } } });
    const err = await rejection(loadRegistry({ modelsDir: DEFAULT_MODELS_DIR, userDir: byo.dir }));
    expect(err.code).toBe('MODEL_LOAD_FAILED');
    expect(err.message).toContain('byo-random.json');
    expect(err.message).toContain('output.metric');
  });

  it('refuses a card whose name is taken', async () => {
    const byo = await writeByoModel({ patch: { name: 'face-api-128' } });
    expect(await rejection(loadRegistry({ modelsDir: DEFAULT_MODELS_DIR, userDir: byo.dir }))).toMatchObject({ code: 'MODEL_LOAD_FAILED' });
  });

  it('refuses an ONNX file that does not match its card’s sha256, naming the file', async () => {
    const byo = await writeByoModel({ patch: { weights: { file: 'byo-random.onnx', sha256: '0'.repeat(64) } } });
    const err = await rejection(FaceEngine.create({ descriptorModelsDir: byo.dir, descriptorModel: byo.name }));
    expect(err).toMatchObject({ code: 'MODEL_UNUSABLE', details: { model: byo.name } });
    expect(err.message).toContain('byo-random.onnx');
    // The checksum is the card's, and the message says so.
    expect(err.message).toContain('its model card (byo-random)');
    expect(err.message).not.toContain('manifest.json');
  });

  it('refuses an ONNX file whose output does not have the card’s dimensions', async () => {
    const byo = await writeByoModel({ dims: 64 });
    const card = { ...byo.card, output: { dims: 32, metric: 'cosine' } };
    await writeFile(path.join(byo.dir, 'byo-random.json'), JSON.stringify(card));
    const err = await rejection(FaceEngine.create({ descriptorModelsDir: byo.dir, descriptorModel: byo.name }));
    expect(err.code).toBe('MODEL_UNUSABLE');
    expect(err.message).toMatch(/64 dimensions, card says 32/);
  });
});

describe('a model brought by the user (FACEREC_DESCRIPTOR_MODELS_DIR)', () => {
  let byo: ByoModel;
  let engine: FaceEngine;
  let test: TestDatabase;
  let ctx: ServiceContext;

  beforeAll(async () => {
    byo = await writeByoModel({ dims: 64 });
    engine = await FaceEngine.create({ descriptorModelsDir: byo.dir });
    test = await migratedTestDatabase('pglite');
    ctx = { db: test.db, analyzer: engineAnalyzer(engine), config: loadConfig({ FACEREC_DESCRIPTOR_MODELS_DIR: byo.dir }) };
  });

  afterAll(async () => {
    await test?.drop();
    await engine?.dispose();
  });

  it('describes faces with it: its dimensions, L2-normalised (cosine), its id; the default model stays the default', async () => {
    const bytes = await sample(2);
    const a = await engine.analyzeBytes(bytes, { model: byo.name });
    expect(a.descriptorModelId).toBe(byo.id);
    expect(a.faces.length).toBeGreaterThan(0);
    for (const f of a.faces) {
      expect(f.descriptor).toHaveLength(64);
      expect(Math.hypot(...f.descriptor!)).toBeCloseTo(1, 5);
    }
    const again = await engine.analyzeBytes(bytes, { model: byo.id });
    expect(again.faces[0]!.descriptor).toEqual(a.faces[0]!.descriptor);
    const plain = await engine.analyzeBytes(bytes);
    expect(plain.descriptorModelId).toBe('dlib-resnet-v1@face-api-1.7.15/chip150p25+mirror');
    expect(plain.faces[0]!.descriptor).toHaveLength(128);
    expect(engine.memory().numTensors).toBe(0);
  });

  it('serves a gallery bound to it: enrolled, searched and answered with its own threshold', async () => {
    const g = await galleries.create(ctx, 'byo', byo.name);
    expect(g.descriptorModel).toBe(byo.id);
    await createPerson(ctx, { gallery: g.name, name: 'Sample 2' }, [{ bytes: await sample(2) }], { largestFace: true });
    const stored = await test.db.query<{ model_id: string; dims: number }>('SELECT model_id, vector_dims(descriptor) AS dims FROM faces');
    expect(stored).toEqual([{ model_id: byo.id, dims: 64 }]);
    const result = await identify(ctx, await sample(2), { gallery: g.name, maxFaces: 1 });
    // No impostor statistics came with it: identify uses the card's threshold and promises nothing about strangers.
    expect(result).toMatchObject({ model: byo.name, threshold: 1, thresholdSource: 'model-card', expectedFpir: null });
    expect(result.faces[0]).toMatchObject({ label: 'Sample 2' });
    expect(result.faces[0]!.distance).toBeLessThan(1e-3);
  });
});
