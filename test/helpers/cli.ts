/** The real `facerec` command: run from source as a child process, or in this process for the medium tier. */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { vi } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `facerec ...args` with exactly `env` and collects its output and exit code. */
export function runFacerec(
  args: readonly string[],
  options: { env: NodeJS.ProcessEnv; timeout?: number; maxBuffer?: number },
): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', path.join(ROOT, 'src/cli/main.ts'), ...args],
      { cwd: ROOT, ...options },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/**
 * Runs `facerec ...args` in this process, through the same command tree, parsing and error handling as the real
 * command (src/cli/program.ts), with the configuration of exactly `env`; collects what it writes and its exit code.
 * No process start and no module loading per call: the medium tier's way to drive commands that need no engine.
 */
export async function runFacerecInProcess(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  // Loaded on first use: the e2e tests that only spawn the command need none of it here.
  const { main } = await import('../../src/cli/program.js');
  const stdout: string[] = [];
  const stderr: string[] = [];
  const capture = (into: string[]) => (chunk: string | Uint8Array) => {
    into.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return true;
  };
  const out = vi.spyOn(process.stdout, 'write').mockImplementation(capture(stdout) as typeof process.stdout.write);
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(capture(stderr) as typeof process.stderr.write);
  try {
    const code = await main([process.execPath, 'facerec', ...args], env);
    return { code, stdout: stdout.join(''), stderr: stderr.join('') };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}
