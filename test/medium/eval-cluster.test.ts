/**
 * `facerec eval cluster` driven in-process on a synthetic embed output: the default model's id, descriptors shaped like
 * its distances (people ~1.0 apart, a person's photos ~0.3 apart), so the command reads the real card and impostor
 * model and runs every algorithm; and its refusals.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rng } from '../helpers/random.js';
import { runFacerecInProcess } from '../helpers/cli.js';

const MODEL = 'dlib-resnet-v1@face-api-1.7.15/chip150p25+mirror';
const DIMS = 128;
const ENV = { FACEREC_LOG_LEVEL: 'silent' };

let tmp: string;
let embed: string;

function gaussian(random: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'facerec-eval-cluster-'));
  const g = gaussian(rng(7));
  const lines: string[] = [];
  // Ten people of 4 photos (five names from A, five from N: both halves of the A–M / N–Z split) and 20 of one photo.
  const names = [
    ...['Ada', 'Alan', 'Barbara', 'Claude', 'Edsger', 'Niklaus', 'Peter', 'Radia', 'Tony', 'Whitfield'].map((n) => [n, 4] as const),
    ...Array.from({ length: 20 }, (_, i) => [`${String.fromCharCode(65 + i)}single_${i}`, 1] as const),
  ];
  for (const [name, photos] of names) {
    const centre = Array.from({ length: DIMS }, () => (g() * 1.0) / Math.sqrt(2 * DIMS));
    for (let p = 1; p <= photos; p++) {
      const descriptor = centre.map((v) => v + (g() * 0.3) / Math.sqrt(2 * DIMS));
      const file = `${name}/${name}_000${p}.jpg`;
      lines.push(JSON.stringify({ f: file, w: 250, h: 250, model: MODEL, faces: [{ box: [80, 80, 90, 110], score: 0.99, descriptor }] }));
    }
  }
  lines.push(JSON.stringify({ f: 'Nobody/Nobody_0001.jpg', w: 250, h: 250, model: MODEL, faces: [] }));
  embed = path.join(tmp, 'embed.jsonl');
  await writeFile(embed, `${lines.join('\n')}\n`);
});
afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe('facerec eval cluster', () => {
  it('scores the product and the references on the same faces and writes the assignment', async () => {
    const out = path.join(tmp, 'assignment.tsv');
    const run = await runFacerecInProcess(['eval', 'cluster', '--load', embed, '--orders', '1', '--out', out, '--json'], ENV);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout) as {
      faces: number;
      withoutFace: number;
      splits: Array<{
        name: string;
        faces: number;
        results: Array<{ name: string; product: boolean; scores: { pairwise: { precision: number; recall: number } } }>;
      }>;
      incremental: { policies: Array<{ name: string; pairwise: { precision: number } }> };
    };
    expect(result).toMatchObject({ faces: 60, withoutFace: 1 });
    expect(result.splits.map((s) => s.name)).toEqual(['all', 'A–M (tuned on)', 'N–Z (held out)']);
    const all = result.splits[0]!;
    const product = all.results.find((r) => r.product)!;
    expect(product.scores.pairwise).toMatchObject({ precision: 1, recall: 1 });
    for (const reference of ['DBSCAN', 'Chinese whispers', 'immich', 'average linkage'])
      expect(all.results.some((r) => r.name.startsWith(reference))).toBe(true);
    expect(result.incremental.policies.map((p) => p.name)).toContain('incremental alone');

    // One line per face: the four photos of a person share a cluster, different people do not, singles are alone.
    const lines = (await readFile(out, 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(60);
    const label = new Map(lines.map((l) => l.split('\t') as [string, string]));
    const of = (name: string) => new Set([1, 2, 3, 4].map((p) => label.get(`${name}/${name}_000${p}.jpg`)));
    expect(of('Ada').size).toBe(1);
    expect(of('Niklaus').size).toBe(1);
    expect([...of('Ada')][0]).not.toBe([...of('Niklaus')][0]);
    expect(label.get('Asingle_0/Asingle_0_0001.jpg')).toMatch(/^single-/);
  });

  it('prints a table by default, and refuses what it cannot read', async () => {
    const table = await runFacerecInProcess(['eval', 'cluster', '--load', embed, '--orders', '0', '--no-references'], ENV);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^\* facerec \(k 30/m);
    expect(table.stdout).not.toMatch(/DBSCAN/);

    const missing = await runFacerecInProcess(['eval', 'cluster', '--load', path.join(tmp, 'nope.jsonl')], ENV);
    expect(missing.code).toBe(4);
    expect(missing.stderr).toMatch(/^facerec: FILE_NOT_FOUND: /);

    const unknownModel = path.join(tmp, 'other-model.jsonl');
    await writeFile(unknownModel, (await readFile(embed, 'utf8')).replaceAll(MODEL, 'someone-elses-model@1'));
    const refused = await runFacerecInProcess(['eval', 'cluster', '--load', unknownModel], ENV);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/^facerec: INVALID_ARGUMENT: .*someone-elses-model@1/);

    const badOrders = await runFacerecInProcess(['eval', 'cluster', '--load', embed, '--orders', 'many'], ENV);
    expect(badOrders.code).toBe(2);
  });
});
