/** Prometheus metrics (prom-client) on a registry of the app's own, so that several apps in one process stay apart. */
import type { RequestHandler } from 'express';
import client from 'prom-client';
import type { Analysis, AnalyzeOptions, Analyzer, AnalyzerStatus } from '../service/context.js';

export interface Metrics {
  registry: client.Registry;
  middleware: RequestHandler;
  /** Wraps an analyzer to record per-stage inference time and faces per image. */
  instrument(analyzer: Analyzer): Analyzer;
  rejections: client.Counter<'reason'>;
}

export function createMetrics(engine: () => AnalyzerStatus): Metrics {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry, prefix: 'facerec_' });
  const requests = new client.Histogram({
    name: 'facerec_http_request_duration_seconds',
    help: 'HTTP request duration by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.025, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
    registers: [registry],
  });
  const inference = new client.Histogram({
    name: 'facerec_inference_duration_seconds',
    help: 'Inference time per stage (decode, detect, landmarks, describe)',
    labelNames: ['stage'] as const,
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10],
    registers: [registry],
  });
  const faces = new client.Histogram({
    name: 'facerec_faces_per_image',
    help: 'Faces found per analysed image',
    buckets: [0, 1, 2, 3, 5, 10, 20, 50],
    registers: [registry],
  });
  const rejections = new client.Counter({
    name: 'facerec_enroll_rejections_total',
    help: 'Enrollment photos rejected, by reason',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  new client.Gauge({
    name: 'facerec_queue_depth',
    help: 'Images waiting for an engine worker',
    registers: [registry],
    collect() {
      this.set(engine().queueDepth);
    },
  });
  new client.Gauge({
    name: 'facerec_workers',
    help: 'Engine worker threads',
    registers: [registry],
    collect() {
      this.set(engine().workers);
    },
  });
  new client.Gauge({
    name: 'facerec_workers_healthy',
    help: 'Engine workers taking requests (self-test passed)',
    registers: [registry],
    collect() {
      this.set(engine().healthy);
    },
  });
  new client.Counter({
    name: 'facerec_worker_replacements_total',
    help: 'Engine workers ended and replaced, by cause (crash, engine-error, self-test, timeout)',
    labelNames: ['cause'] as const,
    registers: [registry],
    collect() {
      // The pool counts; this mirrors its totals.
      const { replacements } = engine();
      this.reset();
      for (const [cause, count] of Object.entries(replacements)) this.inc({ cause }, count);
    },
  });
  new client.Counter({
    name: 'facerec_worker_start_failures_total',
    help: 'Replacement engine workers that failed to load or to pass their first self-test',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(engine().startFailures);
    },
  });

  const middleware: RequestHandler = (req, res, next) => {
    const end = requests.startTimer();
    res.on('finish', () => {
      // The route pattern, not the URL: ids must not explode the label set.
      const route = req.route?.path ? `${req.baseUrl}${String(req.route.path)}` : 'unmatched';
      end({ method: req.method, route, status: String(res.statusCode) });
    });
    next();
  };

  // Everything else of the analyzer (its engine info, replacement events) passes through unchanged.
  const instrument = (analyzer: Analyzer): Analyzer => ({
    ...analyzer,
    async analyze(bytes: Uint8Array, options?: AnalyzeOptions): Promise<Analysis> {
      const analysis = await analyzer.analyze(bytes, options);
      for (const [stage, ms] of Object.entries(analysis.timings)) inference.observe({ stage }, ms / 1000);
      faces.observe(analysis.faces.length);
      return analysis;
    },
  });

  return { registry, middleware, instrument, rejections };
}
