import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { SingleBar, Presets } from 'cli-progress';
import { bulkQueueSize, type Config } from '../config/index.js';
import { attributesText } from '../core/face.js';
import { FacerecError } from '../errors.js';
import {
  runIdentificationEval,
  type IdentificationEvalResult,
  type IdentificationRates,
  type SplitResult,
} from '../eval/identification.js';
import {
  annotatedPhotos,
  FACE_FREE_PREFIX,
  falsePer100Mp,
  largePhotos,
  LARGE_SIDE,
  MATCH_IOU,
  PIPELINES,
  precision,
  recall,
  runDetectionEval,
  type DetectionEvalResult,
  type DetectionTuning,
} from '../eval/detection.js';
import { faceFreePhotos } from '../eval/face-free.js';
import { pastedFacePhotos } from '../eval/pasted-faces.js';
import { pairsImages } from '../eval/impostor-fit.js';
import type { Spread } from '../eval/open-set-sweep.js';
import { runLfwEval } from '../eval/lfw-runner.js';
import {
  DEFAULT_BOXES_FILE,
  DEFAULT_PASTED_FACES_FILE,
  FACE_API_DEMO_DIR,
  evalImpostorModel,
  evalModelId,
  evalModelSettings,
  evalPool,
  renderOpenSetPlot,
  renderRocPlot,
} from '../eval/setup.js';
import { DEFAULT_TOP_K } from '../service/identify.service.js';
import { compare, CompareInput } from '../service/compare.service.js';
import { databaseTarget, openAnalyzer, openFacerec, type Facerec } from '../service/context.js';
import { listModels } from '../service/models.service.js';
import { detect, DetectInput, DetectorInput, engineReport, type Detection } from '../service/detect.service.js';
import { drawDetections } from '../service/draw.service.js';
import { withWarnings, type PhotoWarning } from '../service/warnings.js';
import { readUserFile } from './files.js';
import { parseOptions } from './options.js';

/** --detector and --min-score, as commander gives them (the default is a number), parsed by DetectorInput. */
interface DetectorFlags {
  detector?: string;
  minScore?: string | number;
}

const print = (text: string): void => {
  process.stdout.write(`${text}\n`);
};

/** A progress bar on a TTY; silent otherwise so that piped output stays clean. */
function progress(label: string) {
  if (!process.stderr.isTTY) return { start: (_total: number) => {}, update: (_done: number) => {}, stop: () => {} };
  const bar = new SingleBar(
    { format: `${label} [{bar}] {value}/{total} {percentage}% eta {eta_formatted}`, stream: process.stderr },
    Presets.shades_classic,
  );
  return { start: (total: number) => bar.start(total, 0), update: (done: number) => bar.update(done), stop: () => bar.stop() };
}

export async function modelsCommand(config: Config, opts: { json?: boolean }): Promise<void> {
  // One engine worker loads and tries every model, as a server does at start, so that the list says which cannot run.
  const analyzer = await openAnalyzer(config, { workers: 1 });
  let rows;
  try {
    rows = listModels({ analyzer });
  } finally {
    await analyzer.close();
  }
  if (opts.json) return print(JSON.stringify(rows, null, 2));
  for (const m of rows) {
    print(`${m.default ? '*' : ' '} ${m.name.padEnd(16)} ${String(m.dims).padStart(4)}-d ${m.metric.padEnd(9)} ${m.id}`);
    print(`  ${''.padEnd(16)} ${m.source}${m.shipped ? '' : ' (brought by you)'}`);
    if (m.unusableReason) print(`  ${''.padEnd(16)} UNUSABLE: ${m.unusableReason}`);
  }
}

export async function infoCommand(config: Config, opts: { json?: boolean }): Promise<void> {
  // A real analysis of the known photo: an image build that runs `facerec info` fails here on a broken engine.
  const info = await engineReport(config);
  if (opts.json) return print(JSON.stringify(info, null, 2));
  print(
    `runtime      ${info.runtime} (${info.runtime === 'onnx' ? 'provider' : 'backend'} ${info.backend}, ${info.threads} thread${info.threads === 1 ? '' : 's'} per worker)`,
  );
  print(`precision    ${info.precision}${info.runtime === 'onnx' ? ' (FACEREC_PRECISION; int8 where models/ has an int8 graph)' : ''}`);
  print(`ssd input    ${info.ssdInput === 'sized' ? 'sized to the photo (FACEREC_SSD_INPUT)' : '512x512'}`);
  for (const [name, version] of Object.entries(info.versions)) print(`${name.padEnd(12)} ${version}`);
  for (const [net, id] of Object.entries(info.models)) print(`model        ${net.padEnd(20)} ${id}`);
  print(`descriptors  ${info.descriptorModel} (${info.descriptorModelId})`);
  print(`self-test    passed in ${info.selfTest.ms} ms`);
}

