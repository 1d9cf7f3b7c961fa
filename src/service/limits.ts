/**
 * The bounds of every use case's inputs, defined once: the HTTP schemas are built from them, the CLI's options use
 * them, the use cases check them, and the web UI reads them from GET /v1/settings.
 */
import { z } from 'zod';
import { InvalidArgumentError } from '../errors.js';

export const LIMITS = Object.freeze({
  /** Candidates listed per face by identify. */
  topK: { min: 1, max: 20, default: 3 },
  /** Faces looked at per photo (the largest first). */
  maxFaces: { min: 1, max: 100 },
  /** Smallest face considered, px (shorter box side). */
  minFaceSize: { min: 0, max: 10_000 },
  /** A distance threshold given per request. */
  threshold: { min: 0.01, max: 2 },
  /** A page of people. */
  pageSize: { min: 1, max: 200, default: 50 },
  /** People skipped before a page. */
  offset: { min: 0, max: 1_000_000, default: 0 },
  /** Photos in one enrollment call. */
  photosPerCall: 20,
  /** A person's metadata: bytes of JSON, and nesting depth (far deeper than real metadata; 64 KB of nested brackets
   * would overflow JSON.stringify's stack). */
  metadataBytes: 16 * 1024,
  metadataDepth: 32,
});

export type Limits = typeof LIMITS;

const MAX_METADATA_BYTES = LIMITS.metadataBytes;
// Far deeper than any real metadata; a 64 KB body of nested brackets would overflow JSON.stringify's stack.
const MAX_METADATA_DEPTH = LIMITS.metadataDepth;

/** What PostgreSQL's jsonb or JSON.stringify would choke on in a metadata value, if anything. */
function metadataProblem(value: unknown, depth = 0): string | undefined {
  if (typeof value === 'string') return value.includes('\0') ? 'metadata must not contain the NUL character (U+0000)' : undefined;
  if (value === null || typeof value !== 'object') return undefined;
  if (depth >= MAX_METADATA_DEPTH) return `metadata must be nested at most ${MAX_METADATA_DEPTH} levels deep`;
  for (const [key, v] of Object.entries(value)) {
    const problem = metadataProblem(key, depth) ?? metadataProblem(v, depth + 1);
    if (problem) return problem;
  }
  return undefined;
}

/** Metadata: a JSON object, given as an object (JSON bodies, the service) or as its JSON text (multipart forms, the CLI). */
export const MetadataSchema = z
  .union([z.string(), z.record(z.string(), z.unknown())])
  .transform((value, ctx) => {
    let parsed: unknown = value;
    if (typeof value === 'string') {
      try {
        parsed = JSON.parse(value);
      } catch {
        ctx.addIssue({ code: 'custom', message: 'metadata must be a JSON object' });
        return z.NEVER;
      }
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
      ctx.addIssue({ code: 'custom', message: 'metadata must be a JSON object' });
      return z.NEVER;
    }
    const problem = metadataProblem(parsed);
    if (problem) {
      ctx.addIssue({ code: 'custom', message: problem });
      return z.NEVER;
    }
    if (JSON.stringify(parsed).length > MAX_METADATA_BYTES) {
      ctx.addIssue({ code: 'custom', message: `metadata must be at most ${MAX_METADATA_BYTES} bytes of JSON` });
      return z.NEVER;
    }
    return parsed as Record<string, unknown>;
  })
  .meta({ description: 'A JSON object (in multipart forms: its JSON text)', type: 'object' });

export type Metadata = z.output<typeof MetadataSchema>;

/** Metadata as the rule takes it (an object or its JSON text), or INVALID_ARGUMENT saying what is wrong. */
export function checkMetadata(value: unknown): Metadata {
  const result = MetadataSchema.safeParse(value);
  if (result.success) return result.data;
  const message = result.error.issues[0]?.message ?? 'metadata must be a JSON object';
  throw new InvalidArgumentError(`Invalid metadata: ${message}`, {
    field: 'metadata',
    issues: result.error.issues.map((i) => ({ path: 'metadata', message: i.message })),
  });
}

/** `value` when it is a number within `range` (an integer when `integer`), else INVALID_ARGUMENT naming the field. */
export function checkRange(value: number, range: { min: number; max: number }, field: string, integer = false): number {
  if (!Number.isFinite(value) || value < range.min || value > range.max || (integer && !Number.isInteger(value))) {
    throw new InvalidArgumentError(
      `${field} must be ${integer ? 'an integer' : 'a number'} from ${range.min} to ${range.max}, got ${value}`,
      { field, min: range.min, max: range.max },
    );
  }
  return value;
}

/** A distance threshold given per call, checked; the configured one when none is given. */
export const thresholdOf = (given: number | undefined, configured: number): number =>
  given === undefined ? configured : checkRange(given, LIMITS.threshold, 'threshold');
