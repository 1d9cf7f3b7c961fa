/** `facerec eval cluster`: clustering measured on an embed output (src/eval/cluster). */
import { writeFile } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import type { Config } from '../config/index.js';
import { FacerecError } from '../errors.js';
import { loadLabelledFaces } from '../eval/cluster/faces.js';
import { runClusterEval, type ClusterEvalResult } from '../eval/cluster/run.js';
import { evalImpostorModel } from '../eval/setup.js';
import { configuredModels } from '../service/context.js';
import { readUserFile } from './files.js';
import { decimalOption, integerOption } from './options.js';

interface EvalClusterFlags {
  load: string;
  out?: string;
  orders: number;
  references: boolean;
  impostorModel?: string;
  linkThreshold?: number;
  json?: boolean;
}

const print = (text: string): void => {
  process.stdout.write(`${text}\n`);
};
const f3 = (v: number) => v.toFixed(3);

function printResult(result: ClusterEvalResult): void {
  print(`${result.faces} faces (the subject of each image; ${result.withoutFace} image(s) without a face), model ${result.model}`);
  const p = result.params;
  print(
    `rule: k ${p.k}, scale = distance to neighbour ${p.scaleRank} over ${f3(p.expectedScale)} (the model's for ${result.faces} faces), clamped to [${p.scaleFloor}, ${p.scaleCeiling}], ` +
      `link ${p.linkThreshold} + ${p.linkGrowth}·(1 − 1/√pairs), max distance ${f3(p.maxDistance)} (the card's verify threshold)`,
  );
  for (const split of result.splits) {
    print('');
    print(`${split.name}: ${split.faces} faces, ${split.identities} people`);
    print(`${'algorithm'.padEnd(52)} pair P  pair R  pair F1  B³ P    B³ R    B³ F1   clusters  seconds`);
    for (const r of split.results) {
      const s = r.scores;
      print(
        `${(r.product ? '* ' : '  ') + r.name}`.padEnd(52) +
          ` ${f3(s.pairwise.precision)}   ${f3(s.pairwise.recall)}   ${f3(s.pairwise.f1)}    ${f3(s.bcubed.precision)}   ${f3(s.bcubed.recall)}   ${f3(s.bcubed.f1)}   ${String(s.clusters).padStart(8)}  ${(r.ms / 1000).toFixed(2).padStart(7)}`,
      );
    }
  }
  if (result.incremental) {
    const i = result.incremental;
    print('');
    print(`the faces streamed one by one (mean of ${i.orders} random orders), the final assignment:`);
    for (const p of i.policies)
      print(
        `  ${p.name.padEnd(30)} pair P ${f3(p.pairwise.precision)}  pair R ${f3(p.pairwise.recall)}  B³ F1 ${f3(p.bcubed.f1)}` +
          (p.reclusters ? `  (${p.reclusters.toFixed(0)} full runs; ${p.sinceLast.toFixed(0)} faces added since the last)` : ''),
      );
    print(`  decision per face: ${i.decisionMicros.mean.toFixed(1)} µs mean, ${i.decisionMicros.p99.toFixed(1)} µs p99`);
  }
  print('');
  print('* the product (full mode); P precision, R recall, B³ BCubed; unclustered faces count as singletons');
}

export async function evalClusterCommand(config: Config, opts: EvalClusterFlags): Promise<void> {
  await readUserFile(opts.load);
  const { model, faces, withoutFace } = await loadLabelledFaces(opts.load);
  const registry = await configuredModels(config);
  if (!registry.has(model))
    throw new FacerecError(
      'INVALID_ARGUMENT',
      `${opts.load} was made by descriptor model ${model}, which has no card here (facerec models)`,
    );
  const card = registry.get(model);
  const impostor = await evalImpostorModel(config, model, opts.impostorModel);
  const phase = (label: string) => {
    if (!opts.json && process.stderr.isTTY) process.stderr.write(`\r${label.padEnd(70)}`);
  };
  const result = runClusterEval({
    faces,
    withoutFace: withoutFace.length,
    model,
    verifyThreshold: card.verifyThreshold,
    tail: impostor.reductions.min.tail,
    orders: opts.orders,
    references: opts.references,
    ...(opts.linkThreshold !== undefined ? { rule: { linkThreshold: opts.linkThreshold } } : {}),
    onPhase: phase,
  });
  if (!opts.json && process.stderr.isTTY) process.stderr.write(`\r${''.padEnd(70)}\r`);
  if (opts.out) await writeFile(opts.out, faces.map((f, i) => `${f.file}\t${result.assignment[i]}\n`).join(''));
  if (opts.json) {
    const { assignment: _assignment, ...rest } = result;
    print(JSON.stringify(rest, null, 2));
    return;
  }
  printResult(result);
}

/** Registers `facerec eval cluster` under `eval`. */
export function addEvalClusterCommand(evalCmd: Command, config: Config): void {
  evalCmd
    .command('cluster')
    .description(
      'cluster the subject face of each image of an embed output with the product’s clustering, beside DBSCAN, Chinese whispers, immich’s rule and average linkage; pairwise and BCubed precision/recall/F1 against the folder names',
    )
    .requiredOption('--load <file>', 'descriptors from `facerec embed` (JSONL; the identity is the folder of each image)')
    .option('--out <file>', 'write the product’s assignment: one `file<TAB>cluster` line per face (`single-N`: left alone)')
    .addOption(
      new Option('--orders <n>', 'random orders to stream the faces in for the incremental mode (0: skip)')
        .argParser(integerOption('--orders', 0, 100))
        .default(3),
    )
    .option('--no-references', 'only the product’s clustering')
    .addOption(
      new Option('--link-threshold <z>', 'the rule’s link threshold (default: the product’s)').argParser(
        decimalOption('--link-threshold', 0.1, 2),
      ),
    )
    .option('--impostor-model <file>', 'impostor model file (default: models/impostor-model.json)')
    .option('--json', 'print JSON')
    .action((opts: EvalClusterFlags) => evalClusterCommand(config, opts));
}
