/**
 * Turns face-api's weights in models/ into ONNX graphs for ONNX Runtime (npm run models:onnx), and records each
 * file's sha256 in models/manifest.json. The graphs repeat face-api's tfjs code op for op (its src/ssdMobilenetv1,
 * src/tinyYolov2, src/faceFeatureExtractor, src/faceLandmarkNet, src/faceRecognitionNet, src/faceExpressionNet,
 * src/xception and src/ageGenderNet), in NCHW:
 * - input: float pixels 0..255, NHWC [batch, height, width, 3], as the engine reads them;
 * - normalisation inside the graph, as face-api does it;
 * - tfjs 'same' padding as ONNX SAME_UPPER (the extra row and column at the end, as TensorFlow pads).
 * Users never run this: the .onnx files ship in models/. test/integration/engine/onnx-equivalence.test.ts holds the
 * graphs to the tfjs answers on real photos.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadRuntime } from '../src/engine/backend.js';
import {
  ATTRIBUTE_NET_NAMES,
  DEFAULT_MODELS_DIR,
  loadModels,
  manifestEntry,
  NET_NAMES,
  type AttributeNetName,
  type ModelManifest,
  type NetName,
} from '../src/engine/models.js';
import { depthwiseOihw, Graph, oihw, type Weight } from './onnx-graph.js';

interface TfTensor {
  dataSync(): Float32Array;
  shape: number[];
}
type Params = { [key: string]: TfTensor & Params };

const w = (t: TfTensor): Weight => ({ data: Float32Array.from(t.dataSync()), shape: [...t.shape] });
const vec = (g: Graph, t: TfTensor, hint: string) => g.constant(Float32Array.from(t.dataSync()), [t.shape[0]!], hint);
/** A per-channel vector shaped to broadcast over NCHW. */
const channel = (g: Graph, values: Float32Array | number[], hint: string) => g.constant(values, [1, values.length, 1, 1], hint);

type Pad = 'same' | 'valid' | [number, number, number, number];
function padAttrs(pad: Pad): Record<string, string | number[]> {
  if (pad === 'same') return { auto_pad: 'SAME_UPPER' };
  if (pad === 'valid') return { auto_pad: 'VALID' };
  return { pads: pad };
}

function conv(g: Graph, x: string, filters: TfTensor, bias: TfTensor | undefined, stride: number, pad: Pad): string {
  const weight = oihw(w(filters));
  const inputs = [x, g.constant(weight.data, weight.shape, 'w')];
  if (bias) inputs.push(vec(g, bias, 'b'));
  return g.node('Conv', inputs, { kernel_shape: weight.shape.slice(2), strides: [stride, stride], ...padAttrs(pad) });
}

function depthwise(g: Graph, x: string, filters: TfTensor, stride: number, pad: Pad): string {
  const weight = depthwiseOihw(w(filters));
  return g.node('Conv', [x, g.constant(weight.data, weight.shape, 'dw')], {
    group: weight.shape[0]!,
    kernel_shape: weight.shape.slice(2),
    strides: [stride, stride],
    ...padAttrs(pad),
  });
}

/** tfjs separableConv2d + bias: depthwise (with the padding), then pointwise with the bias. */
function separable(g: Graph, x: string, p: Params, stride: number, pad: Pad): string {
  return conv(g, depthwise(g, x, p.depthwise_filter!, stride, pad), p.pointwise_filter!, p.bias, 1, 'valid');
}

const clip6 = (g: Graph, x: string) => g.node('Clip', [x, g.constant([0], [], 'zero'), g.constant([6], [], 'six')]);
const relu = (g: Graph, x: string) => g.node('Relu', [x]);
const add = (g: Graph, a: string, b: string) => g.node('Add', [a, b]);
const mul = (g: Graph, a: string, b: string) => g.node('Mul', [a, b]);
const scalar = (g: Graph, v: number) => g.constant([v], [], 'scalar');

