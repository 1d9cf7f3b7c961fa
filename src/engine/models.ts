import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { FacerecError } from '../errors.js';
import type { Runtime } from './backend.js';

export type NetName = 'ssdMobilenetv1' | 'tinyFaceDetector' | 'faceLandmark68Net' | 'faceRecognitionNet';
export const NET_NAMES: readonly NetName[] = ['ssdMobilenetv1', 'tinyFaceDetector', 'faceLandmark68Net', 'faceRecognitionNet'];
/** The face attribute nets: loaded only when a request first asks for an attribute (src/engine/attribute-nets.ts). */
export type AttributeNetName = 'ageGenderNet' | 'faceExpressionNet';
export const ATTRIBUTE_NET_NAMES: readonly AttributeNetName[] = ['ageGenderNet', 'faceExpressionNet'];

export interface ModelEntry {
  id: string;
  files: Record<string, string>;
  /** The FP32 ONNX graph (npm run models:onnx), and the int8 one where int8 holds the net's accuracy (models:int8). */
  onnx?: { file: string; sha256: string };
  int8?: { file: string; sha256: string };
}

export interface ModelManifest {
  source: string;
  /** The four nets every analysis needs, and the attribute nets (absent from an older models folder). */
  models: Record<NetName, ModelEntry> & Partial<Record<AttributeNetName, ModelEntry>>;
}

/** models/ at the repository root, from src/engine or dist/engine alike. */
export const DEFAULT_MODELS_DIR = path.resolve(import.meta.dirname, '..', '..', 'models');

export async function readManifest(dir: string): Promise<ModelManifest> {
  try {
    return JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8')) as ModelManifest;
  } catch (err) {
    throw new FacerecError('MODEL_LOAD_FAILED', `Cannot read ${path.join(dir, 'manifest.json')}: ${(err as Error).message}`, { dir });
  }
}

/** Reads a model file and checks it against its sha256 (from `source`: manifest.json, or a model card); a mismatch names the file. */
export async function readVerified(dir: string, file: string, sha256: string, source = 'manifest.json'): Promise<Buffer> {
  const full = path.join(dir, file);
  let bytes: Buffer;
  try {
    bytes = await readFile(full);
  } catch (err) {
    throw new FacerecError('MODEL_LOAD_FAILED', `Cannot read model file ${full}: ${(err as Error).message}`, { file: full });
  }
  const actual = createHash('sha256').update(bytes).digest('hex');
  if (actual !== sha256) {
    throw new FacerecError(
      'MODEL_CHECKSUM_MISMATCH',
      `Model file ${full} does not match its checksum in ${source} (expected sha256 ${sha256}, got ${actual})`,
      {
        file: full,
        expected: sha256,
        actual,
      },
    );
  }
  return bytes;
}

interface WeightsGroup {
  paths: string[];
  weights: Parameters<Runtime['tf']['io']['decodeWeights']>[1];
}

/** The manifest's entry for a net, or MODEL_LOAD_FAILED naming it. */
export function manifestEntry(manifest: ModelManifest, net: NetName | AttributeNetName): ModelEntry {
  const entry = manifest.models[net];
  if (!entry) throw new FacerecError('MODEL_LOAD_FAILED', `manifest.json has no entry for ${net}`, { net });
  return entry;
}

/** Verifies every checksum, then loads the weights into face-api's nets (the four, unless told) from the verified bytes. */
export async function loadModels(
  rt: Runtime,
  dir: string = DEFAULT_MODELS_DIR,
  manifest?: ModelManifest,
  nets: ReadonlyArray<NetName | AttributeNetName> = NET_NAMES,
): Promise<ModelManifest> {
  manifest ??= await readManifest(dir);
  for (const net of nets) {
    const entry = manifestEntry(manifest, net);
    const files = new Map<string, Buffer>();
    for (const [file, sha] of Object.entries(entry.files)) files.set(file, await readVerified(dir, file, sha));
    const weightsFile = [...files.keys()].find((f) => f.endsWith('-weights_manifest.json'));
    if (!weightsFile) throw new FacerecError('MODEL_LOAD_FAILED', `${net} lists no weights manifest`, { net });
    const groups = JSON.parse(files.get(weightsFile)!.toString('utf8')) as WeightsGroup[];
    const weightMap: Record<string, unknown> = {};
    for (const group of groups) {
      const buffers = group.paths.map((p) => {
        const b = files.get(p);
        if (!b) throw new FacerecError('MODEL_LOAD_FAILED', `${net}: ${p} is not listed in manifest.json`, { net, file: p });
        return b;
      });
      const joined = Buffer.concat(buffers);
      const arrayBuffer = joined.buffer.slice(joined.byteOffset, joined.byteOffset + joined.byteLength) as ArrayBuffer;
      Object.assign(weightMap, rt.tf.io.decodeWeights(arrayBuffer, group.weights));
    }
    const target = rt.faceapi.nets[net] as unknown as { isLoaded: boolean; loadFromWeightMap(map: unknown): void };
    if (!target.isLoaded) target.loadFromWeightMap(weightMap);
  }
  return manifest;
}
