import { decodeImage, DEFAULT_IMAGE_LIMITS, type ImageLimits, type RgbImage } from '../image/decode.js';
import { encodeThumbnail } from '../image/thumbnail.js';
import { arcfaceToImage, CHIP_FACE_BOX, CHIP_PADDING, CHIP_SIZE, chipToImage, extractChip, type Point, type Similarity } from './align.js';
import { ATTRIBUTE_INPUT, attributeNets, faceAttributes, netsFor, type AgeGender, type AttributeNets } from './attribute-nets.js';
import { loadRegistry, normalizeL2, type DescriptorModelCard, type DescriptorRegistry } from './descriptor-models.js';
import { OnnxDescriber } from './onnx-describer.js';
import { ATTRIBUTE_NET_NAMES, DEFAULT_MODELS_DIR, readManifest, type ModelManifest } from './models.js';
import {
  CHIP_INPUT,
  LANDMARK_INPUT,
  loadNets,
  SSD_INPUT,
  TINY_INPUT,
  type EngineOptions,
  type Nets,
  type RuntimeInfo,
  type RuntimeMemory,
} from './nets.js';
import { inputScale, squareInput, type Region } from './net-input.js';
import { ssdInputSide } from './detector-size.js';
import { headPose, laplacianVariance, type FaceQuality } from './quality.js';
import { confirmThreshold, FACE_CHECK, firstVerdict, landmarkSpan, type FaceCheckTuning } from './face-check.js';
import { ATTRIBUTE_NAMES, type AttributeName, type Box, type FaceAttributes } from '../core/face.js';
import { FacerecError, InvalidArgumentError } from '../errors.js';
import { BUILTIN_DEFAULT_NAME } from './descriptor-models.js';
import { checkSelfTest, loadSelfTest, type SelfTest, type SelfTestResult } from './self-test.js';

export type { Box } from '../core/face.js';
export type DetectorName = 'ssd' | 'tiny';
export type AlignMode = 'dlib' | 'box';
/** The attribute nets' input: 'box', face-api's own crop (the landmarks' box padded by a fifth), or 'chip', dlib's aligned chip. */
export type AttributeCrop = 'box' | 'chip';
export const ATTRIBUTE_CROPS: readonly AttributeCrop[] = ['box', 'chip'];

export interface AnalyzeOptions {
  detector?: DetectorName;
  /** Detections below this score are dropped. */
  minScore?: number;
  /** Keep at most this many faces, largest first. */
  maxFaces?: number;
  /** Compute descriptors (off for plain detection). */
  descriptors?: boolean;
  /** The descriptor model, by id or name (default: the engine's, FACEREC_DESCRIPTOR_MODEL). */
  model?: string;
  /** 'dlib': similarity transform to dlib's 150×150 chip; 'box': face-api's axis-aligned crop. */
  align?: AlignMode;
  /** Average the descriptors of the chip and its mirror image (default: as the model's card says). */
  mirror?: boolean;
  /** One detector pass over the whole frame: no padded retry, no tiles. Faster; misses frame-filling and small faces. */
  singlePass?: boolean;
  /** Attach a JPEG thumbnail of each aligned face chip. */
  thumbnails?: boolean;
  /**
   * The image is a stored thumbnail (a face's aligned dlib chip, any size): no detection; its one face is where a
   * chip holds it (CHIP_FACE_BOX), and is described from its landmarks there. Re-embedding describes stored faces so.
   */
  storedChip?: boolean;
  /** Detection's levers, other than DETECTION_TUNING: for `facerec eval detect --tuning` to measure them; the service never sets them. */
  detection?: Partial<DetectionTuning>;
  /** Age, gender, expression: computed only for those named (none by default, and then the attribute nets never load). */
  attributes?: readonly AttributeName[];
  /** The attribute nets' input (default ATTRIBUTE_CROP): for `facerec eval attributes` to measure both; the service never sets it. */
  attributeCrop?: AttributeCrop;
}

export interface Face {
  box: Box;
  score: number;
  landmarks: Point[];
  quality: FaceQuality;
  descriptor?: number[];
  /** JPEG of the aligned 150×150 chip, when asked for. */
  thumbnail?: Uint8Array;
  /** The attributes asked for (AnalyzeOptions.attributes), and only those. */
  attributes?: FaceAttributes;
}

export interface StageTimings {
  decode: number;
  detect: number;
  landmarks: number;
  describe: number;
  /** The attribute nets, when attributes were asked for. */
  attributes?: number;
}

export interface Analysis {
  width: number;
  height: number;
  faces: Face[];
  /** The descriptor space of the faces' descriptors, when they were computed. */
  descriptorModelId?: string;
  timings: StageTimings;
}

export interface EngineInfo extends RuntimeInfo {
  /** The default descriptor model's id: descriptors of different ids must never be compared. */
  descriptorModelId: string;
  /** Its short name. */
  descriptorModel: string;
  /** Descriptor models installed but unable to run here, by id, with the reason (from the pool's model check). */
  unusableModels?: Record<string, string>;
}