/** NHWC pixels in, NCHW floats out, (x - mean) / 255 as face-api's normalize then div(255). */
function meanNormalised(g: Graph, size: number | string, mean: number[]): string {
  const image = g.input('image', ['batch', size, size, 3]);
  const x = g.node('Transpose', [image], { perm: [0, 3, 1, 2] });
  return g.node('Div', [g.node('Sub', [x, channel(g, mean, 'mean')]), scalar(g, 255)]);
}

// ---------------------------------------------------------------------------------------------------------------
// SSD MobileNet v1 (src/ssdMobilenetv1): backbone and box predictors, and face-api's anchors at 512². The input's side
// is free (a multiple of 32): the engine sizes it to the photo (src/engine/detector-size.ts) and scales the anchors.

function ssd(p: Params): Graph {
  const g = new Graph('ssd_mobilenetv1');
  const image = g.input('image', ['batch', 'height', 'width', 3]);
  let x = g.node('Transpose', [image], { perm: [0, 3, 1, 2] });
  x = g.node('Sub', [g.node('Div', [x, scalar(g, 127.5)]), scalar(g, 1)]);
  const pointwise = (input: string, q: Params, stride: number) =>
    clip6(g, add(g, conv(g, input, q.filters!, undefined, stride, 'same'), channel(g, q.batch_norm_offset!.dataSync(), 'bn')));

  const m = p.mobilenetv1!;
  let out = pointwise(x, m.conv_0!, 2);
  let conv11 = '';
  for (let i = 1; i <= 13; i++) {
    const pair = m[`conv_${i}`]!;
    const d = pair.depthwise_conv!;
    const dw = depthwise(g, out, d.filters!, [2, 4, 6, 12].includes(i) ? 2 : 1, 'same');
    const bn = g.node(
      'BatchNormalization',
      [
        dw,
        vec(g, d.batch_norm_scale!, 's'),
        vec(g, d.batch_norm_offset!, 'o'),
        vec(g, d.batch_norm_mean!, 'm'),
        vec(g, d.batch_norm_variance!, 'v'),
      ],
      {
        epsilon: 0.0010000000474974513,
      },
    );
    out = pointwise(clip6(g, bn), pair.pointwise_conv!, 1);
    if (i === 11) conv11 = out;
  }

  const l = p.prediction_layer!;
  const c0 = pointwise(out, l.conv_0!, 1);
  const c1 = pointwise(c0, l.conv_1!, 2);
  const c2 = pointwise(c1, l.conv_2!, 1);
  const c3 = pointwise(c2, l.conv_3!, 2);
  const c4 = pointwise(c3, l.conv_4!, 1);
  const c5 = pointwise(c4, l.conv_5!, 2);
  const c6 = pointwise(c5, l.conv_6!, 1);
  const c7 = pointwise(c6, l.conv_7!, 2);
  const maps = [conv11, out, c1, c3, c5, c7];
  // Each predictor's NCHW output goes back to NHWC before the reshape, so anchors come in tfjs's order.
  const flat = (input: string, q: Params, width: number) =>
    g.node('Reshape', [
      g.node('Transpose', [conv(g, input, q.filters!, q.bias, 1, 'same')], { perm: [0, 2, 3, 1] }),
      g.ints([0, -1, width]),
    ]);
  const boxes = g.node(
    'Concat',
    maps.map((map, i) => flat(map, l[`box_predictor_${i}`]!.box_encoding_predictor!, 4)),
    { axis: 1 },
  );
  const classes = g.node(
    'Concat',
    maps.map((map, i) => flat(map, l[`box_predictor_${i}`]!.class_predictor!, 3)),
    { axis: 1 },
  );
  const scores = g.node('Reshape', [
    g.node('Sigmoid', [g.node('Slice', [classes, g.ints([1]), g.ints([2]), g.ints([2])])]),
    g.ints([0, -1]),
  ]);
  // The box decoding stays in TypeScript (src/engine/detections.ts), where only boxes above the minimum score need it;
  // the graph hands over face-api's anchors (output_layer.extra_dim) as they are.
  const extra = p.output_layer!.extra_dim!;
  const n = extra.shape[1]!;
  g.output(boxes, 'encodings', ['batch', 'anchors', 4]);
  g.output(scores, 'scores', ['batch', 'anchors']);
  g.output(g.constant(Float32Array.from(extra.dataSync()), [n, 4], 'anchors'), 'anchors', [n, 4]);
  return g;
}

