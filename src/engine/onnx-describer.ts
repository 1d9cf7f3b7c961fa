/**
 * A descriptor model from its card and ONNX file, on ONNX Runtime (whatever runtime runs the detector): the aligned
 * chips in, the card's channel order, normalisation and layout applied, one descriptor per chip out.
 */
import * as ort from 'onnxruntime-node';
import { FacerecError } from '../errors.js';
import type { DescriptorModelCard } from './descriptor-models.js';
import { readVerified } from './models.js';
import { nativeCall } from './native-guard.js';
import { onnxSessionOptions } from './onnx-nets.js';

export class OnnxDescriber {
  private live = 0;

  private constructor(
    readonly card: DescriptorModelCard,
    private readonly session: ort.InferenceSession,
    private readonly inputName: string,
    private readonly outputName: string,
    /** The graph's batch dimension is fixed at 1: chips run one at a time. */
    private readonly single: boolean,
  ) {}

  /** Verifies the file against the card's sha256, opens the session, and checks its input and output shapes. */
  static async load(card: DescriptorModelCard, threads: number): Promise<OnnxDescriber> {
    if (!('file' in card.weights)) throw new Error(`${card.name} has builtin weights`);
    const file = card.weights.file;
    const bytes = await readVerified(card.dir, file, card.weights.sha256, `its model card (${card.name})`);
    let session: ort.InferenceSession;
    try {
      session = await nativeCall(() => ort.InferenceSession.create(bytes, onnxSessionOptions('cpu', threads)));
    } catch (err) {
      throw new FacerecError('MODEL_LOAD_FAILED', `ONNX Runtime cannot load ${file} (${card.name}): ${(err as Error).message}`, {
        model: card.id,
      });
    }
    const inputName = session.inputNames[0]!,
      outputName = session.outputNames[0]!;
    const input = session.inputMetadata[0],
      output = session.outputMetadata[0];
    const { size, layout } = card.input;
    const expected = layout === 'NCHW' ? [3, size, size] : [size, size, 3];
    const shapeOf = (m: typeof input) => (m && 'shape' in m ? m.shape : undefined);
    const inShape = shapeOf(input),
      outShape = shapeOf(output);
    const fail = (what: string) => {
      void session.release();
      return new FacerecError('MODEL_LOAD_FAILED', `${file} (${card.name}) does not match its card: ${what}`, { model: card.id });
    };
    if (inShape && (inShape.length !== 4 || inShape.slice(1).some((d, i) => typeof d === 'number' && d !== expected[i])))
      throw fail(`input ${JSON.stringify(inShape)}, card says [batch, ${expected.join(', ')}] (${layout})`);
    const dims = outShape?.at(-1);
    if (outShape && typeof dims === 'number' && dims !== card.output.dims)
      throw fail(`output has ${dims} dimensions, card says ${card.output.dims}`);
    return new OnnxDescriber(card, session, inputName, outputName, inShape?.[0] === 1);
  }

  /** Descriptors of HWC RGB chips (0..255) at the card's input size, raw as the net gives them. */
  async describe(chips: Float32Array[]): Promise<Float32Array[]> {
    if (chips.length === 0) return [];
    if (this.single) {
      const out: Float32Array[] = [];
      for (const chip of chips) out.push(...(await this.run([chip])));
      return out;
    }
    return this.run(chips);
  }

  private async run(chips: Float32Array[]): Promise<Float32Array[]> {
    const { size, layout, channels, mean, std } = this.card.input;
    const plane = size * size;
    const data = new Float32Array(chips.length * plane * 3);
    chips.forEach((chip, n) => {
      const base = n * plane * 3;
      for (let c = 0; c < 3; c++) {
        const from = channels === 'RGB' ? c : 2 - c;
        const m = mean[c]!,
          s = std[c]!;
        for (let i = 0; i < plane; i++) {
          const v = (chip[i * 3 + from]! - m) / s;
          data[layout === 'NCHW' ? base + c * plane + i : base + i * 3 + c] = v;
        }
      }
    });
    const shape = layout === 'NCHW' ? [chips.length, 3, size, size] : [chips.length, size, size, 3];
    const feed = new ort.Tensor('float32', data, shape);
    this.live++;
    let results: ort.InferenceSession.OnnxValueMapType | undefined;
    try {
      results = await nativeCall(() => this.session.run({ [this.inputName]: feed }));
      this.live += Object.keys(results).length;
      const flat = results[this.outputName]!.data as Float32Array;
      const dims = this.card.output.dims;
      if (flat.length !== chips.length * dims)
        throw new FacerecError(
          'MODEL_LOAD_FAILED',
          `${this.card.name} gave ${flat.length} values for ${chips.length} faces of ${dims} dimensions`,
          {
            model: this.card.id,
          },
        );
      return chips.map((_, i) => flat.slice(i * dims, (i + 1) * dims));
    } finally {
      feed.dispose();
      this.live--;
      for (const t of Object.values(results ?? {})) {
        t.dispose();
        this.live--;
      }
    }
  }

  /** Tensors alive now: zero between requests, or a leak. */
  get liveTensors(): number {
    return this.live;
  }

  release(): Promise<void> {
    return nativeCall(() => this.session.release());
  }
}
