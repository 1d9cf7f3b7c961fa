/** What the evaluation commands need from the engine: a pool of workers, the descriptor space, the ROC plot. */
import { bulkQueueSize, imageLimits, type Config } from '../config/index.js';
import { DEFAULT_MODELS_DIR } from '../engine/models.js';
import { configuredModels } from '../service/context.js';
import { WorkerPool } from '../engine/pool.js';

import { createRequire } from 'node:module';
import path from 'node:path';
import { readImpostorModelFile } from './impostor-fit.js';
import type { ImpostorModel } from '../match/open-set.js';

export { renderRocPlot } from '../render/roc-plot.js';
export { renderOpenSetPlot } from '../render/open-set-plot.js';
export { renderReliabilityPlot } from '../render/reliability-plot.js';

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
    descriptorModel: config.descriptorModel,
    descriptorModelsDir: config.descriptorModelsDir,
    queueSize: bulkQueueSize(config, workers),
    entry,
  });
}

/** The evaluated descriptor model's id (FACEREC_DESCRIPTOR_MODEL), from the pool when one runs, else from the registry. */
export async function evalModelId(config: Config, pool?: WorkerPool): Promise<string> {
  if (pool) return pool.info.descriptorModelId;
  return (await configuredModels(config)).default.id;
}

/** The impostor model of `modelId`: from `file`, else the one shipped beside the model manifest. */
export function evalImpostorModel(config: Config, modelId: string, file?: string): Promise<ImpostorModel> {
  return readImpostorModelFile(file ?? path.join(config.modelsDir ?? DEFAULT_MODELS_DIR, 'impostor-model.json'), modelId);
}

/** The evaluated model's settings: its card's threshold and margin, or the configuration's overrides of them. */
export async function evalModelSettings(config: Config) {
  const card = (await configuredModels(config)).default;
  return {
    card,
    threshold: config.threshold ?? card.verifyThreshold,
    ambiguityMargin: config.ambiguityMargin ?? card.ambiguityMargin,
  };
}

/** The annotations of the detection benchmark's sets without boxes of their own, in the checkout. */
export const DEFAULT_BOXES_FILE = path.resolve(import.meta.dirname, '..', '..', 'test', 'fixtures', 'detection-boxes.json');

/** The LFW faces of the pasted-faces set (pasted-faces.ts), in the checkout. */
export const DEFAULT_PASTED_FACES_FILE = path.resolve(import.meta.dirname, '..', '..', 'test', 'fixtures', 'pasted-faces.json');

/** The gender labels of `facerec eval attributes`, labelled once by hand, in the checkout. */
export const DEFAULT_GENDER_LABELS_FILE = path.resolve(import.meta.dirname, '..', '..', 'test', 'fixtures', 'gender-labels.tsv');

/** face-api's demo folder (its sample photos); face-api has no "exports" map, so its package.json resolves. */
export const FACE_API_DEMO_DIR = path.join(
  path.dirname(createRequire(import.meta.url).resolve('@vladmandic/face-api/package.json')),
  'demo',
);
