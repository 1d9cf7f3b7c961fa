import { z } from 'zod';
import type { ServiceContext } from '../../service/context.js';
import { CreateGalleryInput, DeleteGalleryInput, galleries } from '../../service/people.service.js';
import { route, type AnyRoute } from '../route.js';
import { Gallery, GalleryParams } from '../schemas.js';

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
      handler: async ({ input }) => ({ gallery: await galleries.create(ctx, input.name) }),
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
  ];
}
