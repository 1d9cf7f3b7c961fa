/**
 * The rules for names that people give things (galleries, people, their external ids, API keys), once for every
 * adapter: the HTTP schemas are built from these, and the use cases check with them what the CLI passes on.
 */
import { z } from 'zod';
import { InvalidArgumentError } from '../errors.js';
import { isUuid } from '../store/sql.js';

// C0 controls (NUL, tab, newline, escape…), DEL and the C1 controls: invisible or disruptive in listings, logs and
// terminals (an escape sequence in a name recolours a terminal); and PostgreSQL's text cannot hold U+0000 at all.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const NO_CONTROL = /^[^\u0000-\u001f\u007f-\u009f]*$/;

/** A name: trimmed, 1..max characters, no control characters. */
export const nameSchema = (max: number) =>
  z.string().trim().min(1).max(max).regex(NO_CONTROL, 'must not contain control characters (U+0000–U+001F, U+007F–U+009F)');

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

/** `value` as `schema` parses it (trimmed), or INVALID_ARGUMENT naming the field and the rule it breaks. */
export function checkName<T extends z.ZodType>(schema: T, value: unknown, field: string): z.output<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues.map((i) => ({ path: field, message: i.message }));
  // JSON quoting shows control characters escaped instead of writing them to a terminal or a log.
  throw new InvalidArgumentError(`Invalid ${field} ${JSON.stringify(value)}: ${issues[0]?.message ?? 'invalid'}`, { field, issues });
}

/** A gallery name as given, trimmed; INVALID_ARGUMENT naming the rule it breaks otherwise. */
export const parseGalleryName = (name: string): string => checkName(GalleryName, name, 'gallery name');
