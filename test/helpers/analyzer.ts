/** The real face engine for service tests, with each photo analysed once per test file. */
import { createHash } from 'node:crypto';
import { FaceEngine } from '../../src/engine/face-engine.js';
import { engineAnalyzer, type Analyzer } from '../../src/service/context.js';
import type { Analysis } from '../../src/engine/face-engine.js';

let engine: Promise<FaceEngine> | undefined;

/**
 * An Analyzer over one in-process FaceEngine whose results are memoised by image hash and options: the same suite
 * runs on PGlite and on PostgreSQL, and the second run need not analyse the same photos again. Results are real.
 */
export async function cachedAnalyzer(): Promise<Analyzer & { calls: number }> {
  engine ??= FaceEngine.create();
  const real = engineAnalyzer(await engine);
  const cache = new Map<string, Promise<Analysis>>();
  const analyzer = {
    calls: 0,
    descriptorModelId: real.descriptorModelId,
    models: real.models,
    close: async () => {},
    status: () => real.status(),
    analyze(bytes: Uint8Array, options = {}) {
      analyzer.calls++;
      const key = `${createHash('sha256').update(bytes).digest('hex')}:${JSON.stringify(options)}`;
      let result = cache.get(key);
      if (!result) {
        result = real.analyze(bytes, options);
        cache.set(key, result);
        result.catch(() => cache.delete(key));
      }
      return result.then((a) => structuredClone(a));
    },
  };
  return analyzer;
}
