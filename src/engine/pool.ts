import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { errorFromJSON, FacerecError } from '../errors.js';
import { DEFAULT_IMAGE_LIMITS, type ImageLimits } from '../image/decode.js';
import { endWhenSafe, newGuard } from './native-guard.js';
import type { RuntimeOptions } from './nets.js';
import type { EngineInfo } from './face-engine.js';
import type { AnyWorkerRequest, WorkerInit, WorkerRequest, WorkerResponse, WorkerResults, WorkerStatus } from './protocol.js';

export interface PoolOptions {
  /** Worker threads, default one per core. */
  size?: number;
  /** Requests waiting beyond the busy workers; past it, QUEUE_FULL. */
  queueSize?: number;
  runtime?: RuntimeOptions;
  modelsDir?: string;
  limits?: ImageLimits;
  descriptorModel?: string;
  descriptorModelsDir?: string;
  /** An idle worker repeats its self-test when the last one is older than this (ms). */
  selfTestIntervalMs?: number;
  /** A request that holds a worker longer than this (ms) ends that worker as hung. */
  jobTimeoutMs?: number;
  /** The worker's entry module; tests give one that can be made to fail. */
  entry?: URL;
}

/** Why a worker was ended and replaced. */
export type ReplacementCause = 'crash' | 'engine-error' | 'self-test' | 'timeout';
export const REPLACEMENT_CAUSES: readonly ReplacementCause[] = ['crash', 'engine-error', 'self-test', 'timeout'];

export interface Replacement {
  cause: ReplacementCause;
  /** What went wrong, for the log only: it may hold an internal message. */
  reason: string;
}

export interface PoolHealth {
  /** Workers the pool is meant to have. */
  size: number;
  /** Workers taking requests: loaded, self-test passed, not suspect. */
  healthy: number;
  /** Workers loading models or running their first self-test. */
  starting: number;
  queueDepth: number;
  /** Age of the oldest last-passed self-test among the healthy workers (ms), null without any. */
  selfTestAgeMs: number | null;
  replacements: Record<ReplacementCause, number>;
  /** Replacement workers that failed to load or to pass their first self-test (each is tried again later). */
  startFailures: number;
  /** Why the last replacement failed to start, while no healthy worker exists. */
  lastStartError?: string;
  closed: boolean;
}

type Op = keyof WorkerResults;
type Payload<O extends Op> = Omit<Extract<WorkerRequest, { op: O }>, 'id' | 'op'>;
/** A worker's answer, or its end. */
type Outcome = { message: WorkerResponse | WorkerStatus } | { exit: number };

interface Task {
  request: AnyWorkerRequest;
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
}

interface Slot {
  worker: Worker;
  /** What to do with the worker's next answer: one message is in flight at a time. */
  reply?: (outcome: Outcome) => void;
  task?: Task;
  selfTesting: boolean;
  lastSelfTest: number;
  /** Out of rotation: ended or being ended. */
  retired: boolean;
  timer?: NodeJS.Timeout;
}

const DEFAULT_SELF_TEST_INTERVAL_MS = 30_000;
const DEFAULT_JOB_TIMEOUT_MS = 120_000;
const SELF_TEST_TIMEOUT_MS = 60_000;
// Waits before starting a replacement again after one failed to start, so that a broken engine is not reloaded in a loop.
const RESTART_BACKOFF_MS = [1_000, 2_000, 5_000, 10_000, 30_000];
// An input that has ended this many workers is refused; remembered for FAULT_MEMORY_MS, at most FAULT_MEMORY_SIZE inputs.
const REFUSE_AFTER_FAULTS = 2;
const FAULT_MEMORY_MS = 15 * 60_000;
const FAULT_MEMORY_SIZE = 1_000;

