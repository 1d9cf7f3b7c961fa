/** Faces seen (issue 23): sightings, scanning a batch of photos, clusters of unknown faces and naming them. */
import type { Request } from 'express';
import { z } from 'zod';
import {
  ClusterRef,
  ignoreCluster,
  listClusters,
  ListClustersInput,
  mergeClusters,
  MergeClustersInput,
  nameCluster,
  NameClusterInput,
  startRecluster,
  reclusterStatus,
  removeFromCluster,
  showCluster,
} from '../../service/clusters.service.js';
import type { ServiceContext } from '../../service/context.js';
import { boolish, Uuid } from '../../service/input.js';
import { scanPhotos, ScanBatchInput } from '../../service/scan.service.js';
import {
  correctSighting,
  CorrectSightingInput,
  GallerySightingsInput,
  listSightings,
  ListSightingsInput,
  setGallerySightings,
  showSighting,
  sightingThumbnailOf,
} from '../../service/sightings.service.js';
import { clusterJson, sightingJson } from '../../service/views.js';
import { HttpError } from '../errors.js';
import { route, type AnyRoute } from '../route.js';
import { ClusterJson, Gallery, GalleryParams, SightingJson } from '../schemas.js';
import { filesOf } from '../upload.js';

const IdParams = z.object({ id: Uuid });
const ClusterSightingParams = z.object({ id: Uuid, sightingId: Uuid });

const ScannedPhoto = z.object({
  source: z.string().optional(),
  sha256: z.string(),
  status: z
    .enum(['new', 'seen', 'failed'])
    .meta({ description: 'new: analysed now; seen: already seen by the gallery, skipped; failed: unreadable' }),
  faces: z.number(),
  sightings: z.number(),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
});

const ReclusterStatus = z
  .object({
    gallery: z.object({ id: Uuid, name: z.string() }),
    state: z.enum(['idle', 'running', 'stopped', 'done']),
    total: z.number(),
    done: z.number(),
    startedAt: z.string().optional(),
    finishedAt: z.string().nullable().optional(),
    result: z.record(z.string(), z.unknown()).nullable().optional(),
    error: z.string().nullable().optional(),
  })
  .meta({ id: 'Recluster' });

/** Who said so: the API key's name, when keys are in use. */
const keyOf = (req: Request): string | undefined => (req as Request & { apiKey?: { name: string } }).apiKey?.name;

