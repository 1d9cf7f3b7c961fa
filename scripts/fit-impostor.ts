/**
 * Regenerates models/impostor-model.json, the impostor distance model that sets identify's threshold at a target
 * FPIR (src/match/open-set.ts), from descriptors saved by `facerec eval identify --save` (or `eval lfw --save`).
 * Fitted on the images of one pairs file only: by default LFW View 1's DevTrain side, so that DevTest stays held out.
 *
 *   npx tsx scripts/fit-impostor.ts [--descriptors .eval/lfw-view1.jsonl] [--pairs …/pairsDevTrain.txt] [--out models/impostor-model.json]
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config/index.js';
import { fitImpostorModel, measureUnitsFactor, pairsImages } from '../src/eval/impostor-fit.js';
import { parseLfwFile, type LfwImage } from '../src/eval/identification.js';
import { loadSubjects, shippedDescriptor } from '../src/eval/lfw-runner.js';
import { evalModelId } from '../src/eval/setup.js';

const { values } = parseArgs({
  options: {
    descriptors: { type: 'string', default: '.eval/lfw-view1.jsonl' },
    pairs: { type: 'string', default: '../shared/datasets/lfw-view1/pairsDevTrain.txt' },
    out: { type: 'string', default: 'models/impostor-model.json' },
  },
});

const subjects = await loadSubjects(values.descriptors);
const side = await pairsImages(values.pairs);
const images = [...side].map(parseLfwFile).filter((i): i is LfwImage => i !== null);
const descriptors = new Map(images.map((i) => [i.file, shippedDescriptor(subjects.get(i.file))]));
const modelId = await evalModelId(loadConfig());
const people = new Set(images.map((i) => i.name)).size;
const withFace = images.filter((i) => descriptors.get(i.file)).length;
const source =
  `LFW View 1, the ${images.length} images (${people} people; ${withFace} with a face) of ${path.basename(values.pairs)}, ` +
  `the descriptor model ${modelId} (FACEREC_DESCRIPTOR_MODEL); scripts/fit-impostor.ts`;
const model = measureUnitsFactor(fitImpostorModel(images, descriptors, modelId, source), images, descriptors);

// One file for every descriptor model: a refit replaces its own entry and keeps the others.
const file = existsSync(values.out)
  ? (JSON.parse(readFileSync(values.out, 'utf8')) as { models: Record<string, unknown> })
  : { models: {} };
const out = {
  about:
    'Impostor distance model per descriptor model id: the lower tail of a stranger’s distance to one enrolled unit ' +
    '(a face under min, a person’s closest two under mean2) as a normal fitted to its quantiles, and the genuine ' +
    'distances’ percentiles (0..100%). Sets identify’s threshold at FACEREC_TARGET_FPIR (src/match/open-set.ts).',
  models: { ...file.models, [modelId]: model },
};
writeFileSync(values.out, `${JSON.stringify(out, null, 2)}\n`);
for (const [reduction, r] of Object.entries(model.reductions))
  console.log(
    `${reduction}: ${r.impostorDistances} impostor distances, tail mean ${r.tail.mean} sd ${r.tail.sd} (p in ${r.fittedRange.map((p) => p.toExponential(1)).join('..')}), units factor ${r.unitsFactor}, genuine median ${r.genuinePercentiles[50]}`,
  );
console.log(`written to ${values.out} for ${modelId}`);
