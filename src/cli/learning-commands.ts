/** A gallery that learns (issue 24): confirm a sighting, choose whether certain matches are learned, list and remove learned faces. */
import type { Command } from 'commander';
import type { Config } from '../config/index.js';
import { InvalidArgumentError } from '../errors.js';
import {
  confirmSighting,
  ConfirmSightingInput,
  GalleryLearningInput,
  listLearnedFaces,
  ListLearnedInput,
  removeLearnedFace,
  removeLearnedFaces,
  RemoveLearnedInput,
  setGalleryLearning,
  type TemplateOutcome,
} from '../service/learning.service.js';
import { faceJson, sightingJson } from '../service/views.js';
import { parseOptions } from './options.js';
import { print, withFacerec, type DbOptions } from './store-commands.js';

// What a user decides here is recorded as the command line's.
const CLI = 'cli';

const templateLine = (t: TemplateOutcome): string => {
  const nearest = t.nearest !== undefined ? ` (nearest template ${t.nearest})` : '';
  switch (t.reason) {
    case 'added':
      return `the face is now a template (${t.faceId})${t.replacedFaceId ? `, in place of ${t.replacedFaceId}` : ''}${nearest}`;
    case 'already':
      return `the face is a template already (${t.faceId})`;
    case 'near-duplicate':
      return `not added as a template: a near-duplicate of ${t.faceId}${nearest}`;
    case 'cap':
      return `not added as a template: the person has as many as FACEREC_TEMPLATE_CAP allows, none it may displace${nearest}`;
    case 'quality':
      return 'not added as a template: below the enrollment quality gates';
    case 'guard':
      return `not added as a template: unlike every face of the person (the consistency guard)${nearest}`;
    case 'same-photo':
      return `not added as a template: the person has a face of that photo (${t.faceId})`;
  }
};

/** `facerec sightings confirm ID [--person P]`. */
export async function sightingsConfirmCommand(config: Config, id: string, opts: DbOptions & { person?: string }): Promise<void> {
  const input = parseOptions(ConfirmSightingInput, { person: opts.person });
  const { sighting, template } = await withFacerec(config, opts, undefined, (app) => confirmSighting(app, id, input, CLI));
  if (opts.json) return print(JSON.stringify({ sighting: sightingJson(sighting), template }));
  print(`sighting ${sighting.id} is ${sighting.person?.name ?? 'Unknown'} (your word: kept as such); ${templateLine(template)}`);
}

/** `facerec galleries learn GALLERY off|certain`. */
export async function galleryLearnCommand(config: Config, gallery: string, learn: string, opts: DbOptions): Promise<void> {
  const input = parseOptions(GalleryLearningInput, { gallery, learn }, { learn: '<mode>' });
  const updated = await withFacerec(config, opts, undefined, (app) => setGalleryLearning(app, input.gallery!, input.learn));
  if (opts.json) return print(JSON.stringify(updated));
  print(
    updated.learn === 'certain'
      ? `gallery ${updated.name} learns from certain matches (list them: facerec learned -g ${updated.name})`
      : `gallery ${updated.name} adds templates only when you confirm a face`,
  );
}

type LearnedOptions = DbOptions & { person?: string; origin?: string; limit?: string; offset?: string; all?: boolean };

/** `facerec learned [list]`: the gallery's faces from sightings, newest first. */
export async function learnedListCommand(config: Config, opts: LearnedOptions): Promise<void> {
  const input = parseOptions(ListLearnedInput, {
    gallery: opts.gallery,
    person: opts.person,
    origin: opts.origin,
    limit: opts.limit,
    offset: opts.offset,
  });
  const page = await withFacerec(config, opts, undefined, (app) => listLearnedFaces(app, input));
  const faces = page.faces.map((f) => ({ ...faceJson(f), person: { id: f.personId, name: f.personName } }));
  if (opts.json) return print(JSON.stringify({ ...page, faces }));
  print(`gallery ${page.gallery.name}: ${page.total} ${input.origin === 'any' ? 'confirmed or learned' : input.origin} face(s)`);
  for (const f of page.faces)
    print(`  ${f.id}  ${f.personName.padEnd(20)} ${f.origin.padEnd(9)} ${f.createdAt}  sighting ${f.sightingId ?? '(purged)'}`);
}

/** `facerec learned remove [FACE] [--person P | --all]`. */
export async function learnedRemoveCommand(config: Config, face: string | undefined, opts: LearnedOptions): Promise<void> {
  if ([face !== undefined, opts.person !== undefined, opts.all === true].filter(Boolean).length !== 1)
    throw new InvalidArgumentError('Give one of: a face id, --person <person>, --all');
  if (face !== undefined) {
    const deleted = await withFacerec(config, opts, undefined, (app) => removeLearnedFace(app, face, opts.gallery));
    if (opts.json) return print(JSON.stringify({ deleted: faceJson(deleted) }));
    return print(`removed the ${deleted.origin} face ${deleted.id}`);
  }
  const input = parseOptions(RemoveLearnedInput, { gallery: opts.gallery, person: opts.person, origin: opts.origin });
  const result = await withFacerec(config, opts, undefined, (app) => removeLearnedFaces(app, input));
  if (opts.json) return print(JSON.stringify({ ...result, faces: result.faces.map(faceJson) }));
  print(
    `removed ${result.deleted} ${input.origin === 'any' ? 'confirmed or learned' : input.origin} face(s) from ` +
      `${opts.person ? `${opts.person} in ` : ''}gallery ${result.gallery.name}`,
  );
}

/** Registers the commands on the program (`withDb` adds --db, --json and, unless told not to, --gallery). */
export function registerLearningCommands(
  config: Config,
  parts: { program: Command; sightings: Command; galleries: Command; withDb: (cmd: Command, gallery?: boolean) => Command },
): void {
  const { program, sightings, galleries, withDb } = parts;
  withDb(
    sightings
      .command('confirm')
      .description('confirm who a sighting is (your word); the face becomes a template of the person when it adds something')
      .argument('<sighting>', 'sighting id')
      .option('--person <person>', 'the person it is (id, external id or name): default, the one it is labelled or matched as'),
    false,
  ).action((id: string, opts) => sightingsConfirmCommand(config, id, opts));
  withDb(
    galleries
      .command('learn')
      .description('whether identify adds certain matches as templates in the gallery: off (default) or certain')
      .argument('<gallery>', 'gallery')
      .argument('<mode>', 'off or certain'),
    false,
  ).action((gallery: string, mode: string, opts) => galleryLearnCommand(config, gallery, mode, opts));

  const learned = program.command('learned').description('faces a gallery learned (or a user confirmed): list them, remove them');
  const originOption = '--origin <origin>';
  const originHelp = 'learned (default), confirmed, or any';
  withDb(
    learned
      .command('list', { isDefault: true })
      .description("the gallery's learned faces, newest first")
      .option('--person <person>', "only this person's (id, external id or name)")
      .option(originOption, originHelp)
      .option('--limit <n>', 'at most this many (default 50)')
      .option('--offset <n>', 'skip this many'),
  ).action((opts) => learnedListCommand(config, opts));
  withDb(
    learned
      .command('remove')
      .description("remove one learned face, a person's, or all of the gallery's")
      .argument('[face]', 'face id')
      .option('--person <person>', "all of this person's (id, external id or name)")
      .option('--all', "all of the gallery's")
      .option(originOption, originHelp),
  ).action((face: string | undefined, opts) => learnedRemoveCommand(config, face, opts));
}
