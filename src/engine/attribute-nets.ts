/**
 * face-api's attribute nets, ageGenderNet and faceExpressionNet, on either runtime: ONNX Runtime (the graphs
 * `npm run models:onnx` writes) or tfjs (face-api's own code, the reference). Each net loads when a request first asks
 * for one of its attributes, so that a process that never asks pays nothing, neither start-up nor memory.
 */
import * as ort from 'onnxruntime-node';
import { EXPRESSIONS, type AttributeName, type Expression, type FaceAttributes } from '../core/face.js';
import { FacerecError } from '../errors.js';
import { lazy } from './lazy.js';
import { loadRuntime, type BackendChoice, type Runtime } from './backend.js';
import { loadModels, manifestEntry, readVerified, type AttributeNetName, type ModelManifest } from './models.js';
import { nativeCall } from './native-guard.js';
import { onnxSessionOptions, runBatch, type LiveTensors } from './onnx-nets.js';
import type { RuntimeName } from './nets.js';

/** Both nets see a 112×112 face, as face-api's feature extractors resize it. */
export const ATTRIBUTE_INPUT = 112;

/** What one face's inputs give, raw: age in years, the probability of male, and the seven expression probabilities. */
export interface AgeGender {
  age: number;
  male: number;
}

export interface AttributeNets {
  /** Age and gender of each 112² HWC input (0..255). */
  ageGender(inputs: Float32Array[]): Promise<AgeGender[]>;
  /** The seven expression probabilities of each input, in face-api's order (EXPRESSIONS). */
  expressions(inputs: Float32Array[]): Promise<Float32Array[]>;
  /** The nets loaded so far. */
  loaded(): AttributeNetName[];
  /** Tensors alive now: zero between requests, or a leak. */
  liveTensors(): number;
  dispose(): Promise<void>;
}

class OnnxAttributeNets implements AttributeNets {
  private readonly live: LiveTensors = { count: 0 };
  private readonly sessions = new Map<AttributeNetName, ort.InferenceSession>();
  private readonly session: (net: AttributeNetName) => Promise<ort.InferenceSession>;

  constructor(manifest: ModelManifest, modelsDir: string, provider: 'cuda' | 'cpu', threads: number) {
    this.session = lazy(async (net: AttributeNetName) => {
      const entry = manifestEntry(manifest, net);
      if (!entry.onnx)
        throw new FacerecError('MODEL_LOAD_FAILED', `manifest.json lists no ONNX graph for ${net} (npm run models:onnx)`, { net });
      const bytes = await readVerified(modelsDir, entry.onnx.file, entry.onnx.sha256);
      let session: ort.InferenceSession;
      try {
        session = await nativeCall(() => ort.InferenceSession.create(bytes, onnxSessionOptions(provider, threads)));
      } catch (err) {
        throw new FacerecError('MODEL_LOAD_FAILED', `ONNX Runtime cannot load ${entry.onnx.file}: ${(err as Error).message}`, { net });
      }
      this.sessions.set(net, session);
      return session;
    });
  }

  /** Runs one net on a batch of 112² HWC inputs and hands its outputs to `read`; every tensor is released. */
  private async run<T>(net: AttributeNetName, inputs: Float32Array[], read: (out: Record<string, Float32Array>) => T): Promise<T> {
    return runBatch(await this.session(net), inputs, ATTRIBUTE_INPUT, this.live, read);
  }

  async ageGender(inputs: Float32Array[]): Promise<AgeGender[]> {
    if (inputs.length === 0) return [];
    return this.run('ageGenderNet', inputs, ({ age, gender }) => inputs.map((_, i) => ({ age: age![i]!, male: gender![2 * i]! })));
  }

  async expressions(inputs: Float32Array[]): Promise<Float32Array[]> {
    if (inputs.length === 0) return [];
    const n = EXPRESSIONS.length;
    return this.run('faceExpressionNet', inputs, ({ expressions }) => inputs.map((_, i) => expressions!.slice(i * n, (i + 1) * n)));
  }

  loaded(): AttributeNetName[] {
    return [...this.sessions.keys()];
  }

  liveTensors(): number {
    return this.live.count;
  }

  async dispose(): Promise<void> {
    await Promise.all([...this.sessions.values()].map((s) => nativeCall(() => s.release())));
    this.sessions.clear();
  }
}

type Input<F extends (...args: never[]) => unknown> = Parameters<F>[0];

class TfjsAttributeNets implements AttributeNets {
  private readonly nets = new Set<AttributeNetName>();
  private readonly runtime: (net: AttributeNetName) => Promise<Runtime>;

