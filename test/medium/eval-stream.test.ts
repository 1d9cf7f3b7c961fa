/**
 * `facerec eval stream` in this process on a synthetic `facerec embed` file of the default model: its table, its JSON,
 * and its refusals. The figures on LFW are in docs/accuracy.md#a-gallery-that-learns.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFacerecInProcess } from '../helpers/cli.js';
import { rng } from '../helpers/random.js';

const ENV = { FACEREC_WORKERS: '1' };
const MODEL = 'dlib-resnet-v1@face-api-1.7.15/chip150p25+mirror';

let tmp: string;
let file: string;

/** A unit vector of 128 random directions, scaled. */
function direction(next: () => number, length: number): number[] {
  const v = Array.from({ length: 128 }, () => next() - 0.5);
  const norm = Math.hypot(...v);
  return v.map((x) => (x / norm) * length);
}

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'facerec-eval-stream-'));
  const next = rng(24);
  const lines: string[] = [];
  const line = (f: string, descriptor: number[]) =>
    lines.push(JSON.stringify({ f, w: 250, h: 250, model: MODEL, faces: [{ box: [80, 80, 90, 90], score: 0.99, descriptor }] }));
  // 40 people, far from each other (random points ~1.4 apart), four photos each 0.25 from their point (~0.35 from each other).
  for (let p = 0; p < 40; p++) {
    const centre = direction(next, 1);
    for (let i = 1; i <= 4; i++)
      line(
        `P${p}/P${p}_000${i}.jpg`,
        centre.map((x, k) => x + direction(next, 0.25)[k]!),
      );
  }
  for (let s = 0; s < 200; s++) line(`S${s}/S${s}_0001.jpg`, direction(next, 1));
  file = path.join(tmp, 'embed.jsonl');
  await writeFile(file, `${lines.join('\n')}\n`);
});
afterAll(() => rm(tmp, { recursive: true, force: true }));

describe('facerec eval stream', () => {
  it('prints a table per learning mode: DIR before and after, the two-photo bar, FPIR, the wrong adds', async () => {
    const run = await runFacerecInProcess(['eval', 'stream', '--load', file, '--orders', '2', '--modes', 'off,confirm,certain'], ENV);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/gallery: 32 people enrolled from one photo \(32 with photos in the stream\)/);
    const rows = run.stdout.split('\n').filter((l) => /^(off|confirm|certain) \|/.test(l));
    expect(rows.map((r) => r.split(' | ')[0])).toEqual(['off', 'confirm', 'certain']);
    expect(run.stdout).toMatch(/two photos: the same people with one more photo enrolled/);
  });

  it('gives every order in JSON, at the product’s defaults unless told otherwise', async () => {
    const run = await runFacerecInProcess(
      ['eval', 'stream', '--load', file, '--orders', '2', '--modes', 'certain', '--add-fpir', '0.001', '--cap', '4', '--json'],
      ENV,
    );
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report.orders).toHaveLength(2);
    expect(report.settings).toMatchObject({ addFpir: 0.001, cap: 4, quality: false });
    expect(report.summary[0].mode).toBe('certain');
    expect(report.summary[0].wrongAdds).toBe(0);
    expect(report.summary[0].totalAdded).toBeGreaterThan(0);
  });

  it('refuses an unknown mode, a file of another model and a missing file', async () => {
    let run = await runFacerecInProcess(['eval', 'stream', '--load', file, '--modes', 'off,sometimes'], ENV);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^facerec: INVALID_ARGUMENT: --modes takes off, confirm, certain, both, every/);
    run = await runFacerecInProcess(['eval', 'stream', '--load', file], { ...ENV, FACEREC_DESCRIPTOR_MODEL: 'faceplugin-512' });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/holds descriptors of dlib-resnet-v1.*set FACEREC_DESCRIPTOR_MODEL/);
    run = await runFacerecInProcess(['eval', 'stream', '--load', path.join(tmp, 'missing.jsonl')], ENV);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/missing\.jsonl/);
  });
});
