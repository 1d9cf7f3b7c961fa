/** The real `facerec` command, run from source as a child process. */
import { execFile } from 'node:child_process';
import path from 'node:path';

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