function faceJson(face: Detection['faces'][number]) {
  return {
    box: face.box,
    score: face.score,
    quality: face.quality,
    ...(face.reason ? { reason: face.reason } : {}),
    ...(face.landmarks ? { landmarks: face.landmarks } : {}),
    ...(face.attributes ? { attributes: face.attributes } : {}),
  };
}

/** A one-shot command's analyzer: the engine on this thread, closed when `fn` ends. */
async function withAnalyzer<T>(
  config: Config,
  fn: (ctx: { analyzer: Awaited<ReturnType<typeof openAnalyzer>>; config: Config }) => Promise<T>,
  workers = 0,
): Promise<T> {
  const analyzer = await openAnalyzer(config, { workers, queueSize: bulkQueueSize(config, workers) });
  try {
    return await fn({ analyzer, config });
  } finally {
    await analyzer.close();
  }
}

export async function detectCommand(
  config: Config,
  image: string,
  opts: DetectorFlags & { json?: boolean; landmarks?: boolean; attributes?: string },
): Promise<void> {
  const input = parseOptions(
    DetectInput.extend(DetectorInput.shape),
    { detector: opts.detector, minScore: opts.minScore, includeLandmarks: opts.landmarks, attributes: opts.attributes },
    { includeLandmarks: '--landmarks' },
  );
  const bytes = await readUserFile(image);
  const detection = await withAnalyzer(config, (ctx) => detect(ctx, bytes, input));
  if (opts.json)
    return print(
      JSON.stringify({
        width: detection.width,
        height: detection.height,
        faces: detection.faces.map(faceJson),
        ...withWarnings(detection.warnings ?? []),
      }),
    );
  print(`${image}: ${detection.width}x${detection.height}, ${detection.faces.length} face(s)`);
  printWarnings(detection.warnings);
  detection.faces.forEach((f, i) => {
    const q = f.quality;
    print(
      `  #${i + 1} box [${f.box.join(', ')}] score ${f.score.toFixed(3)} size ${q.size}px${f.reason ? ` (${f.reason})` : ''} sharpness ${q.sharpness} yaw ${q.yaw}° roll ${q.roll}°${f.attributes ? `  ${attributesText(f.attributes)}` : ''}`,
    );
  });
}

export async function compareCommand(
  config: Config,
  a: string,
  b: string,
  opts: { json?: boolean; threshold?: string | number; largestFace?: boolean; model?: string },
): Promise<void> {
  const input = parseOptions(CompareInput, { threshold: opts.threshold, largestFace: opts.largestFace, model: opts.model });
  const [bytesA, bytesB] = await Promise.all([readUserFile(a), readUserFile(b)]);
  const result = await withAnalyzer(config, (ctx) => compare(ctx, bytesA, bytesB, { ...input, names: [a, b] }));
  if (opts.json)
    return print(
      JSON.stringify({
        match: result.match,
        distance: result.distance,
        threshold: result.threshold,
        model: result.model,
        boxes: result.boxes,
        facesInPhotos: result.facesInPhotos,
        ...withWarnings(result.warnings ?? []),
      }),
    );
  const largest = [a, b].flatMap((name, i) =>
    result.facesInPhotos[i]! > 1 ? [`the largest of ${result.facesInPhotos[i]} faces in ${name}`] : [],
  );
  print(
    `${result.match ? 'same person' : 'different people'}: distance ${result.distance.toFixed(4)} (threshold ${result.threshold})${largest.length ? `; compared ${largest.join(' and ')}` : ''}`,
  );
  printWarnings(result.warnings);
}

/** A photo used only in part, said under the answer as enroll says its warnings. */
export function printWarnings(warnings: readonly PhotoWarning[] | undefined): void {
  for (const w of warnings ?? []) print(`  warning ${w.code}: ${w.message}`);
}

