/**
 * The evaluation's worker entry: the production engine plus 'subject', every pipeline's descriptors of one LFW image,
 * 'detect', the shipped detector's and plain face-api SSD's boxes on one photo, and 'attributes', the attributes of a
 * photo's subject with each crop.
 */
import { workerData } from 'node:worker_threads';
import { loadRuntime, type Runtime } from '../engine/backend.js';
import { ATTRIBUTE_NAMES } from '../core/face.js';
import { ATTRIBUTE_CROPS, WORKING_SIDE, type AnalyzeOptions, type AttributeCrop } from '../engine/face-engine.js';
import { loadModels } from '../engine/models.js';
import type { WorkerInit } from '../engine/protocol.js';
import { hostEngine } from '../engine/worker-host.js';
import { decodeImage } from '../image/decode.js';
import type { PhotoAttributes } from './attributes.js';
import type { PhotoDetections } from './detection.js';
import { nearestCentre, subjectDescriptors } from './variants.js';

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
  // The face nearest the centre (the LFW protocol's subject), its attributes with face-api's crop and dlib's chip.
  attributes: async (engine, request): Promise<PhotoAttributes> => {
    const image = await decodeImage(request.bytes as Uint8Array, engine.imageLimits, { maxSide: WORKING_SIDE });
    const { faces } = await engine.analyze(image, { descriptors: false });
    const subject = nearestCentre(faces, (f) => f.box, image.width, image.height);
    if (!subject) return { faces: 0, byCrop: null };
    const byCrop = {} as NonNullable<PhotoAttributes['byCrop']>;
    for (const crop of ATTRIBUTE_CROPS as AttributeCrop[])
      byCrop[crop] = (await engine.attributesOf(image, [subject.landmarks], new Set(ATTRIBUTE_NAMES), crop))[0]!;
    return { faces: faces.length, byCrop };
  },
});
