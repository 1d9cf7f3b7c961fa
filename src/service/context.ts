/** What every use case needs: the database, the face analyzer and the configuration. */
import { AsyncLocalStorage } from 'node:async_hooks';
import { imageLimits, type Config } from '../config/index.js';
import type { Analysis, AnalyzeOptions, EngineInfo } from '../engine/face-engine.js';
import { FaceEngine } from '../engine/face-engine.js';
import { DEFAULT_MODELS_DIR } from '../engine/models.js';
import { loadRegistry, withUnusable, type DescriptorRegistry } from '../engine/descriptor-models.js';
import { REPLACEMENT_CAUSES, WorkerPool, type PoolOptions, type Replacement, type ReplacementCause } from '../engine/pool.js';
import { analyzeFaces } from '../store/faces.repository.js';
import { migrate, type MigrationResult } from '../store/migrations.js';
import { FacerecError } from '../errors.js';
import { openDatabase, type Database, type DatabaseTarget } from '../store/database.js';

/** Face analysis, in a worker pool (service, import) or on the calling thread (one-shot CLI commands). */
export interface Analyzer {
  analyze(bytes: Uint8Array, options?: AnalyzeOptions): Promise<Analysis>;
  /** The configured descriptor model's id (FACEREC_DESCRIPTOR_MODEL): what `analyze` describes with unless told. */
  readonly descriptorModelId: string;
  /** The descriptor models this facerec knows, the configured one as default. */
  readonly models: DescriptorRegistry;
  /** The engine: runtime, provider, threads, versions and models (none for commands that analyse nothing). */
  readonly engine?: EngineInfo;
  /** The engine's health: workers, waiting requests, replacements (0 workers: analysis on the calling thread). */
  status(): AnalyzerStatus;
  /** Calls `listener` whenever a worker is ended and replaced (to log it); returns the unsubscribe function. */
  onReplacement?(listener: (event: Replacement) => void): () => void;
  close(): Promise<void>;
}

export interface AnalyzerStatus {
  /** Worker threads the pool is meant to have (0: analysis on the calling thread). */
  workers: number;
  /** Workers taking requests: loaded and self-tested. */
  healthy: number;
  queueDepth: number;
  closed: boolean;
  /** Age of the oldest last-passed self-test among healthy workers (ms). */
  selfTestAgeMs: number | null;
  /** Workers ended and replaced, by cause. */
  replacements: Record<ReplacementCause, number>;
  /** Replacement workers that failed to start. */
  startFailures: number;
  /** Why a replacement could not start, while no worker is healthy. */
  lastStartError?: string;
}

export type { Analysis, AnalyzeOptions, Database, DatabaseTarget, EngineInfo };

export interface ServiceContext {
  readonly db: Database;
  readonly analyzer: Analyzer;
  readonly config: Config;
}

/**
 * The signal of whoever is waiting for the current work (an HTTP request whose client may hang up). Analysis
 * still queued for a worker when it aborts is dropped instead of computed for nobody.
 */
export const callerSignal = new AsyncLocalStorage<AbortSignal>();

/** An Analyzer over a worker pool; `pool` is there for the fault tests and benchmarks (tensor counts, killing a worker). */
export interface PoolAnalyzer extends Analyzer {
  readonly pool: WorkerPool;
}

export function poolAnalyzer(pool: WorkerPool, registry: DescriptorRegistry): PoolAnalyzer {
  return {
    pool,
    analyze: (bytes, options = {}) => pool.run('analyze', { bytes, options }, callerSignal.getStore()),
    descriptorModelId: pool.info.descriptorModelId,
    // The pool's first worker loaded every model once: those that could not run are known by now.
    models: withUnusable(registry, pool.info.unusableModels ?? {}),
    engine: pool.info,
    status: () => {
      const { size, healthy, queueDepth, closed, selfTestAgeMs, replacements, startFailures, lastStartError } = pool.health();
      return {
        workers: size,
        healthy,
        queueDepth,
        closed,
        selfTestAgeMs,
        replacements,
        startFailures,
        ...(lastStartError ? { lastStartError } : {}),
      };
    },
    onReplacement: (listener) => pool.onReplacement(listener),
    close: () => pool.close(),
  };
}

export function engineAnalyzer(engine: FaceEngine): Analyzer {
  return {
    analyze: (bytes, options = {}) => engine.analyzeBytes(bytes, options),
    descriptorModelId: engine.info().descriptorModelId,
    models: engine.models,
    engine: engine.info(),
    status: () => ({
      workers: 0,
      healthy: 1,
      queueDepth: 0,
      closed: false,
      selfTestAgeMs: null,
      replacements: noReplacements(),
      startFailures: 0,
    }),
    close: async () => {},
  };
}

