/**
 * A small ONNX graph builder for scripts/make-onnx.ts: nodes, initializers and the layout changes from tfjs's NHWC
 * weights to ONNX's NCHW ones. Serialised with the protobuf classes of the onnx-proto package (ONNX's own onnx.proto).
 */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
type NodeAttrs = Record<string, number | number[] | string>;

/** A tfjs weight as read from face-api's loaded params. */
export interface Weight {
  data: Float32Array;
  shape: number[];
}

export const OPSET = 13;

export class Graph {
  private readonly nodes: InstanceType<typeof onnx.NodeProto>[] = [];
  private readonly initializers: InstanceType<typeof onnx.TensorProto>[] = [];
  private readonly inputs: InstanceType<typeof onnx.ValueInfoProto>[] = [];
  private readonly outputs: InstanceType<typeof onnx.ValueInfoProto>[] = [];
  private count = 0;

  constructor(readonly name: string) {}

  /** A float input or output with symbolic (string) or fixed (number) dimensions. */
  private valueInfo(name: string, dims: (number | string)[]) {
    return onnx.ValueInfoProto.create({
      name,
      type: {
        tensorType: {
          elemType: onnx.TensorProto.DataType.FLOAT,
          shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
        },
      },
    });
  }

  input(name: string, dims: (number | string)[]): string {
    this.inputs.push(this.valueInfo(name, dims));
    return name;
  }

  output(value: string, name: string, dims: (number | string)[]): void {
    this.node('Identity', [value], {}, name);
    this.outputs.push(this.valueInfo(name, dims));
  }

  /** A float32 constant. */
  constant(data: Float32Array | number[], dims: number[], hint = 'const'): string {
    const name = `${hint}_${this.count++}`;
    const values = data instanceof Float32Array ? data : Float32Array.from(data);
    this.initializers.push(
      onnx.TensorProto.create({
        name,
        dims,
        dataType: onnx.TensorProto.DataType.FLOAT,
        rawData: new Uint8Array(values.buffer, values.byteOffset, values.byteLength),
      }),
    );
    return name;
  }

  /** An int64 constant (shapes, axes, pads). */
  ints(values: number[], hint = 'ints'): string {
    const name = `${hint}_${this.count++}`;
    const data = new BigInt64Array(values.map((v) => BigInt(v)));
    this.initializers.push(
      onnx.TensorProto.create({
        name,
        dims: [values.length],
        dataType: onnx.TensorProto.DataType.INT64,
        rawData: new Uint8Array(data.buffer),
      }),
    );
    return name;
  }

  node(opType: string, input: string[], attrs: NodeAttrs = {}, output?: string): string {
    const out = output ?? `${opType.toLowerCase()}_${this.count++}`;
    const attribute = Object.entries(attrs).map(([name, v]) => {
      if (typeof v === 'string') return { name, type: onnx.AttributeProto.AttributeType.STRING, s: new TextEncoder().encode(v) };
      if (Array.isArray(v)) return { name, type: onnx.AttributeProto.AttributeType.INTS, ints: v };
      return Number.isInteger(v) && !FLOAT_ATTRS.has(name)
        ? { name, type: onnx.AttributeProto.AttributeType.INT, i: v }
        : { name, type: onnx.AttributeProto.AttributeType.FLOAT, f: v };
    });
    this.nodes.push(onnx.NodeProto.create({ opType, input, output: [out], name: out, attribute }));
    return out;
  }

  encode(docString: string): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: 8,
      producerName: 'facerec scripts/make-onnx.ts',
      docString,
      opsetImport: [{ domain: '', version: OPSET }],
      graph: { name: this.name, node: this.nodes, initializer: this.initializers, input: this.inputs, output: this.outputs },
    });
    return onnx.ModelProto.encode(model).finish();
  }
}

// Attributes that ONNX types as float even when the value happens to be whole.
const FLOAT_ATTRS = new Set(['epsilon', 'alpha', 'beta', 'gamma', 'value']);

/** tfjs conv2d filter [kh, kw, in, out] as ONNX Conv weight [out, in, kh, kw]. */
export function oihw({ data, shape }: Weight): Weight {
  const [kh, kw, ci, co] = shape as [number, number, number, number];
  const out = new Float32Array(data.length);
  for (let h = 0; h < kh; h++)
    for (let w = 0; w < kw; w++)
      for (let i = 0; i < ci; i++)
        for (let o = 0; o < co; o++) out[((o * ci + i) * kh + h) * kw + w] = data[((h * kw + w) * ci + i) * co + o]!;
  return { data: out, shape: [co, ci, kh, kw] };
}

/** tfjs depthwise filter [kh, kw, channels, 1] as ONNX grouped Conv weight [channels, 1, kh, kw]. */
export function depthwiseOihw({ data, shape }: Weight): Weight {
  const [kh, kw, c, m] = shape as [number, number, number, number];
  if (m !== 1) throw new Error(`depthwise multiplier ${m} is not supported`);
  const out = new Float32Array(data.length);
  for (let h = 0; h < kh; h++)
    for (let w = 0; w < kw; w++) for (let i = 0; i < c; i++) out[(i * kh + h) * kw + w] = data[(h * kw + w) * c + i]!;
  return { data: out, shape: [c, 1, kh, kw] };
}
