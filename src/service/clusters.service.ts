/**
 * Clusters of unknown faces (issue 23): each unknown sighting joins a cluster as it is seen (the incremental rule of
 * src/match/cluster over its nearest sightings from pgvector), a full re-clustering can be run as a job, and a user
 * reviews them: names one (which enrolls that person from its best faces), merges, takes a face out, or ignores one.
 * After a person is enrolled or named, the unknown sightings that now match them are labelled so, and clusters shrink.
 */
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { DescriptorModelCard } from '../engine/descriptor-models.js';
import type { FaceQuality } from '../core/face.js';
import { FacerecError, InvalidArgumentError, NotFoundError } from '../errors.js';
import { clusterAll, type ClusterNode } from '../match/cluster/cluster-all.js';
import { knnGraphFromLists } from '../match/cluster/graph.js';
import { decideIncremental, type ClusterSummary } from '../match/cluster/incremental.js';
import type { ClusterParams } from '../match/cluster/linkage.js';
import { CLUSTER_RULE, clusterParams } from '../match/cluster/params.js';
import { euclidean } from '../match/distance.js';
import { matchFaces } from '../match/identify.js';
import type { ImpostorTail } from '../match/open-set.js';
import { reducePerPerson } from '../match/reduce.js';
import {
  acquireClusterJob,
  finishClusterJob,
  getClusterJob,
  loadNeighbours,
  releaseClusterJob,
  renewClusterJob,
  saveNeighbours,
  sightingsWithoutNeighbours,
  type ClusterJob,
} from '../store/cluster-jobs.repository.js';
import type { Queryable } from '../store/database.js';
import { imageHashes, insertFace, nearestFaces, personDescriptors, personDistances } from '../store/faces.repository.js';
import { findGallery, type Gallery } from '../store/galleries.repository.js';
import { getPerson, insertPerson, touchPerson, type Person } from '../store/people.repository.js';
import {
  claimPendingSightings,
  clusterMembers,
  clusterPhotos,
  clusterSizes,
  clustersOfPhoto,
  countUnknownSightings,
  createCluster,
  deleteEmptyClusters,
  getCluster,
  getSighting,
  hasUnknownSightings,
  labelCluster,
  listClusters as listClusterRows,
  mergeInto,
  nearestSightings,
  relabelAsMatch,
  setCluster,
  setIgnored,
  setNearest,
  sightingDescriptor,
  unknownSightings,
  unknownSightingsNear,
  type ClusterRow,
  type Sighting,
} from '../store/sightings.repository.js';
import type { ServiceContext } from './context.js';
import { qualityRejection, SAME_FACE_FRACTION } from './enroll.service.js';
import { decimalInteger, GalleryRef, text, Uuid } from './input.js';
import { bindGalleryModel, galleryModel, modelMismatch, type ModelSettings } from './models.service.js';
import { PersonName } from './names.js';
import { resolvePerson } from './people.service.js';
import { galleriesChanged, identifyThreshold, impostorModel } from './open-set.service.js';

// --- inputs -------------------------------------------------------------------------------------------------------

export const ListClustersInput = z.object({
  gallery: GalleryRef.optional(),
  minSize: decimalInteger(1, 1_000_000)
    .optional()
    .meta({ description: `Clusters with at least this many faces (default ${CLUSTER_RULE.minClusterSize}: smaller ones wait for more)` }),
  ignored: z
    .union([z.boolean(), z.enum(['true', 'false'])])
    .transform((v) => v === true || v === 'true')
    .optional()
    .meta({ type: 'boolean', description: 'List the ignored clusters instead' }),
  samples: decimalInteger(0, 10_000).prefault(6).meta({ description: 'Sample faces per cluster, best quality first' }),
  limit: decimalInteger(1, 500).prefault(50),
  offset: decimalInteger(0, 10_000_000).prefault(0),
});

