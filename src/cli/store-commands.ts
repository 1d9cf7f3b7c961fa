/** CLI commands over the gallery database: thin adapters over src/service. */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { SingleBar, Presets } from 'cli-progress';
import type { Config } from '../config/index.js';
import { attributesText } from '../core/face.js';
import { FacerecError, InvalidArgumentError } from '../errors.js';
import { ReembedInput, reembedGallery } from '../service/reembed.service.js';
import { drawIdentification } from '../service/draw.service.js';
import { CalibrateInput, calibrateGallery, calibrationPlot, calibrationSummary } from '../service/calibrate.service.js';
import { databaseTarget, migrateDatabase, openFacerec, type Facerec } from '../service/context.js';
import { AddFacesInput, CreatePersonInput } from '../service/enroll.schema.js';
import { addFacesTo, createPerson } from '../service/enroll.service.js';
import { identify, IdentifyInput, verify, VerifyInput } from '../service/identify.service.js';
import { countImport, importFolder, ImportInput } from '../service/import.service.js';
import {
  CreateGalleryInput,
  DeleteGalleryInput,
  deletePerson,
  galleries,
  GalleryInput,
  ListPeopleInput,
  listPeople,
  PatchPersonInput,
  RenameGalleryInput,
  renamePerson,
  showPerson,
} from '../service/people.service.js';
import { readUserFile } from './files.js';
import { parseOptions } from './options.js';
import { createApiKey, CreateKeyInput, listKeys, revokeKey, RevokeKeyInput } from '../service/keys.service.js';
import { enrollmentJson } from '../service/views.js';
import { withWarnings } from '../service/warnings.js';
import { printWarnings } from './commands.js';

export interface DbOptions {
  db?: string;
  migrate: boolean;
  gallery?: string;
  json?: boolean;
}

export const print = (text: string): void => {
  process.stdout.write(`${text}\n`);
};
const fixed = (v: number | null | undefined, digits = 4): string => (v === null || v === undefined ? '-' : v.toFixed(digits));

/** Opens the database (and the engine, when `workers` is given: 0 = this thread), runs `fn`, and closes both. */
export async function withFacerec<T>(
  config: Config,
  opts: DbOptions,
  workers: number | undefined,
  fn: (app: Facerec) => Promise<T>,
  queueSize?: number,
): Promise<T> {
  const app = await openFacerec(config, {
    db: databaseTarget(config, opts.db),
    migrate: opts.migrate,
    workers: workers ?? 'none',
    ...(queueSize ? { queueSize } : {}),
  });
  try {
    return await fn(app);
  } finally {
    await app.close();
  }
}

export async function migrateCommand(config: Config, opts: DbOptions): Promise<void> {
  const result = await migrateDatabase(databaseTarget(config, opts.db));
  if (opts.json) return print(JSON.stringify({ applied: result.applied.map((m) => `${m.version}_${m.name}`), current: result.current }));
  for (const m of result.applied) print(`applied ${String(m.version).padStart(4, '0')}_${m.name}`);
  print(`${result.location}: schema at version ${result.current}${result.applied.length ? '' : ' (nothing to do)'}`);
}