// From dist/ an entry is plain JavaScript; from src/ (tests, tsx) it is TypeScript, loaded through tsx's API.
function workerEntry(entry: URL = new URL('./worker.js', import.meta.url)): { source: string; eval: boolean } {
  const file = fileURLToPath(entry);
  if (file.endsWith('.js') && existsSync(file)) return { source: file, eval: false };
  const typescript = file.replace(/\.js$/, '.ts');
  const tsxDir = path.dirname(createRequire(import.meta.url).resolve('tsx/package.json'));
  const tsx = pathToFileURL(path.join(tsxDir, 'dist', 'esm', 'api', 'index.mjs')).href;
  const module = pathToFileURL(existsSync(typescript) ? typescript : file).href;
  return {
    source: `import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(module)}); });`,
    eval: true,
  };
}

const cancelled = () => new FacerecError('CANCELLED', 'The request was withdrawn before an engine worker started it');
const poolClosed = () => new FacerecError('POOL_CLOSED', 'The engine pool is closed');

/**
 * A bounded pool of engine workers. Each worker loads its own models and passes a self-test on a known photo
 * before it takes work, and again while idle. A worker that crashes, hangs, fails its self-test or throws an
 * error that is not the input's fault is ended and replaced by a fresh one before it takes another request; the
 * request it held is tried once more on another worker, and an input that ends two workers is refused.
 */
export class WorkerPool {
  private readonly slots: Slot[] = [];
  private readonly queue: Task[] = [];
  private readonly workers = new Set<Worker>();
  private readonly guards = new WeakMap<Worker, SharedArrayBuffer>();
  /** sha256 of inputs that ended a worker: how many, and when last. */
  private readonly faults = new Map<string, { count: number; at: number }>();
  private readonly replaced: Record<ReplacementCause, number> = { crash: 0, 'engine-error': 0, 'self-test': 0, timeout: 0 };
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly listeners = new Set<(event: Replacement) => void>();
  private readonly ticker: NodeJS.Timeout;
  private nextId = 1;
  private starting = 0;
  private failedStarts = 0;
  private startFailures = 0;
  private lastStartError?: string;
  private closed = false;
  private engineInfo?: EngineInfo;
  // Descriptor models that could not run in the worker that checked them all (the first one started).
  private unusableModels?: Record<string, string>;
  private modelsChecked = false;
  private readonly entry: { source: string; eval: boolean };

  private constructor(
    private readonly init: WorkerInit,
    private readonly options: Required<Pick<PoolOptions, 'size' | 'queueSize' | 'selfTestIntervalMs' | 'jobTimeoutMs'>> &
      Pick<PoolOptions, 'entry'>,
  ) {
    this.entry = workerEntry(options.entry);
    // Idle workers are self-tested on this beat.
    this.ticker = setInterval(() => this.dispatch(), Math.max(50, Math.min(5_000, options.selfTestIntervalMs / 2)));
    this.ticker.unref();
  }

  static async start(options: PoolOptions = {}): Promise<WorkerPool> {
    const size = options.size ?? Math.max(1, os.availableParallelism());
    const pool = new WorkerPool(
      {
        runtime: options.runtime ?? {},
        modelsDir: options.modelsDir,
        limits: options.limits ?? DEFAULT_IMAGE_LIMITS,
        descriptorModel: options.descriptorModel,
        descriptorModelsDir: options.descriptorModelsDir,
      },
      {
        size,
        queueSize: options.queueSize ?? 64,
        selfTestIntervalMs: options.selfTestIntervalMs ?? DEFAULT_SELF_TEST_INTERVAL_MS,
        jobTimeoutMs: options.jobTimeoutMs ?? DEFAULT_JOB_TIMEOUT_MS,
        entry: options.entry,
      },
    );
    try {
      await Promise.all(Array.from({ length: size }, () => pool.startWorker()));
    } catch (err) {
      await pool.close();
      throw err;
    }
    return pool;
  }