// Measured by `facerec eval attributes` on every labelled set within reach (docs/accuracy.md, Face attributes).
export const ATTRIBUTE_CROP: AttributeCrop = 'box';

// The options every call has a default for; the others are absent unless asked.
type DefaultedOptions = Omit<AnalyzeOptions, 'maxFaces' | 'model' | 'detection' | 'attributes' | 'attributeCrop'>;

export const DEFAULT_ANALYZE_OPTIONS: Required<DefaultedOptions> = Object.freeze({
  detector: 'ssd',
  minScore: 0.5,
  descriptors: true,
  align: 'dlib',
  mirror: true,
  singlePass: false,
  thumbnails: false,
  storedChip: false,
});

export interface Candidate {
  box: Box;
  score: number;
}

/** A candidate after its first verdict: did only a tile see it, and has a second look confirmed it? */
interface Judged extends Candidate {
  tileOnly: boolean;
  confirmed: boolean;
}

// SSD MobileNet v1 in face-api sees every image as a 512×512 square: above 2048 px a face under ~80 px would
// shrink below ~20 px there, so such photos are also searched in tiles (5 detector passes instead of 1).
const TILE_ABOVE = 2048;

// Photos are analysed at most this large. The detector sees a tile of half the long side at 512 px, so it cannot
// use more; a face small enough to lose detail here (under ~150 px at 4096) is barely found in the first place.
// It bounds the decoded pixels of one request at 4096² × 3 bytes (48 MiB), whatever the upload's size.
export const WORKING_SIDE = 4096;

// Faces per landmark or descriptor batch: bounds the tensors of a crowded photo.
const BATCH = 32;

// Retries when the whole frame shows no face, in order. Padding by half the long side on every edge shrinks a
// frame-filling face to what SSD saw in training; the tiny detector, a different net, catches some of the rest.
// Measured on the LFW images where the first pass finds nothing (docs/architecture.md, Detection).
const SSD_RETRIES: ReadonlyArray<readonly [DetectorName, number]> = [
  ['ssd', 0.5],
  ['tiny', 0.5],
  ['tiny', 0],
];
const TINY_RETRIES: ReadonlyArray<readonly [DetectorName, number]> = [
  ['tiny', 0.5],
  ['ssd', 0.5],
  ['ssd', 0],
];

/** How detection searches a photo and judges what it finds; each lever measured by `facerec eval detect` (docs/accuracy.md, Detection). */
export interface DetectionTuning extends FaceCheckTuning {
  /** Passes keep candidates down to this score; those under minScore must be confirmed. */
  passFloor: number;
  /** Zoomed second look at candidates under minScore (and at those only a tile saw, per confirmTileOnly). */
  confirm: boolean;
  /** Tiles, as a fraction of the photo's long side, and their overlap as a fraction of the tile. */
  tileFraction: number;
  tileOverlap: number;
  /** Drop a tile's detections that touch one of its inner edges. */
  dropTileEdges: boolean;
}

export const DETECTION_TUNING: Readonly<DetectionTuning> = Object.freeze({
  ...FACE_CHECK,
  passFloor: 0.3,
  confirm: true,
  tileFraction: 0.5,
  tileOverlap: 0.25,
  dropTileEdges: true,
});

/** Detection, landmarks, alignment, quality and descriptors on one thread; the worker pool runs one per worker. */
export class FaceEngine {
  private selfTestFiles?: Promise<SelfTest>;
  // Descriptor models on ONNX Runtime, loaded when first asked for.
  private readonly describers = new Map<string, Promise<OnnxDescriber>>();

  private constructor(
    private readonly nets: Nets,
    private readonly manifest: ModelManifest,
    private readonly limits: ImageLimits,
    private readonly modelsDir: string,
    readonly models: DescriptorRegistry,
    private readonly threads: number,
    private readonly attributeNets: AttributeNets,
  ) {}

  /** Loads the runtime and verified models, once per process or worker. */
  static async create(options: EngineOptions = {}): Promise<FaceEngine> {
    const modelsDir = options.modelsDir ?? DEFAULT_MODELS_DIR;
    const manifest = await readManifest(modelsDir);
    const models = await loadRegistry({ modelsDir, userDir: options.descriptorModelsDir, defaultModel: options.descriptorModel });
    const nets = await loadNets(options, manifest, modelsDir);
    // Loaded when a request first asks for an attribute, on the runtime and provider of the other nets.
    const attributes = attributeNets(nets.info.runtime, {
      manifest,
      modelsDir,
      provider: nets.info.backend === 'cuda' ? 'cuda' : 'cpu',
      threads: options.threads ?? 1,
      backend: options.backend ?? 'auto',
    });
    const engine = new FaceEngine(
      nets,
      manifest,
      options.limits ?? DEFAULT_IMAGE_LIMITS,
      modelsDir,
      models,
      options.threads ?? 1,
      attributes,
    );
    // The default model loads now, so that a bad file fails the start instead of the first request.
    if ('file' in models.default.weights) await engine.describer(models.default);
    return engine;
  }

