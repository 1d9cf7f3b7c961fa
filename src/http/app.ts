/** The express app: routes over the service layer, plus health, metrics, OpenAPI and docs. */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type RequestHandler } from 'express';
import { rateLimit, ipKeyGenerator } from 'express-rate-limit';
import type { Logger } from 'pino';
import { pinoHttp } from 'pino-http';
import type { Config } from '../config/index.js';
import type { ServiceContext } from '../service/context.js';
import { createAuth } from './auth.js';
import { declaredSizeLimit, jsonBody } from './body.js';
import { errorHandler, HttpError, loggedError, notFound, sendError } from './errors.js';
import { createMetrics, type Metrics } from './metrics.js';
import { mountRoutes, openApiDocument, type AnyRoute } from './route.js';
import { galleryRoutes } from './routes/galleries.route.js';
import { learningRoutes } from './routes/learning.route.js';
import { sightingRoutes } from './routes/sightings.route.js';
import { keyRoutes } from './routes/keys.route.js';
import { peopleRoutes } from './routes/people.route.js';
import { recognizeRoutes } from './routes/recognize.route.js';
import { healthRoutes } from './routes/health.route.js';
import { settingsRoutes } from './routes/settings.route.js';
import { formBytes } from './upload.js';

const WEB_DIR = fileURLToPath(new URL('../../src/web/', import.meta.url));
// Same-origin only: the UI loads no CDN, inline script or style; blob: for photo previews, the camera and thumbnails.
const WEB_CSP =
  "default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; object-src 'none'; base-uri 'self'; frame-ancestors 'none'";
