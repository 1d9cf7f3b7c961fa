import type { Tensor3D } from '@tensorflow/tfjs';
import { decodeImage, DEFAULT_IMAGE_LIMITS, type ImageLimits, type RgbImage } from '../image/decode.js';
import { encodeThumbnail } from '../image/thumbnail.js';
import { CHIP_SIZE, chipToImage, extractChip, type Point } from './align.js';
import { loadRuntime, type BackendChoice, type Runtime } from './backend.js';
import { DEFAULT_MODELS_DIR, loadModels, type ModelManifest } from './models.js';
import { headPose, laplacianVariance, type FaceQuality } from './quality.js';

export type Box = [x: number, y: number, width: number, height: number];
export type DetectorName = 'ssd' | 'tiny';
export type AlignMode = 'dlib' | 'box';

export interface AnalyzeOptions {
  detector?: DetectorName;
  /** Detections below this score are dropped. */
  minScore?: number;
  /** Keep at most this many faces, largest first. */
  maxFaces?: number;
  /** Compute 128-d descriptors (off for plain detection). */
  descriptors?: boolean;
  /** 'dlib': similarity transform to dlib's 150×150 chip; 'box': face-api's axis-aligned crop. */
  align?: AlignMode;
  /** Average the descriptors of the chip and its mirror image. */
  mirror?: boolean;
  /** One detector pass over the whole frame: no padded retry, no tiles. Faster; misses frame-filling and small faces. */
  singlePass?: boolean;
  /** Attach a JPEG thumbnail of each aligned face chip. */
  thumbnails?: boolean;
}

export interface Face {
  box: Box;
  score: number;
  landmarks: Point[];
  quality: FaceQuality;
  descriptor?: number[];
  /** JPEG of the aligned 150×150 chip, when asked for. */
  thumbnail?: Uint8Array;
  /** Only for evaluation: the descriptor under each alignment variant. */
  variants?: DescriptorVariants;
}

export interface DescriptorVariants {
  dlib: number[];
  dlibMirror: number[];
  box: number[];
}

/** Internal hooks for evaluation: reuse a full-frame detection pass, compute every alignment variant. */
export interface AnalyzeHooks {
  fullFrame?: Candidate[];
  variants?: boolean;
}

export interface StageTimings {
  decode: number;
  detect: number;
  landmarks: number;
  describe: number;
}

export interface Analysis {
  width: number;
  height: number;
  faces: Face[];
  timings: StageTimings;
}

export interface EngineInfo {
  backend: string;
  versions: { tfjs: string; faceapi: string };
  models: Record<string, string>;
  /** Identifies the descriptor space: descriptors of different ids must never be compared. */
  descriptorModelId: string;
}

export const DEFAULT_ANALYZE_OPTIONS: Required<Omit<AnalyzeOptions, 'maxFaces'>> = Object.freeze({
  detector: 'ssd',
  minScore: 0.5,
  descriptors: true,
  align: 'dlib',
  mirror: true,
  singlePass: false,
  thumbnails: false,
});

export interface Candidate {
  box: Box;
  score: number;
}

// SSD MobileNet v1 in face-api sees every image as a 512×512 square: above 2048 px a face under ~80 px would
// shrink below ~20 px there, so such photos are also searched in tiles (5 detector passes instead of 1).
const TILE_ABOVE = 2048;

// Retries when the whole frame shows no face, in order. Padding by half the long side on every edge shrinks a
// frame-filling face to what SSD saw in training; the tiny detector, a different net, catches some of the rest.
// Measured on the LFW images where the first pass finds nothing (see README, Detection).
const SSD_RETRIES: ReadonlyArray<readonly [DetectorName, number]> = [['ssd', 0.5], ['tiny', 0.5], ['tiny', 0]];
const TINY_RETRIES: ReadonlyArray<readonly [DetectorName, number]> = [['tiny', 0.5], ['ssd', 0.5], ['ssd', 0]];

/** Detection, landmarks, alignment, quality and descriptors on one thread; the worker pool runs one per worker. */
export class FaceEngine {
  private constructor(
    private readonly rt: Runtime,
    private readonly manifest: ModelManifest,
    private readonly limits: ImageLimits,
  ) {}