export async function annotateCommand(
  config: Config,
  image: string,
  opts: DetectorFlags & { out: string; landmarks: boolean; attributes?: string },
): Promise<void> {
  const detector = parseOptions(DetectorInput.extend({ attributes: DetectInput.shape.attributes }), {
    detector: opts.detector,
    minScore: opts.minScore,
    attributes: opts.attributes,
  });
  const bytes = await readUserFile(image);
  const ext = path.extname(opts.out).toLowerCase();
  if (!['.jpg', '.jpeg', '.png'].includes(ext))
    throw new FacerecError('INVALID_ARGUMENT', `--out must end in .jpg, .jpeg or .png, not '${ext || opts.out}'`);
  const drawn = await withAnalyzer(config, (ctx) =>
    drawDetections(ctx, bytes, {
      ...detector,
      landmarks: opts.landmarks,
      format: ext === '.png' ? 'png' : 'jpeg',
    }),
  );
  await writeFile(opts.out, drawn.image);
  print(`${opts.out}: ${drawn.faces} face(s) drawn`);
}

export async function embedCommand(config: Config, opts: { root: string; list: string; out: string; workers: number }): Promise<void> {
  await readUserFile(opts.list);
  const files: string[] = [];
  for await (const line of createInterface({ input: createReadStream(opts.list) })) if (line.trim()) files.push(line.trim());
  const analyzer = await openAnalyzer(config, { workers: opts.workers, queueSize: bulkQueueSize(config, opts.workers) });
  const out = createWriteStream(opts.out);
  const bar = progress('embed');
  bar.start(files.length);
  let next = 0,
    done = 0,
    failed = 0;
  const results = new Map<number, string>();
  let written = 0;
  // Lines are written in list order although workers finish out of order.
  const flush = () => {
    while (results.has(written)) {
      out.write(results.get(written)!);
      results.delete(written++);
    }
  };
  try {
    await Promise.all(
      Array.from({ length: Math.max(1, analyzer.status().workers) * 2 }, async () => {
        while (next < files.length) {
          const index = next++;
          const f = files[index]!;
          let line: Record<string, unknown>;
          try {
            const a = await analyzer.analyze(await readFile(path.join(opts.root, f)));
            line = {
              f,
              w: a.width,
              h: a.height,
              model: a.descriptorModelId,
              faces: a.faces.map((x) => ({ box: x.box, score: x.score, quality: x.quality, descriptor: x.descriptor })),
            };
          } catch (err) {
            failed++;
            const code = err instanceof FacerecError ? err.code : 'INTERNAL';
            line = { f, w: 0, h: 0, faces: [], error: { code, message: (err as Error).message } };
          }
          results.set(index, `${JSON.stringify(line)}\n`);
          flush();
          bar.update(++done);
        }
      }),
    );
  } finally {
    bar.stop();
    await analyzer.close();
    await new Promise<void>((resolve) => out.end(resolve));
  }
  process.stderr.write(
    `${files.length} image(s) embedded into ${opts.out}${failed ? `, ${failed} unreadable (see "error" in their lines)` : ''}\n`,
  );
}

const pct = (v: number) => `${(v * 100).toFixed(2)}%`;

