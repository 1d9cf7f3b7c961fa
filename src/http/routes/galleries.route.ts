import { z } from 'zod';
import type { ServiceContext } from '../../service/context.js';
import { CalibrateInput, calibrateIdentify, calibrationSummary } from '../../service/calibrate.service.js';
import { CreateGalleryInput, DeleteGalleryInput, galleries, RenameGalleryInput } from '../../service/people.service.js';
import { ReembedInput, reembedStatus, startReembed } from '../../service/reembed.service.js';
import { route, type AnyRoute } from '../route.js';
import { CalibrationResponse, Gallery, GalleryParams } from '../schemas.js';

export function galleryRoutes(ctx: ServiceContext): AnyRoute[] {
  return [
    route({
      method: 'post',
      path: '/v1/galleries',
      tag: 'galleries',
      role: 'admin',
      summary: 'Create a gallery',
      input: CreateGalleryInput,
      responses: { 201: { description: 'Created', schema: z.object({ gallery: Gallery }) } },
      handler: async ({ input }) => ({ gallery: await galleries.create(ctx, input.name, input.model) }),
    }),
    route({
      method: 'get',
      path: '/v1/galleries',
      tag: 'galleries',
      role: 'admin',
      summary: 'List galleries with their people and face counts',
      responses: { 200: { description: 'Galleries', schema: z.object({ galleries: z.array(Gallery) }) } },
      handler: async () => ({ galleries: await galleries.list(ctx) }),
    }),
    route({
      method: 'patch',
      path: '/v1/galleries/:id',
      tag: 'galleries',
      role: 'admin',
      summary: 'Rename a gallery (not the default one); its people, faces and model stay',
      params: GalleryParams,
      input: RenameGalleryInput,
      responses: { 200: { description: 'Renamed', schema: z.object({ gallery: Gallery }) } },
      handler: async ({ params, input }) => ({ gallery: await galleries.rename(ctx, params.id, input.name) }),
    }),
    route({
      method: 'delete',
      path: '/v1/galleries/:id',
      tag: 'galleries',
      role: 'admin',
      summary: 'Delete a gallery; with people in it only with force=true, which erases them',
      params: GalleryParams,
      input: DeleteGalleryInput,
      responses: { 200: { description: 'Deleted', schema: z.object({ deleted: Gallery }) } },
      handler: async ({ params, input }) => ({ deleted: await galleries.delete(ctx, params.id, input.force ?? false) }),
    }),
    route({
      method: 'get',
      path: '/v1/galleries/:id/threshold',
      tag: 'galleries',
      role: 'admin',
      summary: 'The identify threshold in force for the gallery, its source, and the expected FPIR and DIR (cached; cheap)',
      params: GalleryParams,
      responses: { 200: { description: 'The identify calibration', schema: CalibrationResponse.shape.identify } },
      handler: async ({ params }) => calibrateIdentify(ctx, { gallery: params.id }),
    }),
    route({
      method: 'post',
      path: '/v1/galleries/:id/calibrate',
      tag: 'galleries',
      role: 'admin',
      summary: 'The identify threshold in force and what it promises (FPIR, DIR), and the 1:1 threshold at a false-accept rate',
      description:
        'identify: the threshold a call without `threshold` gets in this gallery, from its size at FACEREC_TARGET_FPIR and the impostor ' +
        'model (re-centred on the gallery’s own distances once it has enough people), with the expected FPIR and DIR. verification: ' +
        'the threshold for `far` (default 0.001) from the gallery’s people with two or more faces, as `facerec calibrate` gives it.',
      params: GalleryParams,
      input: CalibrateInput.omit({ gallery: true }),
      responses: { 200: { description: 'The calibration', schema: CalibrationResponse } },
      handler: async ({ params, input }) => calibrationSummary(ctx, { gallery: params.id, far: input.far }),
    }),
    route({
      method: 'post',
      path: '/v1/galleries/:id/reembed',
      tag: 'galleries',
      role: 'admin',
      summary: 'Move the gallery to another descriptor model: every face is described again from its stored thumbnail',
      description:
        'Starts (or resumes) a job and answers at once; GET this path for its progress. Search keeps using the current descriptors ' +
        'until every face has its new one, then all switch in one transaction. Faces without a thumbnail make it REEMBED_NOT_POSSIBLE ' +
        '(nothing starts). A face whose thumbnail cannot be described stalls it: the status lists those faces, the people dropping ' +
        'them would leave without faces, and a dropToken; POST again with dropFailed (that token, or listed face ids) to switch ' +
        'without exactly those faces.',
      params: GalleryParams,
      input: ReembedInput.omit({ gallery: true }),
      responses: { 202: { description: 'Started, or already running', schema: ReembedResponse } },
      handler: async ({ params, input }) => startReembed(ctx, { gallery: params.id, model: input.model, dropFailed: input.dropFailed }),
    }),
    route({
      method: 'get',
      path: '/v1/galleries/:id/reembed',
      tag: 'galleries',
      role: 'admin',
      summary: 'Where the gallery’s move to another descriptor model stands',
      params: GalleryParams,
      responses: { 200: { description: 'Status', schema: ReembedResponse } },
      handler: async ({ params }) => reembedStatus(ctx, params.id),
    }),
  ];
}

const ReembedFailure = z.object({
  faceId: z.string(),
  personId: z.string(),
  personName: z.string(),
  code: z.string(),
  message: z.string(),
});
const PersonRef = z.object({ personId: z.string(), name: z.string() });

const ReembedResponse = z
  .object({
    gallery: z.object({ id: z.string(), name: z.string() }),
    model: z.string().nullable().meta({ description: 'The model the gallery searches with now' }),
    state: z.enum(['idle', 'running', 'pending', 'stalled', 'done']).meta({
      description:
        'running: describing; pending: a stopped run left staged work (POST again to resume); stalled: some faces failed (listed); ' +
        'done: switched (the record of the last move)',
    }),
    target: z.string().nullable(),
    total: z.number().meta({ description: 'Faces in the gallery (done: at the switch); total = staged + failed + remaining (+ dropped)' }),
    staged: z.number().meta({ description: 'Faces described with the target model (done: moved)' }),
    failed: z.array(ReembedFailure).meta({ description: 'Faces the last run could not describe: the listing dropFailed acts on' }),
    remaining: z.number(),
    dropToken: z.string().optional().meta({ description: 'Stalled: this listing’s token, for dropFailed' }),
    wouldLeaveWithoutFaces: z
      .array(PersonRef)
      .optional()
      .meta({ description: 'Stalled: people all of whose faces are listed; dropping them leaves these people without faces' }),
    fromModel: z.string().nullable().optional(),
    finishedAt: z.string().optional(),
    dropped: z.array(ReembedFailure).optional().meta({ description: 'Done: the faces dropped at the switch, as they were listed' }),
    leftWithoutFaces: z
      .array(PersonRef)
      .optional()
      .meta({ description: 'Done: people the drop left without faces (kept; enroll them again)' }),
    error: z.string().optional().meta({ description: 'Why the last run stopped before the switch (pending): POST again to resume' }),
  })
  .meta({ id: 'Reembed' });
