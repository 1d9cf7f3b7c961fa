/**
 * A small random-weight descriptor net, written as an ONNX file with its model card: the plumbing of a model brought
 * by the user (FACEREC_DESCRIPTOR_MODELS_DIR) without shipping real weights. Input [N, 3, 112, 112]; a stride-8
 * convolution, then a dense layer to `dims` outputs.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Graph } from '../../scripts/onnx-graph.js';
import { rng } from './random.js';

export interface ByoModel {
  dir: string;
  id: string;
  name: string;
  file: string;
  sha256: string;
  card: Record<string, unknown>;
}

export function randomDescriptorNet(dims: number, seed = 1): Uint8Array {
  const random = rng(seed);
  const weights = (n: number, scale: number) => Float32Array.from({ length: n }, () => (random() * 2 - 1) * scale);
  const g = new Graph('byo-test');
  const x = g.input('input', ['batch', 3, 112, 112]);
  const conv = g.node('Conv', [x, g.constant(weights(8 * 3 * 8 * 8, 0.05), [8, 3, 8, 8], 'w'), g.constant(weights(8, 0.1), [8], 'b')], {
    strides: [8, 8],
  });
  const relu = g.node('Relu', [conv]);
  const flat = g.node('Flatten', [relu], { axis: 1 });
  const dense = g.node('MatMul', [flat, g.constant(weights(8 * 14 * 14 * dims, 0.05), [8 * 14 * 14, dims], 'dense')]);
  g.output(dense, 'embedding', ['batch', dims]);
  return g.encode('facerec test: a random-weight descriptor net');
}

/** Writes the net and its card into a new folder; `patch` changes the card (to test a bad one). */
export async function writeByoModel(options: { dims?: number; patch?: Record<string, unknown>; dir?: string } = {}): Promise<ByoModel> {
  const dims = options.dims ?? 64;
  const dir = options.dir ?? (await mkdtemp(path.join(os.tmpdir(), 'facerec-byo-')));
  const bytes = randomDescriptorNet(dims);
  const file = 'byo-random.onnx';
  await writeFile(path.join(dir, file), bytes);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const card = {
    id: 'byo-random@test/arcface112',
    name: 'byo-random',
    description: 'random weights: plumbing only',
    source: 'test/helpers/byo-model.ts',
    license: 'the project’s',
    weights: { file, sha256 },
    input: { size: 112, layout: 'NCHW', channels: 'RGB', mean: [127.5, 127.5, 127.5], std: [128, 128, 128] },
    align: { template: 'arcface-5pt' },
    mirror: false,
    output: { dims, metric: 'cosine' },
    verifyThreshold: 1.0,
    ambiguityMargin: 0.02,
    confidence: { slope: -10, intercept: 10 },
    ...options.patch,
  };
  await writeFile(path.join(dir, 'byo-random.json'), JSON.stringify(card, null, 2));
  return { dir, id: card.id as string, name: card.name as string, file, sha256, card };
}
