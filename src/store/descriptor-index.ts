/**
 * One HNSW index per descriptor model: the descriptor column has no fixed size (models differ), so each model's index
 * is a partial index on a cast to its own size, used by queries that cast alike and filter on its model id
 * (pgvector's README, "Indexing vectors of different dimensions"). Migration 0004 made the default model's.
 */
import { createHash } from 'node:crypto';
import type { Queryable } from './database.js';

export interface IndexedModel {
  id: string;
  output: { dims: number };
}

// The default model's index, named in migration 0004.
const LEGACY: Record<string, string> = { 'dlib-resnet-v1@face-api-1.7.15/chip150p25+mirror': 'faces_hnsw_dlib128' };

/** A SQL string literal; model ids are checked to safe characters by the registry, and quotes are doubled all the same. */
export const sqlLiteral = (text: string): string => `'${text.replace(/'/g, "''")}'`;

export function indexName(modelId: string): string {
  return LEGACY[modelId] ?? `faces_hnsw_${createHash('sha256').update(modelId).digest('hex').slice(0, 16)}`;
}

/** The expression a model's queries order by, matching its index: the descriptor cast to the model's size. */
export const descriptorExpr = (dims: number): string => `(descriptor::vector(${Math.trunc(dims)}))`;

/** The model id filter, as a literal so that the planner can prove the partial index's predicate. */
export const modelFilter = (modelId: string): string => `model_id = ${sqlLiteral(modelId)}`;

/** Creates the model's index unless it exists; cheap while the model has no faces. */
export async function ensureDescriptorIndex(q: Queryable, model: IndexedModel): Promise<void> {
  if (LEGACY[model.id]) return;
  // CREATE INDEX takes a SHARE lock on faces before IF NOT EXISTS finds the index there, and the lock lasts until the
  // transaction ends: two enrollments in a gallery of such a model then deadlock on their inserts (seen on PostgreSQL,
  // issue 22). The catalog says whether it exists without locking anything.
  const [found] = await q.query<{ exists: boolean }>('SELECT to_regclass($1) IS NOT NULL AS exists', [indexName(model.id)]);
  if (found?.exists) return;
  await q.query(
    `CREATE INDEX IF NOT EXISTS ${indexName(model.id)} ON faces USING hnsw (${descriptorExpr(model.output.dims)} vector_l2_ops) ` +
      `WHERE ${modelFilter(model.id)}`,
  );
}