  /** What the runtime holds (tensors, sessions): flat across requests, or a leak. */
  memory(): RuntimeMemory {
    const memory = this.nets.memory();
    return {
      ...memory,
      numTensors: memory.numTensors + this.describerTensors + this.attributeNets.liveTensors(),
      descriptorSessions: this.loaded.length,
      attributeNets: this.attributeNets.loaded().length,
    };
  }

  /** Releases the runtime's sessions. */
  async dispose(): Promise<void> {
    await Promise.all([...this.loaded.map((d) => d.release()), this.attributeNets.dispose()]);
    return this.nets.dispose();
  }

  private loaded: OnnxDescriber[] = [];
  private get describerTensors(): number {
    return this.loaded.reduce((n, d) => n + d.liveTensors, 0);
  }

  /** A descriptor model's session, loaded once; one that cannot load is MODEL_UNUSABLE with the reason. */
  private describer(card: DescriptorModelCard): Promise<OnnxDescriber> {
    let d = this.describers.get(card.id);
    if (!d) {
      d = OnnxDescriber.load(card, this.threads).then(
        (loaded) => {
          this.loaded.push(loaded);
          return loaded;
        },
        (err: unknown) => {
          throw unusable(card, err);
        },
      );
      d.catch(() => this.describers.delete(card.id));
      this.describers.set(card.id, d);
    }
    return d;
  }

  /**
   * Loads every descriptor model with a file of its own and describes one blank face with it, so that a model that
   * cannot run (missing or corrupt file, not ONNX, shapes unlike its card's) is known at start. Returns the reasons by
   * model id; the sessions of the models checked, but the default's, are released again.
   */
  async checkModels(): Promise<Record<string, string>> {
    const reasons: Record<string, string> = {};
    for (const card of this.models.cards) {
      if (!('file' in card.weights) || card.id === this.models.default.id) continue;
      try {
        const d = await this.describer(card);
        try {
          const blank = new Float32Array(card.input.size * card.input.size * 3);
          await d.describe([blank, blank]);
        } finally {
          this.describers.delete(card.id);
          this.loaded = this.loaded.filter((l) => l !== d);
          await d.release();
        }
      } catch (err) {
        reasons[card.id] = err instanceof FacerecError ? String(err.details.reason ?? err.message) : String(err);
      }
    }
    return reasons;
  }

  get imageLimits(): ImageLimits {
    return this.limits;
  }

  info(align: AlignMode = DEFAULT_ANALYZE_OPTIONS.align, mirror?: boolean): EngineInfo {
    const card = this.models.default;
    return {
      ...this.nets.info,
      models: { ...this.nets.info.models, ...this.attributeModelIds() },
      descriptorModelId: this.modelId(card, align, mirror ?? card.mirror),
      descriptorModel: card.name,
    };
  }

  /** The attribute nets' model ids, as the runtime would load them (they load on first use). */
  private attributeModelIds(): Record<string, string> {
    const ids: Record<string, string> = {};
    for (const net of ATTRIBUTE_NET_NAMES) {
      const entry = this.manifest.models[net];
      if (entry)
        ids[net] = this.nets.info.runtime === 'onnx' && entry.onnx ? `${entry.id}+onnx.${entry.onnx.sha256.slice(0, 12)}` : entry.id;
    }
    return ids;
  }

  /** The descriptor space of a model under an alignment and mirror choice: the card's id when they are the card's own. */
  modelId(card: DescriptorModelCard, align: AlignMode, mirror: boolean): string {
    if ('builtin' in card.weights) return descriptorModelId(this.manifest.models.faceRecognitionNet.id, align, mirror);
    return mirror === card.mirror ? card.id : `${card.id}${mirror ? '+mirror' : '-mirror'}`;
  }

  /**
   * Analyses the known photo in models/ and checks the answer against its record (faces, box, descriptor; with
   * `attributes`, also age, gender and expression), so that an engine whose runtime or weights went bad fails here
   * instead of answering users wrongly. Throws ENGINE_UNHEALTHY.
   */
  async selfTest(options: { attributes?: boolean } = {}): Promise<SelfTestResult> {
    const t0 = performance.now();
    this.selfTestFiles ??= loadSelfTest(this.modelsDir);
    this.selfTestFiles.catch(() => (this.selfTestFiles = undefined));
    const { photo, record } = await this.selfTestFiles;
    const { precision, ssdInput } = this.nets.info;
    checkSelfTest(
      record,
      await this.analyzeBytes(photo, {
        model: this.models.get(BUILTIN_DEFAULT_NAME).id,
        // The attribute nets too, when asked (`facerec info`); the workers' own self-tests leave them unloaded.
        ...(options.attributes ? { attributes: ATTRIBUTE_NAMES } : {}),
      }),
      this.info().descriptorModelId,
      `${precision}/${ssdInput}`,
    );
    return { ms: Math.round(performance.now() - t0) };
  }

