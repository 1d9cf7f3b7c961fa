/** Locations of the shared test datasets (outside the repo) and of face-api's demo files. */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe } from 'vitest';

/** Absolute path of the datasets folder: FACEREC_DATASETS, else ../shared/datasets next to the repo. */
export const DATASETS_DIR = path.resolve(process.env.FACEREC_DATASETS ?? path.resolve(import.meta.dirname, '../../../shared/datasets'));

export const HAS_DATASETS = existsSync(DATASETS_DIR);

export const SKIP_DATASETS_REASON = `${DATASETS_DIR} not found (put the datasets in ../shared/datasets or set FACEREC_DATASETS)`;

/** Absolute path of a file or folder inside the datasets folder. */
export function dataset(...parts: string[]): string {
  return path.join(DATASETS_DIR, ...parts);
}

const warned = new Set<string>();

/** A describe block that is skipped, with one warning, when the datasets folder is absent. */
/** A file of face_recognition's k-NN example photos (train/<name>/…, test/…). */
export const KNN = (...parts: string[]): string => dataset('face-recognition-examples', 'knn_examples', ...parts);

export function describeWithDatasets(name: string, fn: () => void): void {
  if (!HAS_DATASETS && !warned.has(name)) {
    warned.add(name);
    console.warn(`skipping ${name}: ${SKIP_DATASETS_REASON}`);
  }
  describe.skipIf(!HAS_DATASETS)(name, fn);
}

// face-api has no "exports" map, so its package.json resolves directly.
const require = createRequire(import.meta.url);

/** Absolute path of @vladmandic/face-api's demo folder (sample images). */
export const FACE_API_DEMO = path.join(path.dirname(require.resolve('@vladmandic/face-api/package.json')), 'demo');
