import os from 'node:os';
import { describe, it, expect } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { FacerecError } from '../../src/errors.js';

function configError(env: NodeJS.ProcessEnv): FacerecError {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof FacerecError) return err;
    throw err;
  }
  throw new Error('loadConfig accepted a bad environment');
}

describe('loadConfig', () => {
  it('uses the documented defaults when no variable is set', () => {
    expect(loadConfig({})).toEqual({
      runtime: { runtime: 'onnx', backend: 'auto', threads: 1, provider: 'auto', precision: 'int8', ssdInput: '512' },
      modelsDir: undefined,
      descriptorModel: undefined,
      descriptorModelsDir: undefined,
      workers: Math.max(1, os.availableParallelism()),
      queueSize: 64,
      maxImageBytes: 20 * 1024 * 1024,
      maxImagePixels: 50_000_000,
      detector: 'ssd',
      minScore: 0.5,
      threshold: undefined,
      targetFpir: 0.01,
      ambiguityMargin: undefined,
      reduction: 'min',
      efSearch: 200,
      databaseUrl: undefined,
      dataDir: './data',
      migrate: true,
      thumbnails: true,
      sightingRetentionDays: 30,
      templateCap: 10,
      enrollment: { minFaceSize: 40, minScore: 0.5, minLandmarkSpan: 0.8, minSharpness: 10, maxYaw: 45, maxRoll: 45 },
      http: {
        port: 3000,
        host: undefined,
        maxFiles: 20,
        jsonLimitBytes: 65536,
        rateLimit: 600,
        requestTimeoutMs: 60000,
        shutdownTimeoutMs: 25000,
        logLevel: 'info',
      },
    });
  });

  it('coerces numbers from the strings the environment holds', () => {
    const config = loadConfig({
      FACEREC_BACKEND: 'wasm',
      FACEREC_PRECISION: 'fp32',
      FACEREC_SSD_INPUT: 'sized',
      FACEREC_MODELS_DIR: '/opt/models',
      FACEREC_WORKERS: '3',
      FACEREC_QUEUE_SIZE: '10',
      FACEREC_MAX_IMAGE_BYTES: '1000',
      FACEREC_MAX_IMAGE_PIXELS: '2500',
      FACEREC_DETECTOR: 'tiny',
      FACEREC_MIN_SCORE: '0.7',
      FACEREC_THRESHOLD: '0.45',
      DATABASE_URL: 'postgres://u:p@db:5432/facerec',
      FACEREC_DATA_DIR: '/var/lib/facerec',
      FACEREC_MIGRATE: 'false',
      FACEREC_THUMBNAILS: '0',
      FACEREC_REDUCTION: 'mean2',
      FACEREC_ENROLL_MAX_YAW: '30',
    });
    expect(config).toMatchObject({
      runtime: { runtime: 'onnx', backend: 'wasm', threads: 1, provider: 'auto', precision: 'fp32', ssdInput: 'sized' },
      modelsDir: '/opt/models',
      workers: 3,
      queueSize: 10,
      maxImageBytes: 1000,
      maxImagePixels: 2500,
      detector: 'tiny',
      minScore: 0.7,
      threshold: 0.45,
      databaseUrl: 'postgres://u:p@db:5432/facerec',
      dataDir: '/var/lib/facerec',
      migrate: false,
      thumbnails: false,
      reduction: 'mean2',
      enrollment: { maxYaw: 30, minFaceSize: 40 },
    });
  });

  it('ignores unrelated environment variables', () => {
    expect(loadConfig({ PATH: '/usr/bin', HOME: '/root', FACEREC_DETECTOR: 'tiny' }).detector).toBe('tiny');
  });

  it('lists every bad variable in one INVALID_CONFIG error', () => {
    const err = configError({ FACEREC_BACKEND: 'tpu', FACEREC_MIN_SCORE: '7', FACEREC_WORKERS: 'many', FACEREC_THRESHOLD: '0.6' });
    expect(err.code).toBe('INVALID_CONFIG');
    for (const name of ['FACEREC_BACKEND', 'FACEREC_MIN_SCORE', 'FACEREC_WORKERS']) expect(err.message).toContain(name);
    // The good variable is not blamed.
    expect(err.message).not.toContain('FACEREC_THRESHOLD');
    expect(err.details.problems).toHaveLength(3);
  });

  it('rejects non-integer or non-positive counts and out-of-range scores', () => {
    expect(configError({ FACEREC_QUEUE_SIZE: '2.5' }).code).toBe('INVALID_CONFIG');
    expect(configError({ FACEREC_MAX_IMAGE_BYTES: '0' }).code).toBe('INVALID_CONFIG');
    expect(configError({ FACEREC_MIN_SCORE: '-0.1' }).code).toBe('INVALID_CONFIG');
    expect(configError({ FACEREC_THRESHOLD: '0' }).code).toBe('INVALID_CONFIG');
    for (const rate of ['0', '-0.01', '0.6', 'one percent']) expect(configError({ FACEREC_TARGET_FPIR: rate }).code).toBe('INVALID_CONFIG');
    expect(loadConfig({ FACEREC_TARGET_FPIR: '0.001' }).targetFpir).toBe(0.001);
    expect(configError({ FACEREC_MIGRATE: 'maybe' }).code).toBe('INVALID_CONFIG');
    expect(configError({ DATABASE_URL: 'mysql://x' }).code).toBe('INVALID_CONFIG');
    expect(configError({ FACEREC_PRECISION: 'int4' }).message).toContain('FACEREC_PRECISION');
    expect(configError({ FACEREC_SSD_INPUT: '300' }).message).toContain('FACEREC_SSD_INPUT');
  });

  it('returns a frozen object', () => {
    const config = loadConfig({});
    expect(Object.isFrozen(config)).toBe(true);
    // ES modules run in strict mode, where writing to a frozen object throws.
    expect(() => {
      (config as { workers: number }).workers = 99;
    }).toThrow(TypeError);
    expect(config.workers).toBe(Math.max(1, os.availableParallelism()));
  });

  it("takes PORT, the container platforms' convention, when FACEREC_PORT is not set", () => {
    expect(loadConfig({ PORT: '8080' }).http.port).toBe(8080);
    expect(loadConfig({ PORT: '8080', FACEREC_PORT: '3001' }).http.port).toBe(3001);
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(/FACEREC_PORT/);
  });
});