export const NameClusterInput = z
  .object({
    gallery: GalleryRef.optional().meta({ description: 'The cluster’s gallery, checked when given' }),
    name: PersonName.optional().meta({ description: 'A new person of this name' }),
    personId: Uuid.optional().meta({ description: 'Or an existing person of the gallery, by id' }),
    person: text()
      .trim()
      .min(1)
      .max(200)
      .optional()
      .meta({ description: 'Or an existing person of the gallery, by id, external id or exact name (the CLI’s --person)' }),
    force: z
      .union([z.boolean(), z.enum(['true', 'false'])])
      .transform((v) => v === true || v === 'true')
      .optional()
      .meta({ type: 'boolean', description: 'Enroll the faces even where they look unlike the person’s existing faces' }),
  })
  .refine((v) => [v.name, v.personId, v.person].filter((x) => x !== undefined).length === 1, {
    message: 'give either name (a new person) or personId (an existing one)',
  });

export const MergeClustersInput = z.object({
  gallery: GalleryRef.optional(),
  clusters: z.array(Uuid).min(2, 'a merge needs two or more clusters').max(100),
});

export const ClusterRef = z.object({ gallery: GalleryRef.optional() });

export const ReclusterInput = z.object({ gallery: GalleryRef.optional() });

// Faces enrolled when a cluster is named: its best, one per photo, no two copies of one face. Five: LFW View 1 names
// 84.5% of 50 people from one photo and 93.0% from two (docs/accuracy.md), and a few more views of a person keep adding,
// while every template is one more chance for a stranger to match (the open-set rule counts them).
export const FACES_PER_NAMING = 5;

// Unknown sightings clustered per transaction, under the gallery's lock.
const PENDING_BATCH = 32;
// An arbitrary first key of the advisory lock that serialises a gallery's clustering (across replicas).
const CLUSTER_LOCK = 0x63_6c_75_73;
// A re-clustering job renews its lease at each batch; another replica may take over a job silent for this long.
const LEASE_MS = 120_000;
// Sightings whose neighbours are found per batch of a re-clustering.
const JOB_BATCH = 64;

// --- clustering ---------------------------------------------------------------------------------------------------

/** 1 when a face passes the enrollment gates (size, score, sharpness, pose), else 0: only such faces make clusters. */
const quality01 = (ctx: ServiceContext, quality: FaceQuality): number =>
  qualityRejection({ score: quality.score, quality }, ctx.config.enrollment) ? 0 : 1;

interface Setup {
  card: DescriptorModelCard;
  tail: ImpostorTail;
}

/** A model's card and impostor tail: what the clustering's distances come from; null when the model has no statistics. */
async function setupFor(ctx: ServiceContext, modelId: string, cache: Map<string, Setup | null>): Promise<Setup | null> {
  if (cache.has(modelId)) return cache.get(modelId)!;
  let setup: Setup | null = null;
  if (ctx.analyzer.models.has(modelId)) {
    const tail = await impostorModel(ctx, modelId)
      .then((m) => m.reductions.min.tail)
      .catch(() => null);
    if (tail) setup = { card: ctx.analyzer.models.get(modelId), tail };
  }
  cache.set(modelId, setup);
  return setup;
}

const lockGallery = (tx: Queryable, galleryId: string) =>
  tx.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [CLUSTER_LOCK, galleryId]);

/**
 * Clusters the gallery's sightings that wait for it, oldest first, each at once by the incremental rule. Replicas take
 * turns per gallery (an advisory lock), so each sighting is clustered once. Sightings of a model without impostor
 * statistics are left unclustered. Returns how many were seen to.
 */
export async function clusterPending(ctx: ServiceContext, galleryId: string): Promise<number> {
  const setups = new Map<string, Setup | null>();
  let total = 0;
  for (;;) {
    const n = await ctx.db.transaction(async (tx) => {
      await lockGallery(tx, galleryId);
      const batch = await claimPendingSightings(tx, galleryId, PENDING_BATCH);
      const unknown = new Map<string, number>();
      for (const s of batch) {
        const setup = await setupFor(ctx, s.modelId, setups);
        if (!setup) {
          await setCluster(tx, [s.id], null);
          continue;
        }
        if (!unknown.has(s.modelId)) unknown.set(s.modelId, await countUnknownSightings(tx, galleryId, s.modelId));
        const params = clusterParams({ verifyThreshold: setup.card.verifyThreshold, tail: setup.tail }, unknown.get(s.modelId)!);
        await clusterOne(ctx, tx, galleryId, s, setup.card, params);
      }
      return batch.length;
    });
    total += n;
    if (n < PENDING_BATCH) return total;
  }
}