export async function evalLfwCommand(
  config: Config,
  opts: {
    pairs: string;
    root: string;
    train?: string;
    plot?: string;
    save?: string;
    load?: string;
    baseline?: boolean;
    viaThumbnail?: boolean;
    json?: boolean;
    workers: number;
  },
): Promise<void> {
  await readUserFile(opts.pairs);
  if (opts.train) await readUserFile(opts.train);
  const pool = opts.load ? undefined : await evalPool(config, opts.workers);
  const model = await evalModelSettings(config);
  const bar = progress('eval');
  const t0 = performance.now();
  let result;
  try {
    result = await runLfwEval({
      ...opts,
      threshold: model.threshold,
      pool,
      onStart: (n) => bar.start(n),
      onProgress: (d) => bar.update(d),
    });
  } finally {
    bar.stop();
    await pool?.close();
  }
  const seconds = (performance.now() - t0) / 1000;
  if (opts.plot) {
    const png = await renderRocPlot(
      result.pipelines.map((p) => ({ label: `${p.name}: ${pct(p.report.accuracy)}`, points: p.report.roc })),
      { title: `LFW ${path.basename(opts.pairs)}` },
    );
    await writeFile(opts.plot, png);
  }
  if (opts.json) {
    return print(
      JSON.stringify(
        { ...result, seconds, pipelines: result.pipelines.map((p) => ({ ...p, report: { ...p.report, roc: undefined } })) },
        null,
        2,
      ),
    );
  }
  const source = opts.load ? `descriptors loaded from ${opts.load}` : `${seconds.toFixed(0)} s`;
  print(
    `LFW ${path.basename(opts.pairs)}${opts.train ? `, threshold chosen on ${path.basename(opts.train)}` : ''}: ${result.images} images, ${source}, descriptor model ${result.model}`,
  );
  if (result.unreadable.length) print(`unreadable images: ${result.unreadable.length} (${result.unreadable.slice(0, 5).join(', ')})`);
  print(
    `${'pipeline'.padEnd(44)} ${'accuracy'.padStart(9)} ${'TAR@0.1%'.padStart(9)} ${'TAR@1%'.padStart(8)} ${'no face'.padStart(8)} ${'pairs w/o'.padStart(9)} ${'threshold'.padStart(9)}`,
  );
  for (const p of result.pipelines) {
    const r = p.report;
    const acc = r.foldStd !== undefined ? `${pct(r.accuracy)}±${pct(r.foldStd)}` : pct(r.accuracy);
    print(
      `${(p.name + (p.shipped ? ' *' : '')).padEnd(44)} ${acc.padStart(9)} ${pct(r.tarAtFar001).padStart(9)} ${pct(r.tarAtFar01).padStart(8)} ${String(p.imagesWithoutFace).padStart(8)} ${String(r.pairsMissingFace).padStart(9)} ${r.threshold.toFixed(4).padStart(9)}`,
    );
  }
  const shipped = result.pipelines.find((p) => p.shipped)!;
  print(
    `* shipped pipeline of ${model.card.name}; suggested threshold ${shipped.report.threshold.toFixed(4)}; at its configured threshold ${model.threshold} its accuracy is ${pct(shipped.accuracyAtConfigured)}`,
  );
  if (opts.plot) print(`ROC plot written to ${opts.plot}`);
}

const IDENTIFY_COLUMNS: Array<[label: string, width: number, value: (r: IdentificationRates) => string]> = [
  ['rank-1', 8, (r) => pct(r.rank1)],
  ['DIR', 8, (r) => pct(r.dir)],
  ['mis-id', 7, (r) => pct(r.misidentification)],
  ['FNIR', 7, (r) => pct(r.fnir)],
  ['FPIR', 7, (r) => pct(r.fpir)],
  ['amb mated', 10, (r) => pct(r.ambiguousMated)],
  ['amb non-m', 10, (r) => pct(r.ambiguousNonMated)],
];

function printSplit(split: SplitResult, threshold: number): void {
  const { people, probes } = split;
  const photos = split.photosPerPerson === 1 ? '1 photo' : `${split.photosPerPerson} photos`;
  print('');
  print(`Split ${split.split}: ${photos} enrolled per person (the lowest-numbered)`);
  print(
    `  ${people.enrolled} people enrolled` +
      (people.notEnrolled.length
        ? `, ${people.notEnrolled.length} not (a gallery photo without a face: ${people.notEnrolled.join(', ')}; their ${probes.ofNotEnrolled} other photo(s) left out)`
        : '') +
      (people.leftOut
        ? `, ${people.leftOut} people with ${split.photosPerPerson === 2 ? 'exactly 2' : `2 to ${split.photosPerPerson}`} images left out (too few to enrol and probe)`
        : ''),
  );
  print(
    `  ${probes.mated} mated probes (${probes.matedWithoutFace} without a face: misses), ${probes.nonMated} non-mated probes (${probes.nonMatedWithoutFace} without a face)`,
  );
  print(
    `  enrolled in ${split.seconds.enroll.toFixed(1)} s, ${probes.mated + probes.nonMated} probes searched in ${split.seconds.search.toFixed(1)} s`,
  );
  print(
    `  ${'reduction'.padEnd(10)} ${'at'.padEnd(11)} ${'threshold'.padStart(9)} ${IDENTIFY_COLUMNS.map(([label, w]) => label.padStart(w)).join(' ')}`,
  );
  for (const r of split.reductions) {
    const rows: Array<[string, number, IdentificationRates]> = [
      ['configured', threshold, r.atThreshold],
      ...r.atFpir.map((p): [string, number, IdentificationRates] => [`FPIR ${p.targetFpir * 100}%`, p.threshold, p.rates]),
    ];
    for (const [at, t, rates] of rows) {
      print(
        `  ${r.reduction.padEnd(10)} ${at.padEnd(11)} ${t.toFixed(4).padStart(9)} ${IDENTIFY_COLUMNS.map(([, w, value]) => value(rates).padStart(w)).join(' ')}`,
      );
    }
  }
  if (split.photosPerPerson === 1)
    print(
      '  min and mean2 are equal here: with one face per person the mean of the closest two is the closest; only split B can tell them apart',
    );
}

