/**
 * The nets on ONNX Runtime (onnxruntime-node): face-api's graphs as models:onnx wrote them, one session per net.
 * Sessions run one request at a time per worker; a worker's threads are ONNX Runtime's intra-op threads.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as ort from 'onnxruntime-node';
import { FacerecError } from '../errors.js';
import { ssdDetections, tinyDetections } from './detections.js';
import { nativeCall } from './native-guard.js';
import { NET_NAMES, readVerified, type ModelManifest, type NetName } from './models.js';
import {
  CHIP_INPUT,
  LANDMARK_INPUT,
  SSD_INPUT,
  TINY_INPUT,
  type Detection,
  type Nets,
  type RuntimeInfo,
  type RuntimeMemory,
  type RuntimeOptions,
} from './nets.js';

const require = createRequire(import.meta.url);

/** True when this machine shows an NVIDIA GPU (the CUDA provider is only tried then). */
function gpuPresent(): boolean {
  return existsSync('/dev/nvidia0') || existsSync('/proc/driver/nvidia/version');
}

class OnnxNets implements Nets {
  // Input and output tensors alive now: zero between requests, or a leak.
  private live = 0;

  constructor(
    readonly info: RuntimeInfo,
    private readonly sessions: Record<NetName, ort.InferenceSession>,
  ) {}

  /** Runs one net on a batch of HWC inputs of `size`² and hands its outputs to `read`; every tensor is released. */
  private async run<T>(net: NetName, inputs: Float32Array[], size: number, read: (out: Record<string, Float32Array>) => T): Promise<T> {
    const pixels = size * size * 3;
    let batch = inputs[0]!;
    if (inputs.length > 1) {
      batch = new Float32Array(inputs.length * pixels);
      inputs.forEach((input, i) => batch.set(input, i * pixels));
    }
    const feed = new ort.Tensor('float32', batch, [inputs.length, size, size, 3]);
    this.live++;
    let results: ort.InferenceSession.OnnxValueMapType | undefined;
    try {
      results = await nativeCall(() => this.sessions[net].run({ image: feed }));
      this.live += Object.keys(results).length;
      return read(Object.fromEntries(Object.entries(results).map(([name, t]) => [name, t.data as Float32Array])));
    } finally {
      feed.dispose();
      this.live--;
      for (const t of Object.values(results ?? {})) {
        t.dispose();
        this.live--;
      }
    }
  }

  // The graph takes any multiple of 32, but SSD's boxes at other sizes differ from face-api's at 512 (median IoU 0.87 on
  // LFW at 256-384), so the engine keeps 512 (docs/performance.md).
  ssd(input: Float32Array, minScore: number, maxResults: number): Promise<Detection[]> {
    return this.run('ssdMobilenetv1', [input], SSD_INPUT, (out) =>
      ssdDetections(out.encodings!, out.scores!, out.anchors!, minScore, maxResults, SSD_INPUT),
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
    return { numTensors: this.live, sessions: Object.keys(this.sessions).length };
  }

  async dispose(): Promise<void> {
    await Promise.all(Object.values(this.sessions).map((s) => nativeCall(() => s.release())));
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

export async function loadOnnxNets(options: RuntimeOptions, manifest: ModelManifest, modelsDir: string): Promise<Nets> {
  const threads = options.threads ?? 1;
  const wantCuda = options.provider === 'cuda' || (options.provider !== 'cpu' && gpuPresent());
  const sessionOptions = (provider: 'cuda' | 'cpu') => onnxSessionOptions(provider, threads);
  const files = new Map<NetName, Buffer>();
  for (const net of NET_NAMES) {
    const onnx = manifest.models[net]?.onnx;
    if (!onnx) throw new FacerecError('MODEL_LOAD_FAILED', `manifest.json lists no ONNX graph for ${net} (npm run models:onnx)`, { net });
    files.set(net, await readVerified(modelsDir, onnx.file, onnx.sha256));
  }
  const open = async (provider: 'cuda' | 'cpu') => {
    const sessions = {} as Record<NetName, ort.InferenceSession>;
    for (const net of NET_NAMES)
      sessions[net] = await nativeCall(() => ort.InferenceSession.create(files.get(net)!, sessionOptions(provider)));
    return sessions;
  };
  let provider: 'cuda' | 'cpu' = wantCuda ? 'cuda' : 'cpu';
  let sessions: Record<NetName, ort.InferenceSession>;
  try {
    sessions = await open(provider);
  } catch (err) {
    if (provider === 'cuda' && options.provider !== 'cuda') {
      // The npm package ships the CPU provider; CUDA's libraries are a separate install (docs/deployment.md).
      provider = 'cpu';
      sessions = await open(provider);
    } else {
      throw new FacerecError('BACKEND_UNAVAILABLE', `ONNX Runtime could not load the models on '${provider}': ${(err as Error).message}`, {
        provider,
      });
    }
  }
  const { version } = require('onnxruntime-node/package.json') as { version: string };
  const info: RuntimeInfo = {
    runtime: 'onnx',
    backend: provider,
    threads,
    versions: { onnxruntime: version },
    models: Object.fromEntries(
      NET_NAMES.map((net) => [net, `${manifest.models[net].id}+onnx.${manifest.models[net].onnx!.sha256.slice(0, 12)}`]),
    ),
  };
  return new OnnxNets(info, sessions);
}
