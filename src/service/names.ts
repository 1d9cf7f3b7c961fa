/**
 * The rules for names that people give things (galleries, people, their external ids, API keys), once for every
 * adapter: the HTTP schemas are built from these, and the service checks gallery names with them for the CLI too.
 */
import { z } from 'zod';
import { InvalidArgumentError } from '../errors.js';
import { isUuid } from '../store/sql.js';

// PostgreSQL's text cannot hold U+0000: refused here as a 400 instead of failing in the database as a 500.
const NO_NUL = /^[^\0]*$/;

/** A name: trimmed, 1..max characters, no NUL. */
export const nameSchema = (max: number) => z.string().trim().min(1).max(max).regex(NO_NUL, 'must not contain the NUL character (U+0000)');

export const PersonName = nameSchema(200);
export const ExternalId = nameSchema(200);
export const KeyName = nameSchema(100);

/**
 * A gallery name. Names are unique regardless of case (migration 0003), and a gallery is found by id or by name, so a
 * name shaped like a UUID would be taken for an id and never found by name.
 */
export const GalleryName = nameSchema(100)
  .regex(/^[^/?#]+$/, 'must not contain / ? or #')
  .refine((name) => !isUuid(name), 'must not be shaped like a UUID: galleries are found by id or by name')
  .meta({ description: 'Unique regardless of case; not shaped like a UUID' });

/** A gallery name as given, trimmed; INVALID_ARGUMENT naming the rule it breaks otherwise. */
export function parseGalleryName(name: string): string {
  const result = GalleryName.safeParse(name);
  if (result.success) return result.data;
  const message = result.error.issues[0]?.message ?? 'invalid';
  // JSON quoting shows control characters escaped instead of writing them to a terminal or log.
  throw new InvalidArgumentError(`Invalid gallery name ${JSON.stringify(name)}: ${message}`, { name, issues: result.error.issues.map((i) => ({ path: 'name', message: i.message })) });
}