  /** Loads the runtime and verified models, once per process or worker. */
  static async create(options: { backend?: BackendChoice; modelsDir?: string; limits?: ImageLimits } = {}): Promise<FaceEngine> {
    const rt = await loadRuntime(options.backend ?? 'auto');
    const manifest = await loadModels(rt, options.modelsDir ?? DEFAULT_MODELS_DIR);
    return new FaceEngine(rt, manifest, options.limits ?? DEFAULT_IMAGE_LIMITS);
  }

  get runtime(): Runtime {
    return this.rt;
  }

  get imageLimits(): ImageLimits {
    return this.limits;
  }

  info(align: AlignMode = DEFAULT_ANALYZE_OPTIONS.align, mirror = DEFAULT_ANALYZE_OPTIONS.mirror): EngineInfo {
    const models = Object.fromEntries(Object.entries(this.manifest.models).map(([net, m]) => [net, m.id]));
    return {
      backend: this.rt.backend,
      versions: this.rt.versions,
      models,
      descriptorModelId: descriptorModelId(this.manifest.models.faceRecognitionNet.id, align, mirror),
    };
  }

  /** Decodes image bytes (type by content, limits checked) and analyses them. */
  async analyzeBytes(bytes: Uint8Array, options: AnalyzeOptions = {}): Promise<Analysis> {
    const t0 = performance.now();
    const image = await decodeImage(bytes, this.limits);
    const decode = performance.now() - t0;
    const analysis = await this.analyze(image, options);
    analysis.timings.decode = decode;
    return analysis;
  }

  /** Finds every face with its box, score, landmarks and quality, and optionally its descriptor. */
  async analyze(image: RgbImage, options: AnalyzeOptions = {}, hooks: AnalyzeHooks = {}): Promise<Analysis> {
    const opts = { ...DEFAULT_ANALYZE_OPTIONS, ...options };
    const { tf } = this.rt;
    const timings: StageTimings = { decode: 0, detect: 0, landmarks: 0, describe: 0 };
    const tensor = tf.tensor3d(image.data, [image.height, image.width, 3], 'int32');
    try {
      let t = performance.now();
      let candidates = await this.detect(tensor, image, opts, hooks.fullFrame);
      candidates.sort((a, b) => b.box[2] * b.box[3] - a.box[2] * a.box[3]);
      if (opts.maxFaces !== undefined) candidates = candidates.slice(0, opts.maxFaces);
      timings.detect = performance.now() - t;

      t = performance.now();
      const landmarks = await this.landmarks(tensor, candidates.map((c) => c.box));
      timings.landmarks = performance.now() - t;

      t = performance.now();
      const transforms = landmarks.map((points) => chipToImage(points));
      const chips = transforms.map((toImage) => extractChip(image, toImage));
      const wantChips = candidates.length > 0 && ((opts.descriptors && opts.align === 'dlib') || hooks.variants);
      const mirrors = wantChips && (opts.mirror || hooks.variants) ? transforms.map((toImage) => extractChip(image, toImage, CHIP_SIZE, true)) : [];
      // One batch: the chips, then their mirror images.
      const raw = wantChips ? await this.describeChips([...chips, ...mirrors]) : [];
      const n = chips.length;
      const averaged = mirrors.length ? raw.slice(0, n).map((d, i) => meanOf(d, raw[n + i]!)) : [];
      const boxDescriptors = candidates.length > 0 && ((opts.descriptors && opts.align === 'box') || hooks.variants) ? await this.describeBoxes(tensor, landmarks) : [];
      let descriptors: number[][] | undefined;
      if (opts.descriptors && candidates.length > 0) descriptors = opts.align === 'box' ? boxDescriptors : opts.mirror ? averaged : raw.slice(0, n);
      const variants = hooks.variants ? chips.map((_, i): DescriptorVariants => ({ dlib: raw[i]!, dlibMirror: averaged[i]!, box: boxDescriptors[i]! })) : undefined;
      const thumbnails = opts.thumbnails ? await Promise.all(chips.map((chip) => encodeThumbnail(chip, CHIP_SIZE))) : undefined;
      timings.describe = performance.now() - t;

      const faces = candidates.map((c, i): Face => {
        const points = landmarks[i]!;
        const quality: FaceQuality = {
          size: Math.round(Math.min(c.box[2], c.box[3])),
          score: round(c.score, 4),
          sharpness: round(laplacianVariance(chips[i]!, CHIP_SIZE), 1),
          ...headPose(points),
        };
        const face: Face = { box: c.box.map((v) => round(v, 1)) as Box, score: quality.score, landmarks: points.map(([x, y]) => [round(x, 1), round(y, 1)]), quality };
        if (descriptors) face.descriptor = descriptors[i]!;
        if (variants) face.variants = variants[i]!;
        if (thumbnails) face.thumbnail = thumbnails[i]!;
        return face;
      });
      return { width: image.width, height: image.height, faces, timings };
    } finally {
      tensor.dispose();
    }
  }

