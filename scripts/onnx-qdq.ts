/**
 * Static int8 quantisation of an ONNX graph in QDQ form, for scripts/quantize-onnx.ts: QuantizeLinear/DequantizeLinear
 * pairs on activations (uint8, one scale per tensor, from calibration ranges) and per-channel int8 weights, which
 * ONNX Runtime fuses into its integer kernels (QLinearConv, QLinearAdd, …). Written for the graphs models:onnx makes,
 * after ONNX Runtime's basic optimisations (batch norms and per-channel scales folded into the convolutions).
 */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
export type Model = InstanceType<typeof onnx.ModelProto>;
type Node = InstanceType<typeof onnx.NodeProto>;
type Tensor = InstanceType<typeof onnx.TensorProto>;

const { FLOAT, UINT8, INT8, INT32 } = onnx.TensorProto.DataType;

/** Ops whose activations are quantised when their node is; the others run in float on dequantised inputs. */
const QUANTISED_OPS = new Set(['Conv', 'Add', 'AveragePool', 'MaxPool']);
/** Ops that a following QuantizeLinear with a zero point at 0 makes redundant (ONNX Runtime drops them). */
const RELU_LIKE = new Set(['Relu', 'Clip']);

export function decodeModel(bytes: Uint8Array): Model {
  return onnx.ModelProto.decode(bytes);
}

export function encodeModel(model: Model): Uint8Array {
  return onnx.ModelProto.encode(model).finish();
}

/** An initializer's float values. */
export function floats(t: Tensor): Float32Array {
  if (t.dataType !== FLOAT) throw new Error(`${t.name} is not a float tensor`);
  if (t.rawData?.length) return new Float32Array(new Uint8Array(t.rawData).buffer); // a copy: decoded bytes are views
  return Float32Array.from(t.floatData ?? []);
}

const dimsOf = (t: Tensor): number[] => (t.dims ?? []).map(Number);

function tensor(name: string, dataType: number, dims: number[], data: ArrayBufferView): Tensor {
  return onnx.TensorProto.create({ name, dataType, dims, rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });
}

function node(opType: string, input: string[], output: string, attrs: Record<string, number> = {}): Node {
  const attribute = Object.entries(attrs).map(([name, i]) => ({ name, type: onnx.AttributeProto.AttributeType.INT, i }));
  return onnx.NodeProto.create({ opType, input, output: [output], name: output, attribute });
}

/** The graph's nodes that produce and consume each tensor. */
function edges(model: Model) {
  const producer = new Map<string, Node>();
  const consumers = new Map<string, Node[]>();
  for (const n of model.graph!.node!) {
    for (const o of n.output ?? []) producer.set(o, n);
    for (const i of n.input ?? []) if (i) consumers.set(i, [...(consumers.get(i) ?? []), n]);
  }
  return { producer, consumers };
}

/**
 * The activation tensors to quantise: the inputs and outputs of every quantised node (not in `keepFloat`). An output
 * read only by a Relu or Clip is quantised after it instead: the quantiser's range then starts at 0 and does the
 * clipping, which lets ONNX Runtime fuse the activation into the integer kernel.
 */
export function quantisedTensors(model: Model, keepFloat: (n: Node) => boolean): string[] {
  const initializers = new Set(model.graph!.initializer!.map((t) => t.name!));
  const { consumers } = edges(model);
  const tensors = new Set<string>();
  for (const n of model.graph!.node!) {
    if (!QUANTISED_OPS.has(n.opType!) || keepFloat(n)) continue;
    const activations = n.opType === 'Conv' ? [n.input![0]!] : n.input!.filter((i) => i && !initializers.has(i));
    for (const i of activations) tensors.add(i);
    let out = n.output![0]!;
    const readers = consumers.get(out) ?? [];
    if (readers.length === 1 && RELU_LIKE.has(readers[0]!.opType!)) out = readers[0]!.output![0]!;
    tensors.add(out);
  }
  return [...tensors];
}

/** A copy of the model whose outputs are its own plus the given intermediate tensors (for calibration). */
export function withOutputs(model: Model, names: string[]): Model {
  const copy = onnx.ModelProto.decode(encodeModel(model));
  const have = new Set(copy.graph!.output!.map((o) => o.name));
  for (const name of names)
    if (!have.has(name)) copy.graph!.output!.push(onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType: FLOAT } } }));
  return copy;
}

/** A tensor's calibrated range: the quantiser maps it onto 0..255. */
export interface Range {
  lo: number;
  hi: number;
}

/** uint8 scale and zero point for a range that includes 0 (so that zero padding stays exact). */
export function activationParams({ lo, hi }: Range): { scale: number; zeroPoint: number } {
  const min = Math.min(0, lo),
    max = Math.max(0, hi);
  const scale = Math.fround(Math.max(max - min, 1e-8) / 255);
  return { scale, zeroPoint: Math.min(255, Math.max(0, Math.round(-min / scale))) };
}

/**
 * Symmetric int8 weights, one scale per output channel (axis 0). face-api stores its weights as uint8 with a zero
 * point, and the folded batch norms and scales multiply each output channel by one factor, so a channel's weights
 * usually sit on a grid of integer steps already: when its largest step count fits in int8, that step is the scale
 * and the int8 weights are exact; otherwise the scale whose rounding (or clipping) error is least.
 */