export async function enrollCommand(
  config: Config,
  images: string[],
  opts: DbOptions & {
    name?: string;
    person?: string;
    externalId?: string;
    metadata?: string;
    skipRejected?: boolean;
    largestFace?: boolean;
    faceBox?: string[];
    force?: boolean;
    allowDuplicatePerson?: boolean;
  },
): Promise<void> {
  if (!opts.name === !opts.person)
    throw new InvalidArgumentError('Give either --name NAME (a new person) or --person NAME_OR_ID (add faces)');
  const enrollOptions = {
    gallery: opts.gallery,
    onReject: opts.skipRejected ? 'skip' : 'fail',
    largestFace: opts.largestFace,
    faceBoxes: opts.faceBox?.length ? opts.faceBox.map(faceBoxOption) : undefined,
    force: opts.force,
    allowDuplicatePerson: opts.allowDuplicatePerson,
  };
  const flags = { onReject: '--skip-rejected', faceBoxes: '--face-box' };
  if ((opts.faceBox?.length ?? 0) > images.length)
    throw new InvalidArgumentError(
      `--face-box is given ${opts.faceBox!.length} times, for ${images.length} photo(s): once per photo at most`,
      {
        field: '--face-box',
      },
    );
  // Parsed before any photo is read: a bad name or metadata fails at once.
  const input = opts.name
    ? parseOptions(CreatePersonInput, { ...enrollOptions, name: opts.name, externalId: opts.externalId, metadata: opts.metadata }, flags)
    : undefined;
  const addInput = opts.person ? parseOptions(AddFacesInput, enrollOptions, flags) : undefined;
  const photos = await Promise.all(images.map(async (file) => ({ bytes: await readUserFile(file), name: file })));
  const result = await withFacerec(config, opts, photos.length > 1 ? Math.min(config.workers, photos.length) : 0, async (app) => {
    if (input) {
      const { gallery, name, externalId, metadata, ...options } = input;
      return createPerson(app, { gallery, name, externalId, metadata }, photos, options);
    }
    const { gallery, ...options } = addInput!;
    return addFacesTo(app, opts.person!, photos, options, gallery);
  });
  // The same JSON as the API's answer to an enrollment.
  const enrollment = enrollmentJson(result);
  if (opts.json) return print(JSON.stringify(enrollment));
  const { person, created, faces, rejected } = enrollment;
  print(`${created ? 'created' : 'updated'} ${person.name} (${person.id}): ${faces.length} face(s) enrolled, ${person.faceCount} in all`);
  const lines = [
    ...faces.map((f) => ({
      index: f.index,
      lines: [`  accepted ${f.file}`, ...f.warnings.map((w) => `    warning ${w.code}: ${w.message}`)],
    })),
    ...rejected.map((r) => ({ index: r.index, lines: [`  rejected ${r.file}: ${r.code}: ${r.message}`] })),
  ].sort((a, b) => a.index - b.index);
  for (const photo of lines) photo.lines.forEach(print);
}

/** One --face-box: "x,y,width,height" as `facerec detect` prints a box, or "auto" for a photo without a choice. */
function faceBoxOption(value: string): number[] | null {
  if (value.trim().toLowerCase() === 'auto') return null;
  const parts = value.split(',').map((part) => part.trim());
  const box = parts.map(Number);
  if (parts.length !== 4 || !parts.every((part) => /^\d+(\.\d+)?$/.test(part)) || !(box[2]! > 0 && box[3]! > 0))
    throw new InvalidArgumentError(
      `--face-box must be x,y,width,height with a positive width and height (as facerec detect gives a box) or auto, got "${value}"`,
      { field: '--face-box' },
    );
  return box;
}

