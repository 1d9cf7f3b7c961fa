/** Every domain error code maps to one HTTP status and one CLI exit code; the compiler checks the maps, this walks them. */
import { describe, expect, it } from 'vitest';
import { describeCliError, EXIT_CODES } from '../../src/cli/errors.js';
import { ERROR_CODES, FacerecError } from '../../src/errors.js';
import { STATUS, toHttpError } from '../../src/http/errors.js';

describe('error maps', () => {
  it.each(ERROR_CODES)('%s has an HTTP status and an exit code', (code) => {
    const err = new FacerecError(code, `a ${code} with a secret detail`, { secret: 'detail' });
    const http = toHttpError(err, 1);
    expect(http.status).toBe(STATUS[code]);
    if (STATUS[code] === 500) {
      // The server's own faults are answered as INTERNAL, revealing nothing.
      expect(http.code).toBe('INTERNAL');
      expect(JSON.stringify(http)).not.toContain('secret');
    } else {
      expect(http.status).toBeGreaterThanOrEqual(400);
      expect(http.code).toBe(code);
    }
    const cli = describeCliError(err);
    expect(cli.exitCode).toBe(EXIT_CODES[code]);
    expect(cli.exitCode).toBeGreaterThan(0);
    expect(cli.line).toBe(`facerec: ${code}: a ${code} with a secret detail`);
  });

  it('has no entry for a code that does not exist', () => {
    expect(Object.keys(STATUS).sort()).toEqual([...ERROR_CODES].sort());
    expect(Object.keys(EXIT_CODES).sort()).toEqual([...ERROR_CODES].sort());
  });

  it('answers a user mistake with 4xx, an overload with 503, and only server faults with 500', () => {
    const userMistakes = [
      'INVALID_ARGUMENT',
      'NO_FACE',
      'UNSUPPORTED_IMAGE',
      'IMAGE_TOO_LARGE',
      'PERSON_NOT_FOUND',
      'GALLERY_EXISTS',
      'MULTIPLE_FACES',
      'IMAGE_UNPROCESSABLE',
    ] as const;
    for (const code of userMistakes) expect(STATUS[code], code).toBeLessThan(500);
    for (const code of [
      'QUEUE_FULL',
      'WORKER_CRASHED',
      'ENGINE_UNHEALTHY',
      'POOL_CLOSED',
      'DATABASE_UNAVAILABLE',
      'DATABASE_LOCKED',
    ] as const)
      expect(STATUS[code], code).toBe(503);
  });
});
