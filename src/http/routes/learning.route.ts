/** A gallery that learns (issue 24): confirming sightings, the learning setting, and the faces learned, listed and removed. */
import type { Request } from 'express';
import { z } from 'zod';
import type { ServiceContext } from '../../service/context.js';
import { GalleryRef, Uuid } from '../../service/input.js';
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
} from '../../service/learning.service.js';
import { faceJson, sightingJson } from '../../service/views.js';
import { route, type AnyRoute } from '../route.js';
import { FaceRecord, Gallery, GalleryParams, SightingJson } from '../schemas.js';

const IdParams = z.object({ id: Uuid });
const GalleryFaceParams = z.object({ id: GalleryRef, faceId: Uuid });
const GalleryOf = z.object({ id: Uuid, name: z.string() });

const TemplateOutcome = z
  .object({
    added: z.boolean().meta({ description: 'Whether the face became a template of the person now' }),
    faceId: Uuid.optional().meta({
      description: 'added: the new template; already: the template it is; near-duplicate: the template it nearly repeats',
    }),
    replacedFaceId: Uuid.optional().meta({
      description: 'The learned (or, for a confirmed face, confirmed) template it displaced at the cap',
    }),
    reason: z.enum(['added', 'already', 'near-duplicate', 'cap', 'quality', 'guard', 'same-photo']).meta({
      description:
        'added; already: a template of the person already (a learned one becomes confirmed); near-duplicate: nearer than most two photos ' +
        'of one person are to a template the person has; cap: FACEREC_TEMPLATE_CAP reached and nothing it may displace; quality: below ' +
        'the enrollment quality gates; guard: farther than the 1:1 threshold from every face of the person (likely someone else); ' +
        'same-photo: the person has a face of that photo',
    }),
    nearest: z.number().optional().meta({ description: 'Distance to the person’s nearest template before the change' }),
  })
  .meta({ id: 'TemplateOutcome' });

const LearnedFace = FaceRecord.extend({ person: z.object({ id: Uuid, name: z.string() }) }).meta({ id: 'LearnedFace' });

/** Who said so: the API key's name, when keys are in use. */
const keyOf = (req: Request): string | undefined => (req as Request & { apiKey?: { name: string } }).apiKey?.name;

export function learningRoutes(ctx: ServiceContext): AnyRoute[] {
  return [
    route({
      method: 'post',
      path: '/v1/sightings/:id/confirm',
      tag: 'faces seen',
      role: 'admin',
      summary: 'Confirm who a sighting is; the face becomes a template of the person when it adds something',
      description:
        'Without a body: the person the sighting is labelled or matched as; with `personId`: that person (a correction). The sighting is ' +
        'labelled on the user’s word; a template made from it for anyone else goes. The face becomes a template (origin confirmed) unless ' +
        'it is a near-duplicate of one the person has, the cap is reached with nothing it may displace (a confirmed face displaces the ' +
        'most redundant learned one; enrolled faces never go), it fails the quality gates, or the consistency guard refuses it: ' +
        '`template.reason` says which.',
      params: IdParams,
      input: ConfirmSightingInput,
      responses: { 200: { description: 'Confirmed', schema: z.object({ sighting: SightingJson, template: TemplateOutcome }) } },
      handler: async ({ params, input, req }) => {
        const { sighting, template } = await confirmSighting(ctx, params.id, input, keyOf(req));
        return { sighting: sightingJson(sighting), template };
      },
    }),
    route({
      method: 'patch',
      path: '/v1/galleries/:id/learning',
      tag: 'faces seen',
      role: 'admin',
      summary: 'Choose whether identify adds certain matches as templates in the gallery (off by default)',
      description:
        'certain: a match far inside the gallery’s threshold (where 0.5% of strangers would be named), with every other person beyond ' +
        'the threshold and well behind, of enrollment quality, becomes a learned template when it adds something (at most ' +
        'FACEREC_TEMPLATE_CAP per person). Learned faces are listed and removed at /v1/galleries/{id}/learned-faces.',
      params: GalleryParams,
      input: GalleryLearningInput.omit({ gallery: true }),
      responses: { 200: { description: 'The gallery', schema: z.object({ gallery: Gallery }) } },
      handler: async ({ params, input }) => ({ gallery: await setGalleryLearning(ctx, params.id, input.learn) }),
    }),
    route({
      method: 'get',
      path: '/v1/galleries/:id/learned-faces',
      tag: 'faces seen',
      role: 'admin',
      summary: 'The gallery’s faces that came from sightings (learned by default; confirmed, or any), newest first',
      params: GalleryParams,
      input: ListLearnedInput.omit({ gallery: true }),
      responses: {
        200: {
          description: 'A page of faces',
          schema: z.object({ gallery: GalleryOf, faces: z.array(LearnedFace), total: z.number(), limit: z.number(), offset: z.number() }),
        },
      },
      handler: async ({ params, input }) => {
        const page = await listLearnedFaces(ctx, { ...input, gallery: params.id });
        return { ...page, faces: page.faces.map((f) => ({ ...faceJson(f), person: { id: f.personId, name: f.personName } })) };
      },
    }),
    route({
      method: 'delete',
      path: '/v1/galleries/:id/learned-faces',
      tag: 'faces seen',
      role: 'admin',
      summary: 'Remove the gallery’s learned faces (of one person with personId; confirmed ones too with origin)',
      params: GalleryParams,
      input: RemoveLearnedInput.omit({ gallery: true }),
      responses: {
        200: {
          description: 'How many went, and which',
          schema: z.object({ gallery: GalleryOf, deleted: z.number(), faces: z.array(FaceRecord) }),
        },
      },
      handler: async ({ params, input }) => {
        const result = await removeLearnedFaces(ctx, { ...input, gallery: params.id });
        return { ...result, faces: result.faces.map(faceJson) };
      },
    }),
    route({
      method: 'delete',
      path: '/v1/galleries/:id/learned-faces/:faceId',
      tag: 'faces seen',
      role: 'admin',
      summary: 'Remove one learned or confirmed face (an enrolled one is FACE_NOT_FOUND here)',
      params: GalleryFaceParams,
      responses: { 200: { description: 'Removed', schema: z.object({ deleted: FaceRecord }) } },
      handler: async ({ params }) => ({ deleted: faceJson(await removeLearnedFace(ctx, params.faceId, params.id)) }),
    }),
  ];
}
