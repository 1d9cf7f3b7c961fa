/** A real facerec HTTP server on a throwaway database, listening on a free loopback port. */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { loadConfig, type Config } from '../../src/config/index.js';
import { createApp } from '../../src/http/app.js';
import { startServer, type RunningServer, type ServeOptions } from '../../src/http/server.js';
import type { Analyzer } from '../../src/service/context.js';
import type { Database } from '../../src/store/database.js';
import { createTestDatabase, migratedTestDatabase, type DatabaseKind, type TestDatabase } from './databases.js';

export interface TestServer {
  url: string;
  running: RunningServer;
  /** The server's own database handle, for row counts and SQL checks. */
  db: Database;
  test: TestDatabase;
  config: Config;
  /** Stops the server and drops the database. */
  stop(): Promise<void>;
}

/** Starts the app on `kind` with the given environment (e.g. { FACEREC_RATE_LIMIT: '5' }); one engine worker. */
export async function startTestServer(
  kind: DatabaseKind,
  env: Record<string, string> = {},
  options: Pick<ServeOptions, 'workers' | 'engine'> = {},
): Promise<TestServer> {
  const test = await createTestDatabase(kind);
  // The server opens the database itself; PGlite allows one handle per directory.
  await test.db.close();
  const config = loadConfig({ FACEREC_LOG_LEVEL: 'silent', ...env });
  try {
    const running = await startServer(config, {
      db: test.target,
      port: 0,
      host: '127.0.0.1',
      workers: options.workers ?? 1,
      engine: options.engine,
      logger: pino({ level: config.http.logLevel }),
    });
    let stopped = false;
    return {
      url: running.url,
      running,
      db: running.facerec.db,
      test,
      config,
      stop: async () => {
        if (stopped) return;
        stopped = true;
        await running.close();
        await test.drop();
      },
    };
  } catch (err) {
    await test.drop();
    throw err;
  }
}

export interface TestApp {
  url: string;
  db: Database;
  /** The app's log lines, parsed, in order. */
  logs: Array<Record<string, unknown>>;
  stop(): Promise<void>;
}

/**
 * The real app (createApp) on a migrated throwaway database, listening on a free loopback port, with the analyzer
 * given instead of engine workers: for faults the engine cannot be made to produce on demand.
 */
export async function startTestApp(kind: DatabaseKind, analyzer: Analyzer, env: Record<string, string> = {}): Promise<TestApp> {
  const test = await migratedTestDatabase(kind);
  const config = loadConfig(env);
  const logs: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const { app } = createApp({ ctx: { db: test.db, analyzer, config }, config, logger: pino({ level: 'info' }, sink) });
  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    db: test.db,
    logs,
    stop: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await test.drop();
    },
  };
}

export interface Reply {
  /** 0: no HTTP response at all (refused, reset, closed); `error` says which. */
  status: number;
  error?: string;
  headers: Headers;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- parsed response bodies, checked by the assertions
  body: any;
  ms: number;
}

/** A request whose failure to get any response is a value to assert on, not a rejection. */
export async function call(url: string, init?: RequestInit): Promise<Reply> {
  const t0 = performance.now();
  try {
    const res = await fetch(url, init);
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined, ms: performance.now() - t0 };
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    return {
      status: 0,
      error: cause?.code ?? cause?.message ?? String(err),
      headers: new Headers(),
      body: undefined,
      ms: performance.now() - t0,
    };
  }
}

/** multipart/form-data from named files (bytes) and text fields. */
export function form(
  files: Record<string, Uint8Array | Uint8Array[]>,
  fields: Record<string, string> = {},
  fileName = 'photo.jpg',
): FormData {
  const body = new FormData();
  for (const [name, value] of Object.entries(fields)) body.append(name, value);
  for (const [name, value] of Object.entries(files)) {
    for (const bytes of Array.isArray(value) ? value : [value]) body.append(name, new Blob([bytes]), fileName);
  }
  return body;
}
