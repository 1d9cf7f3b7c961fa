/**
 * The nets on ONNX Runtime (onnxruntime-node): face-api's graphs as models:onnx (FP32) and models:int8 wrote them, one
 * session per net, opened when the net is first used (a one-shot `facerec detect` never loads the ResNet). Sessions run
 * one request at a time per worker; a worker's threads are ONNX Runtime's intra-op threads.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as ort from 'onnxruntime-node';
import { FacerecError } from '../errors.js';
import { ssdDetections, tinyDetections } from './detections.js';
import { anchorsFor } from './detector-size.js';
import { lazy } from './lazy.js';
import { nativeCall } from './native-guard.js';
import { NET_NAMES, readVerified, type ModelManifest, type NetName } from './models.js';
import {
  CHIP_INPUT,
  LANDMARK_INPUT,
  SSD_INPUT,
  TINY_INPUT,
  type Detection,
  type Nets,
  type Precision,
  type RuntimeInfo,
  type RuntimeMemory,
  type RuntimeOptions,
} from './nets.js';

const require = createRequire(import.meta.url);

/** True when this machine shows an NVIDIA GPU (the CUDA provider is only tried then). */
function gpuPresent(): boolean {
  return existsSync('/dev/nvidia0') || existsSync('/proc/driver/nvidia/version');
}

/** Input and output tensors alive now: zero between requests, or a leak. */
export interface LiveTensors {
  count: number;
}

/**
 * Runs `session` on a batch of HWC inputs of `size`² (its input named `image`) and hands its outputs to `read`; every
 * tensor is released, and counted in `live` while it exists.
 */
export async function runBatch<T>(
  session: ort.InferenceSession,
  inputs: Float32Array[],
  size: number,
  live: LiveTensors,
  read: (out: Record<string, Float32Array>) => T,
): Promise<T> {
  const pixels = size * size * 3;
  let batch = inputs[0]!;
  if (inputs.length > 1) {
    batch = new Float32Array(inputs.length * pixels);
    inputs.forEach((input, i) => batch.set(input, i * pixels));
  }
  const feed = new ort.Tensor('float32', batch, [inputs.length, size, size, 3]);
  live.count++;
  let results: ort.InferenceSession.OnnxValueMapType | undefined;
  try {
    results = await nativeCall(() => session.run({ image: feed }));
    live.count += Object.keys(results).length;
    return read(Object.fromEntries(Object.entries(results).map(([name, t]) => [name, t.data as Float32Array])));
  } finally {
    feed.dispose();
    live.count--;
    for (const t of Object.values(results ?? {})) {
      t.dispose();
      live.count--;
    }
  }
}

class OnnxNets implements Nets {
  private readonly live: LiveTensors = { count: 0 };

  constructor(
    readonly info: RuntimeInfo,
    private readonly session: (net: NetName) => Promise<ort.InferenceSession>,
    private readonly opened: () => ort.InferenceSession[],
  ) {}

  /** Runs one net on a batch of HWC inputs of `size`² and hands its outputs to `read`; every tensor is released. */
  private async run<T>(net: NetName, inputs: Float32Array[], size: number, read: (out: Record<string, Float32Array>) => T): Promise<T> {
    return runBatch(await this.session(net), inputs, size, this.live, read);
  }

  // The graph takes any multiple of 32; its anchors are face-api's at 512, scaled for other sides (detector-size.ts).
  ssd(input: Float32Array, minScore: number, maxResults: number, side = SSD_INPUT): Promise<Detection[]> {
    return this.run('ssdMobilenetv1', [input], side, (out) =>
      ssdDetections(out.encodings!, out.scores!, anchorsFor(side, out.anchors!), minScore, maxResults, side),
    );
  }

  tiny(input: Float32Array, minScore: number): Promise<Detection[]> {
    return this.run('tinyFaceDetector', [input], TINY_INPUT, (out) => tinyDetections(out.grid!, 13, minScore, TINY_INPUT));
  }

  async landmarks(inputs: Float32Array[]): Promise<Float32Array[]> {
    if (inputs.length === 0) return [];
    // The net answers relative to its input; face-api scales by the input size.
    return this.run('faceLandmark68Net', inputs, LANDMARK_INPUT, ({ landmarks }) =>
      inputs.map((_, i) => landmarks!.slice(i * 136, (i + 1) * 136).map((v) => v * LANDMARK_INPUT)),
    );
  }

