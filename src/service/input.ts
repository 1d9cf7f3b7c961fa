/**
 * What every use case's input schema is built from, and the one way to parse with those schemas. The schemas live
 * beside their use cases (`*.service.ts`, `enroll.schema.ts`); HTTP validates requests and generates /openapi.json
 * with them, and the CLI parses its options with them. Both receive text (form fields, query strings, argv) as well
 * as JSON values, so numbers and booleans are read from text here, by one rule; parseInput refuses that reading for
 * the fields of a JSON body, which are typed.
 */
import { z } from 'zod';
import { ATTRIBUTE_NAMES, type AttributeName } from '../core/face.js';
import { InvalidArgumentError } from '../errors.js';
import { LIMITS } from './limits.js';

/** A boolean, or its text: true/false/1/0 (form fields and query strings are text). */
export const boolish = z
  .union([z.boolean(), z.enum(['true', 'false', '1', '0'])])
  .transform((v) => v === true || v === 'true' || v === '1')
  .meta({ type: 'boolean' });

// A number given as text is a plain decimal: optional sign, digits, optional fraction. Number() (and z.coerce)
// would also take "0x1", "1e0", " 1 ", "Infinity", and "" as 0. JSON bodies may send a (finite) number.
const DECIMAL = /^[+-]?\d+(\.\d+)?$/;
const decimalText = (value: unknown, ctx: z.RefinementCtx): unknown => {
  if (typeof value !== 'string') return value;
  if (DECIMAL.test(value)) return Number(value);
  ctx.addIssue({ code: 'custom', message: 'must be a plain decimal number, such as 3 or 0.5' });
  return z.NEVER;
};

/**
 * The one numeric field of every input: a decimal within [min, max], an integer when `type` says so. A default is a
 * `.prefault(v)`: /openapi.json drops the `.default` of a schema that transforms its input.
 */
const decimal = (type: 'number' | 'integer', min: number, max: number) =>
  z
    .preprocess(decimalText, (type === 'integer' ? z.number().int() : z.number()).min(min).max(max))
    .meta({ type, minimum: min, maximum: max });
export const decimalNumber = (min: number, max: number) => decimal('number', min, max);
export const decimalInteger = (min: number, max: number) => decimal('integer', min, max);

// PostgreSQL's text and jsonb cannot hold U+0000: refused here as a bad argument instead of failing in the database.
export const text = () => z.string().regex(/^[^\0]*$/, 'must not contain the NUL character (U+0000)');

// Any 8-4-4-4-12 hex id, like PostgreSQL's uuid type and the store's isUuid: z.uuid() also checks RFC 9562's version
// and variant digits, and would refuse an id such as 11111111-1111-1111-1111-111111111111 instead of finding nothing.
export const Uuid = z.guid().meta({ description: 'A UUID (any 8-4-4-4-12 hex digits)' });

export const GalleryRef = text()
  .trim()
  .normalize('NFC')
  .min(1)
  .max(100)
  .meta({ description: 'Gallery name (in any case) or id; default: "default"' });

/** A descriptor model by name or id (facerec models); without one, FACEREC_DESCRIPTOR_MODEL's. */
export const ModelRef = text()
  .trim()
  .min(1)
  .max(200)
  .optional()
  .meta({ description: 'Descriptor model, by name or id (GET /v1/models); default: the server’s FACEREC_DESCRIPTOR_MODEL' });

/** A distance threshold given per call; without one, the model's own (its card's, or FACEREC_THRESHOLD). */
export const Threshold = decimalNumber(LIMITS.threshold.min, LIMITS.threshold.max).optional();
export const MaxFaces = decimalInteger(LIMITS.maxFaces.min, LIMITS.maxFaces.max).optional();
export const LargestFace = boolish
  .optional()
  .meta({ description: 'With several faces in a photo, compare its largest; without it such a photo is a 422 MULTIPLE_FACES' });

/** The stable code a rule gave its issue (`params.code`, as the name rules do), if it gave one. */
export const issueCode = (issue: z.core.$ZodIssue): { code?: string } => {
  const code = (issue as { params?: { code?: unknown } }).params?.code;
  return typeof code === 'string' ? { code } : {};
};

