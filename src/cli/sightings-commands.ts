/** The faces-seen commands: scan a folder, review clusters of unknown faces and name them, list and correct sightings. */
import { Presets, SingleBar } from 'cli-progress';
import type { Config } from '../config/index.js';
import { InvalidArgumentError } from '../errors.js';
import {
  ignoreCluster,
  listClusters,
  ListClustersInput,
  mergeClusters,
  MergeClustersInput,
  nameCluster,
  NameClusterInput,
  reclusterGallery,
  removeFromCluster,
  showCluster,
  type ClusterView,
} from '../service/clusters.service.js';
import { scanFolder, ScanInput } from '../service/scan.service.js';
import {
  correctSighting,
  GallerySightingsInput,
  listSightings,
  ListSightingsInput,
  setGallerySightings,
} from '../service/sightings.service.js';
import { clusterJson, sightingJson } from '../service/views.js';
import { parseOptions } from './options.js';
import { print, withFacerec, type DbOptions } from './store-commands.js';

// The CLI speaks for itself: what a user decides here is recorded as the command line's.
const CLI = 'cli';

function bar(label: string): SingleBar | undefined {
  return process.stderr.isTTY
    ? new SingleBar(
        { format: `${label} [{bar}] {value}/{total} photos {percentage}% eta {eta_formatted}`, stream: process.stderr },
        Presets.shades_classic,
      )
    : undefined;
}

/** `facerec scan DIR`: every face of every photo under DIR becomes a sighting; photos seen before are skipped. */
export async function scanCommand(config: Config, dir: string, opts: DbOptions & { workers: number }): Promise<void> {
  const input = parseOptions(ScanInput, { gallery: opts.gallery });
  const progress = bar('scan');
  const { summary, photos } = await withFacerec(config, opts, opts.workers, async (app) => {
    try {
      return await scanFolder(app, dir, {
        gallery: input.gallery,
        concurrency: Math.max(2, opts.workers * 2),
        onStart: (n) => progress?.start(n, 0),
        onPhoto: (_p, done) => progress?.update(done),
      });
    } finally {
      progress?.stop();
    }
  });
  if (opts.json) return print(JSON.stringify({ summary, photos }));
  print(
    `scanned ${summary.photos} photo(s) into gallery ${summary.gallery.name}: ${summary.new} new, ${summary.seen} seen before (skipped), ` +
      `${summary.failed} unreadable; ${summary.faces} face(s), ${summary.sightings} kept`,
  );
  for (const p of photos.filter((x) => x.status === 'failed')) print(`  ${p.source}: ${p.error?.code}: ${p.error?.message}`);
  print(`review them: facerec clusters -g ${summary.gallery.name}`);
}

const describeCluster = (c: ClusterView): string =>
  `${c.id}  ${String(c.size).padStart(4)} faces in ${c.photoCount} photo(s)  cohesion ${c.cohesion.toFixed(2)}${c.ignored ? '  (ignored)' : ''}`;

/** `facerec clusters`: the gallery's clusters of unknown faces, largest first, each with its faces and their sources. */
export async function clustersListCommand(
  config: Config,
  opts: DbOptions & { minSize?: string; ignored?: boolean; faces?: string },
): Promise<void> {
  const input = parseOptions(
    ListClustersInput,
    { gallery: opts.gallery, minSize: opts.minSize, ignored: opts.ignored, samples: opts.faces ?? '10000', limit: '500' },
    { samples: '--faces' },
  );
  const page = await withFacerec(config, opts, undefined, (app) => listClusters(app, input));
  if (opts.json) return print(JSON.stringify({ ...page, clusters: page.clusters.map(clusterJson) }));
  print(`gallery ${page.gallery.name}: ${page.total} cluster(s) of unknown faces${input.ignored ? ' (ignored)' : ''}`);
  for (const c of page.clusters) {
    print(describeCluster(c));
    for (const s of c.samples) print(`    ${s.id}  ${s.photo.source ?? s.photo.sha256.slice(0, 16)}`);
  }
  if (page.total > 0) print('name one: facerec clusters name <cluster-id> --name "<their name>"');
}

export async function clustersShowCommand(config: Config, id: string, opts: DbOptions): Promise<void> {
  const cluster = await withFacerec(config, opts, undefined, (app) => showCluster(app, id, opts.gallery));
  if (opts.json) return print(JSON.stringify(clusterJson(cluster)));
  print(describeCluster(cluster));
  for (const s of cluster.samples) print(`    ${s.id}  ${s.photo.source ?? s.photo.sha256.slice(0, 16)}`);
}