export interface EvalIdentifyFlags {
  root: string;
  load?: string;
  save?: string;
  db?: string;
  json?: boolean;
  workers: number;
  splits?: boolean;
  sizes: string;
  draws: number;
  evalPairs?: string;
  cohortPairs?: string;
  impostorModel?: string;
  targetFpir?: number;
  minGalleryPeople?: number;
  plot?: string;
}

const plusMinus = (s: Spread, digits = 2) => `${(s.mean * 100).toFixed(digits)}±${(s.sd * 100).toFixed(digits)}`;

function printSweep(sweep: NonNullable<IdentificationEvalResult['sweep']>, flags: EvalIdentifyFlags, fixed: number, targetFpir: number) {
  print('');
  print(
    `Gallery sizes: ${sweep.images} images${flags.evalPairs ? ` of ${path.basename(flags.evalPairs)}` : ''}, ` +
      `random galleries (mean±sd over the draws, %), strangers = every image of a person not enrolled; exact search in memory`,
  );
  print(
    `fixed: the model's 1:1 threshold ${fixed}. rule: FPIR target ${targetFpir * 100}% (FACEREC_TARGET_FPIR), threshold from the gallery's ` +
      `size (and its own distances once it is large enough). best: the sweep's best DIR at FPIR ≤ the rule's (it knows the answers).`,
  );
  const head = [
    'photos',
    'people',
    'draws',
    'fixed FPIR',
    'fixed DIR',
    'threshold (source)',
    'rule FPIR',
    'pooled (false matches / strangers)',
    'one draw ± noise',
    'rule DIR',
    'best DIR',
    'mis-id',
    'amb m/nm',
    'no-margin FPIR/DIR',
  ];
  print(head.join(' | '));
  for (const r of sweep.results) {
    const sources = Object.entries(r.rule.sources)
      .map(([k, n]) => (r.draws > 1 ? `${k} ×${n}` : k))
      .join(', ');
    print(
      [
        r.photosPerPerson,
        r.label,
        r.draws,
        plusMinus(r.fixed.fpir),
        plusMinus(r.fixed.dir),
        `${r.rule.threshold.mean.toFixed(4)}±${r.rule.threshold.sd.toFixed(4)} (${sources})`,
        plusMinus(r.rule.fpir),
        `${((100 * r.rule.falseMatches) / Math.max(1, r.rule.strangers)).toFixed(2)} (${r.rule.falseMatches}/${r.rule.strangers})`,
        `±${(r.strangerNoise * 100).toFixed(2)} (${Math.round(r.nonMatedProbes.mean)})`,
        plusMinus(r.rule.dir),
        plusMinus(r.bestAtRuleFpir),
        plusMinus(r.rule.misidentification),
        `${plusMinus(r.rule.ambiguousMated)} / ${plusMinus(r.rule.ambiguousNonMated)}`,
        `${plusMinus(r.noMargin.fpir)} / ${plusMinus(r.noMargin.dir)}`,
      ].join(' | '),
    );
  }
  const shipped = sweep.results.filter((r) => r.rule.sources['gallery-calibrated']);
  if (shipped.length) {
    print('');
    print('Where the gallery calibrated itself, the shipped tail alone gave (threshold, FPIR, DIR):');
    for (const r of shipped)
      print(
        `  ${r.photosPerPerson} photo(s), ${r.label}: ${r.shippedTail.threshold.mean.toFixed(4)}, ${plusMinus(r.shippedTail.fpir)}, ${plusMinus(r.shippedTail.dir)}`,
      );
  }
  const z = sweep.results.filter((r) => r.zNorm);
  if (z.length) {
    print('');
    print(
      `Z-norm against a cohort of ${sweep.cohort} faces of other people: the sweep's best DIR at FPIR ≤ ${targetFpir * 100}%, margin 0 (raw → normalised)`,
    );
    for (const r of z) print(`  ${r.photosPerPerson} photo(s), ${r.label}: ${plusMinus(r.zNorm!.raw)} → ${plusMinus(r.zNorm!.normalised)}`);
  }
}

