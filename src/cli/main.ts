#!/usr/bin/env node
/** The `facerec` command: a thin adapter over the engine. */
import { Command, CommanderError, InvalidArgumentError as CommanderInvalidArgument, Option } from 'commander';
import { loadConfig } from '../config/index.js';
import { InvalidArgumentError } from '../errors.js';
import { describeCliError } from './errors.js';
import { annotateCommand, compareCommand, detectCommand, embedCommand, evalLfwCommand, infoCommand } from './commands.js';

const config = loadConfig();

function number(name: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < min || n > max) throw new CommanderInvalidArgument(`${name} must be a number from ${min} to ${max}`);
    return n;
  };
}

const program = new Command('facerec')
  .description('Face detection, alignment, description and comparison (facerec)')
  .exitOverride()
  .configureOutput({ outputError: () => {} });

const detectorOption = () => new Option('--detector <name>', 'face detector').choices(['ssd', 'tiny']).default(config.detector);
const minScoreOption = () => new Option('--min-score <score>', 'minimum detection score').argParser(number('--min-score', 0, 1)).default(config.minScore);

program
  .command('info')
  .description('print the backend, tfjs and face-api versions and the models with their ids')
  .option('--json', 'print JSON')
  .action((opts: { json?: boolean }) => infoCommand(config, opts));

program
  .command('detect')
  .description('find every face with its box, score and quality')
  .argument('<image>', 'image file')
  .option('--json', 'print JSON: {"faces": [{"box": [x, y, w, h], "score", "quality"}]}')
  .option('--landmarks', 'include the 68 landmarks')
  .addOption(detectorOption())
  .addOption(minScoreOption())
  .action((image: string, opts) => detectCommand(config, image, opts));

program
  .command('compare')
  .description('say whether the main faces of two photos are the same person')
  .argument('<imageA>', 'first image')
  .argument('<imageB>', 'second image')
  .addOption(new Option('--threshold <distance>', 'same person below this distance').argParser(number('--threshold', 0, 2)).default(config.threshold))
  .option('--json', 'print JSON: {"match", "distance", "threshold"}')
  .action((a: string, b: string, opts) => compareCommand(config, a, b, opts));

program
  .command('annotate')
  .description('draw boxes and landmarks on a photo')
  .argument('<image>', 'image file')
  .requiredOption('-o, --out <file>', 'output image (.jpg or .png)')
  .option('--no-landmarks', 'do not draw landmarks')
  .addOption(detectorOption())
  .addOption(minScoreOption())
  .action((image: string, opts) => annotateCommand(config, image, opts));

program
  .command('embed')
  .description('write one JSON line of faces and descriptors per listed image, on all cores')
  .requiredOption('--root <dir>', 'folder the list is relative to')
  .requiredOption('--list <file>', 'file with one image path per line')
  .requiredOption('--out <file>', 'output JSONL file')
  .addOption(new Option('--workers <n>', 'worker threads').argParser(number('--workers', 1, 256)).default(config.workers))
  .action((opts) => embedCommand(config, opts));

const evalCmd = program.command('eval').description('measure accuracy on a benchmark');
evalCmd
  .command('lfw')
  .description('LFW verification protocol: accuracy, TAR at FAR 0.1% and 1%, images without a face, suggested threshold')
  .requiredOption('--pairs <file>', 'pairs to report on (e.g. pairsDevTest.txt, or the 10-fold pairs.txt)')
  .requiredOption('--root <dir>', 'the images folder holding Name/Name_NNNN.jpg')
  .option('--train <file>', 'pairs to choose the threshold on (e.g. pairsDevTrain.txt); without it, 10-fold when the file has folds')
  .option('--plot <file>', 'write the ROC curves as PNG')
  .option('--save <file>', 'save every image’s descriptors as JSONL')
  .option('--load <file>', 'score descriptors saved by --save instead of computing them')
  .option('--json', 'print JSON')
  .addOption(new Option('--workers <n>', 'worker threads').argParser(number('--workers', 1, 256)).default(config.workers))
  .action((opts) => evalLfwCommand(config, opts));

export async function main(argv: string[]): Promise<number> {
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    let error = err;
    if (err instanceof CommanderError) {
      if (err.exitCode === 0) return 0; // --help, --version
      error = new InvalidArgumentError(`${err.message.replace(/^error: /, '')} (see facerec --help)`);
    }
    const { line, exitCode } = describeCliError(error);
    process.stderr.write(`${line}\n`);
    return exitCode;
  }
}

process.exitCode = await main(process.argv);