  /**
   * Decodes image bytes (type by content, limits checked) and analyses them. A photo over WORKING_SIDE is analysed
   * at that size; boxes and landmarks are given in the photo's own pixels all the same.
   */
  async analyzeBytes(bytes: Uint8Array, options: AnalyzeOptions = {}): Promise<Analysis> {
    const t0 = performance.now();
    const image = await decodeImage(bytes, this.limits, { maxSide: WORKING_SIDE });
    const decode = performance.now() - t0;
    const analysis = await this.analyze(image, options);
    analysis.timings.decode = decode;
    return image.width === image.original.width ? analysis : toOriginal(analysis, image.original);
  }

  /** Finds every face with its box, score, landmarks and quality, and optionally its descriptor. */
  async analyze(image: RgbImage, options: AnalyzeOptions = {}): Promise<Analysis> {
    const card = this.models.get(options.model ?? this.models.default.id);
    const opts = { ...DEFAULT_ANALYZE_OPTIONS, ...options, mirror: options.mirror ?? card.mirror };
    const timings: StageTimings = { decode: 0, detect: 0, landmarks: 0, describe: 0 };
    let t = performance.now();
    const detected = opts.storedChip ? await this.chipFaces(image) : await this.detect(image, opts);
    const candidates = opts.maxFaces !== undefined ? detected.faces.slice(0, opts.maxFaces) : detected.faces;
    const landmarks = candidates.map((c) => c.landmarks);
    // Landmarks are found while detecting: the face check needs them.
    timings.landmarks = detected.landmarkMs;
    timings.detect = performance.now() - t - detected.landmarkMs;

    t = performance.now();
    const transforms = landmarks.map((points) => chipToImage(points));
    const chips = transforms.map((toImage) => extractChip(image, toImage));
    const descriptors = opts.descriptors
      ? await this.describeWith(card, image, landmarks, transforms, chips, opts.align, opts.mirror)
      : undefined;
    const thumbnails = opts.thumbnails ? await Promise.all(chips.map((chip) => encodeThumbnail(chip, CHIP_SIZE))) : undefined;
    timings.describe = performance.now() - t;

    let attributes: FaceAttributes[] | undefined;
    if (options.attributes?.length) {
      t = performance.now();
      attributes = await this.attributesOf(image, landmarks, new Set(options.attributes), options.attributeCrop ?? ATTRIBUTE_CROP);
      timings.attributes = performance.now() - t;
    }

    const faces = candidates.map((c, i): Face => {
      const points = landmarks[i]!;
      const quality: FaceQuality = {
        size: Math.round(Math.min(c.box[2], c.box[3])),
        score: round(c.score, 4),
        sharpness: round(laplacianVariance(chips[i]!, CHIP_SIZE), 1),
        ...headPose(points),
        landmarkSpan: round(landmarkSpan(points, c.box), 2),
      };
      const face: Face = {
        box: c.box.map((v) => round(v, 1)) as Box,
        score: quality.score,
        landmarks: points.map(([x, y]) => [round(x, 1), round(y, 1)]),
        quality,
      };
      if (descriptors) face.descriptor = descriptors[i]!;
      if (thumbnails) face.thumbnail = thumbnails[i]!;
      if (attributes) face.attributes = attributes[i]!;
      return face;
    });
    const analysis: Analysis = { width: image.width, height: image.height, faces, timings };
    if (descriptors) analysis.descriptorModelId = this.modelId(card, opts.align, opts.mirror);
    return analysis;
  }

  /**
   * The descriptors of faces given by their 68 landmarks. 'dlib': the similarity transform to dlib's chip, with its
   * mirror image in the same batch when `mirror` (the two averaged); 'box': face-api's own axis-aligned crop.
   */
  async describe(image: RgbImage, landmarks: Point[][], align: AlignMode, mirror: boolean, model?: string): Promise<number[][]> {
    const card = this.models.get(model ?? this.models.default.id);
    const transforms = landmarks.map((points) => chipToImage(points));
    const chips = align === 'dlib' && 'builtin' in card.weights ? transforms.map((toImage) => extractChip(image, toImage)) : [];
    return this.describeWith(card, image, landmarks, transforms, chips, align, mirror);
  }