async function clusterOne(
  ctx: ServiceContext,
  tx: Queryable,
  galleryId: string,
  s: { id: string; photoId: string; modelId: string; descriptor: number[]; quality: FaceQuality },
  card: DescriptorModelCard,
  params: ClusterParams,
): Promise<void> {
  const neighbours = await nearestSightings(tx, {
    galleryId,
    modelId: s.modelId,
    dims: card.output.dims,
    descriptor: s.descriptor,
    k: params.k,
    efSearch: ctx.config.efSearch,
    exclude: [s.id],
    clusteredOnly: true,
  });
  const ids = [...new Set(neighbours.flatMap((n) => (n.clusterId ? [n.clusterId] : [])))];
  const sizes = await clusterSizes(tx, ids);
  const summaries = new Map<string, ClusterSummary>(
    ids.map((id) => [id, { size: sizes.get(id)?.size ?? 0, state: sizes.get(id)?.ignored ? 'ignored' : 'suggested' }]),
  );
  const { decision, nearest, updates } = decideIncremental(
    { photo: s.photoId, quality: quality01(ctx, s.quality), photoClusters: await clustersOfPhoto(tx, s.photoId, s.id) },
    neighbours.map((n) => ({
      id: n.id,
      distance: n.distance,
      cluster: n.clusterId,
      photo: n.photoId,
      quality: quality01(ctx, n.quality),
      nearest: n.nearest,
    })),
    summaries,
    params,
  );
  await setNearest(tx, [{ id: s.id, nearest }, ...updates]);
  if (decision.action === 'join') await setCluster(tx, [s.id], decision.cluster);
  else if (decision.action === 'create') await setCluster(tx, [s.id, ...decision.with], await createCluster(tx, galleryId, s.modelId));
  else await setCluster(tx, [s.id], null);
}

// --- review -------------------------------------------------------------------------------------------------------

/** A cluster as a user reviews it. */
export interface ClusterView {
  id: string;
  gallery: { id: string; name: string };
  model: string;
  size: number;
  ignored: boolean;
  ignoredAt: string | null;
  /** Share of its faces' pairs (among its best 24) within the model's verify threshold: 1 = every pair looks alike. */
  cohesion: number;
  /** Mean distance between those pairs. */
  meanDistance: number;
  /** Its best faces first. */
  samples: Sighting[];
  /** The photos its faces came from (their sources, first 20) and how many there are. */
  photos: Array<{ sha256: string; source: string | null }>;
  photoCount: number;
  createdAt: string;
  updatedAt: string;
}

const COHESION_FACES = 24;

