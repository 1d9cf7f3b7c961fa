import os from 'node:os';
import { z } from 'zod';
import { FacerecError } from '../errors.js';

const int = (def: number) => z.coerce.number().int().positive().default(def);
const num = (def: number) => z.coerce.number().default(def);

const schema = z.object({
  FACEREC_BACKEND: z.enum(['auto', 'gpu', 'node', 'wasm', 'cpu']).default('auto'),
  FACEREC_MODELS_DIR: z.string().optional(),
  FACEREC_WORKERS: int(Math.max(1, os.availableParallelism())),
  FACEREC_QUEUE_SIZE: int(64),
  FACEREC_MAX_IMAGE_BYTES: int(20 * 1024 * 1024),
  FACEREC_MAX_IMAGE_PIXELS: int(50_000_000),
  FACEREC_DETECTOR: z.enum(['ssd', 'tiny']).default('ssd'),
  FACEREC_MIN_SCORE: num(0.5).pipe(z.number().min(0).max(1)),
  // Chosen on LFW View 1 pairsDevTrain for the shipped pipeline (README, Accuracy).
  FACEREC_THRESHOLD: num(0.59).pipe(z.number().positive().max(2)),
});

export type Config = Readonly<{
  backend: 'auto' | 'gpu' | 'node' | 'wasm' | 'cpu';
  modelsDir: string | undefined;
  workers: number;
  queueSize: number;
  maxImageBytes: number;
  maxImagePixels: number;
  detector: 'ssd' | 'tiny';
  minScore: number;
  threshold: number;
}>;

/** Parses the environment once into a frozen config; every bad variable is listed in one error. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // An empty variable means 'unset', as in most shells' `VAR= command`.
  const parsed = schema.safeParse(Object.fromEntries(Object.entries(env).filter(([, v]) => v !== '')));
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new FacerecError('INVALID_CONFIG', `Invalid configuration: ${problems.join('; ')}`, { problems });
  }
  const e = parsed.data;
  return Object.freeze({
    backend: e.FACEREC_BACKEND,
    modelsDir: e.FACEREC_MODELS_DIR,
    workers: e.FACEREC_WORKERS,
    queueSize: e.FACEREC_QUEUE_SIZE,
    maxImageBytes: e.FACEREC_MAX_IMAGE_BYTES,
    maxImagePixels: e.FACEREC_MAX_IMAGE_PIXELS,
    detector: e.FACEREC_DETECTOR,
    minScore: e.FACEREC_MIN_SCORE,
    threshold: e.FACEREC_THRESHOLD,
  });
}
