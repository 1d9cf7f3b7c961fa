/** `facerec serve` as a real child process (a replica, or a server to SIGKILL), with only the environment a container gets. */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
export const START_TIMEOUT_MS = 120_000;

export interface ServeProcess {
  name: string;
  child: ChildProcess;
  url: string;
  stderr: () => string;
}

/**
 * `facerec serve --port 0` as a child process with `env` (DATABASE_URL or FACEREC_DATA_DIR, …) over a bare
 * environment (no FACEREC_* of the developer's shell; one engine worker, warnings only, unless `env` says otherwise);
 * resolves once it prints the URL it serves on.
 */
export function startServeProcess(name: string, env: Record<string, string>): Promise<ServeProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli/main.ts'), 'serve', '--port', '0'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', FACEREC_WORKERS: '1', FACEREC_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} did not start within ${START_TIMEOUT_MS / 1000} s:\n${stderr}`));
    }, START_TIMEOUT_MS);
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
      const url = /facerec serving on (http:\/\/\S+)/.exec(stderr)?.[1];
      if (url) {
        clearTimeout(timer);
        resolve({ name, child, url, stderr: () => stderr });
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code ?? signal}) before serving:\n${stderr}`));
    });
  });
}

/** SIGTERM, then the exit code (SIGKILL after the deadline, as Docker does after stop_grace_period). */
export async function stopServeProcess(server: ServeProcess, deadlineMs = 30_000): Promise<number | null> {
  if (server.child.exitCode !== null || server.child.signalCode !== null) return server.child.exitCode;
  const exited = once(server.child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  server.child.kill('SIGTERM');
  const timer = setTimeout(() => server.child.kill('SIGKILL'), deadlineMs);
  const [code] = await exited;
  clearTimeout(timer);
  return code;
}

/** SIGKILL, as a crash or the OOM killer ends a process: no drain, no cleanup; resolves once it has exited. */
export async function killServeProcess(server: ServeProcess): Promise<void> {
  if (server.child.exitCode !== null || server.child.signalCode !== null) return;
  const exited = once(server.child, 'exit');
  server.child.kill('SIGKILL');
  await exited;
}