  /** Descriptors of one model: face-api's net through the runtime's nets, any other on ONNX Runtime from its card. */
  private async describeWith(
    card: DescriptorModelCard,
    image: RgbImage,
    landmarks: Point[][],
    transforms: Similarity[],
    chips: Float32Array[],
    align: AlignMode,
    mirror: boolean,
  ): Promise<number[][]> {
    if ('builtin' in card.weights) return this.describeAligned(image, landmarks, transforms, chips, align, mirror);
    if (landmarks.length === 0) return [];
    if (align !== 'dlib')
      throw new InvalidArgumentError(`The ${align} alignment is face-api's net's only; ${card.name} aligns by its card`);
    const size = card.input.size;
    const toImage = landmarks.map((points) =>
      card.align.template === 'arcface-5pt' ? arcfaceToImage(points, size) : chipToImage(points, size, card.align.padding),
    );
    const inputs = toImage.map((t) => extractChip(image, t, size));
    if (mirror) inputs.push(...toImage.map((t) => extractChip(image, t, size, true)));
    const describer = await this.describer(card);
    const raw: number[][] = [];
    for (const batch of chunks(inputs, BATCH)) {
      // A model that loads but cannot run as its card says (another output size, an op the runtime refuses) is the model's fault.
      const described = await describer.describe(batch).catch((err: unknown) => {
        throw unusable(card, err);
      });
      raw.push(...described.map((d) => Array.from(d)));
    }
    const cosine = card.output.metric === 'cosine';
    return landmarks.map((_, i) => {
      let d = raw[i]!;
      // Each of the pair counts alike: a cosine model's descriptors are averaged at unit length.
      if (mirror) d = cosine ? meanOf(normalizeL2(d), normalizeL2(raw[landmarks.length + i]!)) : meanOf(d, raw[landmarks.length + i]!);
      return cosine ? normalizeL2(d) : d;
    });
  }

  /**
   * Age, gender and expression of faces given by their 68 landmarks: only the nets the attributes asked for run, on
   * face-api's own crop ('box') or dlib's aligned chip ('chip') at the nets' 112×112.
   */
  async attributesOf(
    image: RgbImage,
    landmarks: Point[][],
    asked: ReadonlySet<AttributeName>,
    crop: AttributeCrop,
  ): Promise<FaceAttributes[]> {
    const nets = netsFor(asked);
    if (landmarks.length === 0 || nets.length === 0) return landmarks.map(() => ({}));
    const inputs = landmarks.map((points) =>
      crop === 'box'
        ? boxInput(image, points, ATTRIBUTE_INPUT)
        : extractChip(image, chipToImage(points, ATTRIBUTE_INPUT, CHIP_PADDING), ATTRIBUTE_INPUT),
    );
    const ageGender: AgeGender[] = [],
      expressions: Float32Array[] = [];
    for (const batch of chunks(inputs, BATCH)) {
      if (nets.includes('ageGenderNet')) ageGender.push(...(await this.attributeNets.ageGender(batch)));
      if (nets.includes('faceExpressionNet')) expressions.push(...(await this.attributeNets.expressions(batch)));
    }
    return landmarks.map((_, i) => faceAttributes(asked, ageGender[i], expressions[i]));
  }

  /** describe() with the chips (and their transforms) that analyze() has already extracted for quality. */
  private async describeAligned(
    image: RgbImage,
    landmarks: Point[][],
    transforms: ReturnType<typeof chipToImage>[],
    chips: Float32Array[],
    align: AlignMode,
    mirror: boolean,
  ): Promise<number[][]> {
    if (landmarks.length === 0) return [];
    if (align === 'box') return this.describeInputs(landmarks.map((points) => boxInput(image, points)));
    if (!mirror) return this.describeInputs(chips);
    // One batch: the chips, then their mirror images.
    const raw = await this.describeInputs([...chips, ...transforms.map((toImage) => extractChip(image, toImage, CHIP_SIZE, true))]);
    return raw.slice(0, chips.length).map((d, i) => meanOf(d, raw[chips.length + i]!));
  }

  /** A stored chip's one face, where the chip holds it, with its landmarks: no detection, so no face check. */
  private async chipFaces(image: RgbImage): Promise<{ faces: Array<Candidate & { landmarks: Point[] }>; landmarkMs: number }> {
    const started = performance.now();
    const face = chipFace(image);
    const [points] = await this.landmarks(image, [face.box]);
    return { faces: [{ ...face, landmarks: points! }], landmarkMs: performance.now() - started };
  }

