import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { errorFromJSON, FacerecError } from '../errors.js';
import { DEFAULT_IMAGE_LIMITS, type ImageLimits } from '../image/decode.js';
import type { BackendChoice } from './backend.js';
import type { EngineInfo } from './face-engine.js';
import type { WorkerInit, WorkerRequest, WorkerResponse, WorkerResults, WorkerStatus } from './protocol.js';

export interface PoolOptions {
  /** Worker threads, default one per core. */
  size?: number;
  /** Requests waiting beyond the busy workers; past it, QUEUE_FULL. */
  queueSize?: number;
  backend?: BackendChoice;
  modelsDir?: string;
  limits?: ImageLimits;
}

type Op = keyof WorkerResults;
type Payload<O extends Op> = Omit<Extract<WorkerRequest, { op: O }>, 'id' | 'op'>;

interface Task {
  id: number;
  request: WorkerRequest;
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
}

interface Slot {
  worker: Worker;
  task?: Task;
}

// From dist/ the entry is plain JavaScript; from src/ (tests, tsx) it is TypeScript, loaded through tsx's API.
function workerEntry(): { source: string; eval: boolean } {
  const compiled = fileURLToPath(new URL('./worker.js', import.meta.url));
  if (existsSync(compiled)) return { source: compiled, eval: false };
  const tsxDir = path.dirname(createRequire(import.meta.url).resolve('tsx/package.json'));
  const tsx = pathToFileURL(path.join(tsxDir, 'dist', 'esm', 'api', 'index.mjs')).href;
  const entry = new URL('./worker.ts', import.meta.url).href;
  return { source: `import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(entry)}); });`, eval: true };
}
const WORKER_ENTRY = workerEntry();

const cancelled = () => new FacerecError('CANCELLED', 'The request was withdrawn before an engine worker started it');

/**
 * A bounded pool of engine workers. Each worker loads its own models; a crashed worker is replaced and only
 * the request it held fails (WORKER_CRASHED).
 */
export class WorkerPool {
  private readonly slots: Slot[] = [];
  private readonly queue: Task[] = [];
  private nextId = 1;
  private closed = false;
  private engineInfo?: EngineInfo;

  private constructor(
    private readonly init: WorkerInit,
    private readonly queueSize: number,
  ) {}

  static async start(options: PoolOptions = {}): Promise<WorkerPool> {
    const size = options.size ?? Math.max(1, os.availableParallelism());
    const pool = new WorkerPool({ backend: options.backend ?? 'auto', modelsDir: options.modelsDir, limits: options.limits ?? DEFAULT_IMAGE_LIMITS }, options.queueSize ?? 64);
    try {
      await Promise.all(Array.from({ length: size }, () => pool.spawn()));
    } catch (err) {
      await pool.close();
      throw err;
    }
    return pool;
  }

  get size(): number {
    return this.slots.length;
  }

  /** Requests waiting for a worker. */
  get isClosed(): boolean {
    return this.closed;
  }

  get queueDepth(): number {
    return this.queue.length;
  }

  /** Workers running a request now. */
  get busy(): number {
    return this.slots.filter((s) => s.task).length;
  }

  /**
   * Fault-test hook: stops the worker that has held its request the longest, mid-request, as a crash would. The 'crash'
   * op cannot do this: it only reaches an idle worker. The usual exit path then fails that request with WORKER_CRASHED
   * and spawns a replacement. Resolves false when no worker is busy.
   */
  async killBusyWorker(): Promise<boolean> {
    const slot = this.slots.filter((s) => s.task).sort((a, b) => a.task!.id - b.task!.id)[0];
    if (!slot) return false;
    await slot.worker.terminate();
    return true;
  }

  get info(): EngineInfo {
    return this.engineInfo!;
  }

  /**
   * Runs one operation on the next free worker. Byte buffers are copied, so the caller keeps its own. When `signal`
   * aborts while the request still waits in the queue, it leaves the queue and fails with CANCELLED; a request a
   * worker has started runs to its end.
   */
  run<O extends Op>(op: O, payload: Payload<O>, signal?: AbortSignal): Promise<WorkerResults[O]> {
    if (this.closed) return Promise.reject(new FacerecError('POOL_CLOSED', 'The engine pool is closed'));
    if (signal?.aborted) return Promise.reject(cancelled());
    const busy = this.slots.every((s) => s.task);
    if (busy && this.queue.length >= this.queueSize) {
      return Promise.reject(new FacerecError('QUEUE_FULL', `The engine queue is full (${this.queueSize} waiting); retry later`, { queueSize: this.queueSize }));
    }
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      const withdraw = () => {
        const index = this.queue.indexOf(task);
        if (index < 0) return;
        this.queue.splice(index, 1);
        reject(cancelled());
      };
      const settle = <T>(fn: (value: T) => void) => (value: T) => {
        signal?.removeEventListener('abort', withdraw);
        fn(value);
      };
      const task: Task = { id, request: { id, op, ...payload } as WorkerRequest, resolve: settle(resolve as (v: unknown) => void), reject: settle(reject) };
      signal?.addEventListener('abort', withdraw, { once: true });
      this.queue.push(task);
      this.dispatch();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const task of this.queue.splice(0)) task.reject(new FacerecError('POOL_CLOSED', 'The engine pool is closed'));
    await Promise.all(this.slots.splice(0).map((s) => s.worker.terminate()));
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (slot.task || this.queue.length === 0) continue;
      const task = this.queue.shift()!;
      slot.task = task;
      slot.worker.postMessage(task.request);
    }
  }

  private spawn(): Promise<void> {
    return new Promise((resolve, reject) => {
      const worker = new Worker(WORKER_ENTRY.source, { workerData: this.init, eval: WORKER_ENTRY.eval });
      const slot: Slot = { worker };
      let ready = false;
      worker.on('message', (msg: WorkerStatus | WorkerResponse) => {
        if ('ready' in msg) {
          if (msg.ready) {
            ready = true;
            this.engineInfo ??= msg.info;
            this.slots.push(slot);
            this.dispatch();
            resolve();
          } else {
            reject(errorFromJSON(msg.error));
            void worker.terminate();
          }
          return;
        }
        const task = slot.task;
        slot.task = undefined;
        if (task && task.id === msg.id) {
          if (msg.ok) task.resolve(msg.result);
          else task.reject(errorFromJSON(msg.error));
        }
        this.dispatch();
      });
      worker.on('error', (err) => {
        if (!ready) reject(new FacerecError('MODEL_LOAD_FAILED', `Engine worker failed to start: ${err.message}`));
      });
      worker.on('exit', (code) => {
        const index = this.slots.indexOf(slot);
        if (index >= 0) this.slots.splice(index, 1);
        if (slot.task) {
          slot.task.reject(
            this.closed
              ? new FacerecError('POOL_CLOSED', 'The engine pool was closed while this request ran')
              : new FacerecError('WORKER_CRASHED', 'The engine worker handling this request crashed; retry it', { exitCode: code }),
          );
          slot.task = undefined;
        }
        if (!ready) {
          reject(new FacerecError('MODEL_LOAD_FAILED', `Engine worker exited with code ${code} before it was ready`));
          return;
        }
        // Replace the dead worker so that capacity recovers; queued requests wait for it.
        if (!this.closed) this.spawn().catch(() => this.failQueueIfEmpty());
      });
    });
  }

  private failQueueIfEmpty(): void {
    if (this.slots.length > 0) return;
    for (const task of this.queue.splice(0)) task.reject(new FacerecError('WORKER_CRASHED', 'No engine worker could be started'));
  }
}
