import { z } from 'zod';
import type { ServiceContext } from '../../service/context.js';
import { createApiKey, CreateKeyInput, listKeys, revokeKey, RevokeKeyInput } from '../../service/keys.service.js';
import { route, type AnyRoute } from '../route.js';
import { ApiKey } from '../schemas.js';

export function keyRoutes(ctx: ServiceContext): AnyRoute[] {
  return [
    route({
      method: 'post',
      path: '/v1/keys',
      tag: 'keys',
      role: 'admin',
      summary: 'Create an API key; the key is in this response only',
      input: CreateKeyInput,
      responses: { 201: { description: 'Created', schema: z.object({ key: z.string(), apiKey: ApiKey }) } },
      handler: async ({ input }) => createApiKey(ctx.db, input),
    }),
    route({
      method: 'get',
      path: '/v1/keys',
      tag: 'keys',
      role: 'admin',
      summary: 'List API keys (never the keys themselves)',
      responses: { 200: { description: 'Keys', schema: z.object({ keys: z.array(ApiKey) }) } },
      handler: async () => ({ keys: await listKeys(ctx.db) }),
    }),
    route({
      method: 'delete',
      path: '/v1/keys/:id',
      tag: 'keys',
      role: 'admin',
      summary: 'Revoke an API key',
      params: RevokeKeyInput,
      responses: { 200: { description: 'Revoked', schema: z.object({ revoked: ApiKey }) } },
      handler: async ({ params }) => ({ revoked: await revokeKey(ctx.db, params.id) }),
    }),
  ];
}
