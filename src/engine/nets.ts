/**
 * The four nets behind one interface, on either runtime: ONNX Runtime (the default, native) or tfjs (face-api's own
 * code, the reference, and the GPU path through tfjs-node-gpu). Inputs are float pixels 0..255 in HWC order at the
 * net's own size, as net-input.ts and align.ts read them from the photo; the engine does the rest.
 */
import type { ImageLimits } from '../image/decode.js';
import type { BackendChoice } from './backend.js';
import type { Detection } from './detections.js';
import type { ModelManifest } from './models.js';

export type { Detection } from './detections.js';
export type RuntimeName = 'onnx' | 'tfjs';
export const RUNTIME_NAMES: readonly RuntimeName[] = ['onnx', 'tfjs'];
/** ONNX Runtime's graphs: int8 where models/manifest.json has an int8 graph for the net, else FP32 (docs/models.md). */
export type Precision = 'int8' | 'fp32';
export const PRECISIONS: readonly Precision[] = ['int8', 'fp32'];
/** SSD's input: sized to the region it searches (src/engine/detector-size.ts), or always 512² as face-api. */
export type SsdInput = 'sized' | '512';
export const SSD_INPUTS: readonly SsdInput[] = ['sized', '512'];

/**
 * How to run the nets: the runtime, tfjs's backend, ONNX Runtime's threads per session, execution provider and
 * precision, and SSD's input size.
 */
export interface RuntimeOptions {
  runtime?: RuntimeName;
  backend?: BackendChoice;
  threads?: number;
  provider?: 'auto' | 'cpu' | 'cuda';
  precision?: Precision;
  ssdInput?: SsdInput;
}

export interface EngineOptions extends RuntimeOptions {
  modelsDir?: string;
  limits?: ImageLimits;
  /** The descriptor model when a call names none (FACEREC_DESCRIPTOR_MODEL): id or name. */
  descriptorModel?: string;
  /** The user's own model cards and ONNX files (FACEREC_DESCRIPTOR_MODELS_DIR). */
  descriptorModelsDir?: string;
}

/** What runs the nets, for `facerec info` and /v1/health. */
export interface RuntimeInfo {
  runtime: RuntimeName;
  /** tfjs: its backend (gpu, node, wasm); ONNX Runtime: its execution provider (cpu, cuda). */
  backend: string;
  /** Intra-op threads per net (tfjs-wasm: 1). */
  threads: number;
  /** int8: the nets that have an int8 graph run it (their ids below say `onnx-int8`); tfjs: always fp32. */
  precision: Precision;
  /** SSD's input: sized to the region, or 512² (tfjs: always 512). */
  ssdInput: SsdInput;
  versions: Record<string, string>;
  /** Each net's model id; the ONNX ones carry the sha256 of the graph in use. */
  models: Record<string, string>;
}

/** Tensors the runtime holds (tfjs: all of its tensors; ONNX Runtime: inputs and outputs not yet released). */
export type RuntimeMemory = { numTensors: number } & Record<string, number>;

export const SSD_INPUT = 512;
export const TINY_INPUT = 416;
export const LANDMARK_INPUT = 112;
export const CHIP_INPUT = 150;

export interface Nets {
  readonly info: RuntimeInfo;
  /** SSD MobileNet v1 on one side² input (512 unless info.ssdInput is 'sized'): faces scoring above minScore, in input pixels. */
  ssd(input: Float32Array, minScore: number, maxResults: number, side?: number): Promise<Detection[]>;
  /** The tiny detector on one 416² input. */
  tiny(input: Float32Array, minScore: number): Promise<Detection[]>;
  /** 68 landmarks for each 112² input: x, y interleaved, in input pixels. */
  landmarks(inputs: Float32Array[]): Promise<Float32Array[]>;
  /** The 128-d descriptor of each 150² input. */
  describe(inputs: Float32Array[]): Promise<Float32Array[]>;
  /** What the runtime holds now: flat across requests, or a leak. */
  memory(): RuntimeMemory;
  dispose(): Promise<void>;
}

/** Loads the chosen runtime's nets from verified model files. */
export async function loadNets(options: RuntimeOptions, manifest: ModelManifest, modelsDir: string): Promise<Nets> {
  if ((options.runtime ?? 'onnx') === 'tfjs') {
    const { loadTfjsNets } = await import('./tfjs-nets.js');
    return loadTfjsNets(options.backend ?? 'auto', manifest, modelsDir);
  }
  const { loadOnnxNets } = await import('./onnx-nets.js');
  return loadOnnxNets(options, manifest, modelsDir);
}
