/** `facerec eval attributes`: age, gender and expression measured on every labelled set within reach. */
import { readFile, writeFile } from 'node:fs/promises';
import { SingleBar, Presets } from 'cli-progress';
import type { Config } from '../config/index.js';
import { FacerecError } from '../errors.js';
import {
  AGE_BANDS,
  ATTRIBUTE_CROP,
  ATTRIBUTE_CROPS,
  compareCrops,
  labelledPhotos,
  loadRun,
  measurePhotos,
  parseGenderLabels,
  savedRun,
  scoreCrop,
  YALE_EXPRESSIONS,
  type Accuracy,
  type CropComparison,
  type CropReport,
  type PhotoAttributes,
} from '../eval/attributes.js';
import { DEFAULT_GENDER_LABELS_FILE, evalPool, renderReliabilityPlot } from '../eval/setup.js';
import { readUserFile } from './files.js';

export interface EvalAttributesFlags {
  datasets: string;
  labels?: string;
  plot?: string;
  save?: string;
  load?: string;
  json?: boolean;
  workers: number;
}

const print = (text: string): void => {
  process.stdout.write(`${text}\n`);
};

const pct = (v: number, digits = 1) => `${(v * 100).toFixed(digits)}%`;
/** "93.1% [92.0–94.1] (n)" */
const acc = (a: Accuracy | undefined) =>
  !a || a.n === 0 ? '-' : `${pct(a.accuracy)} [${(a.ci[0] * 100).toFixed(1)}–${(a.ci[1] * 100).toFixed(1)}] (${a.n})`;

function progress() {
  if (!process.stderr.isTTY) return { start: (_n: number) => {}, update: (_d: number) => {}, stop: () => {} };
  const bar = new SingleBar(
    { format: 'attributes [{bar}] {value}/{total} {percentage}% eta {eta_formatted}', stream: process.stderr },
    Presets.shades_classic,
  );
  return { start: (n: number) => bar.start(n, 0), update: (d: number) => bar.update(d), stop: () => bar.stop() };
}

export async function evalAttributesCommand(config: Config, opts: EvalAttributesFlags): Promise<void> {
  const labelsFile = opts.labels ?? DEFAULT_GENDER_LABELS_FILE;
  await readUserFile(labelsFile);
  const photos = await labelledPhotos(opts.datasets, parseGenderLabels(await readFile(labelsFile, 'utf8')));
  if (photos.length === 0)
    throw new FacerecError(
      'FILE_NOT_FOUND',
      `No labelled set under ${opts.datasets} (yalefaces, lfw-view1, bbt, face-recognition-examples)`,
      {
        datasets: opts.datasets,
      },
    );
  const t0 = performance.now();
  let measured: PhotoAttributes[];
  if (opts.load) {
    await readUserFile(opts.load);
    measured = loadRun(opts.datasets, photos, await readFile(opts.load, 'utf8'));
  } else {
    const pool = await evalPool(config, opts.workers);
    const bar = progress();
    try {
      bar.start(photos.length);
      measured = await measurePhotos(pool, photos, (d) => bar.update(d));
    } finally {
      bar.stop();
      await pool.close();
    }
    if (opts.save) await writeFile(opts.save, savedRun(opts.datasets, photos, measured));
  }
  const seconds = (performance.now() - t0) / 1000;
  const reports = ATTRIBUTE_CROPS.map((crop) => scoreCrop(photos, measured, crop));
  const comparison = compareCrops(photos, measured, ATTRIBUTE_CROPS[0]!, ATTRIBUTE_CROPS[1]!);
  const shipped = reports.find((r) => r.crop === ATTRIBUTE_CROP)!;
  if (opts.plot) {
    const png = await renderReliabilityPlot(
      [
        { label: `gender (ECE ${shipped.gender.ece.toFixed(3)}, ${shipped.gender.overall.n} faces)`, bins: shipped.gender.reliability },
        {
          label: `expression (ECE ${shipped.expression.ece.toFixed(3)}, ${shipped.expression.overall.n} faces)`,
          bins: shipped.expression.reliability,
        },
      ],
      { title: `Reliability of the attribute probabilities (crop: ${shipped.crop})` },
    );
    await writeFile(opts.plot, png);
  }
  if (opts.json) return print(JSON.stringify({ shippedCrop: ATTRIBUTE_CROP, seconds, reports, comparison }, null, 2));
  printReport(reports, comparison, photos.length, seconds);
  if (opts.plot) print(`\nreliability plot written to ${opts.plot}`);
}