const noReplacements = () => Object.fromEntries(REPLACEMENT_CAUSES.map((c) => [c, 0])) as Record<ReplacementCause, number>;

/** For commands that only read and write the database: no models are loaded. */
function noAnalyzer(models: DescriptorRegistry): Analyzer {
  return {
    analyze: () => Promise.reject(new FacerecError('INTERNAL', 'this command does not analyse images')),
    descriptorModelId: models.default.id,
    models,
    status: () => ({
      workers: 0,
      healthy: 0,
      queueDepth: 0,
      closed: true,
      selfTestAgeMs: null,
      replacements: noReplacements(),
      startFailures: 0,
    }),
    close: async () => {},
  };
}

/** The database named by `--db` (a postgres:// URL or a directory), else DATABASE_URL, else PGlite in the data directory. */
export function databaseTarget(config: Config, override?: string): DatabaseTarget {
  const chosen = override ?? config.databaseUrl;
  if (chosen && /^postgres(ql)?:\/\//.test(chosen)) return { url: chosen };
  return { dataDir: chosen ?? config.dataDir };
}

export interface OpenOptions {
  db?: DatabaseTarget;
  /** Apply pending migrations first (default: config.migrate). */
  migrate?: boolean;
  /** Worker threads; 0 analyzes on the calling thread; 'none' loads no engine (commands that analyse nothing). Default: config.workers. */
  workers?: number | 'none';
  /** Requests waiting for a worker (default: config.queueSize); bulk imports queue more. */
  queueSize?: number;
  /** Worker pool settings beyond the configuration: the self-test beat, the job deadline, a test's worker entry. */
  engine?: Pick<PoolOptions, 'entry' | 'selfTestIntervalMs' | 'jobTimeoutMs'>;
}

export interface Facerec extends ServiceContext {
  close(): Promise<void>;
}

/** The analyzer alone, for use cases without a database: a pool of `workers` threads, or the calling thread with 0. */
export async function openAnalyzer(
  config: Config,
  options: Pick<OpenOptions, 'queueSize' | 'engine'> & { workers?: number } = {},
): Promise<Analyzer> {
  const workers = options.workers ?? config.workers;
  const limits = imageLimits(config);
  const models = { descriptorModel: config.descriptorModel, descriptorModelsDir: config.descriptorModelsDir };
  if (workers === 0) return engineAnalyzer(await FaceEngine.create({ ...config.runtime, modelsDir: config.modelsDir, limits, ...models }));
  const registry = await configuredModels(config);
  const pool = await WorkerPool.start({
    ...options.engine,
    size: workers,
    queueSize: options.queueSize ?? config.queueSize,
    runtime: config.runtime,
    modelsDir: config.modelsDir,
    limits,
    ...models,
  });
  return poolAnalyzer(pool, registry);
}

/** The descriptor model registry the configuration names (cards only; workers load the files). */
export function configuredModels(config: Config): Promise<DescriptorRegistry> {
  return loadRegistry({
    modelsDir: config.modelsDir ?? DEFAULT_MODELS_DIR,
    userDir: config.descriptorModelsDir,
    defaultModel: config.descriptorModel,
  });
}

/** Applies the pending migrations of the database named (`facerec migrate`); says what it applied and where. */
export async function migrateDatabase(target: DatabaseTarget): Promise<MigrationResult & { location: string }> {
  const db = await openDatabase(target);
  try {
    return { ...(await migrate(db)), location: db.location };
  } finally {
    await db.close();
  }
}

/** Opens the database (migrated unless told not to) and the analyzer. */
export async function openFacerec(config: Config, options: OpenOptions = {}): Promise<Facerec> {
  const db = await openDatabase(options.db ?? databaseTarget(config));
  try {
    if (options.migrate ?? config.migrate) await migrate(db);
    if (db.kind === 'pglite') await analyzeFaces(db).catch(() => {}); // before migrations there is no table yet
    const workers = options.workers ?? config.workers;
    const analyzer = workers === 'none' ? noAnalyzer(await configuredModels(config)) : await openAnalyzer(config, { ...options, workers });
    return {
      db,
      analyzer,
      config,
      close: async () => {
        await analyzer.close();
        await db.close();
      },
    };
  } catch (err) {
    await db.close();
    throw err;
  }
}