export async function evalIdentifyCommand(config: Config, opts: EvalIdentifyFlags): Promise<void> {
  if (opts.load) await readUserFile(opts.load);
  const sizes = opts.sizes.split(',').map((s) => (s.trim() === 'all' ? ('all' as const) : Number(s)));
  if (sizes.some((s) => s !== 'all' && !(Number.isInteger(s) && s > 0)))
    throw new FacerecError('INVALID_ARGUMENT', `--sizes takes positive whole numbers and 'all', separated by commas; got ${opts.sizes}`);
  const targetFpir = opts.targetFpir ?? config.targetFpir;
  const fixed = (await evalModelSettings(config)).threshold;
  const pool = opts.load ? undefined : await evalPool(config, opts.workers);
  let facerec: Facerec | undefined;
  let bar: ReturnType<typeof progress> | undefined;
  let result: IdentificationEvalResult;
  try {
    // The descriptors' model, stored with the enrolled faces as the service does.
    const modelId = await evalModelId(config, pool);
    const settings = await evalModelSettings(config);
    // Without a model (before scripts/fit-impostor.ts has made one) there is no rule to sweep; --save still works.
    const model = await evalImpostorModel(config, modelId, opts.impostorModel).catch((err: Error) => {
      if (opts.impostorModel) throw err;
      process.stderr.write(`no impostor model, so no gallery-size sweep: ${err.message}\n`);
      return undefined;
    });
    if (opts.db) facerec = await openFacerec(config, { db: databaseTarget(config, opts.db), workers: 'none' });
    result = await runIdentificationEval({
      root: opts.root,
      ...(opts.load ? { load: opts.load } : {}),
      ...(opts.save ? { save: opts.save } : {}),
      ...(pool ? { pool } : {}),
      ...(facerec ? { db: facerec.db } : {}),
      splits: opts.splits !== false,
      sweep: model && {
        model,
        reduction: config.reduction,
        targetFpir,
        fixedThreshold: settings.threshold,
        ambiguityMargin: settings.ambiguityMargin,
        topK: DEFAULT_TOP_K,
        sizes,
        draws: opts.draws,
        ...(opts.minGalleryPeople !== undefined ? { minPeopleForGallery: opts.minGalleryPeople } : {}),
        ...(opts.evalPairs ? { images: await pairsImages(opts.evalPairs) } : {}),
        ...(opts.cohortPairs ? { cohort: await pairsImages(opts.cohortPairs) } : {}),
        onGallery: (label) => {
          if (!opts.json && process.stderr.isTTY) process.stderr.write(`\r${label.padEnd(60)}`);
        },
      },
      threshold: settings.threshold,
      ambiguityMargin: settings.ambiguityMargin,
      efSearch: config.efSearch,
      modelId,
      dims: settings.card.output.dims,
      onPhase: (label, total) => {
        bar?.stop();
        bar = progress(label);
        bar.start(total);
      },
      onProgress: (done) => bar?.update(done),
    });
  } finally {
    bar?.stop();
    await pool?.close();
    await facerec?.close();
  }
  if (opts.plot && result.sweep) {
    const series = [1, 2].flatMap((photos) =>
      (['fixed', 'rule'] as const).map((rule) => ({
        label: `${rule === 'fixed' ? `fixed ${fixed}` : `FPIR ${targetFpir * 100}% rule`}, ${photos} photo${photos > 1 ? 's' : ''}`,
        dashed: photos === 2,
        points: result
          .sweep!.results.filter((r) => r.photosPerPerson === photos)
          .map((r) => ({ size: r.size, fpir: r[rule].fpir.mean, dir: r[rule].dir.mean })),
      })),
    );
    await writeFile(
      opts.plot,
      await renderOpenSetPlot(
        series.filter((s) => s.points.length > 0),
        { title: 'LFW View 1 open-set identification by gallery size', targetFpir },
      ),
    );
  }
  if (opts.json) return print(JSON.stringify(result, null, 2));

  const source = opts.load ? `descriptors loaded from ${opts.load}` : `descriptors computed in ${result.seconds.descriptors.toFixed(0)} s`;
  print(`LFW open-set identification: ${source}; ${result.seconds.total.toFixed(1)} s in all`);
  if (result.unreadable.length)
    print(`unreadable images (counted as without a face): ${result.unreadable.length} (${result.unreadable.slice(0, 5).join(', ')})`);
  if (result.sweep) printSweep(result.sweep, opts, fixed, targetFpir);
  if (opts.plot) print(`plot written to ${opts.plot}`);
  if (!result.splits || !result.database) return;

  print('');
  const where = opts.db ? `${result.database.kind} ${result.database.location}` : `${result.database.kind} in a temporary directory`;
  print(`Through the store: ${result.images} images (${result.imagesWithoutFace} without a face); ${where}`);
  if (result.ignoredFiles) print(`${result.ignoredFiles} file(s) not named Name/Name_NNNN.jpg were left out`);
  print(
    `threshold ${result.threshold} (FACEREC_THRESHOLD), ambiguity margin ${result.ambiguityMargin} (FACEREC_AMBIGUITY_MARGIN), ` +
      `${result.neighbours} nearest faces per probe, reduction in use: ${config.reduction} (FACEREC_REDUCTION)`,
  );
  for (const split of result.splits) printSplit(split, result.threshold!);
  print('');
  print(
    'rank-1: closest person right, whatever the threshold. DIR: matched to the right person. mis-id: matched to a wrong one. FNIR = 1 − DIR.',
  );
  print('FPIR: a never-enrolled person matched to anyone. amb: ambiguous (two people within the margin), reported as Unknown.');
  const b = result.splits.find((s) => s.photosPerPerson === 2);
  if (b) {
    const verdict = (c: SplitResult['comparison']['atFpir1']) =>
      `${c.better ?? 'neither'}${c.better ? ' is better' : ' (a tie)'} (DIR min ${pct(c.min)}, mean2 ${pct(c.mean2)}; ` +
      `${c.onlyMin} probe(s) right only with min, ${c.onlyMean2} only with mean2, McNemar p = ${c.pValue.toFixed(2)}${c.pValue >= 0.05 ? ', not significant' : ''})`;
    const fpir = (r: SplitResult['reductions'][number]) => `${r.reduction} ${pct(r.atThreshold.fpir)}`;
    print(
      `Split B, by DIR: at FPIR 1% ${verdict(b.comparison.atFpir1)}; at the configured threshold ${result.threshold} ${verdict(b.comparison.atThreshold)}, FPIR ${b.reductions.map(fpir).join(', ')}`,
    );
  }
}