export function quantiseWeights(values: Float32Array, channels: number): { q: Int8Array; scales: Float32Array; exact: number } {
  const per = values.length / channels;
  const q = new Int8Array(values.length);
  const scales = new Float32Array(channels);
  let exact = 0;
  for (let c = 0; c < channels; c++) {
    const w = values.subarray(c * per, (c + 1) * per);
    const max = w.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    if (max === 0) {
      scales[c] = 1;
      continue;
    }
    const error = (scale: number) => w.reduce((e, v) => e + (v - Math.max(-127, Math.min(127, Math.round(v / scale))) * scale) ** 2, 0);
    let scale = max / 127;
    const steps = gridSteps(w, max);
    if (steps !== undefined && (steps <= 127 || error(max / steps) < error(scale))) {
      scale = max / steps;
      if (steps <= 127) exact++;
    }
    scales[c] = Math.fround(scale);
    for (let k = 0; k < per; k++) q[c * per + k] = Math.max(-127, Math.min(127, Math.round(w[k]! / scales[c]!)));
  }
  return { q, scales, exact };
}

/** The fewest steps n (up to 255) such that every weight is a whole multiple of max / n, if there is one. */
function gridSteps(w: Float32Array, max: number): number | undefined {
  for (let n = 1; n <= 255; n++) {
    const step = max / n;
    let on = true;
    for (let k = 0; k < w.length && on; k++) {
      const x = w[k]! / step;
      on = Math.abs(x - Math.round(x)) < 1e-3;
    }
    if (on) return n;
  }
  return undefined;
}

/**
 * The QDQ model: each tensor of `ranges` gets a QuantizeLinear/DequantizeLinear pair read by all its consumers, and
 * each quantised Conv (not in `keepFloat`) gets int8 weights per output channel and an int32 bias at the input scale
 * times the weight scale, both through DequantizeLinear. ONNX Runtime turns these units into integer kernels when it
 * loads the graph.
 */
export function quantiseModel(model: Model, ranges: Map<string, Range>, keepFloat: (n: Node) => boolean): Model {
  const out = onnx.ModelProto.decode(encodeModel(model));
  const graph = out.graph!;
  const inits = new Map(graph.initializer!.map((t) => [t.name!, t]));
  const used = new Set<string>();
  const newInits: Tensor[] = [];
  const params = new Map<string, { scale: number; zeroPoint: number }>();
  const nodes: Node[] = [];
  const dq = (name: string) => `${name}_dq`;

  // Activations: a pair after the producer (or at the start for a graph input), consumers rewired to the DQ output.
  const pairs = (name: string): Node[] => {
    const p = activationParams(ranges.get(name)!);
    params.set(name, p);
    newInits.push(tensor(`${name}_scale`, FLOAT, [], new Float32Array([p.scale])));
    newInits.push(tensor(`${name}_zp`, UINT8, [], new Uint8Array([p.zeroPoint])));
    return [
      node('QuantizeLinear', [name, `${name}_scale`, `${name}_zp`], `${name}_q`),
      node('DequantizeLinear', [`${name}_q`, `${name}_scale`, `${name}_zp`], dq(name)),
    ];
  };
  for (const input of graph.input!) if (ranges.has(input.name!)) nodes.push(...pairs(input.name!));
  for (const n of graph.node!) {
    nodes.push(n);
    for (const o of n.output ?? []) if (ranges.has(o)) nodes.push(...pairs(o));
  }
  // Every reader of a quantised tensor reads its dequantised copy (a graph output keeps the float one).
  for (const n of nodes) if (n.opType !== 'QuantizeLinear') n.input = n.input!.map((i) => (ranges.has(i) ? dq(i) : i));

  // Weights of the quantised convolutions, dequantised just before each.
  const before = new Map<Node, Node[]>();
  for (const n of nodes) {
    if (n.opType !== 'Conv' || keepFloat(n)) continue;
    const input = n.input![0]!;
    const source = input.endsWith('_dq') ? input.slice(0, -3) : input;
    const inParams = params.get(source);
    if (!inParams) throw new Error(`Conv ${n.name}: its input ${input} has no calibrated range`);
    const w = inits.get(n.input![1]!)!;
    const dims = dimsOf(w);
    const { q, scales } = quantiseWeights(floats(w), dims[0]!);
    const wName = `${w.name}_int8`;
    newInits.push(tensor(wName, INT8, dims, q));
    newInits.push(tensor(`${wName}_scale`, FLOAT, [dims[0]!], scales));
    newInits.push(tensor(`${wName}_zp`, INT8, [dims[0]!], new Int8Array(dims[0]!)));
    used.add(w.name!);
    const extra: Node[] = [node('DequantizeLinear', [wName, `${wName}_scale`, `${wName}_zp`], `${wName}_dq`, { axis: 0 })];
    const inputs = [n.input![0]!, `${wName}_dq`];
    if (n.input![2]) {
      const b = inits.get(n.input![2])!;
      const bias = floats(b);
      const bScales = scales.map((s) => Math.fround(s * inParams.scale));
      const bq = Int32Array.from(bias, (v, c) => Math.round(v / bScales[c]!));
      const bName = `${b.name}_int32`;
      newInits.push(tensor(bName, INT32, [bias.length], bq));
      newInits.push(tensor(`${bName}_scale`, FLOAT, [bias.length], bScales));
      newInits.push(tensor(`${bName}_zp`, INT32, [bias.length], new Int32Array(bias.length)));
      used.add(b.name!);
      extra.push(node('DequantizeLinear', [bName, `${bName}_scale`, `${bName}_zp`], `${bName}_dq`, { axis: 0 }));
      inputs.push(`${bName}_dq`);
    }
    n.input = inputs;
    before.set(n, extra);
  }
  const ordered = nodes.flatMap((n) => [...(before.get(n) ?? []), n]);
  // Float weights still read by a float node stay; those only the quantised nodes read go.
  const stillRead = new Set(ordered.flatMap((n) => n.input ?? []));
  graph.initializer = [...graph.initializer!.filter((t) => !used.has(t.name!) || stillRead.has(t.name!)), ...newInits];
  graph.node = ordered;
  return out;
}
