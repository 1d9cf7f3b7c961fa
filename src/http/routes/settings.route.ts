import { z } from 'zod';
import type { ServiceContext } from '../../service/context.js';
import { settings } from '../../service/settings.service.js';
import { route, type AnyRoute } from '../route.js';

const Range = z.object({ min: z.number(), max: z.number(), default: z.number().optional() });
const Settings = z
  .object({
    threshold: z.number().meta({ description: 'FACEREC_THRESHOLD: same person at or below this distance in verify and compare' }),
    targetFpir: z.number().meta({
      description: 'FACEREC_TARGET_FPIR: identify’s share of strangers given a name; each gallery’s threshold follows from it',
    }),
    ambiguityMargin: z.number(),
    enrollment: z
      .object({ minFaceSize: z.number(), minScore: z.number(), minSharpness: z.number(), maxYaw: z.number(), maxRoll: z.number() })
      .meta({ description: 'The enrollment quality gates' }),
    limits: z.object({
      topK: Range,
      maxFaces: Range,
      minFaceSize: Range,
      threshold: Range,
      pageSize: Range,
      offset: Range,
      photosPerCall: z.number(),
      metadataBytes: z.number(),
      metadataDepth: z.number(),
    }),
    maxImageBytes: z.number(),
    maxImagePixels: z.number(),
    descriptorModelId: z.string(),
  })
  .meta({ id: 'Settings' });

export function settingsRoutes(ctx: ServiceContext): AnyRoute[] {
  return [
    route({
      method: 'get',
      path: '/v1/settings',
      tag: 'service',
      // Thresholds and limits only, nothing secret: the UI needs them before a key is entered.
      role: null,
      summary: 'The thresholds, enrollment gates and input limits in force',
      responses: { 200: { description: 'Settings', schema: Settings } },
      handler: async () => settings(ctx),
    }),
  ];
}
