/** Small helpers shared by the repositories. */
import pgvector from 'pgvector';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const isUuid = (value: string): boolean => UUID.test(value);

export const isUniqueViolation = (err: unknown): boolean => (err as { code?: string })?.code === '23505';

/** A descriptor as a pgvector literal parameter: the same text form works on pg and PGlite. */
export const vectorParam = (descriptor: readonly number[]): string => pgvector.toSql(Array.from(descriptor)) as string;

/** pg with registered types gives number[]; PGlite gives the text form. */
export function descriptorOf(value: unknown): number[] {
  if (Array.isArray(value)) return value as number[];
  if (typeof value === 'string') return pgvector.fromSql(value) as number[];
  throw new TypeError(`not a vector: ${typeof value}`);
}

/** Escapes LIKE wildcards so that a user's search text matches literally. */
export const likePattern = (text: string): string => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
