/**
 * Issue 12 over real HTTP: the attack's poisoning sequence (large photos without a face between normal ones), and
 * the containment of engine faults that the real engine cannot be made to produce on demand (a worker made to fail
 * on cue by test/fixtures/faulty-worker.ts): a replaced worker, a refused input, honest readiness and metrics.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { dataset, describeWithDatasets } from '../helpers/datasets.js';
import { call, form, startTestServer, type Reply, type TestServer } from '../helpers/server.js';

const identify = (base: string, photo: Uint8Array) => call(`${base}/v1/identify`, { method: 'POST', body: form({ image: photo }) });
const replacements = async (base: string) => {
  const text = await (await fetch(`${base}/metrics`)).text();
  return Object.fromEntries(
    [...text.matchAll(/^facerec_worker_replacements_total\{cause="([\w-]+)"\} (\d+)$/gm)].map((m) => [m[1], Number(m[2])]),
  );
};

const startFailures = async (base: string) =>
  Number(/^facerec_worker_start_failures_total (\d+)$/m.exec(await (await fetch(`${base}/metrics`)).text())?.[1]);

let enrolled: Uint8Array;
let probe: Uint8Array;

async function enrollObama(base: string): Promise<void> {
  const reply = await call(`${base}/v1/people`, { method: 'POST', body: form({ images: [enrolled] }, { name: 'Barack Obama' }) });
  expect(reply.status, JSON.stringify(reply.body)).toBe(201);
}

function expectObama(reply: Reply): void {
  expect(reply.status, JSON.stringify(reply.body)).toBe(200);
  expect(reply.body.faces).toHaveLength(1);
  expect(reply.body.faces[0].label).toBe('Barack Obama');
}

beforeAll(async () => {
  enrolled = await readFile(dataset('face-recognition-examples', 'test_images', 'obama.jpg'));
  probe = await readFile(dataset('face-recognition-examples', 'knn_examples', 'test', 'obama1.jpg'));
});

describeWithDatasets('issue 12, D1: large photos without a face do not break the engine', () => {
  let server: TestServer;
  beforeAll(async () => {
    // One worker, as in the attack: every photo reaches the same engine.
    server = await startTestServer('pglite', {}, { workers: 1 });
    await enrollObama(server.url);
  });
  afterAll(async () => {
    await server?.stop();
  });

  const blank = (width: number, height: number, format: 'jpeg' | 'png') => {
    const canvas = sharp({ create: { width, height, channels: 3, background: '#889' } });
    return (format === 'png' ? canvas.png() : canvas.jpeg()).toBuffer();
  };
  for (const [width, height, format] of [
    [6000, 4000, 'jpeg'],
    [5000, 4000, 'jpeg'],
    [7000, 7000, 'png'],
  ] as const) {
    it(`${width}x${height} ${format}: 422 NO_FACE, then a normal photo is still identified and /readyz is ready`, async () => {
      expectObama(await identify(server.url, probe));
      const reply = await identify(server.url, await blank(width, height, format));
      expect(reply.status, JSON.stringify(reply.body)).toBe(422);
      expect(reply.body.error.code).toBe('NO_FACE');
      expectObama(await identify(server.url, probe));
      const ready = await call(`${server.url}/readyz`);
      expect(ready.status).toBe(200);
      expect(ready.body.checks).toMatchObject({ engine: 'ok', workers: '1' });
      expect(await replacements(server.url)).toEqual({ crash: 0, 'engine-error': 0, 'self-test': 0, timeout: 0 });
    });
  }
});

describeWithDatasets('engine fault containment over HTTP', () => {
  let server: TestServer;
  let dir: string;
  const broken = () => path.join(dir, 'broken');
  const cued = (cue: string) => Buffer.concat([probe, Buffer.from(`FAULT:${cue}`, 'latin1')]);

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'facerec-containment-'));
    process.env.FACEREC_TEST_FAULT_DIR = dir;
    process.env.FACEREC_TEST_BROKEN_FILE = broken();
    server = await startTestServer(
      'pglite',
      {},
      { workers: 1, engine: { entry: new URL('../fixtures/faulty-worker.ts', import.meta.url) } },
    );
    await enrollObama(server.url);
  });
  afterAll(async () => {
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('a photo that poisons every worker it reaches: 422 IMAGE_UNPROCESSABLE after two fresh workers, never a 500, and no loop', async () => {
    const reply = await identify(server.url, cued('POISON'));
    expect(reply.status, JSON.stringify(reply.body)).toBe(422);
    expect(reply.body.error).toMatchObject({ code: 'IMAGE_UNPROCESSABLE', details: { failures: 2, cause: 'engine-error' } });
    // The internal message stays in the log.
    expect(JSON.stringify(reply.body)).not.toContain('memory access');
    expectObama(await identify(server.url, probe));
    expect((await call(`${server.url}/readyz`)).status).toBe(200);
    expect(await replacements(server.url)).toMatchObject({ 'engine-error': 2 });

    const again = await identify(server.url, cued('POISON'));
    expect(again.status).toBe(422);
    expect(again.body.error.code).toBe('IMAGE_UNPROCESSABLE');
    expect(await replacements(server.url)).toMatchObject({ 'engine-error': 2 });
  });

  it('a worker that failed for a reason of its own: the request is answered from a fresh worker', async () => {
    expectObama(await identify(server.url, cued('ONCE')));
    expect(await replacements(server.url)).toMatchObject({ 'engine-error': 3 });
  });

  it('/readyz is 503 and analysis 503 ENGINE_UNHEALTHY while no worker passes its self-test; both recover', async () => {
    await writeFile(broken(), '');
    // Another poisoning photo (the first is refused before any worker now): its worker's replacement starts broken.
    const reply = await identify(server.url, Buffer.concat([enrolled, Buffer.from('FAULT:POISON', 'latin1')]));
    expect(reply.status, JSON.stringify(reply.body)).toBe(503);
    expect(reply.body.error.code).toBe('ENGINE_UNHEALTHY');
    await expect.poll(async () => (await call(`${server.url}/readyz`)).status, { timeout: 60_000, interval: 100 }).toBe(503);
    const notReady = await call(`${server.url}/readyz`);
    expect(notReady.body.error.details.checks).toMatchObject({ engine: 'unhealthy', workers: '0' });
    const refused = await identify(server.url, probe);
    expect(refused.status).toBe(503);
    expect(refused.body.error.code).toBe('ENGINE_UNHEALTHY');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await startFailures(server.url)).toBeGreaterThan(0);

    await rm(broken());
    await expect.poll(async () => (await call(`${server.url}/readyz`)).status, { timeout: 60_000, interval: 200 }).toBe(200);
    expectObama(await identify(server.url, probe));
  });
});