// ---------------------------------------------------------------------------------------------------------------
// Tiny face detector (src/tinyYolov2, separable-conv variant): the raw 13×13×25 grid; decoding stays in TypeScript.

function tiny(p: Params): Graph {
  const g = new Graph('tiny_face_detector');
  const x = meanNormalised(g, 416, [117.001, 114.697, 97.404]);
  const leaky = (input: string) => g.node('LeakyRelu', [input], { alpha: 0.10000000149011612 });
  const pool = (input: string, stride: number) =>
    g.node('MaxPool', [input], { kernel_shape: [2, 2], strides: [stride, stride], auto_pad: 'SAME_UPPER' });
  let out = pool(leaky(conv(g, x, p.conv0!.filters!, p.conv0!.bias, 1, 'valid')), 2);
  for (let i = 1; i <= 7; i++) {
    const q = p[`conv${i}`];
    if (!q) continue;
    out = leaky(separable(g, out, q, 1, [1, 1, 1, 1]));
    if (i <= 4) out = pool(out, 2);
    else if (i === 5) out = pool(out, 1);
  }
  out = conv(g, out, p.conv8!.filters!, p.conv8!.bias, 1, 'valid');
  g.output(g.node('Transpose', [out], { perm: [0, 2, 3, 1] }), 'grid', ['batch', 13, 13, 25]);
  return g;
}

// ---------------------------------------------------------------------------------------------------------------
// 68-point landmarks (src/faceFeatureExtractor + src/faceLandmarkNet): four dense blocks, average pool, fully connected.

/** face-api's FaceFeatureExtractor at 112² (shared by the landmark and expression nets), average-pooled and flattened. */
function faceFeatures(g: Graph, features: Params): string {
  const x = meanNormalised(g, 112, [122.782, 117.001, 104.298]);
  const denseBlock = (input: string, q: Params, first: boolean) => {
    const out1 = relu(g, first ? conv(g, input, q.conv0!.filters!, q.conv0!.bias, 2, 'same') : separable(g, input, q.conv0!, 2, 'same'));
    const out2 = separable(g, out1, q.conv1!, 1, 'same');
    const out3 = separable(g, relu(g, add(g, out1, out2)), q.conv2!, 1, 'same');
    const out4 = separable(g, relu(g, add(g, out1, add(g, out2, out3))), q.conv3!, 1, 'same');
    return relu(g, add(g, out1, add(g, out2, add(g, out3, out4))));
  };
  let out = denseBlock(x, features.dense0!, true);
  for (const name of ['dense1', 'dense2', 'dense3']) out = denseBlock(out, features[name]!, false);
  out = g.node('AveragePool', [out], { kernel_shape: [7, 7], strides: [2, 2], auto_pad: 'VALID' });
  return g.node('Flatten', [out], { axis: 1 });
}

/** face-api's fullyConnectedLayer: x · weights + bias. */
const fullyConnected = (g: Graph, x: string, fc: Params, hint: string) =>
  add(g, g.node('MatMul', [x, g.constant(w(fc.weights!).data, fc.weights!.shape, hint)]), vec(g, fc.bias!, `${hint}b`));

function landmarks(features: Params, classifier: Params): Graph {
  const g = new Graph('face_landmark_68');
  const out = fullyConnected(g, faceFeatures(g, features), classifier.fc!, 'fc');
  g.output(out, 'landmarks', ['batch', 136]);
  return g;
}

// ---------------------------------------------------------------------------------------------------------------
// Expressions (src/faceExpressionNet): the same feature extractor as the landmarks, its own weights, 7 classes.

function expressions(features: Params, classifier: Params): Graph {
  const g = new Graph('face_expression');
  const logits = fullyConnected(g, faceFeatures(g, features), classifier.fc!, 'fc');
  // face-api's FACE_EXPRESSION_LABELS order: neutral, happy, sad, angry, fearful, disgusted, surprised.
  g.output(g.node('Softmax', [logits], { axis: 1 }), 'expressions', ['batch', 7]);
  return g;
}

