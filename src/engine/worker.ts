/** Worker entry: one model set per worker thread; every request is answered, errors included. */
import { parentPort, workerData } from 'node:worker_threads';
import { FacerecError } from '../errors.js';
import { FaceEngine } from './face-engine.js';
import type { WorkerInit, WorkerRequest, WorkerResponse, WorkerStatus } from './protocol.js';
import { subjectDescriptors } from './variants.js';

const port = parentPort!;
const init = workerData as WorkerInit;

function toErrorJSON(err: unknown) {
  if (err instanceof FacerecError) return err.toJSON();
  return { code: 'INTERNAL' as const, message: `Internal engine error: ${(err as Error)?.message ?? String(err)}` };
}

try {
  const engine = await FaceEngine.create({ backend: init.backend, modelsDir: init.modelsDir, limits: init.limits });
  port.on('message', async (req: WorkerRequest) => {
    let response: WorkerResponse;
    try {
      let result: unknown;
      if (req.op === 'analyze') result = await engine.analyzeBytes(req.bytes, req.options);
      else if (req.op === 'subject') result = await subjectDescriptors(engine, req.bytes);
      else if (req.op === 'selfTest') result = await engine.selfTest();
      else if (req.op === 'memory') result = engine.runtime.tf.memory();
      else process.exit(70); // 'crash': lets tests prove that the pool survives a dead worker
      response = { id: req.id, ok: true, result };
    } catch (err) {
      response = { id: req.id, ok: false, error: toErrorJSON(err) };
    }
    port.postMessage(response);
  });
  port.postMessage({ ready: true, info: engine.info() } satisfies WorkerStatus);
} catch (err) {
  port.postMessage({ ready: false, error: toErrorJSON(err) } satisfies WorkerStatus);
}