export async function importCommand(
  config: Config,
  dir: string,
  opts: DbOptions & { largestFace?: boolean; force?: boolean; workers: number },
): Promise<void> {
  const input = parseOptions(ImportInput, { gallery: opts.gallery, largestFace: opts.largestFace, force: opts.force });
  const { people, photos } = await countImport(dir);
  const bar = process.stderr.isTTY
    ? new SingleBar(
        { format: 'import [{bar}] {value}/{total} photos {percentage}% eta {eta_formatted}', stream: process.stderr },
        Presets.shades_classic,
      )
    : undefined;
  const t0 = performance.now();
  const summary = await withFacerec(
    config,
    opts,
    opts.workers,
    async (app) => {
      bar?.start(photos, 0);
      try {
        return await importFolder(app, dir, {
          ...input,
          concurrency: opts.workers * 2,
          onPerson: (_p, done) => bar?.update(done),
        });
      } finally {
        bar?.stop();
      }
    },
    Math.max(config.queueSize, opts.workers * 2 * 20),
  );
  const seconds = (performance.now() - t0) / 1000;
  if (opts.json) return print(JSON.stringify({ ...summary, seconds }));
  print(`${dir}: ${people} folder(s), ${photos} photo(s) in ${seconds.toFixed(1)} s`);
  print(`  people created      ${summary.created}`);
  print(`  faces enrolled      ${summary.enrolled}`);
  print(`  already enrolled    ${summary.alreadyEnrolled}`);
  print(
    `  photos rejected     ${summary.rejected}${
      summary.rejected
        ? ` (${Object.entries(summary.rejectedByCode)
            .map(([c, n]) => `${c} ${n}`)
            .join(', ')})`
        : ''
    }`,
  );
  for (const p of summary.people) {
    for (const r of p.rejected) print(`  rejected ${r.file ?? `${p.folder} #${r.index + 1}`}: ${r.code}: ${r.message}`);
    if (p.error && p.rejected.length === 0) print(`  failed ${p.folder}: ${p.error.code}: ${p.error.message}`);
  }
}

export async function identifyCommand(
  config: Config,
  image: string,
  opts: DbOptions & {
    threshold?: string;
    topK?: string | number;
    maxFaces?: string;
    annotate?: string;
    landmarks?: boolean;
    attributes?: string;
    keepSightings?: string;
    source?: string;
  },
): Promise<void> {
  const input = parseOptions(
    IdentifyInput,
    {
      gallery: opts.gallery,
      threshold: opts.threshold,
      topK: opts.topK,
      maxFaces: opts.maxFaces,
      includeLandmarks: opts.landmarks,
      attributes: opts.attributes,
      keepSightings: opts.keepSightings,
      // A kept face's source is the path that was read, unless told otherwise.
      source: opts.source ?? (opts.keepSightings && opts.keepSightings !== 'off' ? image : undefined),
    },
    { includeLandmarks: '--landmarks' },
  );
  const ext = opts.annotate ? path.extname(opts.annotate).toLowerCase() : '';
  if (opts.annotate && !['.jpg', '.jpeg', '.png'].includes(ext))
    throw new InvalidArgumentError(`--annotate must end in .jpg, .jpeg or .png, not '${ext || opts.annotate}'`);
  const bytes = await readUserFile(image);
  const result = await withFacerec(config, opts, 0, (app) => identify(app, bytes, input));
  if (opts.annotate) await writeFile(opts.annotate, await drawIdentification(config, bytes, result, ext === '.png' ? 'png' : 'jpeg'));
  if (opts.json)
    return print(
      JSON.stringify({
        faces: result.faces,
        threshold: result.threshold,
        thresholdSource: result.thresholdSource,
        expectedFpir: result.expectedFpir,
        gallery: result.gallery,
        ...withWarnings(result.warnings ?? []),
      }),
    );
  const promise = result.expectedFpir === null ? '' : `, expected FPIR ${(result.expectedFpir * 100).toFixed(2)}%`;
  print(
    `${image}: ${result.faces.length} face(s), gallery ${result.gallery.name}, threshold ${result.threshold} (${result.thresholdSource}${promise})`,
  );
  result.faces.forEach((f, i) => {
    const others = f.candidates.map((c) => `${c.person.name} ${fixed(c.distance, 3)}`).join(', ');
    print(
      `  #${i + 1} [${f.box.map(Math.round).join(', ')}] ${f.outcome.padEnd(9)} ${f.label}${f.reason ? ` (${f.reason}: ${f.quality.size} px)` : ''}  distance ${fixed(f.distance)} confidence ${fixed(f.confidence, 2)}${others ? `  (candidates: ${others})` : ''}${f.attributes ? `  ${attributesText(f.attributes)}` : ''}`,
    );
  });
  printWarnings(result.warnings);
  if (opts.annotate) print(`annotated image written to ${opts.annotate}`);
}

export async function verifyCommand(
  config: Config,
  image: string,
  opts: DbOptions & { person: string; threshold?: string; largestFace?: boolean },
): Promise<void> {
  const input = parseOptions(VerifyInput, { gallery: opts.gallery, threshold: opts.threshold, largestFace: opts.largestFace });
  const bytes = await readUserFile(image);
  const result = await withFacerec(config, opts, 0, (app) => verify(app, bytes, opts.person, input));
  if (opts.json) return print(JSON.stringify(result));
  const which = result.facesInPhoto > 1 ? ` (the largest of ${result.facesInPhoto} faces)` : '';
  print(
    `${result.match ? 'match' : 'no match'}: ${image}${which} ${result.match ? 'is' : 'is not'} ${result.person.name}, distance ${fixed(result.distance)} (threshold ${result.threshold}, confidence ${fixed(result.confidence, 2)})`,
  );
  printWarnings(result.warnings);
}

export async function peopleCommand(
  config: Config,
  action: 'list' | 'show' | 'rename' | 'delete',
  args: string[],
  opts: DbOptions & { search?: string; limit?: string | number; offset?: string | number },
): Promise<void> {
  const list =
    action === 'list'
      ? parseOptions(ListPeopleInput, { gallery: opts.gallery, search: opts.search, limit: opts.limit, offset: opts.offset })
      : undefined;
  const patch =
    action === 'rename' ? parseOptions(PatchPersonInput, { gallery: opts.gallery, name: args[1] }, { name: '<new-name>' }) : undefined;
  const { gallery } = parseOptions(GalleryInput, { gallery: opts.gallery });
  await withFacerec(config, opts, undefined, async (app) => {
    if (list) {
      const page = await listPeople(app, list);
      if (opts.json) return print(JSON.stringify({ people: page.people, total: page.total }));
      print(`${page.total} people in gallery ${page.gallery.name}${opts.search ? ` matching "${opts.search}"` : ''}`);
      for (const p of page.people)
        print(`  ${p.id}  ${p.name}  ${p.faceCount} face(s)${p.externalId ? `  external id ${p.externalId}` : ''}`);
      return;
    }
    const ref = args[0]!;
    if (action === 'show') {
      const person = await showPerson(app, ref, gallery);
      if (opts.json) return print(JSON.stringify(person));
      print(
        `${person.name} (${person.id})${person.externalId ? `, external id ${person.externalId}` : ''}, ${person.faces.length} face(s)`,
      );
      print(`  metadata ${JSON.stringify(person.metadata)}`);
      for (const f of person.faces)
        print(
          `  face ${f.id}  box [${f.box.map(Math.round).join(', ')}]  size ${f.quality.size}px  sharpness ${f.quality.sharpness}  ${f.createdAt}  ` +
            `${f.origin}${f.sightingId ? ` from sighting ${f.sightingId}` : ''}`,
        );
      return;
    }
    if (patch) {
      const { gallery: _, ...change } = patch;
      const person = await renamePerson(app, ref, change, gallery);
      return opts.json ? print(JSON.stringify(person)) : print(`renamed ${person.id} to ${person.name}`);
    }
    const person = await deletePerson(app, ref, gallery);
    return opts.json
      ? print(JSON.stringify({ deleted: person }))
      : print(`deleted ${person.name} (${person.id}) and ${person.faceCount} face(s)`);
  });
}

export async function galleriesCommand(
  config: Config,
  action: 'list' | 'create' | 'rename' | 'delete',
  name: string | undefined,
  opts: DbOptions & { force?: boolean; model?: string; newName?: string },
): Promise<void> {
  const created = action === 'create' ? parseOptions(CreateGalleryInput, { name, model: opts.model }, { name: '<name>' }) : undefined;
  const renamed = action === 'rename' ? parseOptions(RenameGalleryInput, { name: opts.newName }, { name: '<new-name>' }) : undefined;
  const deleted = action === 'delete' ? parseOptions(DeleteGalleryInput, { force: opts.force }) : undefined;
  await withFacerec(config, opts, undefined, async (app) => {
    if (action === 'list') {
      const list = await galleries.list(app);
      if (opts.json) return print(JSON.stringify({ galleries: list }));
      for (const g of list)
        print(`  ${g.id}  ${g.name}  ${g.people} people, ${g.faces} face(s), model ${g.descriptorModel ?? '(not bound yet)'}`);
      return;
    }
    if (created) {
      const g = await galleries.create(app, created.name, created.model);
      return opts.json ? print(JSON.stringify(g)) : print(`created gallery ${g.name} (${g.id}), descriptor model ${g.descriptorModel}`);
    }
    if (renamed) {
      const g = await galleries.rename(app, name!, renamed.name);
      return opts.json ? print(JSON.stringify({ gallery: g })) : print(`renamed gallery ${name} to ${g.name} (${g.id})`);
    }
    const g = await galleries.delete(app, name!, deleted?.force);
    return opts.json
      ? print(JSON.stringify({ deleted: g }))
      : print(`deleted gallery ${g.name} with ${g.people} people and ${g.faces} face(s)`);
  });
}

export async function reembedCommand(
  config: Config,
  opts: DbOptions & { model?: string; dropFailed?: string; workers?: number },
): Promise<void> {
  // A drop token is 16 hex digits; anything else is a list of face ids.
  const dropFailed = opts.dropFailed === undefined || /^[0-9a-f]{16}$/.test(opts.dropFailed) ? opts.dropFailed : opts.dropFailed.split(',');
  const input = parseOptions(ReembedInput, { gallery: opts.gallery, model: opts.model, dropFailed });
  const bar = process.stderr.isTTY
    ? new SingleBar(
        { format: 'reembed [{bar}] {value}/{total} faces {percentage}% eta {eta_formatted}', stream: process.stderr },
        Presets.shades_classic,
      )
    : undefined;
  const status = await withFacerec(config, opts, opts.workers ?? config.workers, async (app) => {
    try {
      return await reembedGallery(app, {
        ...input,
        onProgress: (staged, total) => {
          if (bar && !bar.isActive) bar.start(total, staged);
          bar?.setTotal(total);
          bar?.update(staged);
        },
      });
    } finally {
      bar?.stop();
    }
  });
  if (opts.json) print(JSON.stringify(status));
  else if (status.state === 'done') {
    print(`gallery ${status.gallery.name} now uses ${status.model}: ${status.staged} faces described again`);
    for (const f of status.dropped ?? []) print(`  dropped face ${f.faceId} of ${f.personName} (${f.personId}): ${f.code}`);
    for (const p of status.leftWithoutFaces ?? []) print(`  ${p.name} (${p.personId}) has no face left: enroll a photo of them again`);
  } else if (status.state === 'idle') print(`gallery ${status.gallery.name} already uses ${status.model}`);
  else {
    print(
      `gallery ${status.gallery.name} still uses ${status.model}: ${status.staged} of ${status.total} faces staged for ${status.target}, ` +
        `${status.failed.length} failed`,
    );
    for (const f of status.failed) print(`  face ${f.faceId} of ${f.personName} (${f.personId}): ${f.code}: ${f.message}`);
    for (const p of status.wouldLeaveWithoutFaces ?? [])
      print(`  dropping them leaves ${p.name} (${p.personId}) without any face (the person is kept)`);
  }
  // A move that did not switch is a failure for scripts, whatever the output format.
  if (status.state === 'stalled')
    throw new FacerecError(
      'REEMBED_NOT_POSSIBLE',
      `${status.failed.length} faces could not be described again; re-enroll those people, or switch without exactly those faces with ` +
        `--drop-failed ${status.dropToken}`,
      { failed: status.failed.length, dropToken: status.dropToken },
    );
}

export async function calibrateCommand(config: Config, opts: DbOptions & { far?: string; plot?: string }): Promise<void> {
  const input = parseOptions(CalibrateInput, { gallery: opts.gallery, far: opts.far });
  const { summary, plot } = await withFacerec(config, opts, 0, async (app) => {
    const summary = await calibrationSummary(app, input);
    // The plot needs the distances themselves, which the summary only counts.
    const plot = opts.plot && summary.verification ? await calibrationPlot(await calibrateGallery(app, input)) : undefined;
    return { summary, plot };
  });
  if (opts.plot && plot) await writeFile(opts.plot, plot);
  if (opts.json) return print(JSON.stringify(summary));
  const pct = (v: number) => `${(v * 100).toFixed(2)}%`;
  const id = summary.identify;
  const tail = (t: { mean: number; sd: number }) => `mean ${t.mean.toFixed(4)}, sd ${t.sd.toFixed(4)}`;
  print(`gallery ${id.gallery.name}: ${id.people} people, ${id.faces} faces`);
  print(`identify (1:N) at FPIR ${pct(id.targetFpir)} (FACEREC_TARGET_FPIR):`);
  print(
    `  threshold in force ${id.threshold.toFixed(4)} (${id.source}): expected FPIR ${pct(id.expectedFpir)}, DIR ${pct(id.expectedDir)}`,
  );
  print(
    `  impostor fit (lower tail of a stranger's distance to one ${id.reduction === 'min' ? 'face' : 'person'}): shipped ${tail(id.impostor.shipped)}` +
      (id.source === 'gallery-calibrated'
        ? `; re-centred on ${id.impostor.crossPersonDistances} cross-person distances of this gallery: ${tail(id.impostor.inForce)} ` +
          `(the mean ±${id.impostor.tailMeanSe.toFixed(4)}, which widens the sd)`
        : `; the gallery calibrates itself from ${id.impostor.minPeopleForGallery} people`),
  );
  print(`  shipped fit: ${id.impostor.fittedOn}`);
  print(
    `  the 1:1 threshold ${id.fixedThreshold.threshold} would give FPIR ${pct(id.fixedThreshold.expectedFpir)}, DIR ${pct(id.fixedThreshold.expectedDir)} here`,
  );
  const v = summary.verification;
  if (!v) {
    print(`verify (1:1): ${summary.verificationUnavailable}`);
  } else {
    print(`verify (1:1): ${v.genuinePairs} genuine and ${v.impostorPairs} impostor comparisons`);
    print(`  threshold for FAR ${pct(v.far)}: ${v.threshold.toFixed(4)}  (TAR ${pct(v.tar)}, FAR achieved ${pct(v.achievedFar)})`);
    print(`  current threshold ${v.current.threshold}: TAR ${pct(v.current.tar)}, FAR ${pct(v.current.far)}`);
    print(`  set FACEREC_THRESHOLD=${v.threshold.toFixed(4)} to use it for verify and compare`);
  }
  if (opts.plot) print(plot ? `distance distributions written to ${opts.plot}` : 'no plot: the gallery has too few people with two faces');
}

export async function keysCommand(
  config: Config,
  action: 'create' | 'list' | 'revoke',
  opts: DbOptions & { role?: string; name?: string; id?: string },
): Promise<void> {
  const created = action === 'create' ? parseOptions(CreateKeyInput, { name: opts.name, role: opts.role }) : undefined;
  const revoked = action === 'revoke' ? parseOptions(RevokeKeyInput, { id: opts.id }, { id: '<id>' }) : undefined;
  await withFacerec(config, opts, undefined, async (app) => {
    if (created) {
      const { key, apiKey } = await createApiKey(app.db, created);
      if (opts.json) return print(JSON.stringify({ key, apiKey }));
      print(key);
      process.stderr.write(`created ${apiKey.role} key "${apiKey.name}" (${apiKey.id}); it is shown only now, store it safely\n`);
      return;
    }
    if (action === 'list') {
      const keys = await listKeys(app.db);
      if (opts.json) return print(JSON.stringify({ keys }));
      for (const k of keys)
        print(
          `  ${k.id}  ${k.prefix}…  ${k.role.padEnd(9)}  ${k.name}${k.revokedAt ? '  (revoked)' : ''}${k.lastUsedAt ? `  last used ${k.lastUsedAt}` : ''}`,
        );
      return;
    }
    const key = await revokeKey(app.db, revoked!.id);
    return opts.json ? print(JSON.stringify({ revoked: key })) : print(`revoked ${key.prefix}… (${key.name})`);
  });
}

export async function serveCommand(
  config: Config,
  opts: DbOptions & { port?: number; host?: string; insecure?: boolean; workers: number },
): Promise<void> {
  // The HTTP server (express and its middleware) loads only for `serve`.
  const { startServer } = await import('../http/server.js');
  const server = await startServer(config, {
    db: databaseTarget(config, opts.db),
    migrate: opts.migrate,
    workers: opts.workers,
    ...(opts.port !== undefined ? { port: opts.port } : {}),
    ...(opts.host ? { host: opts.host } : {}),
    insecure: opts.insecure,
    handleSignals: true,
  });
  process.stderr.write(`facerec serving on ${server.url} (API ${server.url}/v1, docs ${server.url}/docs)\n`);
  // Runs until SIGTERM/SIGINT.
  await new Promise<never>(() => {});
}