  /**
   * Every face in the image, with its landmarks. The detector sees the whole frame first; a photo where it finds nothing
   * is searched again padded (a face filling the frame then looks as in training) and with the other detector. A large
   * photo is also searched in overlapping tiles so that small faces keep enough pixels at the detector's 512×512 input;
   * a tile's detection that touches one of its inner edges is a face the tile cuts, which a neighbour tile or the frame
   * sees whole, so it goes. Each candidate is then judged by face-check.ts: one the frame pass saw by its score, or by a
   * zoomed second look when it scores under `minScore` (down to the tuning's passFloor); one only a tile saw must be small
   * enough to have escaped the frame pass and agree with a second look; every face's landmarks must span its box as a
   * face's do. A candidate that the photo's border cuts cannot be seen whole by a second look: it goes. Every pass reads
   * its region straight into the detector's input size, so its memory does not grow with the photo.
   */
  private async detect(
    image: RgbImage,
    {
      detector,
      minScore,
      singlePass,
      detection,
    }: { detector: DetectorName; minScore: number; singlePass: boolean; detection?: Partial<DetectionTuning> },
  ): Promise<{ faces: Array<Candidate & { landmarks: Point[] }>; landmarkMs: number }> {
    const t: DetectionTuning = { ...DETECTION_TUNING, ...detection };
    const floor = singlePass ? minScore : Math.min(minScore, t.passFloor);
    const frame: Region = { x: 0, y: 0, width: image.width, height: image.height };
    const inFrame = await this.runDetector(image, frame, detector, floor);
    const candidates = [...inFrame];
    const long = Math.max(image.width, image.height);
    let passes = 1;
    if (long > TILE_ABOVE && !singlePass) {
      const tile = Math.ceil(long * t.tileFraction);
      const step = Math.ceil(tile * (1 - t.tileOverlap));
      for (let y = 0; y < image.height; y += step) {
        for (let x = 0; x < image.width; x += step) {
          const width = Math.min(tile, image.width - x),
            height = Math.min(tile, image.height - y);
          if (width >= tile / 3 && height >= tile / 3) {
            const region = { x, y, width, height };
            const found = await this.runDetector(image, region, detector, floor);
            passes++;
            candidates.push(...(t.dropTileEdges ? found.filter((c) => !touchesInnerEdge(c.box, region, image, detector)) : found));
          }
          if (x + width >= image.width) break;
        }
        if (y + tile >= image.height) break;
      }
    }
    const frameScale = (detector === 'ssd' ? SSD_INPUT : TINY_INPUT) / long;
    const found: Judged[] = [];
    for (const c of suppress(candidates)) {
      const seenByFrame = inFrame.some((f) => boxIou(f.box, c.box) >= 0.4);
      const verdict = firstVerdict(c, seenByFrame, frameScale, minScore, t);
      if (verdict === 'face') found.push({ ...c, tileOnly: false, confirmed: false });
      // A doubtful candidate that the photo's border cuts (as the candidate or its second look sees it) cannot be seen
      // whole, so the second look is no confirmation: it goes.
      else if (verdict === 'second look' && !touchesBorder(c.box, image)) {
        const threshold = confirmThreshold(minScore, seenByFrame, passes, t);
        const seen = await this.confirm(image, c, detector, threshold, t.confirmZooms);
        if (seen && !touchesBorder(seen.box, image))
          found.push({ ...(seen.score >= c.score ? seen : c), tileOnly: !seenByFrame, confirmed: true });
      }
    }
    const started = performance.now();
    const check = { image, detector, minScore, t };
    let faces = await this.checkFaces(found, check);
    if (faces.length === 0 && !singlePass) {
      for (const [name, padFraction] of detector === 'ssd' ? SSD_RETRIES : TINY_RETRIES) {
        const pad = Math.round(long * padFraction);
        const region = { x: -pad, y: -pad, width: image.width + 2 * pad, height: image.height + 2 * pad };
        const retried = await this.runDetector(image, region, name, minScore);
        faces = await this.checkFaces(
          retried.map((c) => ({ ...c, tileOnly: false, confirmed: false })),
          check,
        );
        if (faces.length > 0) break;
      }
    }
    // Largest first, so that maxFaces keeps the largest.
    return {
      faces: faces.sort((a, b) => b.box[2] * b.box[3] - a.box[2] * a.box[3]),
      landmarkMs: performance.now() - started,
    };
  }

  /**
   * Boxes clipped to the photo and merged, with their landmarks. A face whose landmarks do not span its box as a face's
   * do is doubtful: one the frame pass or a retry found stays when a second look confirms it (a face in too loose a box
   * passes so), one only a tile found, which has had its second look, goes.
   */
  private async checkFaces(
    found: Judged[],
    { image, detector, minScore, t }: { image: RgbImage; detector: DetectorName; minScore: number; t: DetectionTuning },
  ): Promise<Array<Candidate & { landmarks: Point[] }>> {
    const boxes = suppress(
      found.map((c) => ({ ...c, box: clipBox(c.box, image.width, image.height) })).filter((c) => c.box[2] >= 8 && c.box[3] >= 8),
    );
    const landmarks = await this.landmarks(
      image,
      boxes.map((c) => c.box),
    );
    const faces: Array<Candidate & { landmarks: Point[] }> = [];
    for (const [i, c] of boxes.entries()) {
      const face = { box: c.box, score: c.score, landmarks: landmarks[i]! };
      if (t.minLandmarkSpan <= 0 || landmarkSpan(face.landmarks, c.box) >= t.minLandmarkSpan) faces.push(face);
      else if (c.confirmed) {
        if (!c.tileOnly) faces.push(face);
      } else if (t.confirm && !touchesBorder(c.box, image)) {
        const seen = await this.confirm(image, c, detector, minScore, t.confirmZooms);
        if (!seen) continue;
        // The second look frames the face afresh: its box, when the landmarks span it better, replaces a loose one.
        const box = clipBox(seen.box, image.width, image.height);
        const [points] = await this.landmarks(image, [box]);
        faces.push(landmarkSpan(points!, box) > landmarkSpan(face.landmarks, c.box) ? { box, score: c.score, landmarks: points! } : face);
      }
    }
    return suppress(faces);
  }

