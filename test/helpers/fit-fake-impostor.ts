/** Writes test/fixtures/fake-models/impostor-model.json, the fake analyzer's impostor model: npx tsx test/helpers/fit-fake-impostor.ts */
import { writeFileSync } from 'node:fs';
import { fakeDescriptor, FAKE_DESCRIPTOR_MODEL_ID } from './fake-analyzer.js';
import { fitTail, percentiles } from '../../src/match/open-set.js';
import { euclidean } from '../../src/match/distance.js';
const faces: { id: string; d: number[] }[] = [];
for (let p = 0; p < 300; p++)
  for (let t = 0; t < 3; t++) faces.push({ id: `fit-${p}`, d: fakeDescriptor({ identity: `fit-${p}` }, `fit-${t}`) });
const imp: number[] = [],
  gen: number[] = [],
  imp2: number[] = [],
  gen2: number[] = [];
for (let i = 0; i < faces.length; i++)
  for (let j = i + 1; j < faces.length; j++) (faces[i]!.id === faces[j]!.id ? gen : imp).push(euclidean(faces[i]!.d, faces[j]!.d));
for (let i = 0; i < faces.length; i++)
  for (let p = 0; p < 300; p++) {
    const a = faces[p * 3]!,
      b = faces[p * 3 + 1]!;
    if (i === p * 3 || i === p * 3 + 1) continue;
    const d = (euclidean(faces[i]!.d, a.d) + euclidean(faces[i]!.d, b.d)) / 2;
    (faces[i]!.id === a.id ? gen2 : imp2).push(d);
  }
const entry = (i: number[], g: number[]) => {
  const { tail, range } = fitTail(i, [1e-5, 0.05]);
  return {
    tail: { mean: +tail.mean.toFixed(6), sd: +tail.sd.toFixed(6) },
    genuinePercentiles: percentiles(g).map((v) => +v.toFixed(4)),
    impostorDistances: i.length,
    fittedRange: range,
  };
};
const model = {
  descriptorModelId: FAKE_DESCRIPTOR_MODEL_ID,
  source: 'test/helpers/fake-analyzer.ts: 300 identities × 3 default photos (takes fit-0..2), fitted as scripts/fit-impostor.ts fits LFW',
  reductions: { min: entry(imp, gen), mean2: entry(imp2, gen2) },
};
writeFileSync(
  new URL('../fixtures/fake-models/impostor-model.json', import.meta.url),
  JSON.stringify(
    {
      about: 'The impostor model of the fake analyzer (test/medium), in models/impostor-model.json’s format',
      models: { [FAKE_DESCRIPTOR_MODEL_ID]: model },
    },
    null,
    2,
  ) + '\n',
);
console.log(model.reductions.min.tail, model.reductions.mean2.tail, model.reductions.min.genuinePercentiles[50]);
