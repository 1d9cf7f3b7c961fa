import type { ErrorCode } from '../errors.js';
import type { ImageLimits } from '../image/decode.js';
import type { BackendChoice } from './backend.js';
import type { AnalyzeOptions, Analysis, EngineInfo } from './face-engine.js';
import type { SelfTestResult } from './self-test.js';
import type { SubjectDescriptors } from './variants.js';

/** Messages between the pool and its workers (worker_threads, structured clone). */
export interface WorkerInit {
  backend: BackendChoice;
  modelsDir?: string;
  limits: ImageLimits;
}

export type WorkerRequest =
  | { id: number; op: 'analyze'; bytes: Uint8Array; options: AnalyzeOptions }
  | { id: number; op: 'subject'; bytes: Uint8Array }
  | { id: number; op: 'selfTest' }
  | { id: number; op: 'memory' }
  | { id: number; op: 'crash' };

export interface WorkerResults {
  analyze: Analysis;
  subject: SubjectDescriptors;
  selfTest: SelfTestResult;
  memory: { numTensors: number; numBytes: number };
  crash: never;
}

export type WorkerResponse =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: { code: ErrorCode; message: string; details?: Record<string, unknown> } };

export type WorkerStatus = { ready: true; info: EngineInfo } | { ready: false; error: { code: ErrorCode; message: string; details?: Record<string, unknown> } };