async function viewOf(ctx: ServiceContext, q: Queryable, gallery: Gallery, row: ClusterRow, samples: number | 'all'): Promise<ClusterView> {
  const members = await clusterMembers(q, row.id);
  const best = members.slice(0, COHESION_FACES);
  const threshold = ctx.analyzer.models.has(row.modelId) ? ctx.analyzer.models.get(row.modelId).verifyThreshold : Infinity;
  let pairs = 0,
    within = 0,
    sum = 0;
  for (let i = 0; i < best.length; i++)
    for (let j = i + 1; j < best.length; j++) {
      const d = euclidean(best[i]!.descriptor, best[j]!.descriptor);
      pairs++;
      sum += d;
      if (d <= threshold) within++;
    }
  const photos = await clusterPhotos(q, row.id, 1_000_000);
  return {
    id: row.id,
    gallery: { id: gallery.id, name: gallery.name },
    model: row.modelId,
    size: members.length,
    ignored: row.ignoredAt !== null,
    ignoredAt: row.ignoredAt,
    cohesion: pairs ? round3(within / pairs) : 1,
    meanDistance: pairs ? round3(sum / pairs) : 0,
    samples: (samples === 'all' ? members : members.slice(0, samples)).map(({ descriptor: _d, ...s }) => s),
    photos: photos.slice(0, 20),
    photoCount: photos.length,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

const round3 = (v: number) => Math.round(v * 1000) / 1000;

/** The gallery's clusters of unknown faces worth naming, largest first, each with its best faces and its photos. */
export async function listClusters(ctx: ServiceContext, input: z.output<typeof ListClustersInput>) {
  const gallery = await findGallery(ctx.db, input.gallery ?? 'default');
  // Faces seen since the last pass are clustered first, so that the list is current.
  await clusterPending(ctx, gallery.id);
  const { clusters, total } = await listClusterRows(ctx.db, {
    galleryId: gallery.id,
    minSize: input.minSize ?? CLUSTER_RULE.minClusterSize,
    ignored: input.ignored ?? false,
    limit: input.limit,
    offset: input.offset,
  });
  const views = [];
  for (const c of clusters) views.push(await viewOf(ctx, ctx.db, gallery, c, input.samples));
  return { gallery: { id: gallery.id, name: gallery.name }, clusters: views, total, limit: input.limit, offset: input.offset };
}

/** A cluster of the gallery named (when given), or WRONG_GALLERY. */
async function clusterIn(
  q: Queryable,
  id: string,
  galleryRef: string | undefined,
  forUpdate = false,
): Promise<{ cluster: ClusterRow; gallery: Gallery }> {
  const cluster = await getCluster(q, id, { forUpdate });
  const gallery = await findGallery(q, cluster.galleryId);
  if (galleryRef !== undefined) {
    const named = await findGallery(q, galleryRef);
    if (named.id !== gallery.id)
      throw new FacerecError('WRONG_GALLERY', `Cluster ${id} is in gallery "${gallery.name}", not "${named.name}"`, {
        cluster: id,
        gallery: gallery.name,
        given: named.name,
      });
  }
  return { cluster, gallery };
}

/** One cluster with every face in it (best first) and its photos. */
export async function showCluster(ctx: ServiceContext, id: string, galleryRef?: string): Promise<ClusterView> {
  const { cluster, gallery } = await clusterIn(ctx.db, id, galleryRef);
  return viewOf(ctx, ctx.db, gallery, cluster, 'all');
}

export interface NameResult {
  person: Person;
  created: boolean;
  /** The faces enrolled from the cluster (its best, through the enrollment gates). */
  enrolled: Array<{ faceId: string; sightingId: string }>;
  /** Sightings labelled as the person: the cluster's, then unknown ones elsewhere that now match them. */
  labelled: number;
  relabelled: number;
}

/**
 * Names a cluster: a new person or an existing one of the gallery. The person is enrolled from the cluster's best
 * faces (FACES_PER_NAMING, quality first, one per photo, no copy of a face already chosen, each through the enrollment
 * gates and the consistency guard), every sighting of the cluster is labelled as that person on the user's word, and
 * the cluster goes. Unknown sightings elsewhere that now match the person are labelled too.
 */
export async function nameCluster(
  ctx: ServiceContext,
  id: string,
  input: { gallery?: string; name?: string; personId?: string; person?: string; force?: boolean },
  byKey?: string,
): Promise<NameResult> {
  if ([input.name, input.personId, input.person].filter((x) => x !== undefined).length !== 1)
    throw new InvalidArgumentError('Name a cluster with either a new name or an existing person');
  const result = await ctx.db.transaction(async (tx) => {
    const { cluster, gallery } = await clusterIn(tx, id, input.gallery, true);
    const model = galleryModel(ctx, gallery);
    if (cluster.modelId !== model.card.id) throw modelMismatch(gallery.name, model.card.id, cluster.modelId);
    let person: Person;
    let created = false;
    if (input.personId !== undefined || input.person !== undefined) {
      const ref = input.personId ?? (await resolvePerson(tx, gallery.id, input.person!)).id;
      person = await getPerson(tx, ref, { forUpdate: true });
      if (person.galleryId !== gallery.id)
        throw new FacerecError('WRONG_GALLERY', `Person ${person.name} is not in gallery "${gallery.name}" of cluster ${id}`, {
          cluster: id,
          personId: person.id,
        });
    } else {
      person = await insertPerson(tx, { galleryId: gallery.id, name: input.name!, externalId: null, metadata: {} });
      created = true;
    }
    const chosen = await chooseFaces(ctx, tx, id, person, model, input.force ?? false);
    await bindGalleryModel(tx, gallery, model.card);
    const enrolled: NameResult['enrolled'] = [];
    for (const s of chosen) {
      const thumbnail = await tx.query<{ thumbnail: Uint8Array | null }>('SELECT thumbnail FROM sightings WHERE id = $1', [s.id]);
      const face = await insertFace(tx, {
        personId: person.id,
        galleryId: gallery.id,
        descriptor: s.descriptor,
        modelId: model.card.id,
        box: s.box,
        score: s.score,
        quality: s.quality,
        imageSha256: s.photo.sha256,
        thumbnail: ctx.config.thumbnails ? (thumbnail[0]?.thumbnail ?? null) : null,
        origin: 'confirmed',
        sightingId: s.id,
      });
      enrolled.push({ faceId: face.id, sightingId: s.id });
    }
    if (!created) await touchPerson(tx, person.id);
    const labelled = await labelCluster(tx, id, person.id, byKey ?? null);
    await deleteEmptyClusters(tx, gallery.id);
    return { person: { ...person, faceCount: person.faceCount + enrolled.length }, created, enrolled, labelled, galleryId: gallery.id };
  });
  galleriesChanged(ctx.db);
  const relabelled = await relabelMatches(ctx, result.galleryId, result.person.id);
  const { galleryId: _g, ...rest } = result;
  return { ...rest, relabelled };
}

/** The cluster's faces to enroll for `person`: best first, through the gates, one per photo, no copies, consistent. */
async function chooseFaces(
  ctx: ServiceContext,
  tx: Queryable,
  clusterId: string,
  person: Person,
  model: ModelSettings,
  force: boolean,
): Promise<Array<Sighting & { descriptor: number[] }>> {
  const members = await clusterMembers(tx, clusterId);
  const known = await imageHashes(tx, person.id);
  const copy = SAME_FACE_FRACTION * model.card.verifyThreshold;
  const chosen: Array<Sighting & { descriptor: number[] }> = [];
  let firstRejection: ReturnType<typeof qualityRejection>;
  for (const s of members) {
    if (chosen.length >= FACES_PER_NAMING) break;
    const gate = qualityRejection({ score: s.score, quality: s.quality }, ctx.config.enrollment);
    if (gate) {
      firstRejection ??= gate;
      continue;
    }
    if (known.has(s.photo.sha256) || chosen.some((c) => c.photo.sha256 === s.photo.sha256)) continue;
    if (chosen.some((c) => euclidean(c.descriptor, s.descriptor) <= copy)) continue;
    chosen.push(s);
  }
  if (chosen.length === 0) {
    const gate = firstRejection;
    throw new FacerecError(
      gate?.code ?? 'NO_FACE',
      `None of the cluster's ${members.length} faces can be enrolled${gate ? `: ${gate.message}` : ' (each is of a photo the person already has)'}`,
      { cluster: clusterId, faces: members.length, ...(gate ? { gate: gate.details } : {}) },
    );
  }
  if (force) return chosen;
  // The consistency guard, as for any enrollment: against the person's faces, or, for a person without, each other.
  const threshold = model.verifyThreshold;
  const inconsistent: Array<{ sightingId: string; distance: number }> = [];
  for (const s of chosen) {
    const against =
      person.faceCount > 0
        ? (await personDistances(tx, person.id, model.card.id, s.descriptor))[0]
        : chosen.length > 1
          ? Math.min(...chosen.filter((o) => o !== s).map((o) => euclidean(o.descriptor, s.descriptor)))
          : undefined;
    if (against !== undefined && against > threshold) inconsistent.push({ sightingId: s.id, distance: round3(against) });
  }
  if (inconsistent.length > 0)
    throw new FacerecError(
      'INCONSISTENT_IDENTITY',
      `${inconsistent.length} of the cluster's best faces do not look like ${person.faceCount > 0 ? `${person.name}'s enrolled faces` : 'the others'} ` +
        `(beyond ${threshold}): take them out of the cluster first, or force it`,
      { cluster: clusterId, inconsistent, threshold },
    );
  return chosen;
}

/**
 * Labels the gallery's unknown sightings that now match `personId` (after an enrollment or a naming): each candidate
 * near one of the person's faces is identified again against the whole gallery, at its identify threshold and
 * ambiguity margin, and labelled only when its answer is this person. A user's word is never overturned. Returns how
 * many were labelled.
 */
export async function relabelMatches(ctx: ServiceContext, galleryId: string, personId: string): Promise<number> {
  if (!(await hasUnknownSightings(ctx.db, galleryId))) return 0;
  const gallery = await findGallery(ctx.db, galleryId);
  if (!gallery.descriptorModel) return 0;
  const model = galleryModel(ctx, gallery);
  const descriptors = await personDescriptors(ctx.db, personId, model.card.id);
  if (descriptors.length === 0) return 0;
  const { threshold } = await identifyThreshold(ctx, gallery.id, model, undefined);
  const candidates = new Set<string>();
  for (const { descriptor } of descriptors)
    for (const c of await unknownSightingsNear(ctx.db, {
      galleryId: gallery.id,
      modelId: model.card.id,
      dims: model.card.output.dims,
      descriptor,
      threshold,
      limit: 500,
      efSearch: ctx.config.efSearch,
    }))
      candidates.add(c.id);
  if (candidates.size === 0) return 0;
  const matched: string[] = [];
  for (const id of candidates) {
    const descriptor = await sightingDescriptor(ctx.db, id);
    const hits = await nearestFaces(ctx.db, {
      galleryId: gallery.id,
      modelId: model.card.id,
      dims: model.card.output.dims,
      descriptor,
      limit: 32,
      efSearch: ctx.config.efSearch,
    });
    const [answer] = matchFaces([reducePerPerson(hits, ctx.config.reduction)], {
      threshold,
      ambiguityMargin: model.ambiguityMargin,
      topK: 1,
      confidence: model.confidence,
    });
    if (answer?.outcome === 'match' && answer.person?.id === personId) matched.push(id);
  }
  await ctx.db.transaction(async (tx) => {
    await lockGallery(tx, gallery.id);
    await relabelAsMatch(tx, matched, personId);
    await deleteEmptyClusters(tx, gallery.id);
  });
  return matched.length;
}

/** Merges clusters of one gallery into the largest; their faces are then kept together by every later pass. */
export async function mergeClusters(ctx: ServiceContext, input: z.output<typeof MergeClustersInput>): Promise<ClusterView> {
  const ids = [...new Set(input.clusters)];
  if (ids.length < 2) throw new InvalidArgumentError('A merge needs two or more different clusters', { clusters: input.clusters });
  const { into, gallery } = await ctx.db.transaction(async (tx) => {
    await lockGallery(tx, (await getCluster(tx, ids[0]!)).galleryId);
    const found = [];
    for (const id of ids) found.push(await clusterIn(tx, id, input.gallery, true));
    const gallery = found[0]!.gallery;
    for (const f of found) {
      if (f.gallery.id !== gallery.id)
        throw new FacerecError(
          'WRONG_GALLERY',
          `Clusters of different galleries cannot be merged ("${gallery.name}", "${f.gallery.name}")`,
          {
            clusters: ids,
          },
        );
      if (f.cluster.modelId !== found[0]!.cluster.modelId) throw modelMismatch(gallery.name, found[0]!.cluster.modelId, f.cluster.modelId);
    }
    const [largest, ...rest] = [...found].sort((a, b) => b.cluster.size - a.cluster.size);
    for (const r of rest) await mergeInto(tx, r.cluster.id, largest!.cluster.id);
    return { into: largest!.cluster.id, gallery };
  });
  return viewOf(ctx, ctx.db, gallery, await getCluster(ctx.db, into), 'all');
}

/** Takes a face out of its cluster: it becomes a cluster of its own, where later passes leave it. */
export async function removeFromCluster(ctx: ServiceContext, clusterId: string, sightingId: string, galleryRef?: string) {
  return ctx.db.transaction(async (tx) => {
    const { cluster, gallery } = await clusterIn(tx, clusterId, galleryRef, true);
    const sighting = await getSighting(tx, sightingId);
    if (sighting.clusterId !== cluster.id)
      throw new NotFoundError('SIGHTING_NOT_FOUND', `Sighting ${sightingId} of cluster ${clusterId}`, {
        cluster: clusterId,
        sighting: sightingId,
      });
    const own = await createCluster(tx, gallery.id, cluster.modelId);
    await setCluster(tx, [sightingId], own, true);
    await deleteEmptyClusters(tx, gallery.id);
    return { sighting: sightingId, cluster: own };
  });
}

/** Ignores a cluster (never suggested again; faces that join it later stay ignored), or brings it back. */
export async function ignoreCluster(
  ctx: ServiceContext,
  id: string,
  ignored: boolean,
  galleryRef?: string,
  byKey?: string,
): Promise<ClusterView> {
  const { gallery } = await ctx.db.transaction(async (tx) => {
    const found = await clusterIn(tx, id, galleryRef, true);
    await setIgnored(tx, id, ignored, byKey ?? null);
    return found;
  });
  return viewOf(ctx, ctx.db, gallery, await getCluster(ctx.db, id), 6);
}

// --- full re-clustering -------------------------------------------------------------------------------------------

export interface ReclusterStatus {
  gallery: { id: string; name: string };
  /** idle: never run; running: a replica holds it; stopped: a run stopped (its work is kept; run it again); done. */
  state: 'idle' | 'running' | 'stopped' | 'done';
  total: number;
  done: number;
  startedAt?: string;
  finishedAt?: string | null;
  result?: Record<string, unknown> | null;
  error?: string | null;
}

const statusOf = (gallery: Gallery, job: ClusterJob | null): ReclusterStatus => {
  const base = { gallery: { id: gallery.id, name: gallery.name } };
  if (!job) return { ...base, state: 'idle', total: 0, done: 0 };
  const live = job.leaseUntil !== null && Date.parse(job.leaseUntil) > Date.now();
  const state = job.finishedAt ? 'done' : live ? 'running' : 'stopped';
  return {
    ...base,
    state,
    total: job.total,
    done: job.finishedAt ? job.total : job.done,
    startedAt: job.startedAt,
    finishedAt: job.finishedAt,
    result: job.result,
    error: job.error,
  };
};

export async function reclusterStatus(ctx: ServiceContext, galleryRef = 'default'): Promise<ReclusterStatus> {
  const gallery = await findGallery(ctx.db, galleryRef);
  return statusOf(gallery, await getClusterJob(ctx.db, gallery.id));
}

const OWNER = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;

/**
 * Re-clusters every unknown sighting of the gallery from scratch (when the incremental state has drifted): the k
 * nearest sightings of each from pgvector (kept as found, so that a stopped run resumes), then the full rule of
 * src/match/cluster in memory (n·k, no n² matrix), then one transaction that applies it. What users decided stays:
 * ignored clusters and faces they merged or took out are pinned, named faces are not unknown. One replica at a time.
 */
export async function reclusterGallery(
  ctx: ServiceContext,
  galleryRef = 'default',
  onProgress?: (done: number, total: number) => void,
): Promise<ReclusterStatus> {
  const gallery = await acquire(ctx, galleryRef);
  return runRecluster(ctx, gallery, onProgress);
}

/** Takes the gallery's re-clustering job, then runs it in the background (HTTP: 202, then GET its status). */
export async function startRecluster(ctx: ServiceContext, galleryRef = 'default'): Promise<ReclusterStatus> {
  const gallery = await acquire(ctx, galleryRef);
  void runRecluster(ctx, gallery).catch(() => {}); // its outcome is read back with reclusterStatus
  return reclusterStatus(ctx, gallery.id);
}

async function acquire(ctx: ServiceContext, galleryRef: string): Promise<Gallery> {
  const gallery = await findGallery(ctx.db, galleryRef);
  if (!(await acquireClusterJob(ctx.db, gallery.id, OWNER, LEASE_MS)))
    throw new FacerecError('JOB_RUNNING', `A re-clustering of gallery "${gallery.name}" is running (on this or another replica)`, {
      gallery: gallery.name,
    });
  return gallery;
}

async function runRecluster(
  ctx: ServiceContext,
  gallery: Gallery,
  onProgress?: (done: number, total: number) => void,
): Promise<ReclusterStatus> {
  try {
    await clusterPending(ctx, gallery.id);
    const result = gallery.descriptorModel ? await recluster(ctx, gallery, onProgress) : { sightings: 0, clusters: 0 };
    await finishClusterJob(ctx.db, gallery.id, OWNER, { result });
  } catch (err) {
    await releaseClusterJob(ctx.db, gallery.id, OWNER, err instanceof Error ? err.message : String(err)).catch(() => {});
    throw err;
  }
  return reclusterStatus(ctx, gallery.id);
}

async function recluster(ctx: ServiceContext, gallery: Gallery, onProgress?: (done: number, total: number) => void) {
  const t0 = performance.now();
  const model = galleryModel(ctx, gallery);
  const setup = await setupFor(ctx, model.card.id, new Map());
  if (!setup) return { sightings: 0, clusters: 0, skipped: `no impostor statistics for ${model.card.name}` };
  const all = await unknownSightings(ctx.db, gallery.id, model.card.id);
  const params = clusterParams({ verifyThreshold: setup.card.verifyThreshold, tail: setup.tail }, all.length);
  const missing = await sightingsWithoutNeighbours(
    ctx.db,
    gallery.id,
    all.map((s) => s.id),
  );
  let done = all.length - missing.size;
  await renewClusterJob(ctx.db, gallery.id, OWNER, LEASE_MS, all.length);
  const todo = all.filter((s) => missing.has(s.id));
  for (let i = 0; i < todo.length; i += JOB_BATCH) {
    const rows = [];
    for (const s of todo.slice(i, i + JOB_BATCH)) {
      const near = await nearestSightings(ctx.db, {
        galleryId: gallery.id,
        modelId: model.card.id,
        dims: model.card.output.dims,
        descriptor: s.descriptor,
        k: params.k,
        efSearch: ctx.config.efSearch,
        exclude: [s.id],
      });
      rows.push({ id: s.id, neighbours: near.map((n) => n.id), distances: near.map((n) => n.distance) });
    }
    await saveNeighbours(ctx.db, gallery.id, rows);
    done += rows.length;
    if (!(await renewClusterJob(ctx.db, gallery.id, OWNER, LEASE_MS)))
      throw new FacerecError('JOB_RUNNING', 'Another replica took the re-clustering over', { gallery: gallery.name });
    onProgress?.(done, all.length);
  }
  const lists = await loadNeighbours(ctx.db, gallery.id);
  const index = new Map(all.map((s, i) => [s.id, i]));
  const graph = knnGraphFromLists(
    all.map((s) => {
      const l = lists.get(s.id) ?? { neighbours: [], distances: [] };
      return l.neighbours.flatMap((id, r) => (index.has(id) ? [{ index: index.get(id)!, distance: l.distances[r]! }] : []));
    }),
    params.k,
  );
  const nodes: ClusterNode[] = all.map((s) => ({
    photo: s.photoId,
    quality: quality01(ctx, s.quality),
    ...(s.clusterId && s.ignored
      ? { pinned: { cluster: s.clusterId, state: 'ignored' as const } }
      : s.clusterId && s.locked
        ? { pinned: { cluster: s.clusterId, state: 'confirmed' as const } }
        : {}),
  }));
  const assignment = clusterAll(nodes, graph, params);
  const clusters = await ctx.db.transaction(async (tx) => {
    await lockGallery(tx, gallery.id);
    const used = new Set<string>();
    let made = 0;
    for (const found of assignment.clusters) {
      const members = found.members.map((i) => all[i]!);
      let id = found.pinned?.cluster;
      if (!id) {
        // Keep the id of the old cluster most of its faces were in, so that a link a user holds still leads there.
        const votes = new Map<string, number>();
        for (const m of members) if (m.clusterId && !m.locked && !m.ignored) votes.set(m.clusterId, (votes.get(m.clusterId) ?? 0) + 1);
        id = [...votes.entries()].sort((a, b) => b[1] - a[1]).find(([c]) => !used.has(c))?.[0];
      }
      id ??= await createCluster(tx, gallery.id, model.card.id);
      used.add(id);
      made++;
      await setCluster(
        tx,
        members.map((m) => m.id),
        id,
      );
    }
    const alone = all.filter((_, i) => assignment.cluster[i] === -1 && !nodes[i]!.pinned).map((s) => s.id);
    await setCluster(tx, alone, null);
    await setNearest(
      tx,
      all.map((s, i) => ({
        id: s.id,
        nearest: Array.from(graph.distances.subarray(i * graph.k, (i + 1) * graph.k)).filter(Number.isFinite),
      })),
    );
    await deleteEmptyClusters(tx, gallery.id);
    return made;
  });
  return {
    sightings: all.length,
    clusters,
    suggested: assignment.clusters.filter((c) => c.suggested).length,
    alone: [...assignment.cluster].filter((c) => c === -1).length,
    seconds: Math.round((performance.now() - t0) / 100) / 10,
  };
}
