/** The engine as it runs now, for operators and `GET /v1/health`: what runs the nets, and how the workers are doing. */
import type { AnalyzerStatus, EngineInfo, ServiceContext } from './context.js';

export interface Health {
  /** 'ok' while at least one worker is healthy. */
  status: 'ok' | 'unhealthy';
  /** Runtime (onnx or tfjs), its provider or backend, threads per worker, versions, model ids, descriptor space. */
  engine: EngineInfo | null;
  workers: Pick<AnalyzerStatus, 'workers' | 'healthy' | 'queueDepth' | 'selfTestAgeMs' | 'replacements'>;
}

export function health(ctx: ServiceContext): Health {
  const { workers, healthy, queueDepth, selfTestAgeMs, replacements, closed } = ctx.analyzer.status();
  return {
    status: !closed && healthy > 0 ? 'ok' : 'unhealthy',
    engine: ctx.analyzer.engine ?? null,
    workers: { workers, healthy, queueDepth, selfTestAgeMs, replacements },
  };
}