  /** Workers taking requests now. */
  get size(): number {
    return this.slots.length;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Requests waiting for a worker. */
  get queueDepth(): number {
    return this.queue.length;
  }

  /** Workers running a request now. */
  get busy(): number {
    return this.slots.filter((s) => s.task).length;
  }

  get info(): EngineInfo {
    return { ...this.engineInfo!, unusableModels: this.unusableModels ?? {} };
  }

  health(): PoolHealth {
    const now = Date.now();
    const healthy = this.slots.filter((s) => !s.retired);
    return {
      size: this.options.size,
      healthy: healthy.length,
      starting: this.starting,
      queueDepth: this.queue.length,
      selfTestAgeMs: healthy.length ? Math.max(...healthy.map((s) => now - s.lastSelfTest)) : null,
      replacements: { ...this.replaced },
      startFailures: this.startFailures,
      ...(healthy.length === 0 && this.lastStartError ? { lastStartError: this.lastStartError } : {}),
      closed: this.closed,
    };
  }

  /** Calls `listener` each time a worker is ended and replaced (to log it); returns the unsubscribe function. */
  onReplacement(listener: (event: Replacement) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Fault-test hook: stops the worker that has held its request the longest, mid-request, as a crash would. The 'crash'
   * op cannot do this: it only reaches an idle worker. Resolves false when no worker is busy.
   */
  async killBusyWorker(): Promise<boolean> {
    const slot = this.slots.filter((s) => s.task).sort((a, b) => a.task!.request.id - b.task!.request.id)[0];
    if (!slot) return false;
    await this.end(slot.worker);
    return true;
  }

  /**
   * Runs one operation on the next free worker. Byte buffers are copied, so the caller keeps its own. When `signal`
   * aborts while the request still waits in the queue, it leaves the queue and fails with CANCELLED; a request a
   * worker has started runs to its end.
   */
  run<O extends Op>(op: O, payload: Payload<O>, signal?: AbortSignal): Promise<WorkerResults[O]> {
    return this.submit(op, payload, signal) as Promise<WorkerResults[O]>;
  }

  /** An operation that only the pool's own worker entry serves (an evaluation's, a test's); otherwise as `run`. */
  runExtra<T>(op: string, payload: Record<string, unknown>, signal?: AbortSignal): Promise<T> {
    return this.submit(op, payload, signal) as Promise<T>;
  }

  private submit(op: string, payload: Record<string, unknown>, signal?: AbortSignal): Promise<unknown> {
    if (this.closed) return Promise.reject(poolClosed());
    if (signal?.aborted) return Promise.reject(cancelled());
    if (this.slots.length === 0 && this.starting === 0) return Promise.reject(this.unhealthy());
    const request: AnyWorkerRequest = { id: this.nextId++, op, ...payload };
    const refused = this.refusal(request);
    if (refused) return Promise.reject(refused);
    const busy = this.slots.every((s) => s.task || s.selfTesting);
    if (busy && this.queue.length >= this.options.queueSize) {
      return Promise.reject(
        new FacerecError('QUEUE_FULL', `The engine queue is full (${this.options.queueSize} waiting); retry later`, {
          queueSize: this.options.queueSize,
        }),
      );
    }
    return new Promise((resolve, reject) => {
      const withdraw = () => {
        const index = this.queue.indexOf(task);
        if (index < 0) return;
        this.queue.splice(index, 1);
        reject(cancelled());
      };
      const settle =
        <T>(fn: (value: T) => void) =>
        (value: T) => {
          signal?.removeEventListener('abort', withdraw);
          fn(value);
        };
      const task: Task = { request, resolve: settle(resolve as (v: unknown) => void), reject: settle(reject) };
      signal?.addEventListener('abort', withdraw, { once: true });
      this.queue.push(task);
      this.dispatch();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.ticker);
    for (const timer of this.timers) clearTimeout(timer);
    for (const task of this.queue.splice(0)) task.reject(poolClosed());
    for (const slot of this.slots.splice(0)) clearTimeout(slot.timer);
    await Promise.all([...this.workers].map((w) => this.end(w)));
  }

  /** Ends a worker thread once no ONNX Runtime call runs in it (native-guard.ts): cutting one aborts the process. */
  private end(worker: Worker): Promise<number> {
    const guard = this.guards.get(worker);
    return guard ? endWhenSafe(guard, () => worker.terminate()) : worker.terminate();
  }

  /** Gives queued requests to idle workers, and self-tests idle workers whose last test is too old. */
  private dispatch(): void {
    if (this.closed) return;
    for (const slot of this.slots) {
      if (slot.retired || slot.task || slot.selfTesting) continue;
      const task = this.queue.shift();
      if (task) this.assign(slot, task);
      else if (Date.now() - slot.lastSelfTest >= this.options.selfTestIntervalMs) {
        this.selfTest(slot).then(
          () => this.dispatch(),
          (err: Error) => this.retire(slot, 'self-test', err.message),
        );
      }
    }
  }

  private assign(slot: Slot, task: Task): void {
    slot.task = task;
    slot.timer = setTimeout(
      () => this.retire(slot, 'timeout', `a request held the worker over ${this.options.jobTimeoutMs} ms`),
      this.options.jobTimeoutMs,
    ).unref();
    slot.reply = (outcome) => {
      clearTimeout(slot.timer);
      if ('exit' in outcome) return this.retire(slot, 'crash', `exit code ${outcome.exit}`);
      const message = outcome.message as WorkerResponse;
      if (!message.ok && message.error.code === 'INTERNAL') return this.retire(slot, 'engine-error', message.error.message);
      slot.task = undefined;
      if (message.ok) task.resolve(message.result);
      else task.reject(errorFromJSON(message.error));
      this.dispatch();
    };
    slot.worker.postMessage(task.request);
  }

  /** Runs the worker's self-test: a real analysis of the known photo in models/, checked against its record. */
  private selfTest(slot: Slot): Promise<void> {
    slot.selfTesting = true;
    return new Promise((resolve, reject) => {
      const fail = (why: string) =>
        reject(new FacerecError('ENGINE_UNHEALTHY', `An engine worker failed its self-test: ${why}`, { reason: why }));
      const timer = setTimeout(() => {
        slot.reply = undefined;
        slot.selfTesting = false;
        fail(`no answer within ${SELF_TEST_TIMEOUT_MS} ms`);
      }, SELF_TEST_TIMEOUT_MS).unref();
      slot.reply = (outcome) => {
        clearTimeout(timer);
        slot.selfTesting = false;
        if ('exit' in outcome) return fail(`the worker exited with code ${outcome.exit}`);
        const message = outcome.message as WorkerResponse;
        if (!message.ok) return fail(message.error.message);
        slot.lastSelfTest = Date.now();
        resolve();
      };
      slot.worker.postMessage({ id: this.nextId++, op: 'selfTest' } satisfies WorkerRequest);
    });
  }

  /** Starts a worker: models loaded and self-test passed, then it joins the rotation. */
  private async startWorker(): Promise<void> {
    const guard = newGuard();
    const checkModels = !this.modelsChecked;
    this.modelsChecked = true;
    const worker = new Worker(this.entry.source, {
      workerData: { ...this.init, guard, checkModels } satisfies WorkerInit,
      eval: this.entry.eval,
    });
    this.guards.set(worker, guard);
    const slot: Slot = { worker, selfTesting: false, lastSelfTest: 0, retired: false };
    this.workers.add(worker);
    this.starting++;
    worker.on('message', (message: WorkerResponse | WorkerStatus) => {
      const reply = slot.reply;
      slot.reply = undefined;
      reply?.({ message });
    });
    let error: Error | undefined;
    worker.on('error', (err) => (error = err));
    worker.on('exit', (code) => {
      this.workers.delete(worker);
      const reply = slot.reply;
      slot.reply = undefined;
      if (reply) reply({ exit: code });
      else if (!slot.retired && this.slots.includes(slot)) this.retire(slot, 'crash', error?.message ?? `exit code ${code}`);
    });
    try {
      await new Promise<void>((resolve, reject) => {
        slot.reply = (outcome) => {
          if ('exit' in outcome)
            return reject(
              new FacerecError(
                'MODEL_LOAD_FAILED',
                `Engine worker exited with code ${outcome.exit} before it was ready${error ? `: ${error.message}` : ''}`,
              ),
            );
          const status = outcome.message as WorkerStatus;
          if (!status.ready) return reject(errorFromJSON(status.error));
          this.engineInfo ??= status.info;
          if (status.info.unusableModels) this.unusableModels = status.info.unusableModels;
          resolve();
        };
      });
      await this.selfTest(slot);
    } catch (err) {
      slot.retired = true;
      void this.end(worker);
      throw err;
    } finally {
      this.starting--;
    }
    if (this.closed) {
      void this.end(worker);
      return;
    }
    this.slots.push(slot);
    this.failedStarts = 0;
    this.lastStartError = undefined;
    this.dispatch();
  }

  /**
   * Takes a suspect worker out of rotation, ends it and starts a fresh one. The request it held runs again on
   * another worker, unless its input has now ended two workers: then it is refused as the input's fault.
   */
  private retire(slot: Slot, cause: ReplacementCause, why: string): void {
    if (slot.retired) return;
    slot.retired = true;
    clearTimeout(slot.timer);
    slot.reply = undefined;
    const index = this.slots.indexOf(slot);
    if (index >= 0) this.slots.splice(index, 1);
    void this.end(slot.worker);
    if (this.closed) {
      slot.task?.reject(new FacerecError('POOL_CLOSED', 'The engine pool was closed while this request ran'));
      return;
    }
    this.replaced[cause]++;
    for (const listener of this.listeners) listener({ cause, reason: why });
    const task = slot.task;
    slot.task = undefined;
    if (task) this.retryOrRefuse(task, cause);
    this.replace();
  }

  private retryOrRefuse(task: Task, cause: ReplacementCause): void {
    const fingerprint = fingerprintOf(task.request);
    if (!fingerprint) {
      task.reject(new FacerecError('WORKER_CRASHED', 'The engine worker handling this request failed; retry it', { cause }));
      return;
    }
    const count = (this.faults.get(fingerprint)?.count ?? 0) + 1;
    this.faults.delete(fingerprint); // re-inserted last: the map's order is its age
    this.faults.set(fingerprint, { count, at: Date.now() });
    if (this.faults.size > FAULT_MEMORY_SIZE) this.faults.delete(this.faults.keys().next().value!);
    if (count >= REFUSE_AFTER_FAULTS) task.reject(unprocessable(count, cause));
    else {
      this.queue.unshift(task);
      this.dispatch();
    }
  }

  /** IMAGE_UNPROCESSABLE for an input that has already ended two workers recently. */
  private refusal(request: AnyWorkerRequest): FacerecError | undefined {
    if (this.faults.size === 0) return undefined;
    const fingerprint = fingerprintOf(request);
    const fault = fingerprint ? this.faults.get(fingerprint) : undefined;
    if (!fault) return undefined;
    if (Date.now() - fault.at > FAULT_MEMORY_MS) {
      this.faults.delete(fingerprint!);
      return undefined;
    }
    return fault.count >= REFUSE_AFTER_FAULTS ? unprocessable(fault.count) : undefined;
  }

  /** Starts a replacement worker; one that fails to start is tried again later, with a growing wait. */
  private replace(): void {
    if (this.closed) return;
    this.startWorker().catch((err: Error) => {
      if (this.closed) return;
      this.lastStartError = err.message;
      this.startFailures++;
      if (this.slots.length === 0 && this.starting === 0) for (const task of this.queue.splice(0)) task.reject(this.unhealthy());
      const wait = RESTART_BACKOFF_MS[Math.min(this.failedStarts++, RESTART_BACKOFF_MS.length - 1)]!;
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        this.replace();
      }, wait);
      this.timers.add(timer);
    });
  }

  private unhealthy(): FacerecError {
    return new FacerecError(
      'ENGINE_UNHEALTHY',
      'No engine worker is healthy at the moment; retry later',
      this.lastStartError ? { reason: this.lastStartError } : {},
    );
  }
}

function fingerprintOf(request: AnyWorkerRequest): string | undefined {
  return request.bytes instanceof Uint8Array ? createHash('sha256').update(request.bytes).digest('hex') : undefined;
}

function unprocessable(failures: number, cause?: ReplacementCause): FacerecError {
  return new FacerecError(
    'IMAGE_UNPROCESSABLE',
    `This photo made the engine fail ${failures} times, each time on a fresh worker; it is not processed again`,
    {
      failures,
      ...(cause ? { cause } : {}),
    },
  );
}
