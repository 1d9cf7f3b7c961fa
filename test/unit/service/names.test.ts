/**
 * The rule for names (people, external ids, galleries, keys): trimmed, NFC, and nothing invisible, nothing that
 * reorders text, nothing that stands for bytes that were not UTF-8 (issue 22: U+202E and U+200B were stored as given,
 * invalid UTF-8 as U+FFFD). Each refusal carries a stable code.
 */
import { describe, expect, it } from 'vitest';
import { FacerecError } from '../../../src/errors.js';
import { parseInput } from '../../../src/service/input.js';
import { checkName, GalleryName, KeyName, nameProblem, PersonName } from '../../../src/service/names.js';
import { z } from 'zod';

const refusal = (run: () => unknown): FacerecError => {
  try {
    run();
  } catch (err) {
    return err as FacerecError;
  }
  throw new Error('not refused');
};

describe('names', () => {
  it.each([
    ['a right-to-left override (U+202E)', 'Ada\u202eecalevoL', 'BIDI_CONTROL', 'U+202E'],
    ['a left-to-right embedding (U+202A)', '\u202aAda', 'BIDI_CONTROL', 'U+202A'],
    ['a right-to-left isolate (U+2067)', 'Ada \u2067Lovelace\u2069', 'BIDI_CONTROL', 'U+2067'],
    ['a right-to-left mark (U+200F)', 'Ada\u200f', 'BIDI_CONTROL', 'U+200F'],
    ['the Arabic letter mark (U+061C)', 'Ada\u061c', 'BIDI_CONTROL', 'U+061C'],
    ['a zero-width space (U+200B)', 'Ada\u200bLovelace', 'INVISIBLE_CHARACTER', 'U+200B'],
    ['a word joiner (U+2060)', 'Ada\u2060', 'INVISIBLE_CHARACTER', 'U+2060'],
    ['a byte order mark inside (U+FEFF; trimmed at the ends, as blanks are)', 'Ada\ufeffLovelace', 'INVISIBLE_CHARACTER', 'U+FEFF'],
    ['a soft hyphen (U+00AD)', 'Love\u00adlace', 'INVISIBLE_CHARACTER', 'U+00AD'],
    ['a line separator (U+2028)', 'Ada\u2028Lovelace', 'INVISIBLE_CHARACTER', 'U+2028'],
    ['the Hangul filler (U+3164)', 'Ada\u3164', 'INVISIBLE_CHARACTER', 'U+3164'],
    ['a lone tag character (U+E0041)', 'Ada\u{e0041}', 'INVISIBLE_CHARACTER', 'U+E0041'],
    ['a zero-width joiner at the end', 'Ada\u200d', 'INVISIBLE_CHARACTER', 'U+200D'],
    ['two zero-width non-joiners in a row', 'Ada\u200c\u200cLovelace', 'INVISIBLE_CHARACTER', 'U+200C'],
    ['a joiner after a space', 'Ada \u200dLovelace', 'INVISIBLE_CHARACTER', 'U+200D'],
    ['the replacement character (invalid UTF-8 in a form)', 'Zo\ufffd', 'INVALID_UTF8', 'U+FFFD'],
    ['a lone surrogate (a JSON "\\ud800" escape)', 'Ada\ud800', 'INVALID_UTF8', 'U+D800'],
    ['a noncharacter (U+FFFF)', 'Ada\uffff', 'INVISIBLE_CHARACTER', 'U+FFFF'],
    ['an escape (C0 control)', 'Ada\u001b[2J', 'CONTROL_CHARACTER', 'control characters'],
  ])('refuses %s', (_what, name, code, shown) => {
    expect(nameProblem(name)).toEqual({ code, message: expect.stringContaining(shown) });
    for (const schema of [PersonName, KeyName, GalleryName]) {
      const error = refusal(() => checkName(schema, name, 'name'));
      expect(error.code).toBe('INVALID_ARGUMENT');
      expect(error.details.issues).toEqual([{ path: 'name', message: expect.stringContaining(shown), code }]);
    }
    // Through a use case's input schema, as the HTTP API and the CLI parse it.
    const parsed = refusal(() => parseInput(z.object({ name: PersonName }), { name }, { what: 'request' }));
    expect(parsed.details.issues).toEqual([{ path: 'name', message: expect.stringContaining(shown), code }]);
  });

  it.each([
    ['Latin with accents', 'Zoë Ångström'],
    ['CJK', '李小龍'],
    ['Cyrillic with a combining acute', 'Влади́мир'],
    ['Arabic (right to left by itself, no control)', 'محمد صلاح'],
    ['an emoji ZWJ sequence', '👩🏽‍🔬 Dr. Emoji'],
    ['Persian with a zero-width non-joiner inside a word', 'نیک‌نام'],
    ['Devanagari with a joiner', 'क्‍ष'],
    ['a flag with its tag sequence (Scotland)', 'Ada 🏴󠁧󠁢󠁳󠁣󠁴󠁿'],
    ['an emoji with a variation selector', 'Ada ❤️'],
    ['a no-break space', 'Ada\u00a0Lovelace'],
    ['an ideographic space', '山田\u3000太郎'],
  ])('takes %s', (_what, name) => {
    expect(nameProblem(name)).toBeUndefined();
    expect(checkName(PersonName, name, 'name')).toBe(name.normalize('NFC'));
  });

  it('stores names in NFC: a combining accent and the precomposed letter are one name', () => {
    const decomposed = 'Jose\u0301 N\u0303uez';
    expect(checkName(PersonName, decomposed, 'name')).toBe('José Ñuez');
    expect(checkName(GalleryName, ' Cafe\u0301 ', 'gallery name')).toBe('Café');
    // Normalised before the length is counted, and trimmed.
    expect(checkName(KeyName, `${'e\u0301'.repeat(100)} `, 'name')).toHaveLength(100);
  });
});
