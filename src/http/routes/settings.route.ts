import { z } from 'zod';
import type { ServiceContext } from '../../service/context.js';
import { settings } from '../../service/settings.service.js';
import { listModels } from '../../service/models.service.js';
import { route, type AnyRoute } from '../route.js';

const Range = z.object({ min: z.number(), max: z.number(), default: z.number().optional() });
const Settings = z
  .object({
    threshold: z.number().meta({
      description:
        'The configured model’s 1:1 threshold (its card’s, or FACEREC_THRESHOLD): same person at or below it in verify and compare',
    }),
    targetFpir: z.number().meta({
      description: 'FACEREC_TARGET_FPIR: identify’s share of strangers given a name; each gallery’s threshold follows from it',
    }),
    ambiguityMargin: z.number(),
    enrollment: z
      .object({
        minFaceSize: z.number(),
        minScore: z.number(),
        minLandmarkSpan: z.number(),
        minSharpness: z.number(),
        maxYaw: z.number(),
        maxRoll: z.number(),
      })
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
    descriptorModel: z.string().meta({ description: 'FACEREC_DESCRIPTOR_MODEL: the model of new galleries' }),
    sightings: z
      .object({
        retentionDays: z.number().meta({
          description: 'FACEREC_SIGHTING_RETENTION_DAYS: kept faces (sightings) are purged this many days after they were last seen',
        }),
        minClusterSize: z.number().meta({ description: 'The fewest faces of a cluster of unknown faces that GET /v1/clusters suggests' }),
        facesPerNaming: z.number().meta({ description: 'The most faces of a cluster that naming it enrolls (its best)' }),
      })
      .meta({ description: 'Faces seen: kept only when a gallery (keepSightings) or a call asks' }),
  })
  .meta({ id: 'Settings' });

const Models = z
  .object({
    models: z.array(
      z.object({
        id: z.string().meta({ description: 'Stored with every face; descriptors of two ids are never compared' }),
        name: z.string(),
        dims: z.number(),
        metric: z.enum(['euclidean', 'cosine']),
        default: z.boolean().meta({ description: 'The model of new galleries (FACEREC_DESCRIPTOR_MODEL)' }),
        source: z.string(),
        license: z.string(),
        shipped: z.boolean().meta({ description: 'Shipped with facerec, or brought by the operator (FACEREC_DESCRIPTOR_MODELS_DIR)' }),
        usable: z.boolean().meta({
          description:
            'False when the server could not load or run it at start (galleries cannot be bound to it; theirs answer 409 MODEL_UNUSABLE)',
        }),
        unusableReason: z
          .string()
          .optional()
          .meta({ description: 'Why it cannot run: its file missing or corrupt, not ONNX, unlike its card' }),
      }),
    ),
  })
  .meta({ id: 'Models' });

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
    route({
      method: 'get',
      path: '/v1/models',
      tag: 'service',
      role: null,
      summary: 'The descriptor models this server can use; a gallery is bound to one (FACEREC_DESCRIPTOR_MODEL for new ones)',
      responses: { 200: { description: 'Models', schema: Models } },
      handler: async () => ({ models: listModels(ctx) }),
    }),
  ];
}
