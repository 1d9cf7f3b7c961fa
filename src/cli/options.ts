/** Command options parsed with the use cases' input schemas, the same ones the HTTP API validates requests with. */
import { InvalidArgumentError as CommanderInvalidArgument } from 'commander';
import type { z } from 'zod';
import { decimalInteger, decimalNumber, parseInput } from '../service/input.js';

const flagOf = (field: string): string => `--${field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

/**
 * The values of a command's options and arguments as `schema` parses them; a bad one is INVALID_ARGUMENT naming its
 * flag: `--top-k` for topK, or what `flags` says (`<name>` for an argument, `--landmarks` for includeLandmarks).
 */
export function parseOptions<T extends z.ZodType>(
  schema: T,
  values: Record<string, unknown>,
  flags: Record<string, string> = {},
): z.output<T> {
  return parseInput(schema, values, { label: (field) => flags[field] ?? flagOf(field) });
}

/** commander's parser of an integer option that no use case takes (--workers, --port): a plain decimal, as everywhere. */
export function integerOption(flag: string, min: number, max: number): (value: string) => number {
  const schema = decimalInteger(min, max);
  return (value) => {
    const result = schema.safeParse(value);
    if (!result.success) throw new CommanderInvalidArgument(`${flag} must be an integer from ${min} to ${max}`);
    return result.data;
  };
}

/** commander's parser of a plain decimal option that no use case takes (--target-fpir of the evaluation). */
export function decimalOption(flag: string, min: number, max: number): (value: string) => number {
  const schema = decimalNumber(min, max);
  return (value) => {
    const result = schema.safeParse(value);
    if (!result.success) throw new CommanderInvalidArgument(`${flag} must be a number from ${min} to ${max}`);
    return result.data;
  };
}
