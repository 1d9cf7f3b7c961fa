import type { ErrorCode } from '../errors.js';
import type { ImageLimits } from '../image/decode.js';
import type { AnalyzeOptions, Analysis, EngineInfo } from './face-engine.js';
import type { RuntimeMemory, RuntimeOptions } from './nets.js';
import type { SelfTestResult } from './self-test.js';

/** Messages between the pool and its workers (worker_threads, structured clone). */
export interface WorkerInit {
  runtime: RuntimeOptions;
  /** The worker's native-call guard (native-guard.ts), set by the pool. */
  guard?: SharedArrayBuffer;
  modelsDir?: string;
  limits: ImageLimits;
  /** The default descriptor model and the user's model cards (FACEREC_DESCRIPTOR_MODEL, FACEREC_DESCRIPTOR_MODELS_DIR). */
  descriptorModel?: string;
  descriptorModelsDir?: string;
  /** Load every descriptor model once and report those that cannot run (the pool asks its first worker). */
  checkModels?: boolean;
}

/** The production engine's operations (worker.ts); an evaluation or test entry may serve more (worker-host.ts). */
export type WorkerRequest =
  { id: number; op: 'analyze'; bytes: Uint8Array; options: AnalyzeOptions } | { id: number; op: 'selfTest' } | { id: number; op: 'memory' };

export interface WorkerResults {
  analyze: Analysis;
  selfTest: SelfTestResult;
  memory: RuntimeMemory;
}

/** Any request a worker entry may serve: an op, and what it carries. */
export type AnyWorkerRequest = { id: number; op: string } & Record<string, unknown>;

export type WorkerResponse =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: { code: ErrorCode; message: string; details?: Record<string, unknown> } };

export type WorkerStatus =
  { ready: true; info: EngineInfo } | { ready: false; error: { code: ErrorCode; message: string; details?: Record<string, unknown> } };
