/** The evaluation's worker entry: the production engine plus 'subject', every pipeline's descriptors of one LFW image. */
import { workerData } from 'node:worker_threads';
import { loadRuntime, type Runtime } from '../engine/backend.js';
import { loadModels } from '../engine/models.js';
import type { WorkerInit } from '../engine/protocol.js';
import { hostEngine } from '../engine/worker-host.js';
import { subjectDescriptors } from './variants.js';

// Plain face-api, the baseline, runs on tfjs whatever runtime the engine uses.
let plain: Promise<Runtime> | undefined;
function plainFaceApi(): Promise<Runtime> {
  const init = workerData as WorkerInit;
  plain ??= loadRuntime(init.runtime.backend ?? 'auto').then(async (rt) => {
    await loadModels(rt, init.modelsDir);
    return rt;
  });
  return plain;
}

// `baseline: false` skips plain face-api (eval identify needs only the engine's descriptors).
await hostEngine({
  subject: async (engine, request) =>
    subjectDescriptors(engine, request.baseline === false ? null : await plainFaceApi(), request.bytes as Uint8Array),
});