// ---------------------------------------------------------------------------------------------------------------
// Age and gender (src/ageGenderNet, src/xception): TinyXception with 2 main blocks at 112², then two heads.

function ageGender(features: Params, classifier: Params): Graph {
  const g = new Graph('age_gender');
  const x = meanNormalised(g, 112, [122.782, 117.001, 104.298]);
  const sep = (input: string, q: Params) => separable(g, input, q, 1, 'same');
  const reduction = (input: string, q: Params, activate: boolean) => {
    let out = sep(activate ? relu(g, input) : input, q.separable_conv0!);
    out = sep(relu(g, out), q.separable_conv1!);
    out = g.node('MaxPool', [out], { kernel_shape: [3, 3], strides: [2, 2], auto_pad: 'SAME_UPPER' });
    return add(g, out, conv(g, input, q.expansion_conv!.filters!, q.expansion_conv!.bias, 2, 'same'));
  };
  const main = (input: string, q: Params) => {
    let out = sep(relu(g, input), q.separable_conv0!);
    out = sep(relu(g, out), q.separable_conv1!);
    out = sep(relu(g, out), q.separable_conv2!);
    return add(g, out, input);
  };
  const entry = features.entry_flow!,
    middle = features.middle_flow!,
    exit = features.exit_flow!;
  let out = relu(g, conv(g, x, entry.conv_in!.filters!, entry.conv_in!.bias, 2, 'same'));
  out = reduction(out, entry.reduction_block_0!, false);
  out = reduction(out, entry.reduction_block_1!, true);
  for (const name of ['main_block_0', 'main_block_1']) out = main(out, middle[name]!);
  out = reduction(out, exit.reduction_block!, true);
  out = relu(g, sep(out, exit.separable_conv!));
  out = g.node('AveragePool', [out], { kernel_shape: [7, 7], strides: [2, 2], auto_pad: 'VALID' });
  out = g.node('Flatten', [out], { axis: 1 });
  const fc = classifier.fc!;
  // Age in years; gender as face-api's softmax over [male, female].
  g.output(g.node('Reshape', [fullyConnected(g, out, fc.age!, 'age'), g.ints([-1])]), 'age', ['batch']);
  g.output(g.node('Softmax', [fullyConnected(g, out, fc.gender!, 'gender')], { axis: 1 }), 'gender', ['batch', 2]);
  return g;
}

// ---------------------------------------------------------------------------------------------------------------
// Recognition ResNet (src/faceRecognitionNet): dlib's 29-layer ResNet on a 150×150 chip, 128-d out.

function recognition(p: Params): Graph {
  const g = new Graph('face_recognition');
  const x = meanNormalised(g, 150, [122.782, 117.001, 104.298]);
  let side = 150;
  const convLayer = (input: string, q: Params, stride: number, withRelu: boolean, pad: Pad) => {
    const c = conv(g, input, q.conv!.filters!, q.conv!.bias, stride, pad);
    const scaled = add(g, mul(g, c, channel(g, q.scale!.weights!.dataSync(), 'scale')), channel(g, q.scale!.biases!.dataSync(), 'shift'));
    return withRelu ? relu(g, scaled) : scaled;
  };
  const residual = (input: string, q: Params) =>
    relu(g, add(g, convLayer(convLayer(input, q.conv1!, 1, true, 'same'), q.conv2!, 1, false, 'same'), input));
  const residualDown = (input: string, q: Params, channelsIn: number) => {
    let out = convLayer(convLayer(input, q.conv1!, 2, true, 'valid'), q.conv2!, 1, false, 'same');
    const convSide = Math.floor((side - 3) / 2) + 1;
    side = Math.floor((side - 2) / 2) + 1;
    let pooled = g.node('AveragePool', [input], { kernel_shape: [2, 2], strides: [2, 2], auto_pad: 'VALID' });
    // face-api pads a smaller conv output with a zero row and column at the end, and the pooled input with zero channels.
    if (convSide !== side) out = g.node('Pad', [out, g.ints([0, 0, 0, 0, 0, 0, side - convSide, side - convSide])]);
    const channelsOut = q.conv2!.conv!.filters!.shape[3]!;
    if (channelsOut !== channelsIn) pooled = g.node('Pad', [pooled, g.ints([0, 0, 0, 0, 0, channelsOut - channelsIn, 0, 0])]);
    return relu(g, add(g, pooled, out));
  };
  let out = convLayer(x, p.conv32_down!, 2, true, 'valid');
  side = Math.floor((side - 7) / 2) + 1;
  out = g.node('MaxPool', [out], { kernel_shape: [3, 3], strides: [2, 2], auto_pad: 'VALID' });
  side = Math.floor((side - 3) / 2) + 1;
  for (const name of ['conv32_1', 'conv32_2', 'conv32_3']) out = residual(out, p[name]!);
  out = residualDown(out, p.conv64_down!, 32);
  for (const name of ['conv64_1', 'conv64_2', 'conv64_3']) out = residual(out, p[name]!);
  out = residualDown(out, p.conv128_down!, 64);
  for (const name of ['conv128_1', 'conv128_2']) out = residual(out, p[name]!);
  out = residualDown(out, p.conv256_down!, 128);
  for (const name of ['conv256_1', 'conv256_2']) out = residual(out, p[name]!);
  out = residualDown(out, p.conv256_down_out!, 256);
  out = g.node('ReduceMean', [out], { axes: [2, 3], keepdims: 0 });
  out = g.node('MatMul', [out, g.constant(w(p.fc!).data, p.fc!.shape, 'fc')]);
  g.output(out, 'descriptor', ['batch', 128]);
  return g;
}

