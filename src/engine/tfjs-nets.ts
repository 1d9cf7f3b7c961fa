/** The nets on tfjs, through face-api's own code: the reference runtime, and the GPU path (tfjs-node-gpu). */
import { loadRuntime, type BackendChoice, type Runtime } from './backend.js';
import { loadModels, type ModelManifest } from './models.js';
import {
  LANDMARK_INPUT,
  SSD_INPUT,
  TINY_INPUT,
  CHIP_INPUT,
  type Detection,
  type Nets,
  type RuntimeInfo,
  type RuntimeMemory,
} from './nets.js';

type Input<F extends (...args: never[]) => unknown> = Parameters<F>[0];

class TfjsNets implements Nets {
  readonly info: RuntimeInfo;

  constructor(
    readonly rt: Runtime,
    manifest: ModelManifest,
  ) {
    this.info = {
      runtime: 'tfjs',
      backend: rt.backend,
      threads: 1,
      precision: 'fp32',
      ssdInput: '512',
      versions: rt.versions,
      models: Object.fromEntries(Object.entries(manifest.models).map(([net, m]) => [net, m.id])),
    };
  }

  async ssd(input: Float32Array, minScore: number, maxResults: number): Promise<Detection[]> {
    const { faceapi, tf } = this.rt;
    const tensor = tf.tensor3d(input, [SSD_INPUT, SSD_INPUT, 3]);
    try {
      const found = await faceapi.nets.ssdMobilenetv1.locateFaces(
        tensor as unknown as Input<typeof faceapi.nets.ssdMobilenetv1.locateFaces>,
        new faceapi.SsdMobilenetv1Options({ minConfidence: minScore, maxResults }),
      );
      return found.map((d) => ({ box: [d.box.x, d.box.y, d.box.width, d.box.height], score: d.score }));
    } finally {
      tensor.dispose();
    }
  }

  async tiny(input: Float32Array, minScore: number): Promise<Detection[]> {
    const { faceapi, tf } = this.rt;
    const tensor = tf.tensor3d(input, [TINY_INPUT, TINY_INPUT, 3]);
    try {
      const found = await faceapi.nets.tinyFaceDetector.locateFaces(
        tensor as unknown as Input<typeof faceapi.nets.tinyFaceDetector.locateFaces>,
        new faceapi.TinyFaceDetectorOptions({ inputSize: TINY_INPUT, scoreThreshold: minScore }),
      );
      return found.map((d) => ({ box: [d.box.x, d.box.y, d.box.width, d.box.height], score: d.score }));
    } finally {
      tensor.dispose();
    }
  }

  async landmarks(inputs: Float32Array[]): Promise<Float32Array[]> {
    if (inputs.length === 0) return [];
    const { faceapi, tf } = this.rt;
    const tensors = inputs.map((input) => tf.tensor3d(input, [LANDMARK_INPUT, LANDMARK_INPUT, 3]));
    try {
      const results = await faceapi.nets.faceLandmark68Net.detectLandmarks(
        tensors as unknown as Input<typeof faceapi.nets.faceLandmark68Net.detectLandmarks>,
      );
      return (Array.isArray(results) ? results : [results]).map((lm) => Float32Array.from(lm.positions.flatMap((p) => [p.x, p.y])));
    } finally {
      for (const t of tensors) t.dispose();
    }
  }

  async describe(inputs: Float32Array[]): Promise<Float32Array[]> {
    if (inputs.length === 0) return [];
    const { faceapi, tf } = this.rt;
    // face-api takes a batch as an array of 3-D tensors; at 150×150 its resize is a no-op.
    const tensors = inputs.map((input) => tf.tensor3d(input, [CHIP_INPUT, CHIP_INPUT, 3]));
    try {
      const output = await faceapi.nets.faceRecognitionNet.forward(
        tensors as unknown as Input<typeof faceapi.nets.faceRecognitionNet.forward>,
      );
      const values = (await output.data()) as Float32Array;
      output.dispose();
      return inputs.map((_, i) => values.slice(i * 128, (i + 1) * 128));
    } finally {
      for (const t of tensors) t.dispose();
    }
  }

  memory(): RuntimeMemory {
    const { numTensors, numBytes } = this.rt.tf.memory();
    return { numTensors, numBytes };
  }

  async dispose(): Promise<void> {
    // face-api's nets are process-wide and live as long as the worker.
  }
}

export async function loadTfjsNets(backend: BackendChoice, manifest: ModelManifest, modelsDir: string): Promise<Nets> {
  const rt = await loadRuntime(backend);
  await loadModels(rt, modelsDir, manifest);
  return new TfjsNets(rt, manifest);
}