  constructor(manifest: ModelManifest, modelsDir: string, backend: BackendChoice) {
    this.runtime = lazy(async (net: AttributeNetName) => {
      const rt = await loadRuntime(backend);
      await loadModels(rt, modelsDir, manifest, [net]);
      this.nets.add(net);
      return rt;
    });
  }

  async ageGender(inputs: Float32Array[]): Promise<AgeGender[]> {
    if (inputs.length === 0) return [];
    const { faceapi, tf } = await this.runtime('ageGenderNet');
    // face-api takes a batch as an array of 3-D tensors; at 112×112 its resize is a no-op.
    const tensors = inputs.map((input) => tf.tensor3d(input, [ATTRIBUTE_INPUT, ATTRIBUTE_INPUT, 3]));
    try {
      const results = await faceapi.nets.ageGenderNet.predictAgeAndGender(
        tensors as unknown as Input<typeof faceapi.nets.ageGenderNet.predictAgeAndGender>,
      );
      return (Array.isArray(results) ? results : [results]).map((r) => ({
        age: r.age,
        male: r.gender === 'male' ? r.genderProbability : 1 - r.genderProbability,
      }));
    } finally {
      for (const t of tensors) t.dispose();
    }
  }

  async expressions(inputs: Float32Array[]): Promise<Float32Array[]> {
    if (inputs.length === 0) return [];
    const { faceapi, tf } = await this.runtime('faceExpressionNet');
    const tensors = inputs.map((input) => tf.tensor3d(input, [ATTRIBUTE_INPUT, ATTRIBUTE_INPUT, 3]));
    try {
      const results = await faceapi.nets.faceExpressionNet.predictExpressions(
        tensors as unknown as Input<typeof faceapi.nets.faceExpressionNet.predictExpressions>,
      );
      return (Array.isArray(results) ? results : [results]).map((r) => Float32Array.from(EXPRESSIONS, (e) => r[e]));
    } finally {
      for (const t of tensors) t.dispose();
    }
  }

  loaded(): AttributeNetName[] {
    return [...this.nets];
  }

  liveTensors(): number {
    return 0; // counted with the rest of tfjs's tensors (Nets.memory)
  }

  async dispose(): Promise<void> {
    // face-api's nets are process-wide and live as long as the worker.
  }
}

/** The attribute nets of a runtime; nothing loads until a net is first used. */
export function attributeNets(
  runtime: RuntimeName,
  options: { manifest: ModelManifest; modelsDir: string; provider: 'cuda' | 'cpu'; threads: number; backend: BackendChoice },
): AttributeNets {
  return runtime === 'tfjs'
    ? new TfjsAttributeNets(options.manifest, options.modelsDir, options.backend)
    : new OnnxAttributeNets(options.manifest, options.modelsDir, options.provider, options.threads);
}

/** The nets an attribute list needs: age and gender come from one net. */
export function netsFor(attributes: ReadonlySet<AttributeName>): AttributeNetName[] {
  const nets: AttributeNetName[] = [];
  if (attributes.has('age') || attributes.has('gender')) nets.push('ageGenderNet');
  if (attributes.has('expression')) nets.push('faceExpressionNet');
  return nets;
}

const round = (v: number, digits: number): number => Math.round(v * 10 ** digits) / 10 ** digits;

/** One face's attributes from the nets' raw answers: only those asked for, rounded as they are reported. */
export function faceAttributes(
  asked: ReadonlySet<AttributeName>,
  ageGender: AgeGender | undefined,
  expressions: Float32Array | undefined,
): FaceAttributes {
  const attributes: FaceAttributes = {};
  if (ageGender && asked.has('age')) attributes.age = round(Math.max(0, ageGender.age), 1);
  if (ageGender && asked.has('gender')) {
    const male = ageGender.male > 0.5; // as face-api decides
    attributes.gender = { label: male ? 'male' : 'female', probability: round(male ? ageGender.male : 1 - ageGender.male, 4) };
  }
  if (expressions && asked.has('expression')) {
    let top = 0;
    for (let k = 1; k < EXPRESSIONS.length; k++) if (expressions[k]! > expressions[top]!) top = k;
    const probabilities = Object.fromEntries(EXPRESSIONS.map((e, k) => [e, round(expressions[k]!, 4)])) as Record<Expression, number>;
    attributes.expression = { label: EXPRESSIONS[top]!, probability: round(expressions[top]!, 4), probabilities };
  }
  return attributes;
}