// ---------------------------------------------------------------------------------------------------------------

export const ONNX_FILES: Record<NetName | AttributeNetName, string> = {
  ssdMobilenetv1: 'ssd_mobilenetv1.onnx',
  tinyFaceDetector: 'tiny_face_detector.onnx',
  faceLandmark68Net: 'face_landmark_68.onnx',
  faceRecognitionNet: 'face_recognition.onnx',
  ageGenderNet: 'age_gender.onnx',
  faceExpressionNet: 'face_expression.onnx',
};

async function main() {
  const modelsDir = DEFAULT_MODELS_DIR;
  const rt = await loadRuntime('wasm');
  const manifest: ModelManifest = await loadModels(rt, modelsDir, undefined, [...NET_NAMES, ...ATTRIBUTE_NET_NAMES]);
  type Loaded = { params: Params; faceFeatureExtractor?: { params: Params } };
  const nets = rt.faceapi.nets as unknown as Record<NetName | AttributeNetName, Loaded>;
  const withExtractor = (net: Loaded) => [net.faceFeatureExtractor!.params, net.params] as const;
  const graphs: Record<NetName | AttributeNetName, Graph> = {
    ssdMobilenetv1: ssd(nets.ssdMobilenetv1.params),
    tinyFaceDetector: tiny(nets.tinyFaceDetector.params),
    faceLandmark68Net: landmarks(nets.faceLandmark68Net.faceFeatureExtractor!.params, nets.faceLandmark68Net.params),
    faceRecognitionNet: recognition(nets.faceRecognitionNet.params),
    ageGenderNet: ageGender(...withExtractor(nets.ageGenderNet)),
    faceExpressionNet: expressions(...withExtractor(nets.faceExpressionNet)),
  };
  const onDisk = JSON.parse(readFileSync(path.join(modelsDir, 'manifest.json'), 'utf8')) as ModelManifest;
  for (const [net, graph] of Object.entries(graphs) as [NetName | AttributeNetName, Graph][]) {
    const file = ONNX_FILES[net];
    const bytes = graph.encode(`${manifestEntry(manifest, net).id} converted from face-api's weights by scripts/make-onnx.ts`);
    writeFileSync(path.join(modelsDir, file), bytes);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    manifestEntry(onDisk, net).onnx = { file, sha256 };
    console.log(`${file}: ${(bytes.length / 1e6).toFixed(2)} MB, sha256 ${sha256}`);
  }
  writeFileSync(path.join(modelsDir, 'manifest.json'), `${JSON.stringify(onDisk, null, 2)}\n`);
  console.log('models/manifest.json updated');
}

await main();
