import { z } from 'zod';
import type { ServiceContext } from '../../service/context.js';
import { health } from '../../service/health.service.js';
import { route, type AnyRoute } from '../route.js';

const Health = z
  .object({
    status: z.enum(['ok', 'unhealthy']),
    engine: z
      .object({
        runtime: z.enum(['onnx', 'tfjs']).meta({ description: 'FACEREC_RUNTIME' }),
        backend: z.string().meta({ description: "ONNX Runtime's execution provider (cpu, cuda) or tfjs's backend (gpu, node, wasm)" }),
        threads: z.number().meta({ description: 'Intra-op threads per worker' }),
        versions: z.record(z.string(), z.string()),
        models: z.record(z.string(), z.string()),
        descriptorModelId: z.string(),
        descriptorModel: z.string().meta({ description: 'FACEREC_DESCRIPTOR_MODEL: the model of new galleries' }),
        unusableModels: z
          .record(z.string(), z.string())
          .optional()
          .meta({ description: 'Installed descriptor models that could not load or run at start, by id, with the reason' }),
      })
      .nullable(),
    workers: z.object({
      workers: z.number(),
      healthy: z.number(),
      queueDepth: z.number(),
      selfTestAgeMs: z.number().nullable(),
      replacements: z.record(z.string(), z.number()),
    }),
  })
  .meta({ id: 'Health' });

export function healthRoutes(ctx: ServiceContext): AnyRoute[] {
  return [
    route({
      method: 'get',
      path: '/v1/health',
      tag: 'service',
      // Versions and model ids are for the operators: any key once keys exist.
      role: 'recognize',
      summary: 'The engine in use (runtime, provider, threads, models) and its workers',
      responses: { 200: { description: 'Health', schema: Health } },
      handler: async () => health(ctx),
    }),
  ];
}
