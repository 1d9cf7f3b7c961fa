/**
 * Multiply-add FLOPs of an ONNX graph (2 per multiply-accumulate of Conv and MatMul; element-wise ops are left out,
 * they are a rounding error beside them), by propagating shapes through the ops that scripts/make-onnx.ts writes.
 */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

type Shape = number[];
/** int64 fields decode as numbers or as Long objects. */
type Int = number | { toNumber(): number };
const num = (v: Int) => (typeof v === 'number' ? v : v.toNumber());

interface Node {
  opType: string;
  input: string[];
  output: string[];
  attribute: { name: string; ints: Int[]; s: Uint8Array }[];
}
interface Model {
  graph: { node: Node[]; initializer: { name: string; dims: Int[] }[]; input: { name: string }[] };
}

function attr(node: Node, name: string): { ints: number[]; s: string } | undefined {
  const a = node.attribute.find((x) => x.name === name);
  if (!a) return undefined;
  return { ints: a.ints.map(num), s: new TextDecoder().decode(a.s) };
}

/** Output side of a convolution or pooling window along one axis. */
function outSide(side: number, kernel: number, stride: number, autoPad: string, padBegin: number, padEnd: number): number {
  if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') return Math.ceil(side / stride);
  return Math.floor((side + padBegin + padEnd - kernel) / stride) + 1;
}

/** FLOPs of one pass with the graph's first input at `inputShape`. */
export function graphFlops(bytes: Uint8Array, inputShape: Shape): number {
  const { graph } = onnx.ModelProto.decode(bytes) as unknown as Model;
  const shapes = new Map<string, Shape>();
  for (const init of graph.initializer) shapes.set(init.name, init.dims.map(num));
  shapes.set(graph.input[0]!.name, inputShape);
  let flops = 0;
  for (const node of graph.node) {
    const x = shapes.get(node.input[0]!);
    const out = node.output[0]!;
    if (!x) continue;
    switch (node.opType) {
      case 'Transpose': {
        const perm = attr(node, 'perm')!.ints;
        shapes.set(
          out,
          perm.map((p) => x[p]!),
        );
        break;
      }
      case 'Conv':
      case 'MaxPool':
      case 'AveragePool': {
        const conv = node.opType === 'Conv';
        const w = conv ? shapes.get(node.input[1]!)! : undefined;
        const kernel = attr(node, 'kernel_shape')!.ints;
        const strides = attr(node, 'strides')?.ints ?? [1, 1];
        const pads = attr(node, 'pads')?.ints ?? [0, 0, 0, 0];
        const autoPad = attr(node, 'auto_pad')?.s ?? 'NOTSET';
        const h = outSide(x[2]!, kernel[0]!, strides[0]!, autoPad, pads[0]!, pads[2]!);
        const wd = outSide(x[3]!, kernel[1]!, strides[1]!, autoPad, pads[1]!, pads[3]!);
        const channels = conv ? w![0]! : x[1]!;
        shapes.set(out, [x[0]!, channels, h, wd]);
        if (conv) flops += 2 * x[0]! * channels * h * wd * w![1]! * kernel[0]! * kernel[1]!;
        break;
      }
      case 'Pad':
      case 'Reshape':
      case 'Concat':
      case 'Slice':
      case 'Flatten':
        // Shapes after these feed no Conv or MatMul except Pad's and Flatten's, handled here.
        if (node.opType === 'Flatten') shapes.set(out, [x[0]!, x.slice(1).reduce((a, b) => a * b, 1)]);
        else if (node.opType === 'Pad') shapes.set(out, x);
        break;
      case 'ReduceMean':
        shapes.set(out, [x[0]!, x[1]!]);
        break;
      case 'MatMul': {
        const w = shapes.get(node.input[1]!)!;
        shapes.set(out, [x[0]!, w[1]!]);
        flops += 2 * x[0]! * w[0]! * w[1]!;
        break;
      }
      default:
        shapes.set(out, x);
    }
  }
  return flops;
}