  async describe(inputs: Float32Array[]): Promise<Float32Array[]> {
    if (inputs.length === 0) return [];
    return this.run('faceRecognitionNet', inputs, CHIP_INPUT, ({ descriptor }) =>
      inputs.map((_, i) => descriptor!.slice(i * 128, (i + 1) * 128)),
    );
  }

  memory(): RuntimeMemory {
    return { numTensors: this.live.count, sessions: this.opened().length };
  }

  async dispose(): Promise<void> {
    await Promise.all(this.opened().map((s) => nativeCall(() => s.release())));
  }
}

/** One session's options: its provider, intra-op threads, and no spinning. */
export function onnxSessionOptions(provider: 'cuda' | 'cpu', threads: number): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: provider === 'cuda' ? ['cuda', 'cpu'] : ['cpu'],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    // Intra-op threads sleep instead of spinning between ops: with workers on every core (or anything else running),
    // spinning threads only take each other's time (SSD with 2 threads on a busy 2-core machine: 68 ms spinning,
    // 35 ms not).
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  };
}

/** The graph a net runs at a precision: its int8 graph when asked for and there is one, else the FP32 one. */
export function graphFor(manifest: ModelManifest, net: NetName, precision: Precision): { file: string; sha256: string; int8: boolean } {
  const entry = manifest.models[net];
  if (precision === 'int8' && entry?.int8) return { ...entry.int8, int8: true };
  if (!entry?.onnx)
    throw new FacerecError('MODEL_LOAD_FAILED', `manifest.json lists no ONNX graph for ${net} (npm run models:onnx)`, { net });
  return { ...entry.onnx, int8: false };
}

export async function loadOnnxNets(options: RuntimeOptions, manifest: ModelManifest, modelsDir: string): Promise<Nets> {
  const threads = options.threads ?? 1;
  const precision = options.precision ?? 'int8';
  const wantCuda = options.provider === 'cuda' || (options.provider !== 'cpu' && gpuPresent());
  const graphs = new Map(NET_NAMES.map((net) => [net, graphFor(manifest, net, precision)]));
  // Every checksum is checked now, so that a bad file fails the start; the sessions open when first used.
  const files = new Map<NetName, Buffer>();
  for (const net of NET_NAMES) files.set(net, await readVerified(modelsDir, graphs.get(net)!.file, graphs.get(net)!.sha256));
  const open = async (net: NetName, provider: 'cuda' | 'cpu') => {
    const session = await nativeCall(() => ort.InferenceSession.create(files.get(net)!, onnxSessionOptions(provider, threads)));
    files.delete(net);
    return session;
  };
  // The provider is settled on the first net opened (SSD in every analysis), which also checks that ONNX Runtime loads.
  let provider: 'cuda' | 'cpu' = wantCuda ? 'cuda' : 'cpu';
  const first = NET_NAMES[0]!;
  let firstSession: ort.InferenceSession;
  try {
    firstSession = await open(first, provider);
  } catch (err) {
    if (err instanceof FacerecError) throw err;
    if (provider === 'cuda' && options.provider !== 'cuda') {
      // The npm package ships the CPU provider; CUDA's libraries are a separate install (docs/deployment.md).
      provider = 'cpu';
      firstSession = await open(first, provider);
    } else {
      throw new FacerecError('BACKEND_UNAVAILABLE', `ONNX Runtime could not load the models on '${provider}': ${(err as Error).message}`, {
        provider,
      });
    }
  }
  const opened = new Map<NetName, ort.InferenceSession>([[first, firstSession]]);
  // Every other net opens when first used, once; a failed open is tried again by the next call.
  const session = lazy(
    (net: NetName) =>
      open(net, provider).then((loaded) => {
        opened.set(net, loaded);
        return loaded;
      }),
    opened,
  );
  const { version } = require('onnxruntime-node/package.json') as { version: string };
  const info: RuntimeInfo = {
    runtime: 'onnx',
    backend: provider,
    threads,
    precision,
    ssdInput: options.ssdInput ?? '512',
    versions: { onnxruntime: version },
    models: Object.fromEntries(
      NET_NAMES.map((net) => {
        const g = graphs.get(net)!;
        return [net, `${manifest.models[net].id}+onnx${g.int8 ? '-int8' : ''}.${g.sha256.slice(0, 12)}`];
      }),
    ),
  };
  return new OnnxNets(info, session, () => [...opened.values()]);
}