  /**
   * A second look at a candidate: the detector on a square of `zoom` times its long side around it, where a real face
   * is large and whole, for each zoom in turn. The first detection of the same box (IoU ≥ 0.4) at `threshold` or more,
   * or undefined.
   */
  private async confirm(
    image: RgbImage,
    c: Candidate,
    detector: DetectorName,
    threshold: number,
    zooms: readonly number[],
  ): Promise<Candidate | undefined> {
    const [x, y, w, h] = c.box;
    for (const zoom of zooms) {
      const side = Math.round(zoom * Math.max(w, h));
      const region: Region = { x: Math.round(x + w / 2 - side / 2), y: Math.round(y + h / 2 - side / 2), width: side, height: side };
      const seen = (await this.runDetector(image, region, detector, threshold)).filter((d) => boxIou(d.box, c.box) >= 0.4);
      if (seen.length > 0) return seen.sort((a, b) => b.score - a.score)[0];
    }
    return undefined;
  }

  /**
   * Plain face-api: one SSD pass over the whole frame at `minScore`, as `detectAllFaces(SsdMobilenetv1Options)` does,
   * without the engine's retries, tiles or merging. The baseline of `facerec eval detect`.
   */
  async plainDetections(image: RgbImage, minScore: number): Promise<Candidate[]> {
    return this.runDetector(image, { x: 0, y: 0, width: image.width, height: image.height }, 'ssd', minScore, SSD_INPUT);
  }

  /**
   * One detector pass over a region of the image (it may reach past the edges, which read as black), in image
   * coordinates. SSD's input is sized to the region unless the engine runs it at 512² (or `side` says).
   */
  private async runDetector(
    image: RgbImage,
    region: Region,
    detector: DetectorName,
    minScore: number,
    side?: number,
  ): Promise<Candidate[]> {
    const sized = detector === 'ssd' && this.nets.info.ssdInput === 'sized' && side === undefined;
    const size = detector === 'tiny' ? TINY_INPUT : sized ? ssdInputSide(Math.max(region.width, region.height)) : (side ?? SSD_INPUT);
    const input = squareInput(image, region, size, false);
    const detections = detector === 'ssd' ? await this.nets.ssd(input, minScore, 200, size) : await this.nets.tiny(input, minScore);
    // face-api maps a box back through the rounded size of the region within the square, not the exact scale.
    const [kx, ky] = detectorScale(region, size);
    return detections.map(({ box: [x, y, w, h], score }) => ({
      box: [x * kx + region.x, y * ky + region.y, w * kx, h * ky],
      score,
    }));
  }

  /** 68 landmarks per box, in image coordinates. */
  private async landmarks(image: RgbImage, boxes: Box[]): Promise<Point[][]> {
    const regions = boxes.map(([x, y, w, h]): Region => {
      const x0 = Math.max(0, Math.floor(x)),
        y0 = Math.max(0, Math.floor(y));
      return {
        x: x0,
        y: y0,
        width: Math.max(1, Math.min(image.width, Math.ceil(x + w)) - x0),
        height: Math.max(1, Math.min(image.height, Math.ceil(y + h)) - y0),
      };
    });
    const points: Point[][] = [];
    for (const batch of chunks(regions, BATCH)) {
      const results = await this.nets.landmarks(batch.map((r) => squareInput(image, r, LANDMARK_INPUT, true)));
      results.forEach((xy, i) => {
        // face-api's own mapping from its centred square back to the crop: half the padding on each side.
        const r = batch[i]!;
        const k = inputScale(r, LANDMARK_INPUT);
        const padX = r.width < r.height ? (r.height - r.width) / 2 : 0,
          padY = r.height < r.width ? (r.width - r.height) / 2 : 0;
        points.push(Array.from({ length: 68 }, (_, p): Point => [xy[2 * p]! * k - padX + r.x, xy[2 * p + 1]! * k - padY + r.y]));
      });
    }
    return points;
  }

  /** Descriptors of 150×150 recognition inputs (aligned chips or crops), in batches. */
  private async describeInputs(inputs: Float32Array[]): Promise<number[][]> {
    const descriptors: number[][] = [];
    for (const batch of chunks(inputs, BATCH)) descriptors.push(...(await this.nets.describe(batch)).map((d) => Array.from(d)));
    return descriptors;
  }
}

/** MODEL_UNUSABLE for a descriptor model that failed to load or run, with the reason; a domain error already is one. */
function unusable(card: DescriptorModelCard, err: unknown): FacerecError {
  if (err instanceof FacerecError && err.code === 'MODEL_UNUSABLE') return err;
  const reason = (err as Error)?.message ?? String(err);
  return new FacerecError('MODEL_UNUSABLE', `The descriptor model ${card.name} cannot run here: ${reason}`, { model: card.name, reason });
}

/** The face of a stored chip, where the chip holds it, as if the detector had found it there with certainty. */
function chipFace(image: RgbImage): Candidate {
  const [x, y, w, h] = CHIP_FACE_BOX;
  return { box: [x * image.width, y * image.height, w * image.width, h * image.height], score: 1 };
}

