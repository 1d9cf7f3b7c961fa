/** `facerec eval stream`: the learning gallery on a stream of LFW photos (src/eval/learning-stream.ts). */
import { Option, type Command } from 'commander';
import type { Config } from '../config/index.js';
import { FacerecError } from '../errors.js';
import { loadSubjectFaces } from '../eval/descriptor-file.js';
import { parseLfwFile } from '../eval/identification.js';
import { pairsImages } from '../eval/impostor-fit.js';
import {
  LEARN_DEFAULTS,
  LEARN_MODES,
  runStream,
  type LearnMode,
  type StreamImage,
  type StreamReport,
  type SnapshotSpread,
} from '../eval/learning-stream.js';
import type { Spread } from '../eval/open-set-sweep.js';
import { evalImpostorModel, evalModelId, evalModelSettings } from '../eval/setup.js';
import { DEFAULT_TOP_K } from '../service/identify.service.js';
import { readUserFile } from './files.js';
import { decimalOption, integerOption } from './options.js';

export interface EvalStreamFlags {
  load: string;
  evalPairs?: string;
  impostorModel?: string;
  orders: number;
  seed: number;
  modes: string;
  confirmShare: number;
  repeatStrangers: number;
  strangerRatio: number;
  cap?: number;
  addFpir?: number;
  gapIqr?: number;
  duplicatePercentile?: number;
  /** commander's --no-anchor. */
  anchor: boolean;
  calibrateOnAll?: boolean;
  targetFpir?: number;
  json?: boolean;
}

const print = (text: string): void => {
  process.stdout.write(`${text}\n`);
};
const pct = (s: Spread, digits = 1) => `${(s.mean * 100).toFixed(digits)} ± ${(s.sd * 100).toFixed(digits)}`;
const pooled = (s: SnapshotSpread) =>
  `${((100 * s.falseMatches) / Math.max(1, s.strangers)).toFixed(2)} (${s.falseMatches}/${s.strangers})`;

function printReport(report: StreamReport, flags: EvalStreamFlags, targetFpir: number): void {
  const first = report.orders[0]!;
  const s = report.settings;
  print(
    `Learning stream: ${report.images} images${flags.evalPairs ? ` of ${flags.evalPairs.split(/[/\\]/).at(-1)}` : ''}, ${report.orders.length} random orders (mean ± sd over them, %)`,
  );
  print(
    `gallery: ${first.people} people enrolled from one photo (${first.learners} with photos in the stream); stream: ${first.stream.genuine} of their photos, ` +
      `${first.stream.repeatStrangers} photos of ${Math.round(flags.repeatStrangers * 100)}% of the people with several photos kept out (repeat strangers), ` +
      `${first.stream.strangers} single-photo strangers; ${first.heldOutStrangers} further strangers never streamed for FPIR`,
  );
  print(
    `settings: target FPIR ${targetFpir * 100}%${flags.calibrateOnAll ? ' (calibrated on every face, learned ones too)' : ''}, certain = named at FPIR ${s.addFpir}${s.anchored ? ' (by the enrolled and confirmed faces)' : ' (by any face, learned ones too)'}, others beyond the threshold and ${s.gapIqr} genuine IQR farther` +
      `${s.quality ? ', enrollment quality gates' : ' (no quality in the file: not gated)'}; near-duplicate under ${s.duplicateDistance.toFixed(4)}; ` +
      `cap ${s.cap} templates per person; the human confirms ${s.confirmShare * 100}% of correct matches`,
  );
  print('');
  print(
    [
      'mode',
      'DIR learners before → after',
      'two photos',
      'DIR everyone before → after',
      'FPIR before (pooled)',
      'FPIR after (pooled)',
      'threshold before → after',
      'templates added',
      'wrong adds (strangers/enrolled)',
      'wrong per 1000 adds (95% upper)',
      'templates per learner (max)',
    ].join(' | '),
  );
  for (const r of report.summary)
    print(
      [
        r.mode,
        `${pct(r.before.dirLearners)} → **${pct(r.after.dirLearners)}**`,
        pct(r.twoPhotos.dirLearners),
        `${pct(r.before.dirAll)} → ${pct(r.after.dirAll)}`,
        `${pct(r.before.fpir, 2)} (${pooled(r.before)})`,
        `${pct(r.after.fpir, 2)} (${pooled(r.after)})`,
        `${r.before.threshold.mean.toFixed(4)} → ${r.after.threshold.mean.toFixed(4)}`,
        `${r.totalAdded} (${r.added.mean.toFixed(0)} per order)`,
        `${r.wrongAdds} (${r.wrongFromStrangers}/${r.wrongFromEnrolled})`,
        `${((1000 * r.wrongAdds) / Math.max(1, r.totalAdded)).toFixed(2)} (${(1000 * r.wrongAddRateUpper95).toFixed(2)})`,
        `${r.templatesPerLearner.mean.toFixed(2)} (${r.maxTemplates})`,
      ].join(' | '),
    );
  const groups = Object.keys(report.summary[0]?.before.byStreamPhotos ?? {});
  if (groups.length > 0) {
    print('');
    print(`DIR of the learners by their photos in the stream (people): before → after per mode; two photos`);
    for (const group of groups) {
      const first = report.summary[0]!;
      const after = report.summary.map((r) => `${r.mode} ${(r.after.byStreamPhotos[group]!.dir.mean * 100).toFixed(1)}`).join(', ');
      print(
        `  ${group} (${first.before.byStreamPhotos[group]!.people.toFixed(0)}): ${(first.before.byStreamPhotos[group]!.dir.mean * 100).toFixed(1)} → ${after}; two photos ${(first.twoPhotos.byStreamPhotos[group]!.dir.mean * 100).toFixed(1)}`,
      );
    }
  }
  for (const r of report.summary.filter((x) => x.wrongPairs.length > 0))
    print(
      `\n${r.mode}: the wrong adds, whose face → whose template (times, over all orders): ${r.wrongPairs.map(([pair, n]) => `${pair} ×${n}`).join(', ')}`,
    );
  const two = report.summary[0]?.twoPhotos;
  if (two)
    print(
      `\ntwo photos: the same people with one more photo enrolled (a random photo of their stream), no learning: DIR learners ${pct(two.dirLearners)}, FPIR ${pct(two.fpir, 2)} (${pooled(two)})`,
    );
}

