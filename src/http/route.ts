/**
 * A route is declared once, with its zod schemas: the same declaration validates requests, mounts the express
 * handler, and documents the operation in /openapi.json.
 */
import { Router, type Express, type Request, type RequestHandler, type Response } from 'express';
import { z } from 'zod';
import { callerSignal } from '../service/context.js';
import { parseInput } from '../service/input.js';
import type { Role } from '../service/keys.service.js';
import type { Auth } from './auth.js';
import { HttpError } from './errors.js';
import { uploadFields, type ImageField, type UploadLimits } from './upload.js';

export interface ResponseSpec {
  description: string;
  schema?: z.ZodType;
  /** The body is an image (annotate). */
  image?: boolean;
}

export interface RouteSpec<P extends z.ZodType = z.ZodType, I extends z.ZodType = z.ZodType> {
  method: 'get' | 'post' | 'patch' | 'delete';
  /** express syntax: /v1/people/:id */
  path: string;
  summary: string;
  description?: string;
  tag: string;
  /** Needed key role; null for public endpoints. */
  role: Role | null;
  params?: P;
  /** Query parameters, and for POST/PATCH the JSON body or the text fields of the multipart form (body wins). */
  input?: I;
  files?: Array<{ name: ImageField; maxCount: number; required: boolean; description: string }>;
  responses: Record<number, ResponseSpec>;
  handler: (ctx: { params: z.output<P>; input: z.output<I>; req: Request; res: Response }) => Promise<unknown>;
}

// Declared with its own generics, then stored without them.
export type AnyRoute = RouteSpec<z.ZodType, z.ZodType>;
export const route = <P extends z.ZodType, I extends z.ZodType>(spec: RouteSpec<P, I>): AnyRoute => spec as unknown as AnyRoute;

/** Mounts every route: auth, upload, validation, then the handler; a handler's return value is sent as JSON. */
export function mountRoutes(app: Express, routes: readonly AnyRoute[], auth: Auth, limits: UploadLimits, limiter: RequestHandler): void {
  for (const spec of routes) {
    const chain: RequestHandler[] = [];
    if (spec.role) chain.push(auth.require(spec.role), limiter);
    if (spec.files)
      chain.push(
        uploadFields(
          limits,
          spec.files.map((f) => ({ name: f.name, maxCount: f.maxCount })),
        ),
      );
    chain.push(async (req: Request, res: Response) => {
      const params = spec.params ? parseInput(spec.params, req.params, { what: 'path parameter' }) : {};
      const body = req.body && typeof req.body === 'object' && !Buffer.isBuffer(req.body) ? (req.body as Record<string, unknown>) : {};
      // A form's fields are text, as the query's are; a JSON body's are typed (no "0.1" for 0.1).
      const typed = req.is('application/json') ? body : undefined;
      const input = spec.input
        ? parseInput(
            spec.input,
            { ...(req.query as Record<string, unknown>), ...body },
            {
              what: spec.method === 'get' || spec.method === 'delete' ? 'query' : 'request',
              ...(typed ? { typed } : {}),
            },
          )
        : {};
      // Once the response is out (deadline passed) or the client has gone, queued analysis for it is dropped.
      const caller = new AbortController();
      if (res.closed) caller.abort();
      else res.once('close', () => caller.abort());
      const result = await callerSignal.run(caller.signal, () => spec.handler({ params, input, req, res }));
      if (!res.headersSent) {
        const status = Number(Object.keys(spec.responses).find((s) => Number(s) < 300) ?? 200);
        if (result === undefined) res.status(status === 200 ? 204 : status).end();
        else res.status(status).json(result);
      }
    });
    app[spec.method](spec.path, ...chain);
  }
  // A declared path asked with a method it lacks: 405 with the methods it has, not the 404 of an unknown path.
  // OPTIONS asks just that: 204 with Allow, as express answers it by default. In a router of their own, so that the
  // app's own routes stay the declared ones.
  // Literal paths before parameterised ones, so that /v1/clusters/merge answers with its own methods, not those of
  // /v1/clusters/:id.
  const fallback = Router();
  const params = (path: string) => path.split('/').filter((s) => s.startsWith(':')).length;
  for (const [path, allowed] of [...allowedMethods(routes)].sort((a, b) => params(a[0]) - params(b[0]))) {
    fallback.all(path, (req, res, next) => {
      res.setHeader('Allow', allowed.join(', '));
      if (req.method === 'OPTIONS') return void res.status(204).end();
      next(new HttpError(405, 'METHOD_NOT_ALLOWED', `${req.method} is not allowed on ${req.path}; use ${allowed.join(', ')}`, { allowed }));
    });
  }
  app.use(fallback);
}

