/**
 * FACEREC_RUNTIME switches the runtime, not the answers: a gallery enrolled on ONNX Runtime identifies the same
 * people at the same distances on tfjs, and the other way round, because both share one descriptor space.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runFacerec, type Run } from '../helpers/cli.js';
import { describeWithDatasets, KNN } from '../helpers/datasets.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- parsed CLI output, checked by the assertions
const json = (run: Run): any => {
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.stdout);
};

describeWithDatasets('FACEREC_RUNTIME', () => {
  let dir: string;
  const facerec = (runtime: 'onnx' | 'tfjs', ...args: string[]) =>
    runFacerec(args[0] === 'info' ? args : [...args, '--db', dir], {
      // ONNX Runtime at face-api's own precision and input size (int8, sized input: precision-switch, int8-equivalence).
      env: {
        ...process.env,
        FACEREC_RUNTIME: runtime,
        FACEREC_BACKEND: 'wasm',
        FACEREC_PRECISION: 'fp32',
        FACEREC_SSD_INPUT: '512',
        FACEREC_WORKERS: '1',
        DATABASE_URL: '',
      },
      maxBuffer: 16 * 1024 * 1024,
    });

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'facerec-runtime-'));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('gives the same identify answer under onnx and tfjs, on a gallery enrolled under either', { timeout: 300_000 }, async () => {
    const info = json(await facerec('onnx', 'info', '--json'));
    expect(info).toMatchObject({ runtime: 'onnx', backend: 'cpu', threads: 1 });
    expect(json(await facerec('tfjs', 'info', '--json'))).toMatchObject({ runtime: 'tfjs', descriptorModelId: info.descriptorModelId });

    json(await facerec('onnx', 'enroll', '--json', '--name', 'kit_harington', KNN('train', 'kit_harington', 'john1.jpeg')));
    json(await facerec('tfjs', 'enroll', '--json', '--name', 'rose_leslie', KNN('train', 'rose_leslie', 'img1.jpg')));

    const photo = KNN('test', 'kit_with_rose.jpg');
    const [onnx, tfjs] = [
      json(await facerec('onnx', 'identify', '--json', photo)),
      json(await facerec('tfjs', 'identify', '--json', photo)),
    ];
    expect(onnx.faces.map((f: { label: string }) => f.label).sort()).toEqual(['kit_harington', 'rose_leslie']);
    expect(tfjs.faces.map((f: { label: string }) => f.label)).toEqual(onnx.faces.map((f: { label: string }) => f.label));
    onnx.faces.forEach((face: { distance: number; box: number[] }, i: number) => {
      expect(Math.abs(face.distance - tfjs.faces[i].distance)).toBeLessThan(1e-3);
      face.box.forEach((v, k) => expect(Math.abs(v - tfjs.faces[i].box[k])).toBeLessThan(0.5));
    });
  });
});
