/**
 * The engine side of a worker thread: one model set per thread, every request answered, errors included. The
 * production entry (worker.ts) serves the engine's own operations; an evaluation or a test entry adds its own.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { FacerecError } from '../errors.js';
import { FaceEngine } from './face-engine.js';
import { installGuard } from './native-guard.js';
import type { WorkerInit, WorkerResponse, WorkerStatus } from './protocol.js';

/** An operation beyond the engine's own: what the request carries besides its id and op, and the engine. */
export type ExtraOp = (engine: FaceEngine, request: Record<string, unknown>) => unknown;

function toErrorJSON(err: unknown) {
  if (err instanceof FacerecError) return err.toJSON();
  return { code: 'INTERNAL' as const, message: `Internal engine error: ${(err as Error)?.message ?? String(err)}` };
}

/** Loads the engine in this worker thread and answers the pool's requests until the thread ends. */
export async function hostEngine(extra: Record<string, ExtraOp> = {}): Promise<void> {
  const port = parentPort!;
  const init = workerData as WorkerInit;
  installGuard(init.guard);
  let engine: FaceEngine;
  try {
    engine = await FaceEngine.create({
      ...init.runtime,
      modelsDir: init.modelsDir,
      limits: init.limits,
      descriptorModel: init.descriptorModel,
      descriptorModelsDir: init.descriptorModelsDir,
    });
  } catch (err) {
    port.postMessage({ ready: false, error: toErrorJSON(err) } satisfies WorkerStatus);
    return;
  }
  const ops: Record<string, ExtraOp> = {
    ...extra,
    analyze: (e, req) => e.analyzeBytes(req.bytes as Uint8Array, req.options as Parameters<FaceEngine['analyzeBytes']>[1]),
    selfTest: (e) => e.selfTest(),
    // Diagnostics: what this worker's runtime holds (flat across requests, or a leak).
    memory: (e) => e.memory(),
  };
  port.on('message', async (req: { id: number; op: string } & Record<string, unknown>) => {
    let response: WorkerResponse;
    try {
      const op = ops[req.op];
      if (!op) throw new FacerecError('INVALID_ARGUMENT', `This engine worker has no operation '${req.op}'`, { op: req.op });
      response = { id: req.id, ok: true, result: await op(engine, req) };
    } catch (err) {
      response = { id: req.id, ok: false, error: toErrorJSON(err) };
    }
    port.postMessage(response);
  });
  const info = init.checkModels ? { ...engine.info(), unusableModels: await engine.checkModels() } : engine.info();
  port.postMessage({ ready: true, info } satisfies WorkerStatus);
}
