/**
 * Descriptor models end to end over real HTTP with the real engine: the model list, one identify on real photos with
 * each shipped model, and a gallery moved from the default model to the other one while it keeps answering.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDatabase } from '../helpers/databases.js';
import { HAS_DATASETS, KNN, SKIP_DATASETS_REASON } from '../helpers/datasets.js';
import { form, startTestServer, type TestServer } from '../helpers/server.js';

const HEAVY = { timeout: 300_000 };
const PEOPLE: Record<string, string[]> = {
  obama: [KNN('train', 'obama', 'obama.jpg'), KNN('train', 'obama', 'obama2.jpg')],
  biden: [KNN('train', 'biden', 'biden.jpg'), KNN('train', 'biden', 'biden2.jpg')],
  alex: [KNN('train', 'alex_lacamoire', 'img1.jpg')],
};

interface ModelJson {
  id: string;
  name: string;
  dims: number;
  metric: string;
  default: boolean;
}
interface IdentifyJson {
  model: string;
  thresholdSource: string;
  faces: Array<{ label: string; distance: number | null }>;
}

if (!HAS_DATASETS) it.skip(`descriptor models over HTTP: ${SKIP_DATASETS_REASON}`, () => {});

describeEachDatabase('descriptor models over HTTP', (kind) => {
  if (!HAS_DATASETS) return;
  let server: TestServer;
  let models: ModelJson[];

  const api = (path: string, init: RequestInit & { json?: unknown } = {}) => {
    const { json, ...rest } = init;
    return fetch(`${server.url}${path}`, {
      ...rest,
      ...(json !== undefined ? { body: JSON.stringify(json), headers: { 'content-type': 'application/json' } } : {}),
    });
  };
  const ok = async <T>(res: Response, status = 200): Promise<T> => {
    const text = await res.text();
    expect(res.status, text.slice(0, 500)).toBe(status);
    return JSON.parse(text) as T;
  };
  const identify = async (gallery: string, file: string) =>
    ok<IdentifyJson>(await api(`/v1/identify?gallery=${gallery}`, { method: 'POST', body: form({ image: await readFile(file) }) }));

  async function enrollAll(gallery: string) {
    for (const [name, files] of Object.entries(PEOPLE)) {
      const images = await Promise.all(files.map((f) => readFile(f)));
      await ok(await api(`/v1/people?gallery=${gallery}`, { method: 'POST', body: form({ images }, { name }) }), 201);
    }
  }

  beforeAll(async () => {
    server = await startTestServer(kind);
    models = (await ok<{ models: ModelJson[] }>(await api('/v1/models'))).models;
  }, 180_000);

  afterAll(async () => {
    await server?.stop();
  });

  it('lists the shipped models, face-api-128 the default', () => {
    expect(models.find((m) => m.default)).toMatchObject({ name: 'face-api-128', dims: 128, metric: 'euclidean' });
    expect(models.map((m) => m.name)).toContain('faceplugin-512');
  });

  it('identifies real photos with each shipped model, in a gallery bound to it', HEAVY, async () => {
    for (const model of models) {
      const gallery = `g-${model.name}`;
      const created = await ok<{ gallery: { descriptorModel: string } }>(
        await api('/v1/galleries', { method: 'POST', json: { name: gallery, model: model.name } }),
        201,
      );
      expect(created.gallery.descriptorModel).toBe(model.id);
      await enrollAll(gallery);
      const obama = await identify(gallery, KNN('test', 'obama1.jpg'));
      expect(obama.model, model.name).toBe(model.name);
      expect(obama.faces.map((f) => f.label)).toEqual(['obama']);
      const alex = await identify(gallery, KNN('test', 'alex_lacamoire1.jpg'));
      expect(alex.faces.map((f) => f.label)).toEqual(['alex']);
      const group = await identify(gallery, KNN('test', 'obama_and_biden.jpg'));
      expect(
        group.faces
          .map((f) => f.label)
          .filter((l) => l !== 'Unknown')
          .sort(),
      ).toEqual(['biden', 'obama']);
      const stranger = await identify(gallery, KNN('test', 'johnsnow_test1.jpg'));
      expect(stranger.faces.map((f) => f.label)).toEqual(['Unknown']);
    }
  });

  it('moves a gallery to another model from its thumbnails, answering throughout, then with the new model', HEAVY, async () => {
    const gallery = 'moving';
    await ok(await api('/v1/galleries', { method: 'POST', json: { name: gallery } }), 201);
    await enrollAll(gallery);
    const started = await ok<{ state: string; target: string }>(
      await api(`/v1/galleries/${gallery}/reembed`, { method: 'POST', json: { model: 'faceplugin-512' } }),
      202,
    );
    expect(started.target).toMatch(/^faceplugin/);
    let status = started;
    for (let i = 0; i < 300 && ['running', 'pending'].includes(status.state) && !('error' in status); i++) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      // Still answering, with whichever model the gallery has at that instant.
      expect((await identify(gallery, KNN('test', 'obama1.jpg'))).faces.map((f) => f.label)).toEqual(['obama']);
      status = await ok(await api(`/v1/galleries/${gallery}/reembed`));
    }
    expect(status, JSON.stringify(status)).toMatchObject({
      state: 'done',
      model: expect.stringMatching(/^faceplugin/),
      failed: [],
      dropped: [],
    });
    const after = await identify(gallery, KNN('test', 'obama_and_biden.jpg'));
    expect(after.model).toBe('faceplugin-512');
    expect(
      after.faces
        .map((f) => f.label)
        .filter((l) => l !== 'Unknown')
        .sort(),
    ).toEqual(['biden', 'obama']);
    const bad = await api(`/v1/galleries/${gallery}/reembed`, { method: 'POST', json: { model: 'nope' } });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('UNKNOWN_MODEL');
  });
});