export async function evalStreamCommand(config: Config, flags: EvalStreamFlags): Promise<void> {
  await readUserFile(flags.load);
  const modes = flags.modes.split(',').map((m) => m.trim());
  const unknown = modes.filter((m) => !LEARN_MODES.includes(m as LearnMode));
  if (unknown.length || modes.length === 0)
    throw new FacerecError('INVALID_ARGUMENT', `--modes takes ${LEARN_MODES.join(', ')}, separated by commas; got ${flags.modes}`);
  const modelId = await evalModelId(config);
  const { subjects, model: fileModel } = await loadSubjectFaces(flags.load);
  if (fileModel && fileModel !== modelId)
    throw new FacerecError(
      'INVALID_ARGUMENT',
      `${flags.load} holds descriptors of ${fileModel}, not of the configured model ${modelId}: set FACEREC_DESCRIPTOR_MODEL to match`,
      { file: flags.load, model: fileModel, configured: modelId },
    );
  const side = flags.evalPairs ? await pairsImages(flags.evalPairs) : null;
  const images: StreamImage[] = [];
  for (const [file, subject] of subjects) {
    const image = parseLfwFile(file);
    if (image && (!side || side.has(file)))
      images.push({ file, name: image.name, descriptor: subject.descriptor, quality: subject.quality });
  }
  if (images.length === 0)
    throw new FacerecError('INVALID_ARGUMENT', `${flags.load} has no LFW images (Name/Name_NNNN.jpg)${side ? ' of --eval-pairs' : ''}`);
  const settings = await evalModelSettings(config);
  const impostor = await evalImpostorModel(config, modelId, flags.impostorModel);
  const targetFpir = flags.targetFpir ?? config.targetFpir;
  const withQuality = images.every((i) => !i.descriptor || i.quality);
  const report = runStream(images, {
    model: impostor,
    reduction: config.reduction,
    targetFpir,
    ambiguityMargin: settings.ambiguityMargin,
    topK: DEFAULT_TOP_K,
    orders: flags.orders,
    seed: flags.seed,
    modes: modes as LearnMode[],
    confirmShare: flags.confirmShare,
    repeatStrangers: flags.repeatStrangers,
    strangerRatio: flags.strangerRatio,
    calibrateOnEnrolled: !flags.calibrateOnAll,
    learn: {
      cap: flags.cap ?? LEARN_DEFAULTS.cap,
      addFpir: flags.addFpir ?? LEARN_DEFAULTS.addFpir,
      gapIqr: flags.gapIqr ?? LEARN_DEFAULTS.gapIqr,
      duplicatePercentile: flags.duplicatePercentile ?? LEARN_DEFAULTS.duplicatePercentile,
      anchored: flags.anchor,
      quality: withQuality ? config.enrollment : null,
    },
    onOrder: (order) => {
      if (!flags.json && process.stderr.isTTY) process.stderr.write(`\rorder ${order + 1}/${flags.orders}`.padEnd(30));
    },
  });
  if (!flags.json && process.stderr.isTTY) process.stderr.write('\r'.padEnd(31) + '\r');
  if (flags.json) return print(JSON.stringify(report, null, 2));
  printReport(report, flags, targetFpir);
}