export function sightingRoutes(ctx: ServiceContext): AnyRoute[] {
  return [
    route({
      method: 'patch',
      path: '/v1/galleries/:id/sightings',
      tag: 'faces seen',
      role: 'admin',
      summary: 'Choose which faces identify keeps in the gallery as sightings (off by default)',
      description:
        'off: none (the default); unknown: the faces identify cannot name; all: every face. Kept faces are biometric data: they are ' +
        'purged FACEREC_SIGHTING_RETENTION_DAYS after they were last seen, and erased with the person they are labelled as.',
      params: GalleryParams,
      input: GallerySightingsInput.omit({ gallery: true }),
      responses: { 200: { description: 'The gallery', schema: z.object({ gallery: Gallery }) } },
      handler: async ({ params, input }) => ({ gallery: await setGallerySightings(ctx, params.id, input.keepSightings) }),
    }),
    route({
      method: 'post',
      path: '/v1/scan',
      tag: 'faces seen',
      role: 'admin',
      summary: 'Scan a batch of photos: every face becomes a sighting of the gallery; photos seen before are skipped',
      description:
        'Multipart: the photos in `images`, and optionally `sources` (one per photo, in order; the file names otherwise). A photo the ' +
        'gallery has seen (same sha256) is skipped, so a batch can be sent again after a failure. The unknown faces join clusters.',
      input: ScanBatchInput,
      files: [{ name: 'images', maxCount: 1000, required: true, description: 'Photos' }],
      responses: {
        200: {
          description: 'Each photo, and the totals',
          schema: z.object({
            summary: z.object({
              gallery: z.object({ id: Uuid, name: z.string() }),
              photos: z.number(),
              new: z.number(),
              seen: z.number(),
              failed: z.number(),
              faces: z.number(),
              sightings: z.number(),
            }),
            photos: z.array(ScannedPhoto),
          }),
        },
      },
      handler: async ({ input, req }) => {
        const files = filesOf(req, 'images');
        if (files.length === 0) throw new HttpError(400, 'MISSING_IMAGE', 'Send the photos as multipart/form-data in the field "images"');
        const sources = input.sources === undefined ? [] : Array.isArray(input.sources) ? input.sources : [input.sources];
        if (sources.length > 0 && sources.length !== files.length)
          throw new HttpError(400, 'INVALID_ARGUMENT', `${sources.length} sources for ${files.length} photos: give one per photo, or none`);
        const photos = files.map((f, i) => ({
          bytes: new Uint8Array(f.buffer.buffer, f.buffer.byteOffset, f.buffer.byteLength),
          source: sources[i] ?? f.originalname,
        }));
        return scanPhotos(ctx, input.gallery, photos, Math.max(2, ctx.analyzer.status().workers * 2));
      },
    }),
    route({
      method: 'get',
      path: '/v1/sightings',
      tag: 'faces seen',
      role: 'admin',
      summary: 'Faces seen in a gallery, latest first, filtered by outcome, person, cluster or time',
      input: ListSightingsInput,
      responses: {
        200: {
          description: 'A page of sightings',
          schema: z.object({
            gallery: z.object({ id: Uuid, name: z.string() }),
            sightings: z.array(SightingJson),
            total: z.number(),
            limit: z.number(),
            offset: z.number(),
          }),
        },
      },
      handler: async ({ input }) => {
        const page = await listSightings(ctx, input);
        return { ...page, sightings: page.sightings.map(sightingJson) };
      },
    }),
    route({
      method: 'get',
      path: '/v1/sightings/:id',
      tag: 'faces seen',
      role: 'admin',
      summary: 'One sighting',
      params: IdParams,
      responses: { 200: { description: 'The sighting', schema: z.object({ sighting: SightingJson }) } },
      handler: async ({ params }) => ({ sighting: sightingJson(await showSighting(ctx, params.id)) }),
    }),
    route({
      method: 'patch',
      path: '/v1/sightings/:id',
      tag: 'faces seen',
      role: 'admin',
      summary: 'Correct who a sighting is: another person of its gallery, or nobody enrolled (null)',
      description: 'Kept as the user’s word (who, when) and never overturned by an automatic pass; enrolled faces are not changed.',
      params: IdParams,
      input: CorrectSightingInput,
      responses: { 200: { description: 'The sighting', schema: z.object({ sighting: SightingJson }) } },
      handler: async ({ params, input, req }) => ({
        sighting: sightingJson(await correctSighting(ctx, params.id, input.personId, keyOf(req))),
      }),
    }),
    route({
      method: 'get',
      path: '/v1/sightings/:id/thumbnail',
      tag: 'faces seen',
      role: 'admin',
      summary: 'The sighting’s aligned face thumbnail (JPEG, 150×150)',
      params: IdParams,
      responses: { 200: { description: 'JPEG', image: true } },
      handler: async ({ params, res }) => {
        const thumbnail = await sightingThumbnailOf(ctx, params.id);
        res.setHeader('Cache-Control', 'private, max-age=60');
        res.type('image/jpeg').send(Buffer.from(thumbnail));
      },
    }),
    route({
      method: 'get',
      path: '/v1/clusters',
      tag: 'faces seen',
      role: 'admin',
      summary: 'Clusters of unknown faces worth naming, largest first, with sample faces and their photos',
      input: ListClustersInput,
      responses: {
        200: {
          description: 'A page of clusters',
          schema: z.object({
            gallery: z.object({ id: Uuid, name: z.string() }),
            clusters: z.array(ClusterJson),
            total: z.number(),
            limit: z.number(),
            offset: z.number(),
          }),
        },
      },
      handler: async ({ input }) => {
        const page = await listClusters(ctx, input);
        return { ...page, clusters: page.clusters.map(clusterJson) };
      },
    }),
    route({
      method: 'get',
      path: '/v1/clusters/:id',
      tag: 'faces seen',
      role: 'admin',
      summary: 'One cluster with all its faces and the photos they came from',
      params: IdParams,
      input: ClusterRef,
      responses: { 200: { description: 'The cluster', schema: z.object({ cluster: ClusterJson }) } },
      handler: async ({ params, input }) => ({ cluster: clusterJson(await showCluster(ctx, params.id, input.gallery)) }),
    }),
    route({
      method: 'post',
      path: '/v1/clusters/:id/name',
      tag: 'faces seen',
      role: 'admin',
      summary: 'Name a cluster: enroll a new or existing person from its best faces, and label every face of it',
      description:
        'Its best faces (up to 5, quality first, one per photo) go through the enrollment gates and the consistency guard; every sighting ' +
        'of the cluster is labelled as the person, and unknown sightings elsewhere that now match them are labelled too.',
      params: IdParams,
      input: NameClusterInput,
      responses: {
        200: {
          description: 'Named',
          schema: z.object({
            person: z.object({ id: Uuid, name: z.string(), faceCount: z.number() }).passthrough(),
            created: z.boolean(),
            enrolled: z.array(z.object({ faceId: Uuid, sightingId: Uuid })),
            labelled: z.number(),
            relabelled: z.number(),
          }),
        },
      },
      handler: async ({ params, input, req }) => nameCluster(ctx, params.id, input, keyOf(req)),
    }),
    route({
      method: 'post',
      path: '/v1/clusters/merge',
      tag: 'faces seen',
      role: 'admin',
      summary: 'Merge clusters of one gallery into the largest; later passes keep their faces together',
      input: MergeClustersInput,
      responses: { 200: { description: 'The merged cluster', schema: z.object({ cluster: ClusterJson }) } },
      handler: async ({ input }) => ({ cluster: clusterJson(await mergeClusters(ctx, input)) }),
    }),
    route({
      method: 'post',
      path: '/v1/clusters/:id/ignore',
      tag: 'faces seen',
      role: 'admin',
      summary: 'Ignore a cluster (never suggested again; faces that join it later stay ignored), or bring it back',
      params: IdParams,
      input: ClusterRef.extend({ ignored: boolish.prefault(true).meta({ description: 'false brings it back' }) }),
      responses: { 200: { description: 'The cluster', schema: z.object({ cluster: ClusterJson }) } },
      handler: async ({ params, input, req }) => ({
        cluster: clusterJson(await ignoreCluster(ctx, params.id, input.ignored, input.gallery, keyOf(req))),
      }),
    }),
    route({
      method: 'delete',
      path: '/v1/clusters/:id/sightings/:sightingId',
      tag: 'faces seen',
      role: 'admin',
      summary: 'Take a face out of a cluster: it becomes a cluster of its own, where later passes leave it',
      params: ClusterSightingParams,
      input: ClusterRef,
      responses: { 200: { description: 'Where the face went', schema: z.object({ sighting: Uuid, cluster: Uuid }) } },
      handler: async ({ params, input }) => removeFromCluster(ctx, params.id, params.sightingId, input.gallery),
    }),
    route({
      method: 'post',
      path: '/v1/galleries/:id/recluster',
      tag: 'faces seen',
      role: 'admin',
      summary: 'Re-cluster every unknown face of the gallery from scratch, as a job (GET this path for its progress)',
      description: 'What users decided stays: ignored clusters and faces they merged or took out. One replica at a time; resumable.',
      params: GalleryParams,
      responses: { 202: { description: 'Started', schema: ReclusterStatus } },
      handler: async ({ params }) => startRecluster(ctx, params.id),
    }),
    route({
      method: 'get',
      path: '/v1/galleries/:id/recluster',
      tag: 'faces seen',
      role: 'admin',
      summary: 'Where the gallery’s re-clustering stands',
      params: GalleryParams,
      responses: { 200: { description: 'Status', schema: ReclusterStatus } },
      handler: async ({ params }) => reclusterStatus(ctx, params.id),
    }),
  ];
}
