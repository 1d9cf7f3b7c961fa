/**
 * The evaluation's worker entry: the production engine plus 'subject', every pipeline's descriptors of one LFW image,
 * and 'detect', the shipped detector's and plain face-api SSD's boxes on one photo.
 */
import { workerData } from 'node:worker_threads';
import { loadRuntime, type Runtime } from '../engine/backend.js';
import type { AnalyzeOptions } from '../engine/face-engine.js';
import { loadModels } from '../engine/models.js';
import type { WorkerInit } from '../engine/protocol.js';
import { hostEngine } from '../engine/worker-host.js';
import { decodeImage } from '../image/decode.js';
import type { PhotoDetections } from './detection.js';
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

// face-api's documented example threshold for SsdMobilenetv1Options; 0.5 is its default, the same pass filtered.
const PLAIN_MIN_SCORE = 0.3;

// `baseline: false` skips plain face-api (eval identify needs only the engine's descriptors).
await hostEngine({
  subject: async (engine, request) =>
    subjectDescriptors(
      engine,
      request.baseline === false ? null : await plainFaceApi(),
      request.bytes as Uint8Array,
      request.viaThumbnail === true,
    ),
  detect: async (engine, request): Promise<PhotoDetections> => {
    const bytes = request.bytes as Uint8Array;
    const detection = request.tuning as AnalyzeOptions['detection'];
    const shipped = await engine.analyzeBytes(bytes, { descriptors: false, ...(detection ? { detection } : {}) });
    // Plain face-api sees the photo as it is, whatever its size (its input is 512×512 anyway).
    const image = await decodeImage(bytes, engine.imageLimits);
    const found = await engine.plainDetections(image, PLAIN_MIN_SCORE);
    return {
      width: shipped.width,
      height: shipped.height,
      shipped: shipped.faces.map((f) => ({ box: f.box, score: f.score })),
      plain: found.map((c) => ({ box: c.box, score: c.score })),
    };
  },
});
