/**
 * Age, gender and expression over real HTTP with the real engine: present only when asked (and then computed, else
 * not: the worker's nets and the inference metrics say so), their shapes in /openapi.json, drawn on annotated images,
 * and a bad value refused with the allowed ones named.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PoolAnalyzer } from '../../src/service/context.js';
import { dataset, FACE_API_DEMO, HAS_DATASETS } from '../helpers/datasets.js';
import { form, startTestServer, type TestServer } from '../helpers/server.js';

const HEAVY = { timeout: 120_000 };
const EXPRESSIONS = ['neutral', 'happy', 'sad', 'angry', 'fearful', 'disgusted', 'surprised'];

interface FaceJson {
  box: number[];
  label?: string;
  attributes?: {
    age?: number;
    gender?: { label: string; probability: number };
    expression?: { label: string; probability: number; probabilities: Record<string, number> };
  };
}

describe('face attributes over HTTP', () => {
  let server: TestServer;
  let group: Uint8Array;

  const post = (path: string, body: FormData, headers: Record<string, string> = {}) =>
    fetch(`${server.url}${path}`, { method: 'POST', body, headers });
  const json = async <T>(res: Response, status = 200): Promise<T> => {
    const text = await res.text();
    expect(res.status, text.slice(0, 500)).toBe(status);
    return JSON.parse(text) as T;
  };
  const faces = async (path: string, fields: Record<string, string> = {}, image = group) =>
    (await json<{ faces: FaceJson[] }>(await post(path, form({ image }, fields)))).faces;
  /** Loaded attribute nets in the server's one worker, and attribute inference observed by /metrics. */
  const computed = async () => {
    const memory = await (server.running.facerec.analyzer as PoolAnalyzer).pool.run('memory', {});
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    const observed = /^facerec_inference_duration_seconds_count\{stage="attributes"\} (\d+)$/m.exec(metrics);
    return { nets: memory.attributeNets, observed: observed ? Number(observed[1]) : 0 };
  };

  beforeAll(async () => {
    server = await startTestServer('pglite');
    group = await readFile(path.join(FACE_API_DEMO, 'sample1.jpg'));
  }, 180_000);
  afterAll(async () => {
    await server?.stop();
  });

  it('computes none and answers none unless asked, on detect, identify and annotate', HEAVY, async () => {
    for (const found of [await faces('/v1/detect'), await faces('/v1/identify')]) {
      expect(found).toHaveLength(3);
      for (const face of found) expect(face).not.toHaveProperty('attributes');
    }
    expect((await post('/v1/annotate', form({ image: group }))).status).toBe(200);
    expect(await computed()).toEqual({ nets: 0, observed: 0 });
  });

  it('answers exactly those asked for, as a form field or in the query, on every face', HEAVY, async () => {
    const all = await faces('/v1/detect', { attributes: 'all' });
    expect(all).toHaveLength(3);
    for (const { attributes } of all) {
      expect(Object.keys(attributes!)).toEqual(['age', 'gender', 'expression']);
      expect(attributes!.age).toBeGreaterThan(10);
      expect(attributes!.age).toBeLessThan(70);
      expect(['female', 'male']).toContain(attributes!.gender!.label);
      expect(attributes!.gender!.probability).toBeGreaterThanOrEqual(0.5);
      expect(Object.keys(attributes!.expression!.probabilities)).toEqual(EXPRESSIONS);
      const sum = Object.values(attributes!.expression!.probabilities).reduce((s, p) => s + p, 0);
      expect(sum).toBeCloseTo(1, 2);
    }
    expect(await computed()).toMatchObject({ nets: 2, observed: 1 });

    const identified = await json<{ faces: FaceJson[] }>(
      await post('/v1/identify?attributes=expression', form({ image: group }, { includeLandmarks: 'false' })),
    );
    for (const face of identified.faces) {
      expect(face.label).toBe('Unknown');
      expect(Object.keys(face.attributes!)).toEqual(['expression']);
    }
    for (const face of await faces('/v1/identify', { attributes: 'gender,age' }))
      expect(Object.keys(face.attributes!)).toEqual(['age', 'gender']);
  });

  it('names the expression of face-api’s own expression samples', HEAVY, async () => {
    if (!HAS_DATASETS) return;
    for (const expression of ['angry', 'surprised']) {
      const [face] = await faces('/v1/detect', { attributes: 'expression' }, await readFile(dataset('bbt', 'misc', `${expression}.jpg`)));
      expect(face!.attributes!.expression!.label).toBe(expression);
    }
  });

  it('draws them on the annotated image when asked', HEAVY, async () => {
    const plain = await post('/v1/annotate', form({ image: group }, { format: 'png' }));
    const drawn = await post('/v1/annotate', form({ image: group }, { format: 'png', attributes: 'all' }));
    expect(drawn.status).toBe(200);
    const [a, b] = await Promise.all(
      [plain, drawn].map(async (r) =>
        sharp(Buffer.from(await r.arrayBuffer()))
          .raw()
          .toBuffer({ resolveWithObject: true }),
      ),
    );
    expect(b!.info).toMatchObject({ width: a!.info.width, height: a!.info.height });
    // The line under each box: pixels change just below the boxes, and nowhere above them.
    const [x, y, w, h] = (await faces('/v1/detect'))[0]!.box.map(Math.round) as [number, number, number, number];
    const changed = (top: number, bottom: number) => {
      let n = 0;
      for (let row = Math.max(0, top); row < Math.min(a!.info.height, bottom); row++)
        for (let col = x; col < x + w; col++) {
          const i = (row * a!.info.width + col) * a!.info.channels;
          if (a!.data[i] !== b!.data[i]) n++;
        }
      return n;
    };
    expect(changed(y + h + 4, y + h + 30)).toBeGreaterThan(50);
    expect(changed(y - 60, y - 30)).toBe(0);
  });

  it('refuses a bad value with 400 INVALID_ARGUMENT naming the allowed ones, before any analysis', async () => {
    const before = await computed();
    for (const [where, value] of [
      ['field', 'age,emotion'],
      ['query', 'race'],
      ['field', 'AGE'],
    ] as const) {
      const res =
        where === 'field'
          ? await post('/v1/detect', form({ image: group }, { attributes: value }))
          : await post(`/v1/identify?attributes=${value}`, form({ image: group }));
      const body = await json<{ error: { code: string; message: string } }>(res, 400);
      expect(body.error.code).toBe('INVALID_ARGUMENT');
      expect(body.error.message).toContain('allowed: age, gender, expression, all');
    }
    expect(await computed()).toEqual(before);
  });

  it('documents the field and the answer’s shape in /openapi.json', async () => {
    interface Schema {
      type?: string;
      description?: string;
      properties?: Record<string, Schema>;
      items?: Schema;
      enum?: string[];
      $ref?: string;
      $defs?: Record<string, Schema>;
    }
    type Operation = {
      requestBody: { content: Record<string, { schema: Schema }> };
      responses: Record<string, { content: Record<string, { schema: Schema }> }>;
    };
    const doc = (await (await fetch(`${server.url}/openapi.json`)).json()) as { paths: Record<string, Record<string, Operation>> };
    for (const route of ['/v1/detect', '/v1/identify', '/v1/annotate']) {
      const field = doc.paths[route]!.post!.requestBody.content['multipart/form-data']!.schema.properties!.attributes!;
      expect(field.type, route).toBe('string');
      expect(field.description).toMatch(/age, gender, expression, or all/);
      expect(field.description).toMatch(/uncalibrated, not measured here/);
    }
    for (const route of ['/v1/detect', '/v1/identify']) {
      const root = doc.paths[route]!.post!.responses['200']!.content['application/json']!.schema;
      // Named schemas are $refs into the response schema's own $defs.
      const at = (schema: Schema): Schema => (schema.$ref ? root.$defs![schema.$ref.replace('#/$defs/', '')]! : schema);
      const face = at(at(at(root).properties!.faces!).items!);
      const attributes = at(face.properties!.attributes!);
      expect(Object.keys(attributes.properties!)).toEqual(['age', 'gender', 'expression']);
      expect(attributes.properties!.age!.description).toMatch(/Uncalibrated, not measured here/);
      expect(attributes.properties!.gender!.properties!.label!.enum).toEqual(['female', 'male']);
      const expression = attributes.properties!.expression!;
      expect(expression.properties!.label!.enum).toEqual(EXPRESSIONS);
      expect(Object.keys(expression.properties!.probabilities!.properties!)).toEqual(EXPRESSIONS);
    }
  });
});