  /**
   * Every face in the image. The detector sees the whole frame first; a photo where it finds nothing is searched
   * again padded (a face filling the frame then looks as in training) and with the other detector. A large photo is also
   * searched in overlapping tiles so that small faces keep enough pixels at the detector's 512×512 input.
   */
  private async detect(tensor: Tensor3D, image: RgbImage, { detector, minScore, singlePass }: { detector: DetectorName; minScore: number; singlePass: boolean }, fullFrame?: Candidate[]): Promise<Candidate[]> {
    const { tf } = this.rt;
    const found = (fullFrame ?? (await this.runDetector(tensor, detector, minScore))).filter((c) => c.score >= minScore);
    const long = Math.max(image.width, image.height);
    if (found.length === 0 && !singlePass) {
      for (const [name, padFraction] of detector === 'ssd' ? SSD_RETRIES : TINY_RETRIES) {
        const pad = Math.round(long * padFraction);
        const padded = pad > 0 ? tf.pad(tensor, [[pad, pad], [pad, pad], [0, 0]]) : tensor;
        try {
          const more = await this.runDetector(padded, name, minScore);
          found.push(...more.map((c): Candidate => ({ box: [c.box[0] - pad, c.box[1] - pad, c.box[2], c.box[3]], score: c.score })));
        } finally {
          if (padded !== tensor) padded.dispose();
        }
        if (found.length > 0) break;
      }
    }
    if (long > TILE_ABOVE && !singlePass) {
      // Tiles of half the long side overlapping by a quarter, each seen at 512.
      const tile = Math.ceil(long / 2);
      const step = Math.ceil(tile * 0.75);
      for (let y = 0; y < image.height; y += step) {
        for (let x = 0; x < image.width; x += step) {
          const w = Math.min(tile, image.width - x), h = Math.min(tile, image.height - y);
          if (w >= tile / 3 && h >= tile / 3) {
            const crop = tf.slice(tensor, [y, x, 0], [h, w, 3]);
            try {
              for (const c of await this.runDetector(crop, detector, minScore)) found.push({ box: [c.box[0] + x, c.box[1] + y, c.box[2], c.box[3]], score: c.score });
            } finally {
              crop.dispose();
            }
          }
          if (x + w >= image.width) break;
        }
        if (y + tile >= image.height) break;
      }
    }
    return suppress(found.map((c) => ({ box: clipBox(c.box, image.width, image.height), score: c.score })).filter((c) => c.box[2] >= 8 && c.box[3] >= 8));
  }

  private async runDetector(input: Tensor3D, detector: DetectorName, minScore: number): Promise<Candidate[]> {
    const { faceapi } = this.rt;
    const net = input as unknown as Parameters<typeof faceapi.nets.ssdMobilenetv1.locateFaces>[0];
    const detections =
      detector === 'ssd'
        ? await faceapi.nets.ssdMobilenetv1.locateFaces(net, new faceapi.SsdMobilenetv1Options({ minConfidence: minScore, maxResults: 200 }))
        : await faceapi.nets.tinyFaceDetector.locateFaces(net, new faceapi.TinyFaceDetectorOptions({ inputSize: 416, scoreThreshold: minScore }));
    return detections.map((d) => ({ box: [d.box.x, d.box.y, d.box.width, d.box.height], score: d.score }));
  }