/** Each declared path with its methods, upper case and sorted; HEAD wherever GET is, since express answers it. */
export function allowedMethods(routes: readonly AnyRoute[]): Map<string, string[]> {
  const byPath = new Map<string, Set<string>>();
  for (const spec of routes) {
    const methods = byPath.get(spec.path) ?? new Set<string>();
    methods.add(spec.method.toUpperCase());
    if (spec.method === 'get') methods.add('HEAD');
    byPath.set(spec.path, methods);
  }
  return new Map([...byPath].map(([path, methods]) => [path, [...methods].sort()]));
}

const toJsonSchema = (schema: z.ZodType, io: 'input' | 'output') =>
  z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any', reused: 'inline' });

/** OpenAPI 3.1 document of the routes. */
export function openApiDocument(routes: readonly AnyRoute[], info: { version: string }): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const spec of routes) {
    const path = spec.path.replace(/:(\w+)/g, '{$1}');
    const parameters: unknown[] = [];
    const addParams = (schema: z.ZodType | undefined, where: 'path' | 'query') => {
      if (!schema) return;
      const json = toJsonSchema(schema, 'input') as { properties?: Record<string, { description?: string }>; required?: string[] };
      for (const [name, prop] of Object.entries(json.properties ?? {})) {
        parameters.push({
          name,
          in: where,
          required: where === 'path' || (json.required ?? []).includes(name),
          schema: prop,
          ...(prop.description ? { description: prop.description } : {}),
        });
      }
    };
    addParams(spec.params, 'path');
    const hasBody = spec.method === 'post' || spec.method === 'patch';
    if (!hasBody) addParams(spec.input, 'query');

    let requestBody: unknown;
    if (hasBody && (spec.input || spec.files)) {
      const fields = spec.input
        ? (toJsonSchema(spec.input, 'input') as { properties?: Record<string, unknown>; required?: string[] })
        : { properties: {}, required: [] };
      const content: Record<string, unknown> = {};
      if (spec.files) {
        const properties: Record<string, unknown> = { ...fields.properties };
        for (const f of spec.files) {
          const file = { type: 'string', format: 'binary', description: f.description };
          properties[f.name] = f.maxCount > 1 ? { type: 'array', items: file, maxItems: f.maxCount, description: f.description } : file;
        }
        const required = [...(fields.required ?? []), ...spec.files.filter((f) => f.required).map((f) => f.name)];
        content['multipart/form-data'] = { schema: { type: 'object', properties, required } };
      }
      if (spec.input) content['application/json'] = { schema: toJsonSchema(spec.input, 'input') };
      requestBody = { required: true, content };
    }

    const responses: Record<string, unknown> = {};
    for (const [status, r] of Object.entries(spec.responses)) {
      responses[status] = {
        description: r.description,
        ...(r.schema ? { content: { 'application/json': { schema: toJsonSchema(r.schema, 'output') } } } : {}),
        ...(r.image
          ? { content: { 'image/jpeg': { schema: { type: 'string', format: 'binary' } }, 'image/png': {}, 'image/webp': {} } }
          : {}),
      };
    }
    responses.default = {
      description: 'Error: { error: { code, message, details } }',
      content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
    };
    paths[path] ??= {};
    paths[path][spec.method] = {
      summary: spec.summary,
      ...(spec.description ? { description: spec.description } : {}),
      tags: [spec.tag],
      operationId: `${spec.method}${path
        .replace(/[{}]/g, '')
        .replace(/\/(\w)/g, (_m, c: string) => c.toUpperCase())
        .replace(/\W/g, '')}`,
      ...(spec.role ? { security: [{ bearer: [] }, { apiKey: [] }] } : { security: [] }),
      ...(parameters.length ? { parameters } : {}),
      ...(requestBody ? { requestBody } : {}),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'facerec API',
      version: info.version,
      description:
        'Self-hosted face enrollment and recognition. Errors are `{ "error": { "code", "message", "details" } }` with a stable code.',
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' }, apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' } },
      schemas: {
        Error: {
          type: 'object',
          properties: {
            error: {
              type: 'object',
              properties: { code: { type: 'string' }, message: { type: 'string' }, details: { type: 'object' } },
              required: ['code', 'message', 'details'],
            },
          },
          required: ['error'],
        },
      },
    },
    paths,
  };
}
