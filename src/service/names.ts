/**
 * The rules for names that people give things (galleries, people, their external ids, API keys), once for every
 * adapter: the HTTP schemas are built from these, and the use cases check with them what the CLI passes on.
 */
import { z } from 'zod';
import { InvalidArgumentError } from '../errors.js';
import { issueCode } from './input.js';
import { isUuid } from '../store/sql.js';

// C0 controls (NUL, tab, newline, escape…), DEL and the C1 controls: invisible or disruptive in listings, logs and
// terminals (an escape sequence in a name recolours a terminal); and PostgreSQL's text cannot hold U+0000 at all.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
// Bidirectional controls (embeddings, overrides, isolates, marks): "Ada\u202Eecalevol" shows as "Adalovelace" reversed,
// so a name can look like another in every list (Trojan Source, CVE-2021-42574).
const BIDI = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
// U+FFFD stands for bytes that were not UTF-8 where the text was read (a form field, argv); a lone surrogate (from a
// JSON "\ud800" escape) is no character at all, and the driver would store it as U+FFFD.
const NOT_TEXT = /[\ufffd\p{Cs}]/u;
// Invisible characters: format characters (zero-width space U+200B, soft hyphen, word joiner, BOM, tags…), line and
// paragraph separators, the blank fillers of Hangul and Braille and the combining grapheme joiner, and noncharacters.
// "Ada" and "Ada\u200B" would be two people who look like one.
// (The combining ones, U+034F, Khmer's U+17B4/U+17B5 and Mongolian's variation selectors, outside the class.)
const INVISIBLE =
  /[\p{Cf}\p{Zl}\p{Zp}\u115f\u1160\u2800\u3164\uffa0\ufdd0-\ufdef\ufffe\uffff]|\u034f|\u17b4|\u17b5|\u180b|\u180c|\u180d|\u180f/u;
// Zero-width joiners and non-joiners are part of emoji (👩‍🔬) and of Persian and Indic spelling: taken between two
// visible characters, invisible anywhere else. So is an emoji flag's tag sequence (🏴󠁧󠁢󠁳󠁣󠁴󠁿), which ends in its cancel tag.
const JOINER_INSIDE = /(?<=[^\s\p{Cf}])[\u200c\u200d](?=[^\s\p{Cf}])/gu;
const FLAG_TAGS = /(?<=\u{1f3f4})[\u{e0020}-\u{e007e}]+\u{e007f}/gu;

const codePoint = (c: string) => `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;

/** Why a name is refused, as a stable code and a message naming the first character at fault; undefined when it is fine. */
export function nameProblem(name: string): { code: string; message: string } | undefined {
  if (CONTROL.test(name))
    return { code: 'CONTROL_CHARACTER', message: 'must not contain control characters (U+0000–U+001F, U+007F–U+009F)' };
  const bidi = BIDI.exec(name)?.[0];
  if (bidi)
    return { code: 'BIDI_CONTROL', message: `must not contain ${codePoint(bidi)}, a bidirectional control: it changes how the name reads` };
  const broken = NOT_TEXT.exec(name)?.[0];
  if (broken)
    return {
      code: 'INVALID_UTF8',
      message: `must not contain ${codePoint(broken)}: the text was not valid UTF-8 (or Unicode) where it was read`,
    };
  const invisible = INVISIBLE.exec(name.replace(FLAG_TAGS, '').replace(JOINER_INSIDE, ''))?.[0];
  if (invisible) return { code: 'INVISIBLE_CHARACTER', message: `must not contain ${codePoint(invisible)}, an invisible character` };
  return undefined;
}

/**
 * A name: trimmed, in Unicode NFC (so that "José" typed with a combining accent is the same name as with "é"),
 * 1..max characters, and none that is invisible, reorders text or stands for bytes that were not UTF-8. Each refusal
 * carries its rule as `code` in the issue (CONTROL_CHARACTER, BIDI_CONTROL, INVALID_UTF8, INVISIBLE_CHARACTER).
 */
export const nameSchema = (max: number) =>
  z
    .string()
    .trim()
    .normalize('NFC')
    .min(1)
    .max(max)
    .superRefine((name, ctx) => {
      const problem = nameProblem(name);
      if (problem) ctx.addIssue({ code: 'custom', message: problem.message, params: { code: problem.code } });
    });

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
  const issues = result.error.issues.map((i) => ({ path: field, message: i.message, ...issueCode(i) }));
  // JSON quoting shows control characters escaped instead of writing them to a terminal or a log.
  throw new InvalidArgumentError(`Invalid ${field} ${JSON.stringify(value)}: ${issues[0]?.message ?? 'invalid'}`, { field, issues });
}

/** A gallery name as given, trimmed; INVALID_ARGUMENT naming the rule it breaks otherwise. */
export const parseGalleryName = (name: string): string => checkName(GalleryName, name, 'gallery name');