/** `facerec clusters name ID --name N | --person P`: enrolls the person from the cluster's best faces. */
export async function clustersNameCommand(
  config: Config,
  id: string,
  opts: DbOptions & { name?: string; person?: string; force?: boolean },
): Promise<void> {
  const input = parseOptions(NameClusterInput, { gallery: opts.gallery, name: opts.name, person: opts.person, force: opts.force });
  const result = await withFacerec(config, opts, undefined, (app) => nameCluster(app, id, input, CLI));
  if (opts.json) return print(JSON.stringify(result));
  print(
    `${result.created ? 'created' : 'added to'} ${result.person.name} (${result.person.id}): ${result.enrolled.length} face(s) enrolled, ` +
      `${result.labelled} sighting(s) of the cluster labelled, ${result.relabelled} more now match`,
  );
}

export async function clustersMergeCommand(config: Config, ids: string[], opts: DbOptions): Promise<void> {
  const input = parseOptions(MergeClustersInput, { gallery: opts.gallery, clusters: ids }, { clusters: '<clusters>' });
  const cluster = await withFacerec(config, opts, undefined, (app) => mergeClusters(app, input));
  if (opts.json) return print(JSON.stringify(clusterJson(cluster)));
  print(`merged into ${describeCluster(cluster)}`);
}

export async function clustersIgnoreCommand(config: Config, id: string, opts: DbOptions & { undo?: boolean }): Promise<void> {
  const cluster = await withFacerec(config, opts, undefined, (app) => ignoreCluster(app, id, !opts.undo, opts.gallery, CLI));
  if (opts.json) return print(JSON.stringify(clusterJson(cluster)));
  print(`${opts.undo ? 'suggested again' : 'ignored'}: ${describeCluster(cluster)}`);
}

export async function clustersRemoveCommand(config: Config, id: string, sighting: string, opts: DbOptions): Promise<void> {
  const moved = await withFacerec(config, opts, undefined, (app) => removeFromCluster(app, id, sighting, opts.gallery));
  if (opts.json) return print(JSON.stringify(moved));
  print(`sighting ${moved.sighting} is now alone in cluster ${moved.cluster}`);
}

export async function reclusterCommand(config: Config, opts: DbOptions): Promise<void> {
  const progress = process.stderr.isTTY
    ? new SingleBar({ format: 'recluster [{bar}] {value}/{total} faces {percentage}%', stream: process.stderr }, Presets.shades_classic)
    : undefined;
  const status = await withFacerec(config, opts, undefined, async (app) => {
    try {
      return await reclusterGallery(app, opts.gallery, (done, total) => {
        if (progress && !progress.isActive) progress.start(total, done);
        progress?.update(done);
      });
    } finally {
      progress?.stop();
    }
  });
  if (opts.json) return print(JSON.stringify(status));
  print(`gallery ${status.gallery.name} re-clustered: ${JSON.stringify(status.result)}`);
}

export async function sightingsListCommand(
  config: Config,
  opts: DbOptions & { outcome?: string; unknown?: boolean; since?: string; limit?: string; offset?: string },
): Promise<void> {
  const input = parseOptions(ListSightingsInput, {
    gallery: opts.gallery,
    outcome: opts.outcome,
    unknown: opts.unknown,
    since: opts.since,
    limit: opts.limit,
    offset: opts.offset,
  });
  const page = await withFacerec(config, opts, undefined, (app) => listSightings(app, input));
  if (opts.json) return print(JSON.stringify({ ...page, sightings: page.sightings.map(sightingJson) }));
  print(`gallery ${page.gallery.name}: ${page.total} sighting(s)`);
  for (const s of page.sightings)
    print(
      `  ${s.id}  ${s.seenAt}  ${(s.person?.name ?? 'Unknown').padEnd(20)} ${s.outcome.padEnd(9)} ${s.photo.source ?? s.photo.sha256.slice(0, 16)}`,
    );
}

export async function sightingsCorrectCommand(
  config: Config,
  id: string,
  opts: DbOptions & { person?: string; unknown?: boolean },
): Promise<void> {
  if (!opts.person === !opts.unknown) throw new InvalidArgumentError('Give either --person <id> or --unknown');
  const sighting = await withFacerec(config, opts, undefined, (app) => correctSighting(app, id, opts.person ?? null, CLI));
  if (opts.json) return print(JSON.stringify(sightingJson(sighting)));
  print(`sighting ${sighting.id} is now ${sighting.person?.name ?? 'Unknown'} (your word: kept as such)`);
}

export async function keepSightingsCommand(config: Config, gallery: string, keep: string, opts: DbOptions): Promise<void> {
  const input = parseOptions(GallerySightingsInput, { gallery, keepSightings: keep }, { keepSightings: '<which>' });
  const updated = await withFacerec(config, opts, undefined, (app) => setGallerySightings(app, input.gallery!, input.keepSightings));
  if (opts.json) return print(JSON.stringify(updated));
  print(
    `gallery ${updated.name} keeps ${updated.keepSightings === 'off' ? 'no sightings' : `${updated.keepSightings} faces as sightings`}`,
  );
}
