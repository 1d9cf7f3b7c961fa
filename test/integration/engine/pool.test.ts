import { readFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkerPool } from '../../../src/engine/pool.js';
import { FACE_API_DEMO } from '../../helpers/datasets.js';

let pool: WorkerPool;
let photo: Buffer;

beforeAll(async () => {
  // The real engine with a 'crash' operation added (test/fixtures/faulty-worker.ts).
  pool = await WorkerPool.start({ size: 2, queueSize: 2, entry: new URL('../../fixtures/faulty-worker.ts', import.meta.url) });
  // A smaller copy keeps the test quick; three people stay large enough to be found.
  photo = await sharp(await readFile(path.join(FACE_API_DEMO, 'sample2.jpg')))
    .resize(640)
    .jpeg()
    .toBuffer();
});

afterAll(async () => {
  await pool?.close();
});

describe('worker pool', () => {
  it('reports the engine it runs', () => {
    expect(pool.size).toBe(2);
    expect(pool.info.models.faceRecognitionNet).toMatch(/^dlib-resnet-v1@/);
  });

  it('analyses in parallel with the same result on every worker', async () => {
    const results = await Promise.all([1, 2, 3, 4].map(() => pool.run('analyze', { bytes: photo, options: {} })));
    for (const r of results) {
      expect(r.faces).toHaveLength(3);
      expect(r.faces[0]!.descriptor).toEqual(results[0]!.faces[0]!.descriptor);
    }
  });

  it('returns domain errors from the worker with their code', async () => {
    await expect(pool.run('analyze', { bytes: new Uint8Array([1, 2, 3]), options: {} })).rejects.toMatchObject({
      code: 'UNSUPPORTED_IMAGE',
    });
  });

  it('refuses work past the bounded queue with QUEUE_FULL', async () => {
    // Two running and two queued fill it; the fifth is refused at once.
    const accepted = [1, 2, 3, 4].map(() => pool.run('analyze', { bytes: photo, options: { descriptors: false } }));
    await expect(pool.run('analyze', { bytes: photo, options: {} })).rejects.toMatchObject({ code: 'QUEUE_FULL' });
    await Promise.all(accepted);
  });

  it('replaces a crashed worker: only its request fails, the others complete', async () => {
    const others = [1, 2].map(() => pool.run('analyze', { bytes: photo, options: { descriptors: false } }));
    const crashed = pool.runExtra('crash', {});
    await expect(crashed).rejects.toMatchObject({ code: 'WORKER_CRASHED' });
    for (const r of await Promise.all(others)) expect(r.faces).toHaveLength(3);
    // Capacity comes back: two workers again, and they answer.
    await expect.poll(() => pool.size, { timeout: 60_000, interval: 200 }).toBe(2);
    expect((await pool.run('analyze', { bytes: photo, options: {} })).faces).toHaveLength(3);
  });

  it('keeps each worker’s tensor count flat across requests', async () => {
    const before = await Promise.all([pool.run('memory', {}), pool.run('memory', {})]);
    await Promise.all([1, 2, 3, 4].map(() => pool.run('analyze', { bytes: photo, options: { mirror: true } })));
    const after = await Promise.all([pool.run('memory', {}), pool.run('memory', {})]);
    expect(after.map((m) => m.numTensors).sort()).toEqual(before.map((m) => m.numTensors).sort());
  });

  it('fails the running and the queued request with POOL_CLOSED when it is closed', async () => {
    const small = await WorkerPool.start({ size: 1, queueSize: 1 });
    const outcome = (p: Promise<unknown>) =>
      p.then(
        () => 'resolved',
        (err: unknown) => err,
      );
    const running = outcome(small.run('analyze', { bytes: photo, options: {} }));
    const queued = outcome(small.run('analyze', { bytes: photo, options: {} }));
    await expect.poll(() => small.busy, { timeout: 30_000, interval: 5 }).toBe(1);
    await small.close();
    expect(await running).toMatchObject({ code: 'POOL_CLOSED' });
    expect(await queued).toMatchObject({ code: 'POOL_CLOSED' });
  });

  it('ends workers in the middle of ONNX Runtime calls without taking the process down', { timeout: 120_000 }, async () => {
    // onnxruntime-node aborts the whole process when a thread ends while it runs (native-guard.ts): a worker is
    // stopped mid-request here again and again, at random moments of a photo that takes many SSD passes.
    const large = await sharp(await readFile(path.join(FACE_API_DEMO, 'sample2.jpg')))
      .resize(3000)
      .jpeg()
      .toBuffer();
    for (let i = 0; i < 8; i++) {
      const running = pool.run('analyze', { bytes: large, options: {} }).catch((err: unknown) => err);
      await new Promise((resolve) => setTimeout(resolve, 30 + Math.random() * 300));
      await pool.killBusyWorker();
      await running;
    }
    const after = await pool.run('analyze', { bytes: photo, options: {} });
    expect(after.faces).toHaveLength(3);
  });
});
