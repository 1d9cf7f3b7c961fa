import type { Request } from 'express';
import { z } from 'zod';
import { FacerecError } from '../../errors.js';
import type { ServiceContext } from '../../service/context.js';
import { AddFacesInput, CreatePersonInput } from '../../service/enroll.schema.js';
import { addFaces, createPerson, MAX_PHOTOS_PER_CALL, type EnrollResult, type Photo } from '../../service/enroll.service.js';
import {
  deletePerson,
  faceThumbnail,
  GalleryInput,
  ListPeopleInput,
  listPeople,
  PatchPersonInput,
  removeFace,
  renamePerson,
  showPerson,
} from '../../service/people.service.js';
import { enrollmentJson, faceJson, listedPersonJson } from '../../service/views.js';
import { HttpError } from '../errors.js';
import type { Metrics } from '../metrics.js';
import { route, type AnyRoute } from '../route.js';
import { EnrollResponse, FaceIdParams, FaceParams, FaceRecord, ListedPerson, Person, PersonDetail, PersonParams } from '../schemas.js';
import { filesOf } from '../upload.js';

const IMAGE_FILES = [
  {
    name: 'images' as const,
    maxCount: MAX_PHOTOS_PER_CALL,
    required: false,
    description: `Photos, one face each (1..${MAX_PHOTOS_PER_CALL})`,
  },
  { name: 'image' as const, maxCount: 1, required: false, description: 'One photo (instead of images)' },
];

const photosOf = (req: Request): Photo[] =>
  [...filesOf(req, 'image'), ...filesOf(req, 'images')].map((f) => ({
    bytes: new Uint8Array(f.buffer.buffer, f.buffer.byteOffset, f.buffer.byteLength),
    name: f.originalname,
  }));

export function peopleRoutes(ctx: ServiceContext, metrics: Metrics): AnyRoute[] {
  // Rejected photos are counted whether the call failed (default) or skipped them.
  async function counted(run: () => Promise<EnrollResult>): Promise<EnrollResult> {
    try {
      const result = await run();
      for (const r of result.rejected) metrics.rejections.inc({ reason: r.code });
      return result;
    } catch (err) {
      if (err instanceof FacerecError)
        for (const r of (err.details.rejected as Array<{ code: string }> | undefined) ?? []) metrics.rejections.inc({ reason: r.code });
      throw err;
    }
  }

  return [
    route({
      method: 'post',
      path: '/v1/people',
      tag: 'people',
      role: 'admin',
      summary: 'Create a person, optionally with photos enrolled in the same atomic call',
      description:
        'JSON, or multipart/form-data with text fields and the photos in `images` (or `image`). With photos, all accepted faces are stored in one transaction; by default one rejected photo fails the call (422 with its code) and nothing is stored.',
      input: CreatePersonInput,
      files: IMAGE_FILES,
      responses: { 201: { description: 'Created', schema: EnrollResponse } },
      handler: async ({ input, req }) => {
        const { gallery, name, externalId, metadata, ...options } = input;
        const result = await counted(() => createPerson(ctx, { gallery, name, externalId, metadata }, photosOf(req), options));
        return enrollmentJson(result);
      },
    }),
    route({
      method: 'get',
      path: '/v1/people',
      tag: 'people',
      role: 'admin',
      summary: 'List people of a gallery, paged, searchable by name',
      input: ListPeopleInput,
      responses: {
        200: {
          description: 'A page of people',
          schema: z.object({ people: z.array(ListedPerson), total: z.number(), limit: z.number(), offset: z.number() }),
        },
      },
      handler: async ({ input }) => {
        const page = await listPeople(ctx, input);
        return { people: page.people.map(listedPersonJson), total: page.total, limit: input.limit, offset: input.offset };
      },
    }),
    route({
      method: 'get',
      path: '/v1/people/:id',
      tag: 'people',
      role: 'admin',
      summary: 'One person with their faces and thumbnail URLs',
      params: PersonParams,
      input: GalleryInput,
      responses: { 200: { description: 'The person', schema: z.object({ person: PersonDetail }) } },
      handler: async ({ params, input }) => {
        const person = await showPerson(ctx, params.id, input.gallery);
        return { person: { ...person, faces: person.faces.map(faceJson) } };
      },
    }),
    route({
      method: 'patch',
      path: '/v1/people/:id',
      tag: 'people',
      role: 'admin',
      summary: 'Rename a person, or change their external id or metadata',
      params: PersonParams,
      input: PatchPersonInput,
      responses: { 200: { description: 'Updated', schema: z.object({ person: Person }) } },
      handler: async ({ params, input: { gallery, ...patch } }) => ({ person: await renamePerson(ctx, params.id, patch, gallery) }),
    }),
    route({
      method: 'delete',
      path: '/v1/people/:id',
      tag: 'people',
      role: 'admin',
      summary: 'Erase a person: every face, descriptor and thumbnail, at once',
      params: PersonParams,
      input: GalleryInput,
      responses: { 200: { description: 'Erased', schema: z.object({ deleted: Person }) } },
      handler: async ({ params, input }) => ({ deleted: await deletePerson(ctx, params.id, input.gallery) }),
    }),
    route({
      method: 'post',
      path: '/v1/people/:id/faces',
      tag: 'people',
      role: 'admin',
      summary: 'Enroll 1..N photos of a person atomically, with a reason code per rejected photo',
      params: PersonParams,
      input: AddFacesInput,
      files: IMAGE_FILES,
      responses: { 201: { description: 'Enrolled', schema: EnrollResponse } },
      handler: async ({ params, input, req }) => {
        const photos = photosOf(req);
        if (photos.length === 0)
          throw new HttpError(400, 'MISSING_IMAGE', 'Send the photos as multipart/form-data in the field "images" (or "image")', {
            field: 'images',
          });
        return enrollmentJson(await counted(() => addFaces(ctx, params.id, photos, input, input.gallery)));
      },
    }),
    route({
      method: 'delete',
      path: '/v1/people/:id/faces/:faceId',
      tag: 'people',
      role: 'admin',
      summary: 'Remove one face (descriptor and thumbnail) of a person',
      params: FaceParams,
      responses: { 200: { description: 'Removed', schema: z.object({ deleted: FaceRecord }) } },
      handler: async ({ params }) => ({ deleted: faceJson(await removeFace(ctx, params.id, params.faceId)) }),
    }),
    route({
      method: 'get',
      path: '/v1/faces/:faceId/thumbnail',
      tag: 'people',
      role: 'admin',
      summary: 'The aligned face thumbnail (JPEG, 150×150)',
      params: FaceIdParams,
      responses: { 200: { description: 'JPEG', image: true } },
      handler: async ({ params, res }) => {
        const thumbnail = await faceThumbnail(ctx, params.faceId);
        // Personal data: private, and gone when the person is erased.
        res.setHeader('Cache-Control', 'private, max-age=60');
        res.type('image/jpeg').send(Buffer.from(thumbnail));
      },
    }),
  ];
}