  /** 68 landmarks per box, in image coordinates. */
  private async landmarks(tensor: Tensor3D, boxes: Box[]): Promise<Point[][]> {
    if (boxes.length === 0) return [];
    const { faceapi, tf } = this.rt;
    const rects = boxes.map(([x, y, w, h]) => {
      const x0 = Math.max(0, Math.floor(x)), y0 = Math.max(0, Math.floor(y));
      return { x: x0, y: y0, w: Math.max(1, Math.min(tensor.shape[1], Math.ceil(x + w)) - x0), h: Math.max(1, Math.min(tensor.shape[0], Math.ceil(y + h)) - y0) };
    });
    const crops = rects.map((r) => tf.slice(tensor, [r.y, r.x, 0], [r.h, r.w, 3]));
    try {
      const results = await faceapi.nets.faceLandmark68Net.detectLandmarks(crops as unknown as Parameters<typeof faceapi.nets.faceLandmark68Net.detectLandmarks>[0]);
      const list = Array.isArray(results) ? results : [results];
      return list.map((lm, i) => lm.positions.map((p): Point => [p.x + rects[i]!.x, p.y + rects[i]!.y]));
    } finally {
      for (const c of crops) c.dispose();
    }
  }

  /** Descriptors of aligned 150×150 chips, in one batch. */
  private async describeChips(chips: Float32Array[]): Promise<number[][]> {
    const { faceapi, tf } = this.rt;
    // face-api takes a batch as an array of 3-D tensors; at 150×150 its resize is a no-op.
    const inputs = chips.map((chip) => tf.tensor3d(chip, [CHIP_SIZE, CHIP_SIZE, 3]));
    try {
      const output = await faceapi.nets.faceRecognitionNet.forward(inputs as unknown as Parameters<typeof faceapi.nets.faceRecognitionNet.forward>[0]);
      const values = (await output.data()) as Float32Array;
      output.dispose();
      return chips.map((_, i) => Array.from(values.subarray(i * 128, (i + 1) * 128)));
    } finally {
      for (const input of inputs) input.dispose();
    }
  }

  /** face-api's own default: the axis-aligned box around the landmarks, padded to a square and resized. */
  private async describeBoxes(tensor: Tensor3D, landmarks: Point[][]): Promise<number[][]> {
    const { faceapi } = this.rt;
    const dims = { width: tensor.shape[1], height: tensor.shape[0] };
    // FaceLandmarks68 takes positions relative to the image size.
    const rects = landmarks.map((points) => new faceapi.FaceLandmarks68(points.map(([x, y]) => new faceapi.Point(x / dims.width, y / dims.height)), dims).align());
    const faces = await faceapi.extractFaceTensors(tensor as unknown as Parameters<typeof faceapi.extractFaceTensors>[0], rects);
    try {
      const out: number[][] = [];
      for (const face of faces) out.push(Array.from((await faceapi.nets.faceRecognitionNet.computeFaceDescriptor(face)) as Float32Array));
      return out;
    } finally {
      for (const f of faces) f.dispose();
    }
  }
}

export function descriptorModelId(recognitionId: string, align: AlignMode, mirror: boolean): string {
  return `${recognitionId}/${align === 'dlib' ? 'chip150p25' : 'box'}${mirror ? '+mirror' : ''}`;
}

function meanOf(a: number[], b: number[]): number[] {
  return a.map((v, k) => (v + b[k]!) / 2);
}

function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

function clipBox([x, y, w, h]: Box, width: number, height: number): Box {
  const x0 = Math.max(0, x), y0 = Math.max(0, y);
  return [x0, y0, Math.min(width, x + w) - x0, Math.min(height, y + h) - y0];
}

/** Greedy non-maximum suppression; a box mostly inside a stronger one (a face cut by a tile edge) also goes. */
export function suppress(candidates: Candidate[], iou = 0.4, containment = 0.7): Candidate[] {
  const sorted = [...candidates].sort((a, b) => b.score - a.score);
  const kept: Candidate[] = [];
  for (const c of sorted) {
    const overlaps = kept.some((k) => {
      const ix = Math.max(0, Math.min(k.box[0] + k.box[2], c.box[0] + c.box[2]) - Math.max(k.box[0], c.box[0]));
      const iy = Math.max(0, Math.min(k.box[1] + k.box[3], c.box[1] + c.box[3]) - Math.max(k.box[1], c.box[1]));
      const inter = ix * iy;
      const areaK = k.box[2] * k.box[3], areaC = c.box[2] * c.box[3];
      return inter / (areaK + areaC - inter) > iou || inter / Math.min(areaK, areaC) > containment;
    });
    if (!overlaps) kept.push(c);
  }
  return kept;
}
