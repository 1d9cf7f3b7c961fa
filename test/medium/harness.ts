/** What the medium tests share: a migrated throwaway database, the fake analyzer and the default configuration. */
import { fileURLToPath } from 'node:url';
import { loadConfig, type Config, type EnrollmentGates } from '../../src/config/index.js';
import type { ServiceContext } from '../../src/service/context.js';
import type { Photo } from '../../src/service/enroll.service.js';
import type { Queryable } from '../../src/store/database.js';
import { migratedTestDatabase, type DatabaseKind, type TestDatabase } from '../helpers/databases.js';
import { rejection } from '../helpers/errors.js';
import { fakeAnalyzer, type FakeAnalyzer, type FakeAnalyzerOptions } from '../helpers/fake-analyzer.js';

// The fake analyzer's impostor model (test/helpers/fit-fake-impostor.ts) sets identify's threshold; no engine loads here.
export const FAKE_MODELS_DIR = fileURLToPath(new URL('../fixtures/fake-models', import.meta.url));
export const BASE_CONFIG: Config = loadConfig({ FACEREC_MODELS_DIR: FAKE_MODELS_DIR });

export interface Medium {
  test: TestDatabase;
  analyzer: FakeAnalyzer;
  ctx: ServiceContext;
}

/** A fresh migrated database of `kind` with the fake analyzer and the default configuration. */
export async function openMedium(kind: DatabaseKind, analyzer: FakeAnalyzerOptions = {}): Promise<Medium> {
  const test = await migratedTestDatabase(kind);
  const fake = fakeAnalyzer(analyzer);
  return { test, analyzer: fake, ctx: { db: test.db, analyzer: fake, config: BASE_CONFIG } };
}

/** The same context with some settings changed (and enrollment gates, merged). */
export function withConfig(
  ctx: ServiceContext,
  patch: Partial<Omit<Config, 'enrollment'>> & { enrollment?: Partial<EnrollmentGates> } = {},
): ServiceContext {
  const { enrollment, ...rest } = patch;
  return { ...ctx, config: { ...ctx.config, ...rest, enrollment: { ...ctx.config.enrollment, ...enrollment } } };
}

/** The code a promise rejects with (a FacerecError), failing the test otherwise. */
export const codeOf = async (promise: Promise<unknown>): Promise<string> => (await rejection(promise)).code;

export async function count(db: Queryable, from: string, params: unknown[] = []): Promise<number> {
  const [row] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${from}`, params);
  return row!.n;
}

export const rowCounts = async (db: Queryable): Promise<{ people: number; faces: number }> => ({
  people: await count(db, 'people'),
  faces: await count(db, 'faces'),
});

export const asPhoto = (bytes: Uint8Array, name?: string): Photo => ({ bytes, ...(name ? { name } : {}) });

let unique = 0;
/** A name no other test of the file uses (galleries keep tests apart in one database). */
export const uniqueName = (prefix: string): string => `${prefix}-${++unique}`;
