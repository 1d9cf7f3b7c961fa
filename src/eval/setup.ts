/** What the evaluation commands need from the engine: a pool of workers, the descriptor space, the ROC plot. */
import { bulkQueueSize, imageLimits, type Config } from '../config/index.js';
import { DEFAULT_ANALYZE_OPTIONS, descriptorModelId } from '../engine/face-engine.js';
import { DEFAULT_MODELS_DIR, readManifest } from '../engine/models.js';
import { WorkerPool } from '../engine/pool.js';

import { createRequire } from 'node:module';
import path from 'node:path';
import { readImpostorModelFile } from './impostor-fit.js';
import type { ImpostorModel } from '../match/open-set.js';

export { renderRocPlot } from '../render/roc-plot.js';
export { renderOpenSetPlot } from '../render/open-set-plot.js';

/** Engine workers for an evaluation run (they also answer 'subject'); the queue is deep enough to keep every worker busy. */
export function evalPool(config: Config, workers: number): Promise<WorkerPool> {
  const limits = imageLimits(config);
  // Its own worker entry: the production engine plus the evaluation's 'subject' operation.
  const entry = new URL('./worker.js', import.meta.url);
  return WorkerPool.start({
    size: workers,
    runtime: config.runtime,
    modelsDir: config.modelsDir,
    limits,
    queueSize: bulkQueueSize(config, workers),
    entry,
  });
}

/** The shipped pipeline's descriptor model id, from the pool when one runs, else from the model manifest. */
export async function evalModelId(config: Config, pool?: WorkerPool): Promise<string> {
  if (pool) return pool.info.descriptorModelId;
  const manifest = await readManifest(config.modelsDir ?? DEFAULT_MODELS_DIR);
  return descriptorModelId(manifest.models.faceRecognitionNet.id, DEFAULT_ANALYZE_OPTIONS.align, DEFAULT_ANALYZE_OPTIONS.mirror);
}

/** The impostor model of `modelId`: from `file`, else the one shipped beside the model manifest. */
export function evalImpostorModel(config: Config, modelId: string, file?: string): Promise<ImpostorModel> {
  return readImpostorModelFile(file ?? path.join(config.modelsDir ?? DEFAULT_MODELS_DIR, 'impostor-model.json'), modelId);
}

/** The annotations of the detection benchmark's sets without boxes of their own, in the checkout. */
export const DEFAULT_BOXES_FILE = path.resolve(import.meta.dirname, '..', '..', 'test', 'fixtures', 'detection-boxes.json');

/** face-api's demo folder (its sample photos); face-api has no "exports" map, so its package.json resolves. */
export const FACE_API_DEMO_DIR = path.join(
  path.dirname(createRequire(import.meta.url).resolve('@vladmandic/face-api/package.json')),
  'demo',
);