/** Adds `eval stream` to the `eval` command. */
export function registerEvalStream(evalCmd: Command, config: Config): void {
  evalCmd
    .command('stream')
    .description(
      'a gallery that learns: people enrolled from one photo, their other photos streamed among strangers; DIR and FPIR before and after, wrong templates added, per learning mode',
    )
    .requiredOption('--load <file>', 'descriptors of LFW images: `facerec embed` output (or `eval identify --save`)')
    .option('--eval-pairs <file>', 'only the images of this pairs file (one side of LFW View 1, e.g. pairsDevTest.txt)')
    .option('--impostor-model <file>', 'impostor model file (default: models/impostor-model.json)')
    .addOption(new Option('--orders <n>', 'random orders').argParser(integerOption('--orders', 1, 1000)).default(10))
    .addOption(new Option('--seed <n>', 'seed of the draws').argParser(integerOption('--seed', 0, 2 ** 31)).default(24))
    .option('--modes <list>', `learning modes (${LEARN_MODES.join(', ')})`, LEARN_MODES.join(','))
    .addOption(
      new Option('--confirm-share <share>', 'share of correct matches the simulated human confirms')
        .argParser(decimalOption('--confirm-share', 0, 1))
        .default(0.5),
    )
    .addOption(
      new Option(
        '--repeat-strangers <share>',
        'share of the people with several photos kept out of the gallery, streamed as repeat strangers',
      )
        .argParser(decimalOption('--repeat-strangers', 0, 0.9))
        .default(0.2),
    )
    .addOption(
      new Option('--stranger-ratio <n>', 'strangers’ photos streamed per photo of an enrolled person')
        .argParser(decimalOption('--stranger-ratio', 0, 100))
        .default(1),
    )
    .addOption(new Option('--cap <n>', 'templates per person').argParser(integerOption('--cap', 1, 1000)))
    .addOption(new Option('--add-fpir <rate>', 'FPIR at which a match is certain').argParser(decimalOption('--add-fpir', 1e-9, 0.5)))
    .addOption(
      new Option('--gap-iqr <n>', 'gap to the next person, in interquartile ranges of genuine distances').argParser(
        decimalOption('--gap-iqr', 0, 10),
      ),
    )
    .addOption(
      new Option('--duplicate-percentile <p>', 'near-duplicate distance: this percentile of genuine distances').argParser(
        integerOption('--duplicate-percentile', 0, 100),
      ),
    )
    .option('--calibrate-on-all', 're-centre the threshold on every face, learned ones too, not on the enrolled ones (for comparison)')
    .option('--no-anchor', 'judge a certain match against learned faces too (lets one wrong add pull in more)')
    .addOption(
      new Option('--target-fpir <rate>', 'target FPIR of identify (default: FACEREC_TARGET_FPIR)').argParser(
        decimalOption('--target-fpir', 0.0001, 0.5),
      ),
    )
    .option('--json', 'print JSON (every order)')
    .action((opts: EvalStreamFlags) => evalStreamCommand(config, opts));
}
