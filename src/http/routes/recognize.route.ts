import type { Request, Response } from 'express';
import type { Config } from '../../config/index.js';
import { compare, CompareInput } from '../../service/compare.service.js';
import { detect, DetectInput } from '../../service/detect.service.js';
import { drawIdentification } from '../../service/draw.service.js';
import type { ServiceContext } from '../../service/context.js';
import { identify, verify } from '../../service/identify.service.js';
import { route, type AnyRoute } from '../route.js';
import { CompareResponse, DetectResponse, IdentifyBody, IdentifyResponse, VerifyBody, VerifyResponse } from '../schemas.js';
import { requireImage } from '../upload.js';

const ONE_IMAGE = [{ name: 'image' as const, maxCount: 1, required: true, description: 'The photo' }];

const MIME = { jpeg: 'image/jpeg', png: 'image/png', webp: 'image/webp' } as const;

/** The image format a client's Accept header prefers over JSON, if any (a missing Accept or * / * means JSON). */
function acceptedImage(req: Request): 'jpeg' | 'png' | 'webp' | undefined {
  const accepted = req.accepts(['application/json', 'image/jpeg', 'image/png', 'image/webp']);
  return accepted === 'image/png' ? 'png' : accepted === 'image/webp' ? 'webp' : accepted === 'image/jpeg' ? 'jpeg' : undefined;
}

/** An image answer has no JSON to carry warnings: their codes go in a header (FIRST_FRAME_ONLY; frames=12). */
function warned(res: Response, result: { warnings?: Array<{ code: string; frames: number }> }): Response {
  if (result.warnings?.length) res.setHeader(WARNINGS_HEADER, result.warnings.map((w) => `${w.code}; frames=${w.frames}`).join(', '));
  return res;
}

export const WARNINGS_HEADER = 'Facerec-Warnings';

export function recognizeRoutes(ctx: ServiceContext, config: Config): AnyRoute[] {
  return [
    route({
      method: 'post',
      path: '/v1/identify',
      tag: 'recognize',
      role: 'recognize',
      summary: 'Name every face of a photo that matches an enrolled person; the others are "Unknown"',
      description:
        'Returns JSON, or with `Accept: image/*` (and no `application/json` preferred) the annotated image, as /v1/annotate does.',
      input: IdentifyBody,
      files: ONE_IMAGE,
      responses: { 200: { description: 'Faces with outcome, label, distance, confidence and candidates', schema: IdentifyResponse } },
      handler: async ({ input, req, res }) => {
        const bytes = requireImage(req, 'image');
        const result = await identify(ctx, bytes, input);
        const wanted = acceptedImage(req);
        if (wanted) {
          const format = input.format ?? wanted;
          return void warned(res, result)
            .type(MIME[format])
            .send(await drawIdentification(config, bytes, result, format));
        }
        return result;
      },
    }),
    route({
      method: 'post',
      path: '/v1/annotate',
      tag: 'recognize',
      role: 'recognize',
      summary: 'The photo with boxes, names (or Unknown) and distances drawn',
      input: IdentifyBody,
      files: ONE_IMAGE,
      responses: {
        200: {
          description:
            'The annotated image (JPEG by default; format=png|webp), the size of the photo up to 4096 px on the long side, larger photos at ' +
            '4096 (the working resolution); a Facerec-Warnings header when the photo was used in part (FIRST_FRAME_ONLY)',
          image: true,
        },
      },
      handler: async ({ input, req, res }) => {
        const bytes = requireImage(req, 'image');
        const result = await identify(ctx, bytes, input);
        const format = input.format ?? acceptedImage(req) ?? 'jpeg';
        warned(res, result)
          .type(MIME[format])
          .send(await drawIdentification(config, bytes, result, format));
      },
    }),
    route({
      method: 'post',
      path: '/v1/verify',
      tag: 'recognize',
      role: 'recognize',
      summary: 'Is the face of the photo this enrolled person?',
      description:
        'The photo must show one face (422 MULTIPLE_FACES with every box otherwise), or with `largestFace=true` its largest is compared; the answer names the face compared (`box`) and how many the photo shows (`facesInPhoto`).',
      input: VerifyBody,
      files: ONE_IMAGE,
      responses: { 200: { description: 'Match, distance, the threshold used, and the face compared', schema: VerifyResponse } },
      handler: async ({ input, req }) =>
        verify(ctx, requireImage(req, 'image'), input.personId, {
          gallery: input.gallery,
          threshold: input.threshold,
          largestFace: input.largestFace,
        }),
    }),
    route({
      method: 'post',
      path: '/v1/compare',
      tag: 'recognize',
      role: 'recognize',
      summary: 'Are the faces of two photos the same person? No database involved',
      description:
        'Each photo must show one face (422 MULTIPLE_FACES naming the photo otherwise), or with `largestFace=true` the largest of each is compared.',
      input: CompareInput,
      files: [
        { name: 'imageA', maxCount: 1, required: true, description: 'First photo' },
        { name: 'imageB', maxCount: 1, required: true, description: 'Second photo' },
      ],
      responses: { 200: { description: 'Match, distance, the threshold used, and the faces compared', schema: CompareResponse } },
      handler: async ({ input, req }) => compare(ctx, requireImage(req, 'imageA'), requireImage(req, 'imageB'), input),
    }),
    route({
      method: 'post',
      path: '/v1/detect',
      tag: 'recognize',
      role: 'recognize',
      summary: 'Every face with box, score, quality and optionally landmarks; no database',
      input: DetectInput,
      files: ONE_IMAGE,
      responses: { 200: { description: 'Faces', schema: DetectResponse } },
      handler: async ({ input, req }) => detect(ctx, requireImage(req, 'image'), input),
    }),
  ];
}