export interface EvalDetectFlags {
  datasets: string;
  boxes?: string;
  large?: boolean;
  faceFree?: boolean;
  wallpapers?: string[];
  misses?: boolean;
  tuning?: string;
  json?: boolean;
  workers: number;
}

const fixed = (v: number, digits = 3) => v.toFixed(digits);

export async function evalDetectCommand(config: Config, opts: EvalDetectFlags): Promise<void> {
  const boxesFile = opts.boxes ?? DEFAULT_BOXES_FILE;
  let tuning: Partial<DetectionTuning> | undefined;
  try {
    tuning = opts.tuning ? (JSON.parse(opts.tuning) as Partial<DetectionTuning>) : undefined;
  } catch {
    throw new FacerecError('INVALID_ARGUMENT', `--tuning takes a JSON object, such as '{"confirm": false}'; got ${opts.tuning}`);
  }
  await readUserFile(boxesFile);
  const native = await annotatedPhotos({ datasets: opts.datasets, boxesFile, demoDir: FACE_API_DEMO_DIR });
  const photos = opts.large === false ? [...native] : [...native, ...(await largePhotos(native))];
  if (opts.large !== false) {
    const lfwRoot = path.join(opts.datasets, 'lfw-view1', 'images');
    if (existsSync(lfwRoot)) photos.push(...(await pastedFacePhotos({ lfwRoot, boxesFile: DEFAULT_PASTED_FACES_FILE })));
    else process.stderr.write(`${lfwRoot} is missing: measured without the photos of LFW faces pasted on textures\n`);
  }
  const annotated = photos.length;
  if (opts.faceFree !== false) {
    const faceFree = await faceFreePhotos({ datasets: opts.datasets, ...(opts.wallpapers ? { wallpaperDirs: opts.wallpapers } : {}) });
    for (const m of faceFree.missing) process.stderr.write(`face-free set: ${m}; measured without it\n`);
    photos.push(...faceFree.photos);
  }
  const pool = await evalPool(config, opts.workers);
  const bar = progress('detect');
  let result: DetectionEvalResult;
  try {
    result = await runDetectionEval({ pool, photos, tuning, onStart: (n) => bar.start(n), onProgress: (d) => bar.update(d) });
  } finally {
    bar.stop();
    await pool.close();
  }
  if (opts.json) {
    return print(
      JSON.stringify(
        {
          ...result,
          photos: result.photos.map((r) => ({ set: r.photo.set, name: r.photo.name, width: r.width, height: r.height, scores: r.scores })),
        },
        null,
        2,
      ),
    );
  }
  print(
    `Detection on ${native.length} annotated photos${annotated > native.length ? ` and ${annotated - native.length} synthesised large ones` : ''}` +
      `${photos.length > annotated ? `, and ${photos.length - annotated} face-free photos` : ''}, ` +
      `${result.seconds.toFixed(0)} s${tuning ? `; facerec with ${JSON.stringify(tuning)}` : ''}; a face is found by a box of IoU ≥ ${MATCH_IOU}, one box per face (greedy by IoU)`,
  );
  print('R: recall, P: precision, F/ph: false faces per photo');
  print(['set', 'photos', 'faces', ...PIPELINES.map((p) => `${p.label}: R / P / F/ph`)].join(' | '));
  const faceFreeRows = result.sets.filter((row) => row.set.startsWith(FACE_FREE_PREFIX));
  for (const row of result.sets.filter((r) => !faceFreeRows.includes(r))) {
    const t = row.tallies.shipped;
    print(
      [
        row.set,
        t.photos,
        t.faces,
        ...PIPELINES.map(({ key }) => {
          const v = row.tallies[key];
          return `${fixed(recall(v))} / ${fixed(precision(v))} / ${fixed(v.falseFaces / v.photos, 2)}`;
        }),
      ].join(' | '),
    );
  }
  print(
    `(native above ${LARGE_SIDE} px: the sets' own photos whose long side is over ${LARGE_SIDE}, where the engine also searches tiles)`,
  );
  if (faceFreeRows.length > 0) {
    print('');
    print('Face-free photos: every box is a false face. F: false faces, F/100MP: per 100 megapixels of the photos');
    print(['set', 'photos', 'MP', ...PIPELINES.map((p) => `${p.label}: F / F/100MP`)].join(' | '));
    for (const row of faceFreeRows) {
      const t = row.tallies.shipped;
      print(
        [
          row.set,
          t.photos,
          t.megapixels.toFixed(0),
          ...PIPELINES.map(({ key }) => `${row.tallies[key].falseFaces} / ${fixed(falsePer100Mp(row.tallies[key]), 2)}`),
        ].join(' | '),
      );
    }
  }
  if (!opts.misses) return;
  print('');
  print('The shipped detector’s misses and false faces ([x, y, w, h]):');
  for (const r of result.photos) {
    const s = r.scores.shipped;
    if (s.missed + s.falseFaces === 0) continue;
    const boxes = (list: number[][]) => list.map((b) => `[${b.map((v) => Math.round(v)).join(', ')}]`).join(' ');
    print(
      `  ${r.photo.set} ${r.photo.name} (${r.width}×${r.height}):` +
        (s.missed ? ` missed ${boxes(s.missedFaces)}` : '') +
        (s.falseFaces ? ` false ${boxes(s.falseBoxes)}` : ''),
    );
  }
}
