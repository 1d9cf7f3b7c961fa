/**
 * Fault containment of the worker pool (issue 12): a worker that fails is replaced before it takes another
 * request, the request it held runs once more elsewhere, an input that ends two workers is refused, a worker that
 * answers wrongly is caught by its self-test, and a pool with no healthy worker says so. The workers are the real
 * engine, made to fail on cue by test/fixtures/faulty-worker.ts.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WorkerPool, type PoolOptions } from '../../../src/engine/pool.js';
import { FACE_API_DEMO } from '../../helpers/datasets.js';

const ENTRY = new URL('../../fixtures/faulty-worker.ts', import.meta.url);
let dir: string;
let photo: Buffer;
const cued = (cue: string) => Buffer.concat([photo, Buffer.from(`FAULT:${cue}`, 'latin1')]);
const pools: WorkerPool[] = [];
const start = async (options: PoolOptions) => {
  const pool = await WorkerPool.start({ entry: ENTRY, ...options });
  pools.push(pool);
  return pool;
};

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'facerec-faults-'));
  process.env.FACEREC_TEST_FAULT_DIR = dir;
  process.env.FACEREC_TEST_BROKEN_FILE = path.join(dir, 'broken');
  // Three people, small enough to be quick.
  photo = await sharp(await readFile(path.join(FACE_API_DEMO, 'sample2.jpg')))
    .resize(640)
    .jpeg()
    .toBuffer();
});

afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
  await rm(process.env.FACEREC_TEST_BROKEN_FILE!, { force: true });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const faces = async (pool: WorkerPool) => (await pool.run('analyze', { bytes: photo, options: {} })).faces;

describe('worker pool fault containment', () => {
  it('replaces a poisoned worker before it takes another request, refuses the input that poisons every worker, and stays correct', async () => {
    const pool = await start({ size: 2 });
    const reference = (await faces(pool))[0]!.descriptor!;

    // The poisoning input ends the worker it reaches, is tried once more on another, ends that one too, and is refused.
    await expect(pool.run('analyze', { bytes: cued('POISON'), options: {} })).rejects.toMatchObject({
      code: 'IMAGE_UNPROCESSABLE',
      details: { failures: 2 },
    });
    expect(pool.health().replacements).toMatchObject({ 'engine-error': 2 });
    // Fresh workers answer at once, and right.
    for (const result of await Promise.all([1, 2, 3, 4].map(() => faces(pool)))) {
      expect(result).toHaveLength(3);
      expect(result[0]!.descriptor).toEqual(reference);
    }
    await expect.poll(() => pool.health().healthy, { timeout: 60_000, interval: 100 }).toBe(2);

    // Sent again, it is refused without reaching a worker: no loop of replacements.
    await expect(pool.run('analyze', { bytes: cued('POISON'), options: {} })).rejects.toMatchObject({ code: 'IMAGE_UNPROCESSABLE' });
    expect(pool.health().replacements).toEqual({ crash: 0, 'engine-error': 2, 'self-test': 0, timeout: 0 });
  });

  it('answers a request whose worker failed for a reason of its own, from a fresh worker', async () => {
    const pool = await start({ size: 1 });
    const result = await pool.run('analyze', { bytes: cued('ONCE'), options: {} });
    expect(result.faces).toHaveLength(3);
    expect(pool.health().replacements['engine-error']).toBe(1);
    expect(pool.health().healthy).toBe(1);
  });

  it('catches a worker that answers wrongly without an error by its self-test while idle', async () => {
    const pool = await start({ size: 1, selfTestIntervalMs: 300 });
    const reference = (await faces(pool))[0]!.descriptor!;
    await pool.run('analyze', { bytes: cued('GARBLE'), options: {} });
    await expect.poll(() => pool.health().replacements['self-test'], { timeout: 60_000, interval: 100 }).toBe(1);
    await expect.poll(() => pool.health().healthy, { timeout: 60_000, interval: 100 }).toBe(1);
    expect((await faces(pool))[0]!.descriptor).toEqual(reference);
  });

  it('ends a worker that holds a request past the job deadline, and refuses an input that hangs every worker', async () => {
    // Long enough for a real analysis on a loaded machine, short enough for a test.
    const pool = await start({ size: 1, jobTimeoutMs: 8_000 });
    await expect(pool.run('analyze', { bytes: cued('HANG'), options: {} })).rejects.toMatchObject({
      code: 'IMAGE_UNPROCESSABLE',
      details: { cause: 'timeout' },
    });
    expect(pool.health().replacements.timeout).toBe(2);
    expect(await faces(pool)).toHaveLength(3);
  });

  it('says ENGINE_UNHEALTHY while no worker passes its self-test, and recovers when one does', async () => {
    const pool = await start({ size: 1 });
    await writeFile(process.env.FACEREC_TEST_BROKEN_FILE!, '');
    // The replacement of the poisoned worker starts broken and fails its self-test, again and again.
    await expect(pool.run('analyze', { bytes: cued('POISON'), options: {} })).rejects.toBeTruthy();
    await expect.poll(() => pool.health().lastStartError ?? '', { timeout: 60_000, interval: 100 }).toMatch(/self-test/);
    expect(pool.health().healthy).toBe(0);
    await expect(faces(pool)).rejects.toMatchObject({ code: 'ENGINE_UNHEALTHY' });

    await rm(process.env.FACEREC_TEST_BROKEN_FILE!);
    await expect.poll(() => pool.health().healthy, { timeout: 60_000, interval: 200 }).toBe(1);
    expect(pool.health().lastStartError).toBeUndefined();
    expect(await faces(pool)).toHaveLength(3);
  });

  it('does not start on an engine that fails its self-test', async () => {
    await writeFile(process.env.FACEREC_TEST_BROKEN_FILE!, '');
    await expect(WorkerPool.start({ entry: ENTRY, size: 1 })).rejects.toMatchObject({ code: 'ENGINE_UNHEALTHY' });
  });
});
