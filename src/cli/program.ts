/** The `facerec` command tree and its error handling; src/cli/main.ts runs it. */
import { Command, CommanderError, Option } from 'commander';
import { loadConfig, type Config } from '../config/index.js';
import { InvalidArgumentError } from '../errors.js';
import { DetectorInput } from '../service/detect.service.js';
import { ROLES } from '../service/keys.service.js';
import { LIMITS } from '../service/limits.js';
import { evalAttributesCommand } from './attributes-command.js';
import { describeCliError } from './errors.js';
import { addEvalClusterCommand } from './eval-cluster.js';
import { registerEvalStream } from './eval-stream.js';
import { registerLearningCommands } from './learning-commands.js';
import { decimalOption, integerOption } from './options.js';

type Commands = typeof import('./commands.js');
type StoreCommands = typeof import('./store-commands.js');
type SightingsCommands = typeof import('./sightings-commands.js');

/**
 * A command's function, loaded when the command runs: a one-shot `facerec detect` never loads the HTTP server, the
 * database drivers or the evaluation code (about half a second of module loading).
 */
function lazy<M, K extends keyof M>(load: () => Promise<M>, name: K): M[K] {
  return (async (...args: unknown[]) => ((await load())[name] as (...a: unknown[]) => unknown)(...args)) as M[K];
}
const commands = () => import('./commands.js');
const stores = () => import('./store-commands.js');
const sightings = () => import('./sightings-commands.js');
const annotateCommand = lazy<Commands, 'annotateCommand'>(commands, 'annotateCommand');
const compareCommand = lazy<Commands, 'compareCommand'>(commands, 'compareCommand');
const detectCommand = lazy<Commands, 'detectCommand'>(commands, 'detectCommand');
const embedCommand = lazy<Commands, 'embedCommand'>(commands, 'embedCommand');
const evalDetectCommand = lazy<Commands, 'evalDetectCommand'>(commands, 'evalDetectCommand');
const evalIdentifyCommand = lazy<Commands, 'evalIdentifyCommand'>(commands, 'evalIdentifyCommand');
const evalLfwCommand = lazy<Commands, 'evalLfwCommand'>(commands, 'evalLfwCommand');
const infoCommand = lazy<Commands, 'infoCommand'>(commands, 'infoCommand');
const modelsCommand = lazy<Commands, 'modelsCommand'>(commands, 'modelsCommand');
const calibrateCommand = lazy<StoreCommands, 'calibrateCommand'>(stores, 'calibrateCommand');
const enrollCommand = lazy<StoreCommands, 'enrollCommand'>(stores, 'enrollCommand');
const galleriesCommand = lazy<StoreCommands, 'galleriesCommand'>(stores, 'galleriesCommand');
const identifyCommand = lazy<StoreCommands, 'identifyCommand'>(stores, 'identifyCommand');
const importCommand = lazy<StoreCommands, 'importCommand'>(stores, 'importCommand');
const migrateCommand = lazy<StoreCommands, 'migrateCommand'>(stores, 'migrateCommand');
const keysCommand = lazy<StoreCommands, 'keysCommand'>(stores, 'keysCommand');
const peopleCommand = lazy<StoreCommands, 'peopleCommand'>(stores, 'peopleCommand');
const reembedCommand = lazy<StoreCommands, 'reembedCommand'>(stores, 'reembedCommand');
const serveCommand = lazy<StoreCommands, 'serveCommand'>(stores, 'serveCommand');
const verifyCommand = lazy<StoreCommands, 'verifyCommand'>(stores, 'verifyCommand');
const clustersIgnoreCommand = lazy<SightingsCommands, 'clustersIgnoreCommand'>(sightings, 'clustersIgnoreCommand');
const clustersListCommand = lazy<SightingsCommands, 'clustersListCommand'>(sightings, 'clustersListCommand');
const clustersMergeCommand = lazy<SightingsCommands, 'clustersMergeCommand'>(sightings, 'clustersMergeCommand');
const clustersNameCommand = lazy<SightingsCommands, 'clustersNameCommand'>(sightings, 'clustersNameCommand');
const clustersRemoveCommand = lazy<SightingsCommands, 'clustersRemoveCommand'>(sightings, 'clustersRemoveCommand');
const clustersShowCommand = lazy<SightingsCommands, 'clustersShowCommand'>(sightings, 'clustersShowCommand');
const keepSightingsCommand = lazy<SightingsCommands, 'keepSightingsCommand'>(sightings, 'keepSightingsCommand');
const reclusterCommand = lazy<SightingsCommands, 'reclusterCommand'>(sightings, 'reclusterCommand');
const scanCommand = lazy<SightingsCommands, 'scanCommand'>(sightings, 'scanCommand');
const sightingsCorrectCommand = lazy<SightingsCommands, 'sightingsCorrectCommand'>(sightings, 'sightingsCorrectCommand');
const sightingsListCommand = lazy<SightingsCommands, 'sightingsListCommand'>(sightings, 'sightingsListCommand');