const TYPE_NAMES: Record<string, string> = { number: 'a number', boolean: 'true or false', object: 'a JSON object' };

/**
 * The fields of a JSON body that the schema read from text: a string where a number, a boolean or an object was
 * meant. The schemas take text because forms, query strings and argv are text; a JSON body has types of its own, so
 * `{"far": "0.1"}` is a mistake to refuse there, as `{"name": 42}` is.
 */
function textInJson(typed: Record<string, unknown>, parsed: unknown): Array<{ path: string; message: string }> {
  if (!parsed || typeof parsed !== 'object') return [];
  const out = parsed as Record<string, unknown>;
  return Object.entries(typed)
    .filter(([key, given]) => typeof given === 'string' && out[key] !== undefined && out[key] !== null && typeof out[key] !== 'string')
    .map(([key, given]) => ({
      path: key,
      message: `must be ${TYPE_NAMES[typeof out[key]] ?? typeof out[key]}, not the string ${JSON.stringify(given).slice(0, 40)}: JSON bodies are typed (forms and query strings send text)`,
    }));
}
const ATTRIBUTE_VALUES = [...ATTRIBUTE_NAMES, 'all'] as const;

/**
 * Face attributes to compute, as text ("age,gender,expression", "all"), a list of such, or repeated fields: the
 * attributes in a fixed order, each once, or none. Anything else names the allowed values.
 */
export const Attributes = z
  .union([text(), z.array(text())])
  .transform((value, ctx): AttributeName[] => {
    const words = (Array.isArray(value) ? value : [value]).flatMap((v) => v.split(',')).map((w) => w.trim());
    const unknown = words.filter((w) => !(ATTRIBUTE_VALUES as readonly string[]).includes(w));
    if (unknown.length > 0 || words.length === 0) {
      const named = unknown.map((w) => (w ? `'${w}'` : 'an empty name'));
      const what = words.some((w) => w !== '')
        ? `unknown attribute${unknown.length > 1 ? 's' : ''} ${named.join(', ')}`
        : 'no attribute named';
      ctx.addIssue({
        code: 'custom',
        message: `${what}; allowed: ${ATTRIBUTE_VALUES.join(', ')} (comma-separated)`,
        params: { allowed: ATTRIBUTE_VALUES },
      });
      return z.NEVER;
    }
    return ATTRIBUTE_NAMES.filter((name) => words.includes(name) || words.includes('all'));
  })
  .optional()
  .meta({
    type: 'string',
    pattern: `^\\s*(${ATTRIBUTE_VALUES.join('|')})\\s*(,\\s*(${ATTRIBUTE_VALUES.join('|')})\\s*)*$`,
    examples: ['age,gender,expression', 'all', 'expression'],
    description:
      'Face attributes to estimate per face, comma-separated: age, gender, expression, or all. None by default (and then none is ' +
      'computed). Estimates with measured limits: gender and expression accuracy in docs/accuracy.md; age is uncalibrated, not measured here',
  });

/**
 * `value` as a use case's input schema parses it, or INVALID_ARGUMENT with every issue in `details.issues`. `what`
 * names the input in the message ("request", "query"); `label` names a field as the caller knows it (a CLI flag).
 * `typed` is the part of `value` that came as JSON (a JSON request body): its fields must have their own type, where
 * the text of forms, query strings and argv is read as numbers, booleans and objects.
 */
export function parseInput<T extends z.ZodType>(
  schema: T,
  value: unknown,
  options: { what?: string; label?: (field: string) => string; typed?: Record<string, unknown> } = {},
): z.output<T> {
  const result = schema.safeParse(value);
  const label = options.label ?? ((field: string) => field);
  const issues = result.success
    ? options.typed
      ? textInJson(options.typed, result.data)
      : []
    : result.error.issues.map((i) => ({ path: i.path.length ? label(i.path.join('.')) : '', message: i.message, ...issueCode(i) }));
  if (result.success && issues.length === 0) return result.data;
  const first = issues[0]!;
  const where = options.what ? `Invalid ${options.what}: ` : '';
  throw new InvalidArgumentError(`${where}${first.path ? `${first.path}: ` : ''}${first.message}`, { issues });
}