/**
 * face-api's own default crop (FaceLandmarks.align: the landmarks' bounding box padded by a fifth of its size on
 * each axis), clipped and floored as extractFaceTensors does, padded to a square and resized to `size` (150 for the
 * recognition net, 112 for the attribute nets: face-api crops them alike).
 */
function boxInput(image: RgbImage, points: Point[], size = CHIP_INPUT): Float32Array {
  const xs = points.map(([x]) => x),
    ys = points.map(([, y]) => y);
  const minX = Math.min(...xs),
    minY = Math.min(...ys);
  const maxX = Math.max(0, ...xs),
    maxY = Math.max(0, ...ys);
  const padX = (maxX - minX) * 0.2,
    padY = (maxY - minY) * 0.2;
  const left = minX - padX / 2,
    top = minY - padY / 2;
  const right = left + (maxX - minX) + padX,
    bottom = top + (maxY - minY) + padY;
  const x = Math.max(left, 0),
    y = Math.max(top, 0);
  const region: Region = {
    x: Math.floor(x),
    y: Math.floor(y),
    width: Math.floor(Math.min(right - x, image.width - x)),
    height: Math.floor(Math.min(bottom - y, image.height - y)),
  };
  return squareInput(image, region, size, true);
}
/** An analysis of a photo decoded smaller, in the photo's own pixels. */
function toOriginal(analysis: Analysis, original: { width: number; height: number }): Analysis {
  const sx = original.width / analysis.width,
    sy = original.height / analysis.height;
  const faces = analysis.faces.map((face): Face => {
    const [x, y, w, h] = face.box;
    const box: Box = [round(x * sx, 1), round(y * sy, 1), round(w * sx, 1), round(h * sy, 1)];
    return {
      ...face,
      box,
      landmarks: face.landmarks.map(([px, py]): Point => [round(px * sx, 1), round(py * sy, 1)]),
      quality: { ...face.quality, size: Math.round(Math.min(box[2], box[3])) },
    };
  });
  return { ...analysis, width: original.width, height: original.height, faces };
}

/** Per axis, region pixels per pixel of the detector's square, as face-api's box decoding computes it. */
function detectorScale(region: Region, size: number): [number, number] {
  const side = Math.max(region.width, region.height);
  return [
    region.width / Math.max(1, Math.round((region.width * size) / side)),
    region.height / Math.max(1, Math.round((region.height * size) / side)),
  ];
}

function* chunks<T>(items: T[], size: number): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
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
  const x0 = Math.max(0, x),
    y0 = Math.max(0, y);
  return [x0, y0, Math.min(width, x + w) - x0, Math.min(height, y + h) - y0];
}

/**
 * Does a detection in a tile touch an edge of the tile that lies inside the photo (where the tile cuts the scene)? The
 * detector clips its boxes to its input, so a cut face's box ends on the edge, within a pixel of the detector's input.
 */
function touchesInnerEdge([x, y, w, h]: Box, region: Region, image: RgbImage, detector: DetectorName): boolean {
  const tolerance = (2 * Math.max(region.width, region.height)) / (detector === 'ssd' ? SSD_INPUT : TINY_INPUT);
  return (
    (region.x > 0 && x <= region.x + tolerance) ||
    (region.y > 0 && y <= region.y + tolerance) ||
    (region.x + region.width < image.width && x + w >= region.x + region.width - tolerance) ||
    (region.y + region.height < image.height && y + h >= region.y + region.height - tolerance)
  );
}

/** Does a box reach the photo's border (within a pixel)? */
function touchesBorder([x, y, w, h]: Box, image: RgbImage): boolean {
  return x <= 1 || y <= 1 || x + w >= image.width - 1 || y + h >= image.height - 1;
}

export function boxIou(a: Box, b: Box): number {
  const ix = Math.max(0, Math.min(a[0] + a[2], b[0] + b[2]) - Math.max(a[0], b[0]));
  const iy = Math.max(0, Math.min(a[1] + a[3], b[1] + b[3]) - Math.max(a[1], b[1]));
  const inter = ix * iy;
  return inter / (a[2] * a[3] + b[2] * b[3] - inter);
}

/** Greedy non-maximum suppression; a box mostly inside a stronger one (a face cut by a tile edge) also goes. */
export function suppress<C extends Candidate>(candidates: C[], iou = 0.4, containment = 0.7): C[] {
  const sorted = [...candidates].sort((a, b) => b.score - a.score);
  const kept: C[] = [];
  for (const c of sorted) {
    const overlaps = kept.some((k) => {
      const ix = Math.max(0, Math.min(k.box[0] + k.box[2], c.box[0] + c.box[2]) - Math.max(k.box[0], c.box[0]));
      const iy = Math.max(0, Math.min(k.box[1] + k.box[3], c.box[1] + c.box[3]) - Math.max(k.box[1], c.box[1]));
      const inter = ix * iy;
      const areaK = k.box[2] * k.box[3],
        areaC = c.box[2] * c.box[3];
      return inter / (areaK + areaC - inter) > iou || inter / Math.min(areaK, areaC) > containment;
    });
    if (!overlaps) kept.push(c);
  }
  return kept;
}