function printReport(reports: CropReport[], comparison: CropComparison, photos: number, seconds: number): void {
  const mapped = Object.entries(YALE_EXPRESSIONS)
    .map(([label, cls]) => (cls ? `${label}→${cls}` : `${label}→(none)`))
    .join(', ');
  print(`Face attributes on ${photos} labelled photos, ${seconds.toFixed(0)} s; crops: box (face-api's own), chip (dlib's aligned chip)`);
  print(`95% intervals by bootstrap over people (2,000 draws); ECE over 10 equal bins of the probability given to the answer.`);
  print('');
  print(`Expression, yalefaces (labels ${mapped}):`);
  print('crop | photos | no face | top-1 accuracy [95% CI] (n) | neutral | happy | sad | surprised | ECE');
  for (const r of reports) {
    const e = r.expression;
    print(
      [
        r.crop + (r.crop === ATTRIBUTE_CROP ? ' (shipped)' : ''),
        e.photos,
        e.noFace,
        acc(e.overall),
        ...(['neutral', 'happy', 'sad', 'surprised'] as const).map((c) => (e.byClass[c] ? pct(e.byClass[c]!.accuracy, 0) : '-')),
        e.ece.toFixed(3),
      ].join(' | '),
    );
  }
  print('');
  print('Gender (labelled by hand: test/fixtures/gender-labels.tsv):');
  print('crop | set | photos | no face | accuracy [95% CI] (n) | female | male | male − female [95% CI] | ECE');
  for (const r of reports) {
    const g = r.gender;
    const name = r.crop + (r.crop === ATTRIBUTE_CROP ? ' (shipped)' : '');
    print(
      [
        name,
        'all',
        g.photos,
        g.noFace,
        acc(g.overall),
        acc(g.byGender.female),
        acc(g.byGender.male),
        `${pct(g.gap.gap)} [${(g.gap.ci[0] * 100).toFixed(1)}–${(g.gap.ci[1] * 100).toFixed(1)}]`,
        g.ece.toFixed(3),
      ].join(' | '),
    );
    for (const [set, a] of Object.entries(g.bySet)) print([name, set, '', '', acc(a), '', '', '', ''].join(' | '));
  }
  const diff = ({ difference, ci }: CropComparison['gender']) =>
    `${(difference * 100).toFixed(2)} points [${(ci[0] * 100).toFixed(2)}, ${(ci[1] * 100).toFixed(2)}]`;
  print('');
  print(
    `${comparison.a} − ${comparison.b} on the same faces: gender ${diff(comparison.gender)}, expression ${diff(comparison.expression)}`,
  );
  const shipped = reports.find((r) => r.crop === ATTRIBUTE_CROP)!;
  print('');
  print(`Gender by the net's own age estimate (crop ${shipped.crop}; no set within reach labels age):`);
  print('age band | accuracy (n) | female | male');
  for (const band of AGE_BANDS) {
    const all = shipped.gender.byAgeBand[band.label];
    if (!all) continue;
    const by: Partial<Record<'female' | 'male', Accuracy>> = shipped.gender.byAgeBandAndGender[band.label] ?? {};
    print([band.label, acc(all), acc(by.female), acc(by.male)].join(' | '));
  }
  print('');
  print(`yalefaces label → face-api's answer (crop ${shipped.crop}):`);
  for (const [label, answers] of Object.entries(shipped.expression.confusion))
    print(
      `  ${label.padEnd(9)} ${Object.entries(answers)
        .sort((a, b) => b[1]! - a[1]!)
        .map(([e, n]) => `${e} ${n}`)
        .join(', ')}`,
    );
  print('');
  print('Age: uncalibrated, not measured here (no set within reach labels age).');
}
