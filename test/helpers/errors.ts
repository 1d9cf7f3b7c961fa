/** Catching domain errors in tests. */
import { expect } from 'vitest';
import { FacerecError } from '../../src/errors.js';

/** The FacerecError a promise rejects with; fails the test if it resolves or rejects with anything else. */
export async function rejection(promise: Promise<unknown>): Promise<FacerecError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(FacerecError);
  return err as FacerecError;
}

/** The `code` of what a function throws, or 'no error'. */
export function codeOf(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return (err as { code?: unknown }).code;
  }
  return 'no error';
}