const PACKAGE_VERSION = (
  JSON.parse(readFileSync(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8')) as { version: string }
).version;

export interface AppOptions {
  ctx: ServiceContext;
  config: Config;
  logger: Logger;
  /** Set once shutdown starts: /readyz fails so that load balancers stop sending traffic. */
  draining?: () => boolean;
}

export interface App {
  app: express.Express;
  metrics: Metrics;
  routes: AnyRoute[];
}

/** Every request gets a deadline; past it the client gets a 503 it may retry, not a hung socket. */
function requestTimeout(ms: number): RequestHandler {
  return (req, res, next) => {
    const timer = setTimeout(() => {
      if (!res.headersSent) sendError(res, new HttpError(503, 'TIMEOUT', `The request took longer than ${ms / 1000} s`, { timeoutMs: ms }));
    }, ms);
    res.on('close', () => clearTimeout(timer));
    next();
  };
}

export function createApp({ ctx: baseCtx, config, logger, draining = () => false }: AppOptions): App {
  const metrics = createMetrics(() => baseCtx.analyzer.status());
  const ctx: ServiceContext = { ...baseCtx, analyzer: metrics.instrument(baseCtx.analyzer) };
  const auth = createAuth(ctx.db);
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');

  app.use(
    pinoHttp({
      logger,
      genReqId: (req, res) => {
        const given = req.headers['x-request-id'];
        const id = typeof given === 'string' && /^[\w.:-]{1,128}$/.test(given) ? given : randomUUID();
        res.setHeader('X-Request-Id', id);
        return id;
      },
      // Never log keys, bodies, descriptors or image bytes: method, path and status are enough.
      serializers: {
        req: (req: { id: string; method: string; url: string }) => ({ id: req.id, method: req.method, url: req.url.split('?')[0] }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
      // A 4xx or 503 says why: the code and message it answered (a 503 with a code is the service working as designed).
      customProps: (_req, res) => {
        const error = loggedError(res as unknown as express.Response);
        return error ? { error } : {};
      },
      customLogLevel: (_req, res, err) => (res.statusCode === 503 ? 'warn' : err || res.statusCode >= 500 ? 'error' : 'info'),
      autoLogging: { ignore: (req) => req.url === '/healthz' || req.url === '/metrics' },
    }),
  );
  app.use(metrics.middleware);
  app.use(requestTimeout(config.http.requestTimeoutMs));
  // The largest body any request may carry: a JSON body's limit, or the largest form (enrollment's photos).
  const uploadLimits = { fileBytes: config.maxImageBytes, files: config.http.maxFiles };
  const largestForm = formBytes(uploadLimits, config.http.maxFiles);
  app.use(declaredSizeLimit((req) => (req.is('application/json') ? config.http.jsonLimitBytes : largestForm)));
  app.use(jsonBody(config.http.jsonLimitBytes));

  // ---- service endpoints (no key) ----
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    // Healthy workers are the ones that passed a real analysis of the known photo (at start, and again while idle).
    const engine = ctx.analyzer.status();
    const checks: Record<string, string> = {
      engine: engine.closed ? 'closed' : engine.healthy === 0 ? 'unhealthy' : 'ok',
      workers: engine.closed ? 'none' : `${engine.workers === 0 ? 0 : engine.healthy}`,
      ...(engine.selfTestAgeMs !== null ? { selfTest: `passed within ${Math.ceil(engine.selfTestAgeMs / 1000)} s` } : {}),
      shutdown: draining() ? 'draining' : 'no',
    };
    try {
      await ctx.db.ping();
      checks.database = 'ok';
    } catch (err) {
      checks.database = (err as { code?: string }).code ?? 'error';
    }
    const ready = checks.database === 'ok' && checks.engine === 'ok' && !draining();
    if (ready) return void res.json({ status: 'ready', checks });
    res.setHeader('Retry-After', '5');
    res.status(503).json({ error: { code: 'NOT_READY', message: 'The service is not ready', details: { checks } } });
  });
  app.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  const limiter = rateLimit({
    windowMs: 60_000,
    limit: config.http.rateLimit,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    keyGenerator: (req) => req.apiKey?.id ?? ipKeyGenerator(req.ip ?? 'unknown'),
    handler: (_req, res) =>
      sendError(
        res,
        new HttpError(429, 'RATE_LIMITED', `More than ${config.http.rateLimit} requests per minute for this key`, {
          limit: config.http.rateLimit,
        }),
      ),
  });

  const routes = [
    ...galleryRoutes(ctx),
    ...peopleRoutes(ctx, metrics),
    ...sightingRoutes(ctx),
    ...learningRoutes(ctx),
    ...recognizeRoutes(ctx, config),
    ...keyRoutes(ctx),
    ...settingsRoutes(ctx),
    ...healthRoutes(ctx),
  ];
  mountRoutes(app, routes, auth, uploadLimits, limiter);

  const document = openApiDocument(routes, { version: PACKAGE_VERSION });
  app.get('/openapi.json', (_req, res) => {
    res.json(document);
  });
  // Swagger UI from its npm package, pointed at our document: no CDN.
  const swagger = path.dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
  // Swagger UI's page, with a way back to the web UI above it (relative: it works behind a path prefix too).
  app.get('/docs/swagger-initializer.js', (_req, res) => {
    res.type('application/javascript').send(
      `window.onload = () => {
  const back = document.createElement('a');
  back.id = 'back-to-app';
  back.href = '../';
  back.textContent = '← Back to the facerec app';
  back.style.cssText = 'display: inline-block; margin: 16px 20px 0; font: 600 15px system-ui, sans-serif; color: #4338ca;';
  document.body.prepend(back);
  window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#swagger-ui', deepLinking: true, persistAuthorization: true });
};`,
    );
  });
  app.get('/docs', (req, res, next) => (req.path.endsWith('/') ? next() : res.redirect(301, '/docs/')));
  app.use('/docs', express.static(swagger, { index: 'index.html' }));

  // The web UI: plain files, not compiled, so resolved from the package root (the same path from src/ and dist/).
  app.use(
    express.static(WEB_DIR, {
      index: 'index.html',
      setHeaders: (res, file) => {
        if (file.endsWith('.html')) res.setHeader('Content-Security-Policy', WEB_CSP);
        res.setHeader('X-Content-Type-Options', 'nosniff');
      },
    }),
  );

  app.use(notFound);
  app.use(errorHandler(config.maxImageBytes));
  return { app, metrics, routes };
}
