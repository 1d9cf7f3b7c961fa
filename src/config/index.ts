import os from 'node:os';
import { z } from 'zod';
import { FacerecError } from '../errors.js';

const int = (def: number) => z.coerce.number().int().positive().default(def);
const num = (def: number) => z.coerce.number().default(def);
const bool = (def: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'])
    .default(def ? 'true' : 'false')
    .transform((v) => ['true', '1', 'yes', 'on'].includes(v));

const schema = z.object({
  FACEREC_RUNTIME: z.enum(['onnx', 'tfjs']).default('onnx'),
  FACEREC_BACKEND: z.enum(['auto', 'gpu', 'node', 'wasm', 'cpu']).default('auto'),
  FACEREC_ONNX_THREADS: int(1),
  FACEREC_ONNX_PROVIDER: z.enum(['auto', 'cpu', 'cuda']).default('auto'),
  // int8 graphs where models/ has them (SSD and the ResNet), measured in docs/performance.md and docs/models.md.
  FACEREC_PRECISION: z.enum(['int8', 'fp32']).default('int8'),
  // SSD's input always 512² as face-api, or sized to the photo (src/engine/detector-size.ts): opt-in, since the sized
  // input finds the half faces at the edges of small photos (LFW View 1: 488 photos with two or more faces, 260 at 512²),
  // and enrollment then refuses those photos (MULTIPLE_FACES) unless told to take the largest face.
  FACEREC_SSD_INPUT: z.enum(['sized', '512']).default('512'),
  FACEREC_MODELS_DIR: z.string().optional(),
  // The descriptor model of new galleries and of embed, compare, detect and eval, by id or name (docs/models.md).
  FACEREC_DESCRIPTOR_MODEL: z.string().optional(),
  // A folder of the user's own model cards and ONNX files.
  FACEREC_DESCRIPTOR_MODELS_DIR: z.string().optional(),
  FACEREC_WORKERS: int(Math.max(1, os.availableParallelism())),
  FACEREC_QUEUE_SIZE: int(64),
  FACEREC_MAX_IMAGE_BYTES: int(20 * 1024 * 1024),
  FACEREC_MAX_IMAGE_PIXELS: int(50_000_000),
  FACEREC_DETECTOR: z.enum(['ssd', 'tiny']).default('ssd'),
  FACEREC_MIN_SCORE: num(0.5).pipe(z.number().min(0).max(1)),
  // Overrides the model card's verification threshold, for FACEREC_DESCRIPTOR_MODEL's model only.
  FACEREC_THRESHOLD: z.coerce.number().positive().max(2).optional(),
  // identify's false positive identification rate: its threshold follows from this and the gallery's size (docs/accuracy.md).
  FACEREC_TARGET_FPIR: num(0.01).pipe(z.number().gt(0).max(0.5)),
  // Overrides the model card's ambiguity margin, for FACEREC_DESCRIPTOR_MODEL's model only.
  FACEREC_AMBIGUITY_MARGIN: z.coerce.number().min(0).max(1).optional(),
  FACEREC_REDUCTION: z.enum(['min', 'mean2']).default('min'),
  // HNSW candidate list per query. At 1M faces 100 missed the probe's person's nearest face for 2.3% of genuine
  // probes and 200 for none (bench/store.bench.ts); the search is a few percent of an identification's time, so
  // recall wins. With iterative scans (pgvector 0.8) a gallery filter cannot starve the result.
  FACEREC_EF_SEARCH: int(200).pipe(z.number().max(1000)),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  FACEREC_DATA_DIR: z.string().default('./data'),
  FACEREC_MIGRATE: bool(true),
  FACEREC_THUMBNAILS: bool(true),
  // Faces seen (sightings) are purged this many days after they were last seen (docs/configuration.md says why 30).
  FACEREC_SIGHTING_RETENTION_DAYS: int(30).pipe(z.number().min(1).max(3650)),
  // Templates per person in a gallery that learns: enrolled, confirmed and learned faces together (src/match/learn.ts).
  FACEREC_TEMPLATE_CAP: int(10).pipe(z.number().max(100)),
  FACEREC_PORT: int(3000).pipe(z.number().max(65535)),
  FACEREC_HOST: z.string().optional(),
  FACEREC_MAX_FILES: int(20),
  FACEREC_JSON_LIMIT_BYTES: int(64 * 1024),
  FACEREC_RATE_LIMIT: int(600),
  FACEREC_REQUEST_TIMEOUT_MS: int(60_000),
  FACEREC_SHUTDOWN_TIMEOUT_MS: int(25_000),
  FACEREC_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  // Enrollment quality gates (docs/configuration.md): measured on the bundled datasets' enrollment photos.
  FACEREC_ENROLL_MIN_FACE_SIZE: int(40),
  FACEREC_ENROLL_MIN_SCORE: num(0.5).pipe(z.number().min(0).max(1)),
  // Stricter than detection's 0.7 (engine/face-check.ts): an enrolled non-face would be a person strangers can match.
  FACEREC_ENROLL_MIN_LANDMARK_SPAN: num(0.8).pipe(z.number().min(0).max(2)),
  FACEREC_ENROLL_MIN_SHARPNESS: num(10).pipe(z.number().min(0)),
  FACEREC_ENROLL_MAX_YAW: num(45).pipe(z.number().min(0).max(90)),
  FACEREC_ENROLL_MAX_ROLL: num(45).pipe(z.number().min(0).max(180)),
});

export type Config = Readonly<{
  /** What runs the nets: ONNX Runtime (default) or tfjs, its backend, ONNX Runtime's threads and provider. */
  runtime: RuntimeConfig;
  modelsDir: string | undefined;
  /** FACEREC_DESCRIPTOR_MODEL: id or name; unset, the shipped default (face-api-128). */
  descriptorModel: string | undefined;
  descriptorModelsDir: string | undefined;
  workers: number;
  queueSize: number;
  maxImageBytes: number;
  maxImagePixels: number;
  detector: 'ssd' | 'tiny';
  minScore: number;
  /** Overrides the configured model's 1:1 threshold (verify, compare, enrollment's checks); unset, its card's. */
  threshold: number | undefined;
  /** identify's target false positive identification rate. */
  targetFpir: number;
  /** Overrides the configured model's ambiguity margin; unset, its card's. */
  ambiguityMargin: number | undefined;
  reduction: 'min' | 'mean2';
  efSearch: number;
  databaseUrl: string | undefined;
  dataDir: string;
  migrate: boolean;
  thumbnails: boolean;
  /** Days a sighting (a face seen, kept when a gallery or call asks) is kept after it was last seen. */
  sightingRetentionDays: number;
  /** Templates per person that confirmed and learned faces may fill (enrolled faces are never displaced). */
  templateCap: number;
  enrollment: EnrollmentGates;
  http: HttpConfig;
}>;

export interface RuntimeConfig {
  runtime: 'onnx' | 'tfjs';
  /** tfjs's backend. */
  backend: 'auto' | 'gpu' | 'node' | 'wasm' | 'cpu';
  /** ONNX Runtime's intra-op threads per session (per worker). */
  threads: number;
  provider: 'auto' | 'cpu' | 'cuda';
  /** ONNX Runtime's graphs: int8 where models/ has one for the net, else FP32. */
  precision: 'int8' | 'fp32';
  /** SSD's input: sized to the region it searches, or always 512². */
  ssdInput: 'sized' | '512';
}

export interface HttpConfig {
  port: number;
  /** Unset: loopback while no API key exists, all interfaces once one does. */
  host: string | undefined;
  /** Files per request. */
  maxFiles: number;
  jsonLimitBytes: number;
  /** Requests per minute per API key (per client address without keys). */
  rateLimit: number;
  requestTimeoutMs: number;
  shutdownTimeoutMs: number;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
}

/** Quality a photo's face needs to be enrolled; each failed gate has its own rejection code. */
export interface EnrollmentGates {
  /** FACE_TOO_SMALL below this many pixels on the box's shorter side. */
  minFaceSize: number;
  /** LOW_SCORE below this detector score. */
  minScore: number;
  /** LOW_SCORE too when the landmarks outline a face narrower than this, relative to the box (quality.landmarkSpan). */
  minLandmarkSpan: number;
  /** BLURRY below this Laplacian variance of the aligned chip. */
  minSharpness: number;
  /** EXTREME_POSE beyond these angles in degrees. */
  maxYaw: number;
  maxRoll: number;
}

/** Parses the environment once into a frozen config; every bad variable is listed in one error. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // An empty variable means 'unset', as in most shells' `VAR= command`.
  const given = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== ''));
  // PORT, the convention of container platforms (Heroku, Cloud Run, Render), when FACEREC_PORT is not set.
  if (given.FACEREC_PORT === undefined && given.PORT !== undefined) given.FACEREC_PORT = given.PORT;
  const parsed = schema.safeParse(given);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new FacerecError('INVALID_CONFIG', `Invalid configuration: ${problems.join('; ')}`, { problems });
  }
  const e = parsed.data;
  return Object.freeze({
    runtime: Object.freeze({
      runtime: e.FACEREC_RUNTIME,
      backend: e.FACEREC_BACKEND,
      threads: e.FACEREC_ONNX_THREADS,
      provider: e.FACEREC_ONNX_PROVIDER,
      precision: e.FACEREC_PRECISION,
      ssdInput: e.FACEREC_SSD_INPUT,
    }),
    modelsDir: e.FACEREC_MODELS_DIR,
    descriptorModel: e.FACEREC_DESCRIPTOR_MODEL,
    descriptorModelsDir: e.FACEREC_DESCRIPTOR_MODELS_DIR,
    workers: e.FACEREC_WORKERS,
    queueSize: e.FACEREC_QUEUE_SIZE,
    maxImageBytes: e.FACEREC_MAX_IMAGE_BYTES,
    maxImagePixels: e.FACEREC_MAX_IMAGE_PIXELS,
    detector: e.FACEREC_DETECTOR,
    minScore: e.FACEREC_MIN_SCORE,
    threshold: e.FACEREC_THRESHOLD,
    targetFpir: e.FACEREC_TARGET_FPIR,
    ambiguityMargin: e.FACEREC_AMBIGUITY_MARGIN,
    reduction: e.FACEREC_REDUCTION,
    efSearch: e.FACEREC_EF_SEARCH,
    databaseUrl: e.DATABASE_URL,
    dataDir: e.FACEREC_DATA_DIR,
    migrate: e.FACEREC_MIGRATE,
    thumbnails: e.FACEREC_THUMBNAILS,
    sightingRetentionDays: e.FACEREC_SIGHTING_RETENTION_DAYS,
    templateCap: e.FACEREC_TEMPLATE_CAP,
    enrollment: Object.freeze({
      minFaceSize: e.FACEREC_ENROLL_MIN_FACE_SIZE,
      minScore: e.FACEREC_ENROLL_MIN_SCORE,
      minLandmarkSpan: e.FACEREC_ENROLL_MIN_LANDMARK_SPAN,
      minSharpness: e.FACEREC_ENROLL_MIN_SHARPNESS,
      maxYaw: e.FACEREC_ENROLL_MAX_YAW,
      maxRoll: e.FACEREC_ENROLL_MAX_ROLL,
    }),
    http: Object.freeze({
      port: e.FACEREC_PORT,
      host: e.FACEREC_HOST,
      maxFiles: e.FACEREC_MAX_FILES,
      jsonLimitBytes: e.FACEREC_JSON_LIMIT_BYTES,
      rateLimit: e.FACEREC_RATE_LIMIT,
      requestTimeoutMs: e.FACEREC_REQUEST_TIMEOUT_MS,
      shutdownTimeoutMs: e.FACEREC_SHUTDOWN_TIMEOUT_MS,
      logLevel: e.FACEREC_LOG_LEVEL,
    }),
  });
}

/** The byte and pixel limits of an uploaded photo, as the decoder takes them. */
export const imageLimits = (config: Config): { maxBytes: number; maxPixels: number } => ({
  maxBytes: config.maxImageBytes,
  maxPixels: config.maxImagePixels,
});

/**
 * The queue of a bulk run's worker pool (embed, the evaluations): each keeps two photos per worker in flight, so
 * four per worker leaves room; never less than FACEREC_QUEUE_SIZE.
 */
export const bulkQueueSize = (config: Config, workers: number): number => Math.max(config.queueSize, workers * 4);
