/**
 * Models brought by the operator that cannot run (issue 22): a card whose sha256 does not match its file, a file that
 * is not ONNX, an ONNX net whose output has other dimensions than its card says. The server starts all the same and
 * serves the models that work; the broken ones are listed as unusable with their reason; a gallery cannot be bound
 * to one; a gallery already bound to one answers 409 MODEL_UNUSABLE with the reason, never a 500.
 */
import { readFile, writeFile, mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { randomDescriptorNet, writeByoModel } from '../helpers/byo-model.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { FACE_API_DEMO } from '../helpers/datasets.js';
import { call, form, startTestServer, type TestServer } from '../helpers/server.js';

const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** A folder with one working model and three broken ones, each with its own file and card. */
async function modelsDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'facerec-broken-models-'));
  const good = await writeByoModel({ dims: 64, dir });
  const base = good.card;
  const add = async (name: string, bytes: Uint8Array, patch: Record<string, unknown>) => {
    const file = `${name}.onnx`;
    await writeFile(path.join(dir, file), bytes);
    const card = { ...base, id: `${name}@test`, name, weights: { file, sha256: sha(bytes) }, ...patch };
    await writeFile(path.join(dir, `${name}.json`), JSON.stringify(card));
  };
  const net = randomDescriptorNet(64, 2);
  await add('bad-sha', net, {});
  // The card's checksum, then the file changed under it.
  const card = JSON.parse(await readFile(path.join(dir, 'bad-sha.json'), 'utf8')) as { weights: { sha256: string } };
  card.weights.sha256 = '0'.repeat(64);
  await writeFile(path.join(dir, 'bad-sha.json'), JSON.stringify(card));
  await add('not-onnx', new TextEncoder().encode('this is not an ONNX graph'), {});
  await add('wrong-dims', net, { output: { dims: 32, metric: 'cosine' } });
  return dir;
}

describeEachDatabase('descriptor models that cannot run', (kind) => {
  let server: TestServer;
  const json = (body: unknown) => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  beforeAll(async () => {
    server = await startTestServer(kind, { FACEREC_DESCRIPTOR_MODELS_DIR: await modelsDir() });
  }, 180_000);
  afterAll(async () => {
    await server?.stop();
  });

  it('lists every installed model, the broken ones unusable with their reason; health says so too', async () => {
    const { body } = await call(`${server.url}/v1/models`);
    const byName = new Map((body.models as Array<{ name: string; usable: boolean; unusableReason?: string }>).map((m) => [m.name, m]));
    expect(byName.get('face-api-128')).toMatchObject({ usable: true });
    expect(byName.get('byo-random')).toMatchObject({ usable: true });
    expect(byName.get('bad-sha')!.usable).toBe(false);
    expect(byName.get('bad-sha')!.unusableReason).toMatch(/bad-sha\.onnx does not match its checksum in its model card/);
    expect(byName.get('not-onnx')!.unusableReason).toMatch(/ONNX Runtime cannot load not-onnx\.onnx/);
    expect(byName.get('wrong-dims')!.unusableReason).toMatch(/64 dimensions, card says 32/);
    const health = await call(`${server.url}/v1/health`);
    expect(Object.keys(health.body.engine.unusableModels).sort()).toEqual(['bad-sha@test', 'not-onnx@test', 'wrong-dims@test']);
  });

  it('refuses to bind a gallery to a broken model, 409 with the reason; the working ones bind', async () => {
    for (const model of ['bad-sha', 'not-onnx', 'wrong-dims']) {
      const r = await call(`${server.url}/v1/galleries`, json({ name: `g-${model}`, model }));
      expect(r.status, JSON.stringify(r.body)).toBe(409);
      expect(r.body.error).toMatchObject({ code: 'MODEL_UNUSABLE', details: { model } });
      expect(r.body.error.message).toContain('cannot run here');
    }
    expect((await call(`${server.url}/v1/galleries`, json({ name: 'g-good', model: 'byo-random' }))).status).toBe(201);
    const listed = await call(`${server.url}/v1/galleries`);
    expect((listed.body.galleries as Array<{ name: string }>).map((g) => g.name)).not.toContain('g-bad-sha');
  });

  it('answers 409 MODEL_UNUSABLE, not 500, for a gallery bound to a model that broke since', async () => {
    // Bound while the model worked (by an earlier server), its file since replaced.
    await server.db.query(`INSERT INTO galleries (name, descriptor_model) VALUES ('older', 'wrong-dims@test')`);
    const photo = await readFile(path.join(FACE_API_DEMO, 'sample1.jpg'));
    const attempts = [
      await call(`${server.url}/v1/identify?gallery=older`, { method: 'POST', body: form({ image: photo }) }),
      await call(`${server.url}/v1/people?gallery=older`, {
        method: 'POST',
        body: form({ images: [photo] }, { name: 'Someone', largestFace: 'true' }),
      }),
      await call(`${server.url}/v1/galleries/older/reembed`, json({ model: 'not-onnx' })),
    ];
    for (const r of attempts) {
      expect(r.status, JSON.stringify(r.body)).toBe(409);
      expect(r.body.error.code).toBe('MODEL_UNUSABLE');
      expect(r.body.error.details.reason).toBeTruthy();
    }
    expect(
      (await server.db.query('SELECT 1 FROM people p JOIN galleries g ON g.id = p.gallery_id WHERE g.name = $1', ['older'])).length,
    ).toBe(0);
  });
});
