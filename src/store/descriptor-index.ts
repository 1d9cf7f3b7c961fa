/**
 * One HNSW index per descriptor model and table (enrolled faces, and sightings: faces seen): the descriptor column has
 * no fixed size (models differ), so each model's index is a partial index on a cast to its own size, used by queries
 * that cast alike and filter on its model id (pgvector's README, "Indexing vectors of different dimensions").
 * Migrations 0004 and 0006 made the default model's.
 */
import { createHash } from 'node:crypto';
import type { Queryable } from './database.js';

export interface IndexedModel {
  id: string;
  output: { dims: number };
}

/** The tables with descriptors: each has its own index per model. */
export type DescriptorTable = 'faces' | 'sightings';
export const DESCRIPTOR_TABLES: readonly DescriptorTable[] = ['faces', 'sightings'];

// The default model's indexes, named in migrations 0004 and 0006.
const DEFAULT_MODEL = 'dlib-resnet-v1@face-api-1.7.15/chip150p25+mirror';
const LEGACY: Record<DescriptorTable, string> = { faces: 'faces_hnsw_dlib128', sightings: 'sightings_hnsw_dlib128' };

/** A SQL string literal; model ids are checked to safe characters by the registry, and quotes are doubled all the same. */
export const sqlLiteral = (text: string): string => `'${text.replace(/'/g, "''")}'`;

export function indexName(modelId: string, table: DescriptorTable = 'faces'): string {
  if (modelId === DEFAULT_MODEL) return LEGACY[table];
  return `${table}_hnsw_${createHash('sha256').update(modelId).digest('hex').slice(0, 16)}`;
}

/** The expression a model's queries order by, matching its index: the descriptor cast to the model's size. */
export const descriptorExpr = (dims: number): string => `(descriptor::vector(${Math.trunc(dims)}))`;

/** The model id filter, as a literal so that the planner can prove the partial index's predicate. */
export const modelFilter = (modelId: string): string => `model_id = ${sqlLiteral(modelId)}`;

/** Creates the model's indexes (faces and sightings) unless they exist; cheap while the model has no rows. */
export async function ensureDescriptorIndex(q: Queryable, model: IndexedModel): Promise<void> {
  if (model.id === DEFAULT_MODEL) return;
  for (const table of DESCRIPTOR_TABLES) {
    // CREATE INDEX takes a SHARE lock on the table before IF NOT EXISTS finds the index there, and the lock lasts until
    // the transaction ends: two enrollments in a gallery of such a model then deadlocked on their inserts (seen on
    // PostgreSQL, issue 22). The catalog says whether it exists without locking anything.
    const [found] = await q.query<{ exists: boolean }>('SELECT to_regclass($1) IS NOT NULL AS exists', [indexName(model.id, table)]);
    if (found?.exists) continue;
    await q.query(
      `CREATE INDEX IF NOT EXISTS ${indexName(model.id, table)} ON ${table} USING hnsw (${descriptorExpr(model.output.dims)} vector_l2_ops) ` +
        `WHERE ${modelFilter(model.id)}`,
    );
  }
}