/**
 * The command tree; option defaults come from the configuration. The commands parse their options with the use
 * cases' input schemas (as the HTTP API does), so the options that feed a use case carry no parser of their own.
 */
function buildProgram(config: Config): Command {
  const program = new Command('facerec')
    .description('Face detection, alignment, description and comparison (facerec)')
    .exitOverride()
    .configureOutput({ outputError: () => {} });

  const detectorOption = () =>
    new Option('--detector <name>', 'face detector').choices(DetectorInput.shape.detector.unwrap().options).default(config.detector);
  const minScoreOption = () => new Option('--min-score <score>', 'minimum detection score (0..1)').default(config.minScore);
  const attributesOption = (what: string) =>
    new Option('--attributes <list>', `estimate per face, comma-separated: age, gender, expression, or all (${what})`);

  program
    .command('info')
    .description('print the backend, tfjs and face-api versions and the models with their ids')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) => infoCommand(config, opts));

  program
    .command('models')
    .description('list the descriptor models: id, name, dimensions, metric, source; * marks the default (FACEREC_DESCRIPTOR_MODEL)')
    .option('--json', 'print JSON: [{"id", "name", "dims", "metric", "default", "source", "license", "shipped"}]')
    .action((opts: { json?: boolean }) => modelsCommand(config, opts));

  program
    .command('detect')
    .description('find every face with its box, score and quality')
    .argument('<image>', 'image file')
    .option('--json', 'print JSON: {"faces": [{"box": [x, y, w, h], "score", "quality"}]}')
    .option('--landmarks', 'include the 68 landmarks')
    .addOption(attributesOption('none by default'))
    .addOption(detectorOption())
    .addOption(minScoreOption())
    .action((image: string, opts) => detectCommand(config, image, opts));

  program
    .command('compare')
    .description('say whether the faces of two photos are the same person (one face each, or --largest-face)')
    .argument('<imageA>', 'first image')
    .argument('<imageB>', 'second image')
    .addOption(new Option('--threshold <distance>', "same person at or below this distance (default: the model's)"))
    .option('--largest-face', 'take the largest face of a photo with several (else: MULTIPLE_FACES)')
    .option('--model <model>', 'descriptor model, by name or id (facerec models; default FACEREC_DESCRIPTOR_MODEL)')
    .option('--json', 'print JSON: {"match", "distance", "threshold", "model", "boxes", "facesInPhotos"}')
    .action((a: string, b: string, opts) => compareCommand(config, a, b, opts));

  program
    .command('annotate')
    .description('draw boxes and landmarks on a photo')
    .argument('<image>', 'image file')
    .requiredOption('-o, --out <file>', 'output image (.jpg or .png)')
    .option('--no-landmarks', 'do not draw landmarks')
    .addOption(attributesOption('drawn under each box'))
    .addOption(detectorOption())
    .addOption(minScoreOption())
    .action((image: string, opts) => annotateCommand(config, image, opts));

  program
    .command('embed')
    .description('write one JSON line of faces and descriptors per listed image, on all cores')
    .requiredOption('--root <dir>', 'folder the list is relative to')
    .requiredOption('--list <file>', 'file with one image path per line')
    .requiredOption('--out <file>', 'output JSONL file')
    .addOption(new Option('--workers <n>', 'worker threads').argParser(integerOption('--workers', 1, 256)).default(config.workers))
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
    .option('--no-baseline', 'skip plain face-api, the baseline (a third of the time)')
    .option('--via-thumbnail', 'also describe each face again from its stored 150 px thumbnail, as `gallery reembed` does')
    .option('--json', 'print JSON')
    .addOption(new Option('--workers <n>', 'worker threads').argParser(integerOption('--workers', 1, 256)).default(config.workers))
    .action((opts) => evalLfwCommand(config, opts));
  evalCmd
    .command('identify')
    .description(
      'open-set identification on LFW through the store: rank-1, DIR, FPIR, ambiguity, for min and mean2, with 1 and 2 enrolled photos',
    )
    .requiredOption('--root <dir>', 'the images folder holding Name/Name_NNNN.jpg')
    .option('--load <file>', 'use descriptors saved by --save (or `facerec eval lfw --save`) instead of computing them')
    .option('--save <file>', 'save the descriptors computed (engine only, no plain face-api baseline) as JSONL for --load')
    .option(
      '--db <url-or-dir>',
      'a postgres:// URL (or a folder for the embedded database) to run in; default: a throwaway PGlite in a temporary directory',
    )
    .option('--no-splits', 'skip the two fixed splits through the store; only the gallery-size sweep')
    .option('--sizes <list>', 'gallery sizes of the sweep, people (comma-separated; all = every eligible person)', '10,50,200,500,all')
    .addOption(new Option('--draws <n>', 'random galleries per size').argParser(integerOption('--draws', 1, 1000)).default(20))
    .option('--eval-pairs <file>', 'sweep only the images of this pairs file (the held-out side, e.g. pairsDevTest.txt)')
    .option('--cohort-pairs <file>', 'faces of other people for measuring Z-norm (the fit side, e.g. pairsDevTrain.txt)')
    .option('--impostor-model <file>', 'impostor model file (default: models/impostor-model.json)')
    .addOption(
      new Option('--target-fpir <rate>', 'target FPIR of the rule (default: FACEREC_TARGET_FPIR)').argParser(
        decimalOption('--target-fpir', 0.0001, 0.5),
      ),
    )
    .addOption(
      new Option('--min-gallery-people <n>', 'people before a gallery calibrates itself (default: the service’s)').argParser(
        integerOption('--min-gallery-people', 2, 1_000_000),
      ),
    )
    .option('--plot <file>', 'write FPIR and DIR against gallery size, fixed threshold vs the rule, as PNG')
    .option('--json', 'print JSON')
    .addOption(new Option('--workers <n>', 'worker threads').argParser(integerOption('--workers', 1, 256)).default(config.workers))
    .action((opts) => evalIdentifyCommand(config, opts));
  registerEvalStream(evalCmd, config);

  evalCmd
    .command('detect')
    .description(
      'detection on annotated photos (recall, precision and false faces per photo at IoU ≥ 0.4) and on face-free photos (false faces per 100 MP), the shipped detector beside plain face-api SSD at 0.3 and 0.5',
    )
    .option(
      '--datasets <dir>',
      'the shared datasets folder (dlib-examples/faces, bbt/group, face-recognition-examples)',
      '../shared/datasets',
    )
    .option('--boxes <file>', 'annotations of the sets without their own (default: test/fixtures/detection-boxes.json of the checkout)')
    .option('--no-large', 'skip the synthesised large photos (group photos upscaled to 4000 px, 2×2 mosaics, LFW faces pasted on textures)')
    .option(
      '--no-face-free',
      "skip the face-free photos (Debian's wallpapers, synthetic textures of 12–45 MP, the datasets' photos without a face)",
    )
    .option('--wallpapers <dirs...>', 'folders of face-free wallpapers (default: where gnome-backgrounds and desktop-base install them)')
    .option('--misses', 'list every missed face and false face of the shipped detector')
    .option(
      '--tuning <json>',
      'run the engine with these detection levers instead of its own (DetectionTuning in src/engine/face-engine.ts)',
    )
    .option('--json', 'print JSON')
    .addOption(new Option('--workers <n>', 'worker threads').argParser(integerOption('--workers', 1, 256)).default(config.workers))
    .action((opts) => evalDetectCommand(config, opts));
  addEvalClusterCommand(evalCmd, config);

  evalCmd
    .command('attributes')
    .description(
      'age, gender and expression on every labelled set within reach (yalefaces expressions, gender labelled by hand): accuracy ' +
        'with 95% intervals, per group, expected calibration error; face-api’s crop beside dlib’s aligned chip',
    )
    .option('--datasets <dir>', 'the shared datasets folder (yalefaces, lfw-view1, bbt, face-recognition-examples)', '../shared/datasets')
    .option('--labels <file>', 'gender labels, set<TAB>person<TAB>female|male|- (default: test/fixtures/gender-labels.tsv of the checkout)')
    .option('--plot <file>', 'write the reliability diagram of the shipped crop as PNG')
    .option('--save <file>', 'save what the engine gave every photo (JSONL) for --load')
    .option('--load <file>', 'score a run saved by --save against the labels as they are now, computing nothing')
    .option('--json', 'print JSON')
    .addOption(new Option('--workers <n>', 'worker threads').argParser(integerOption('--workers', 1, 256)).default(config.workers))
    .action((opts) => evalAttributesCommand(config, opts));

  // Options of every command that uses the gallery database.
  function withDb(cmd: Command, gallery = true): Command {
    cmd
      .option(
        '--db <url-or-dir>',
        'a postgres:// URL, or a folder for the embedded database (default: DATABASE_URL, else FACEREC_DATA_DIR)',
      )
      .option('--no-migrate', 'do not apply pending migrations first')
      .option('--json', 'print JSON');
    if (gallery) cmd.option('-g, --gallery <name-or-id>', 'gallery', 'default');
    return cmd;
  }
  const thresholdOption = () =>
    new Option('--threshold <distance>', "same person at or below this distance (default: the gallery model's)");
  const workersOption = () =>
    new Option('--workers <n>', 'worker threads').argParser(integerOption('--workers', 1, 256)).default(config.workers);

  withDb(program.command('migrate').description('apply pending database migrations'), false).action((opts) => migrateCommand(config, opts));

  withDb(
    program
      .command('enroll')
      .description('create a person from 1..N photos (--name), or add photos to one (--person); atomic: all or nothing')
      .argument('<images...>', 'photos, one face each')
      .option('--name <name>', 'the new person’s display name')
      .option('--person <name-or-id>', 'add the photos to this existing person')
      .option('--external-id <id>', 'your own unique id for the new person')
      .option('--metadata <json>', 'a JSON object stored with the new person')
      .option('--skip-rejected', 'enroll the acceptable photos and report the others, instead of failing')
      .option('--largest-face', 'take the largest face of a photo with several')
      .option(
        '--face-box <x,y,w,h>',
        'the face to enroll in a photo of several, by its box as facerec detect prints it; once per photo, in order ("auto": the default rule)',
        (value: string, previous: string[] = []) => [...previous, value],
      )
      .option('--force', 'enroll faces even when they look unlike the person’s other faces')
      .option('--allow-duplicate-person', 'enroll a face already enrolled as another person (refused as DUPLICATE_PERSON without it)'),
  ).action((images: string[], opts) => enrollCommand(config, images, opts));

  withDb(
    program
      .command('import')
      .description('enroll DIR/<person name>/<photos>: one person per sub-folder; safe to run again')
      .argument('<dir>', 'folder of person folders')
      .option('--largest-face', 'take the largest face of a photo with several')
      .option('--force', 'enroll faces even when they look unlike the person’s other faces')
      .addOption(workersOption()),
  ).action((dir: string, opts) => importCommand(config, dir, opts));

  withDb(
    program
      .command('identify')
      .description('name every face of a photo that matches an enrolled person; the others are Unknown')
      .argument('<image>', 'photo')
      .addOption(thresholdOption())
      .addOption(
        new Option('--top-k <n>', `candidates listed per face (${LIMITS.topK.min}..${LIMITS.topK.max})`).default(LIMITS.topK.default),
      )
      .option('--max-faces <n>', `look at the largest N faces only (${LIMITS.maxFaces.min}..${LIMITS.maxFaces.max})`)
      .option('--landmarks', 'include the 68 landmarks in --json')
      .addOption(attributesOption('also drawn by --annotate'))
      .option('--annotate <out>', 'write the photo with boxes, names and distances (.jpg or .png)')
      .option('--keep-sightings <which>', "keep the faces as sightings: off, unknown or all (default: the gallery's setting)")
      .option('--source <ref>', 'the photo’s reference kept with its sightings (default: the path given)'),
  ).action((image: string, opts) => identifyCommand(config, image, opts));

  withDb(
    program
      .command('verify')
      .description('is the face of a photo this enrolled person? (one face, or --largest-face)')
      .argument('<image>', 'photo')
      .requiredOption('--person <name-or-id>', 'the enrolled person: id, external id or exact name')
      .addOption(thresholdOption())
      .option('--largest-face', 'take the largest face of a photo with several (else: MULTIPLE_FACES)'),
  ).action((image: string, opts) => verifyCommand(config, image, opts));

  const people = program.command('people').description('list, show, rename and delete enrolled people');
  withDb(
    people
      .command('list')
      .description('list people')
      .option('--search <text>', 'name contains')
      .addOption(new Option('--limit <n>', `page size (${LIMITS.pageSize.min}..${LIMITS.pageSize.max})`).default(LIMITS.pageSize.default))
      .addOption(new Option('--offset <n>', 'skip this many').default(LIMITS.offset.default)),
  ).action((opts) => peopleCommand(config, 'list', [], opts));
  withDb(people.command('show').description('show a person and their faces').argument('<person>', 'id, external id or exact name')).action(
    (ref: string, opts) => peopleCommand(config, 'show', [ref], opts),
  );
  withDb(
    people
      .command('rename')
      .description('rename a person')
      .argument('<person>', 'id, external id or exact name')
      .argument('<new-name>', 'new display name'),
  ).action((ref: string, name: string, opts) => peopleCommand(config, 'rename', [ref, name], opts));
  withDb(
    people
      .command('delete')
      .description('erase a person with every face, descriptor and thumbnail')
      .argument('<person>', 'id, external id or exact name'),
  ).action((ref: string, opts) => peopleCommand(config, 'delete', [ref], opts));

  const galleriesCmd = program
    .command('galleries')
    .alias('gallery')
    .description('list, create, rename, delete galleries, and move one to another descriptor model');
  withDb(galleriesCmd.command('list').description('list galleries with their counts'), false).action((opts) =>
    galleriesCommand(config, 'list', undefined, opts),
  );
  withDb(
    galleriesCmd
      .command('create')
      .description('create a gallery, bound to a descriptor model')
      .argument('<name>', 'gallery name')
      .option('--model <model>', 'descriptor model, by name or id (facerec models; default FACEREC_DESCRIPTOR_MODEL)'),
    false,
  ).action((name: string, opts) => galleriesCommand(config, 'create', name, opts));
  withDb(
    galleriesCmd
      .command('rename')
      .description('rename a gallery (not the default one); its people, faces and model stay')
      .argument('<name-or-id>', 'gallery')
      .argument('<new-name>', 'its new name'),
    false,
  ).action((name: string, newName: string, opts) => galleriesCommand(config, 'rename', name, { ...opts, newName }));
  withDb(
    galleriesCmd
      .command('delete')
      .description('delete a gallery')
      .argument('<name-or-id>', 'gallery')
      .option('--force', 'also when it has people (erases them)'),
    false,
  ).action((name: string, opts) => galleriesCommand(config, 'delete', name, opts));
  withDb(
    galleriesCmd
      .command('reembed')
      .description(
        'describe every face of the gallery again with another model, from its stored thumbnail; search keeps the old descriptors ' +
          'until all are done, then switches at once. Run it again to resume after a stop',
      )
      .requiredOption('--model <model>', 'the descriptor model to move to, by name or id (facerec models)')
      .option(
        '--drop-failed <token|ids>',
        'switch without the faces a stalled run listed, deleting exactly those: the listing’s drop token, or their face ids (comma-separated)',
      )
      .addOption(workersOption()),
  ).action((opts) => reembedCommand(config, opts));

  withDb(
    program
      .command('calibrate')
      .description(
        'identify’s threshold in force for the gallery (its source, impostor fit, expected FPIR and DIR), and the 1:1 threshold ' +
          'for a target false-accept rate from the gallery’s people with 2+ faces',
      )
      .option('--far <rate>', 'target false-accept rate (0..1; default: 0.001)')
      .option('--plot <file>', 'write the genuine and impostor distance distributions as PNG'),
  ).action((opts) => calibrateCommand(config, opts));

  withDb(
    program
      .command('serve')
      .description('serve the HTTP API, docs and web UI (loopback only until an API key exists)')
      .addOption(new Option('--port <port>', 'TCP port (default: FACEREC_PORT, 3000)').argParser(integerOption('--port', 0, 65535)))
      .option('--host <address>', 'address to listen on (default: FACEREC_HOST; 127.0.0.1 without API keys, else 0.0.0.0)')
      .option('--insecure', 'listen on a non-loopback address without API keys (anyone who can reach it can use the API)')
      .addOption(workersOption()),
    false,
  ).action((opts) => serveCommand(config, opts));

  withDb(
    program
      .command('scan')
      .description(
        'every face of every photo under DIR (and its sub-folders) becomes a sighting of the gallery, its path as the source; ' +
          'photos seen before are skipped, so a second run only does the new work',
      )
      .argument('<dir>', 'folder of photos')
      .addOption(workersOption()),
  ).action((dir: string, opts) => scanCommand(config, dir, opts));

  const clusters = program.command('clusters').description('review the clusters of unknown faces: list, name, merge, ignore, re-cluster');
  withDb(
    clusters
      .command('list', { isDefault: true })
      .description('clusters of unknown faces worth naming, largest first, each with its faces and their sources')
      .option('--min-size <n>', 'clusters with at least this many faces (default 2)')
      .option('--ignored', 'list the ignored clusters instead')
      .option('--faces <n>', 'faces shown per cluster, best first (default all)'),
  ).action((opts) => clustersListCommand(config, opts));
  withDb(clusters.command('show').description('one cluster with all its faces').argument('<cluster>', 'cluster id')).action(
    (id: string, opts) => clustersShowCommand(config, id, opts),
  );
  withDb(
    clusters
      .command('name')
      .description('name a cluster: enroll a new or existing person from its best faces, and label all its faces')
      .argument('<cluster>', 'cluster id')
      .option('--name <name>', 'a new person of this name')
      .option('--person <name-or-id>', 'an existing person: id, external id or exact name')
      .option('--force', 'enroll the faces even where they look unlike the person’s existing faces'),
  ).action((id: string, opts) => clustersNameCommand(config, id, opts));
  withDb(
    clusters.command('merge').description('merge clusters into the largest').argument('<clusters...>', 'two or more cluster ids'),
  ).action((ids: string[], opts) => clustersMergeCommand(config, ids, opts));
  withDb(
    clusters
      .command('ignore')
      .description('never suggest a cluster again (faces that join it later stay ignored)')
      .argument('<cluster>', 'cluster id')
      .option('--undo', 'suggest it again'),
  ).action((id: string, opts) => clustersIgnoreCommand(config, id, opts));
  withDb(
    clusters
      .command('remove')
      .description('take a face out of a cluster (it becomes its own)')
      .argument('<cluster>', 'cluster id')
      .argument('<sighting>', 'sighting id'),
  ).action((id: string, sighting: string, opts) => clustersRemoveCommand(config, id, sighting, opts));
  withDb(clusters.command('recluster').description('re-cluster every unknown face of the gallery from scratch')).action((opts) =>
    reclusterCommand(config, opts),
  );

  const sightings = program.command('sightings').description('faces seen: list them, correct or confirm who one is');
  withDb(
    sightings
      .command('list', { isDefault: true })
      .description('faces seen in the gallery, latest first')
      .option('--outcome <outcome>', 'match, ambiguous or unknown: what identify answered')
      .option('--unknown', 'only those nobody is named for')
      .option('--since <time>', 'seen at or after this ISO 8601 time')
      .option('--limit <n>', 'at most this many (default 50)')
      .option('--offset <n>', 'skip this many'),
  ).action((opts) => sightingsListCommand(config, opts));
  withDb(
    sightings
      .command('correct')
      .description('say who a sighting is (kept as your word), or that it is nobody enrolled')
      .argument('<sighting>', 'sighting id')
      .option('--person <id>', 'the person it is')
      .option('--unknown', 'nobody enrolled'),
    false,
  ).action((id: string, opts) => sightingsCorrectCommand(config, id, opts));
  withDb(
    galleriesCmd
      .command('keep-sightings')
      .description('which faces identify keeps in the gallery as sightings: off (default), unknown, all')
      .argument('<gallery>', 'gallery')
      .argument('<which>', 'off, unknown or all'),
    false,
  ).action((gallery: string, which: string, opts) => keepSightingsCommand(config, gallery, which, opts));
  registerLearningCommands(config, { program, sightings, galleries: galleriesCmd, withDb });

  const keys = program.command('keys').description('create, list and revoke API keys');
  withDb(
    keys
      .command('create')
      .description('create an API key; it is printed once')
      .addOption(
        new Option('--role <role>', 'admin: manage galleries, people and keys; recognize: identify, verify, compare, detect, annotate')
          .choices(ROLES)
          .makeOptionMandatory(),
      )
      .requiredOption('--name <name>', 'what the key is for'),
    false,
  ).action((opts) => keysCommand(config, 'create', opts));
  withDb(keys.command('list').description('list API keys (never the keys themselves)'), false).action((opts) =>
    keysCommand(config, 'list', opts),
  );
  withDb(keys.command('revoke').description('revoke an API key').argument('<id>', 'key id'), false).action((id: string, opts) =>
    keysCommand(config, 'revoke', { ...opts, id }),
  );
  return program;
}

/**
 * Runs the command `argv` names (as process.argv: node, script, then the arguments) with the configuration of `env`;
 * its exit code. Every failure is one line on stderr.
 */
export async function main(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  try {
    // Inside the error handling: a bad FACEREC_* variable is one line and exit 2, like any other error.
    await buildProgram(loadConfig(env)).parseAsync(argv);
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
