/**
 * The deployment files, checked without a Docker engine: docker-compose.yml (parsed and interpolated the way compose
 * does), Dockerfile and Dockerfile.gpu (instruction by instruction), .dockerignore and .env.example, all wired to what
 * the app reads. Then the exact environment compose gives the app, with the host `db` swapped for a throwaway
 * database on the local PostgreSQL (TEST_DATABASE_URL), runs the compose flow: serve refuses 0.0.0.0 without a key,
 * the `keys` service's command creates one, serve migrates, passes both healthchecks, enrolls and identifies.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../../../src/config/index.js';
import { startServer, type RunningServer } from '../../../src/http/server.js';
import { readMigrations } from '../../../src/store/migrations.js';
import { runFacerec, type Run } from '../../helpers/cli.js';
import { createTestDatabase, SKIP_POSTGRES_REASON, TEST_DATABASE_URL, type TestDatabase } from '../../helpers/databases.js';
import { HAS_DATASETS, KNN, SKIP_DATASETS_REASON } from '../../helpers/datasets.js';
import { form } from '../../helpers/server.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..', '..');
const text = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');

// ---- what the app reads ------------------------------------------------------------------------------------------

/** The variable names of src/config's schema, read from its source: the app reads these and nothing else. */
function configVariables(): Set<string> {
  const source = text('src/config/index.ts');
  const body = /const schema = z\.object\(\{([\s\S]*?)\n\}\);/.exec(source)?.[1];
  if (!body) throw new Error('src/config/index.ts: `const schema = z.object({ ... });` not found');
  return new Set([...body.matchAll(/^ {2}([A-Z][A-Z0-9_]*):/gm)].map((m) => m[1] as string));
}
const CONFIG_VARIABLES = configVariables();

/** Throws unless loadConfig accepts the environment; returns the config. */
const configOf = (env: Record<string, string>) => loadConfig(env);

// ---- compose: .env and interpolation -----------------------------------------------------------------------------

function parseEnvFile(source: string): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const line of source.split('\n')) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (m) vars[m[1] as string] = (m[2] as string).trim();
  }
  return vars;
}

/** Compose's interpolation: $$, ${V}, ${V:-default}, ${V-default}, ${V:?error}, ${V?error}, $V. */
function interpolate(value: string, vars: Record<string, string>): string {
  return value.replace(
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (all, braced?: string, op?: string, arg?: string, bare?: string) => {
      if (all === '$$') return '$';
      const name = (braced ?? bare) as string;
      const set = name in vars;
      const nonEmpty = set && vars[name] !== '';
      switch (op) {
        case ':-':
          return nonEmpty ? (vars[name] as string) : (arg as string);
        case '-':
          return set ? (vars[name] as string) : (arg as string);
        case ':?':
          if (!nonEmpty) throw new Error(`${name}: ${arg}`);
          return vars[name] as string;
        case '?':
          if (!set) throw new Error(`${name}: ${arg}`);
          return vars[name] as string;
        default:
          return vars[name] ?? '';
      }
    },
  );
}

function interpolateAll(node: unknown, vars: Record<string, string>): unknown {
  if (typeof node === 'string') return interpolate(node, vars);
  if (Array.isArray(node)) return node.map((n) => interpolateAll(n, vars));
  if (node && typeof node === 'object') return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, interpolateAll(v, vars)]));
  return node;
}

interface Healthcheck {
  test: string[] | string;
  interval?: string;
  start_period?: string;
}
interface Service {
  image?: string;
  build?: { context: string; dockerfile?: string };
  profiles?: string[];
  environment?: Record<string, string | number | boolean> | string[];
  ports?: string[];
  volumes?: string[];
  depends_on?: Record<string, { condition?: string }>;
  healthcheck?: Healthcheck;
  command?: string[] | string;
  deploy?: { resources?: { reservations?: { devices?: Array<{ driver?: string; count?: string | number; capabilities?: string[] }> } } };
}
interface Compose {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

const COMPOSE_SOURCE = text('docker-compose.yml');
const ENV_EXAMPLE = parseEnvFile(text('.env.example'));
// What a user has after `cp .env.example .env` and setting the one required value.
const USER_ENV: Record<string, string> = { ...ENV_EXAMPLE, POSTGRES_PASSWORD: 'Xk3j9wQ2mZ7r' };

/** docker-compose.yml as compose sees it with `vars` as .env: merge keys (<<) resolved, ${...} interpolated. */
function loadCompose(vars: Record<string, string>): Compose {
  return interpolateAll(parse(COMPOSE_SOURCE, { merge: true }), vars) as Compose;
}

function environmentOf(service: Service): Record<string, string> {
  const env = service.environment ?? {};
  if (Array.isArray(env)) return Object.fromEntries(env.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v)]));
}

/** "HOST:CONTAINER[/proto]" → both ports. */
function portMapping(spec: string): { host: number; container: number } {
  const parts = spec.replace(/\/(tcp|udp)$/, '').split(':');
  return { host: Number(parts.at(-2)), container: Number(parts.at(-1)) };
}

// ---- Dockerfiles -------------------------------------------------------------------------------------------------

interface Instruction {
  keyword: string;
  args: string;
}
interface Stage {
  from: string;
  name: string | undefined;
  instructions: Instruction[];
}

/** Stages of a Dockerfile, each with its instructions; continuation lines joined, comments dropped. */
function parseDockerfile(source: string): Stage[] {
  const logical: string[] = [];
  let pending = '';
  for (const raw of source.split('\n')) {
    const line = raw.trimEnd();
    if (/^\s*#/.test(line) || (!pending && !line.trim())) continue;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1).trim()} `;
      continue;
    }
    logical.push((pending + line.trim()).trim());
    pending = '';
  }
  const stages: Stage[] = [];
  for (const line of logical) {
    const m = /^(\w+)\s+([\s\S]*)$/.exec(line);
    if (!m) continue;
    const keyword = (m[1] as string).toUpperCase();
    const args = m[2] as string;
    if (keyword === 'FROM') {
      const from = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      stages.push({ from: from?.[1] as string, name: from?.[2], instructions: [] });
    } else if (stages.length) {
      stages.at(-1)!.instructions.push({ keyword, args });
    }
  }
  return stages;
}

/** A Dockerfile with lookups across its stages. */
class Dockerfile {
  readonly stages: Stage[];
  constructor(readonly file: string) {
    this.stages = parseDockerfile(text(file));
  }
  get final(): Stage {
    return this.stages.at(-1)!;
  }
  stage(name: string): Stage | undefined {
    return this.stages.find((s) => s.name === name);
  }
  /** The stage and the stages it is built FROM, nearest first. */
  lineage(stage: Stage): Stage[] {
    const parent = this.stage(stage.from);
    return parent ? [stage, ...this.lineage(parent)] : [stage];
  }
  /** The registry image a stage is ultimately built on. */
  baseImage(stage: Stage): string {
    return this.lineage(stage).at(-1)!.from;
  }
  /** Instructions of a stage including those it inherits, oldest first. */
  instructions(stage: Stage, keyword: string): string[] {
    return this.lineage(stage)
      .reverse()
      .flatMap((s) => s.instructions.filter((i) => i.keyword === keyword).map((i) => i.args));
  }
  env(stage: Stage): Record<string, string> {
    const env: Record<string, string> = {};
    for (const args of this.instructions(stage, 'ENV'))
      for (const m of args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S*)/g))
        env[m[1] as string] = (m[2] as string).replace(/^"|"$/g, '');
    return env;
  }
  /** COPY instructions as { from, sources, dest }. */
  copies(stage: Stage): Array<{ from: string | undefined; sources: string[]; dest: string }> {
    return stage.instructions
      .filter((i) => i.keyword === 'COPY')
      .map((i) => {
        const words = i.args.split(/\s+/);
        const from = words.find((w) => w.startsWith('--from='))?.slice('--from='.length);
        const paths = words.filter((w) => !w.startsWith('--'));
        return { from, sources: paths.slice(0, -1), dest: paths.at(-1) as string };
      });
  }
}

/** Every npm ci / npm install command (split on && and ;) in the RUN instructions of these stages. */
function npmInstalls(stages: Stage[]): string[] {
  return stages.flatMap((s) =>
    s.instructions
      .filter((i) => i.keyword === 'RUN')
      .flatMap((i) => i.args.split(/&&|;/))
      .map((c) => c.trim())
      .filter((c) => /\bnpm (ci|install|i)\b/.test(c)),
  );
}

/** HEALTHCHECK [options] CMD ["exec", "form"] → the command. */
function healthcheckCommand(args: string): string[] {
  const cmd = /\bCMD\s+(\[[\s\S]*\])\s*$/.exec(args)?.[1];
  if (!cmd) throw new Error(`HEALTHCHECK without an exec-form CMD: ${args}`);
  return JSON.parse(cmd) as string[];
}

// ---- .dockerignore (Docker's rules: paths from the context root, last matching pattern wins, ! re-includes) --------

function dockerignored(patterns: string[], file: string): boolean {
  // `**` crosses directories, `*` and `?` do not.
  const toRegex = (p: string) =>
    new RegExp(
      `^${p
        .split('**')
        .map((part) =>
          part
            .replace(/[.+^${}()|[\]\\]/g, '\\$&')
            .replace(/\*/g, '[^/]*')
            .replace(/\?/g, '[^/]'),
        )
        .join('.*')}$`,
    );
  const parts = file.split('/');
  const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
  let ignored = false;
  for (const raw of patterns) {
    const negate = raw.startsWith('!');
    const pattern = (negate ? raw.slice(1) : raw).replace(/^\/+|\/+$/g, '');
    if (prefixes.some((p) => toRegex(pattern).test(p))) ignored = !negate;
  }
  return ignored;
}
const DOCKERIGNORE = text('.dockerignore')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));

// ---- the checks --------------------------------------------------------------------------------------------------

const TFJS_VERSION = (JSON.parse(text('package.json')) as { dependencies: Record<string, string> }).dependencies['@tensorflow/tfjs'];
const HEALTHZ_SCRIPT = /fetch\(.*\/healthz/;

describe('docker-compose.yml', () => {
  const compose = loadCompose(USER_ENV);
  const { db, app, keys } = compose.services;
  const gpu = compose.services['app-gpu'];
  const appEnv = environmentOf(app!);

  it('has the services db, app, keys (setup profile) and app-gpu (gpu profile)', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['app', 'app-gpu', 'db', 'keys']);
    expect(db?.profiles).toBeUndefined();
    expect(app?.profiles).toBeUndefined();
    expect(keys?.profiles).toEqual(['setup']);
    expect(gpu?.profiles).toEqual(['gpu']);
  });

  it('refuses to start without POSTGRES_PASSWORD, which .env.example leaves for the user to set', () => {
    expect(ENV_EXAMPLE.POSTGRES_PASSWORD).toBe('');
    expect(() => loadCompose(ENV_EXAMPLE)).toThrow(/POSTGRES_PASSWORD.*\.env/);
    expect(() => loadCompose({})).toThrow(/POSTGRES_PASSWORD/);
  });

  it('takes every ${VARIABLE} it uses from .env, and .env.example lists them all', () => {
    const used = new Set([...COMPOSE_SOURCE.replace(/\$\$/g, '').matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1] as string));
    expect([...used].filter((name) => !(name in ENV_EXAMPLE))).toEqual([]);
  });

  it('db: the pgvector image, a named volume for the data, a pg_isready healthcheck, the password from .env, no published port', () => {
    expect(db?.image).toMatch(/^pgvector\/pgvector:(0\.([89]|\d\d)\.\d+-)?pg1[6-9]$/);
    const [volume] = db?.volumes ?? [];
    const [source, target] = (volume ?? '').split(':');
    expect(target).toBe('/var/lib/postgresql/data');
    expect(Object.keys(compose.volumes ?? {})).toContain(source);
    expect(JSON.stringify(db?.healthcheck?.test)).toContain('pg_isready');
    expect(environmentOf(db!)).toMatchObject({
      POSTGRES_PASSWORD: USER_ENV.POSTGRES_PASSWORD,
      POSTGRES_USER: USER_ENV.POSTGRES_USER,
      POSTGRES_DB: USER_ENV.POSTGRES_DB,
    });
    expect(db?.ports).toBeUndefined();
  });

  it('app: every variable it is given is one src/config reads, and loadConfig accepts them', () => {
    expect(CONFIG_VARIABLES.size).toBeGreaterThan(20);
    for (const service of [app!, keys!, gpu!]) {
      const env = environmentOf(service);
      expect(Object.keys(env).filter((name) => !CONFIG_VARIABLES.has(name))).toEqual([]);
      expect(() => configOf(env)).not.toThrow();
    }
    const config = configOf(appEnv);
    expect(config.http.host).toBe('0.0.0.0');
    expect(config.http.port).toBe(3000);
    expect(config.migrate).toBe(true);
    // The optional settings pass through from .env only when set there.
    expect(configOf(environmentOf(loadCompose({ ...USER_ENV, FACEREC_THRESHOLD: '0.5' }).services.app!)).threshold).toBe(0.5);
    expect(config.threshold).toBe(configOf({}).threshold);
  });

  it('app: DATABASE_URL points at the db service with its user, password and database', () => {
    const url = new URL(appEnv.DATABASE_URL!);
    expect(url.protocol).toBe('postgres:');
    expect(url.hostname).toBe('db');
    expect(url.port).toBe('5432');
    const dbEnv = environmentOf(db!);
    expect(decodeURIComponent(url.username)).toBe(dbEnv.POSTGRES_USER);
    expect(decodeURIComponent(url.password)).toBe(dbEnv.POSTGRES_PASSWORD);
    expect(url.pathname).toBe(`/${dbEnv.POSTGRES_DB}`);
  });

  it('app: built from Dockerfile, publishes the port it listens on, waits for a healthy db, has a /healthz healthcheck', () => {
    expect(app?.build?.dockerfile ?? 'Dockerfile').toBe('Dockerfile');
    const ports = (app?.ports ?? []).map(portMapping);
    expect(ports).toEqual([{ host: Number(USER_ENV.APP_PORT ?? 3000), container: configOf(appEnv).http.port }]);
    expect(app?.depends_on?.db?.condition).toBe('service_healthy');
    const test = app?.healthcheck?.test as string[];
    expect(test.slice(0, 3)).toEqual(['CMD', 'node', '-e']);
    expect(test[3]).toMatch(HEALTHZ_SCRIPT);
  });

  it('keys: a one-shot `facerec keys create --role admin` on the app image and environment', () => {
    expect(keys?.image).toBe(app?.image);
    expect(keys?.build).toEqual(app?.build);
    expect(environmentOf(keys!)).toEqual(appEnv);
    expect(keys?.depends_on?.db?.condition).toBe('service_healthy');
    const command = keys?.command as string[];
    expect(command.slice(0, 5)).toEqual(['facerec', 'keys', 'create', '--role', 'admin']);
    expect(command).toContain('--name');
  });

  it('app-gpu: built from Dockerfile.gpu, FACEREC_BACKEND=gpu, all NVIDIA GPUs reserved, its own host port', () => {
    expect(gpu?.build?.dockerfile).toBe('Dockerfile.gpu');
    expect(gpu?.image).not.toBe(app?.image);
    const env = environmentOf(gpu!);
    expect(configOf(env).runtime).toMatchObject({ runtime: 'tfjs', backend: 'gpu' });
    expect(configOf(env).workers).toBe(1);
    expect({ ...env, FACEREC_RUNTIME: undefined, FACEREC_BACKEND: undefined, FACEREC_WORKERS: undefined }).toEqual({
      ...appEnv,
      FACEREC_BACKEND: undefined,
      FACEREC_WORKERS: undefined,
    });
    expect(gpu?.deploy?.resources?.reservations?.devices).toEqual([{ driver: 'nvidia', count: 'all', capabilities: ['gpu'] }]);
    const [port] = (gpu?.ports ?? []).map(portMapping);
    expect(port?.container).toBe(3000);
    expect(port?.host).not.toBe(portMapping(app!.ports![0]!).host);
    expect(gpu?.depends_on?.db?.condition).toBe('service_healthy');
    expect(JSON.stringify(gpu?.healthcheck?.test)).toMatch(/\/healthz/);
  });
});

describe.each([
  { file: 'Dockerfile', runtimeBase: 'node:20-bookworm-slim', backend: undefined },
  { file: 'Dockerfile.gpu', runtimeBase: 'nvidia/cuda:11.2.2-cudnn8-runtime-ubuntu20.04', backend: 'gpu' },
])('$file', ({ file, runtimeBase, backend }) => {
  const dockerfile = new Dockerfile(file);
  const { final } = dockerfile;

  it('is multi-stage on node:20-bookworm-slim: a build stage runs npm ci and the build', () => {
    expect(dockerfile.stages.length).toBeGreaterThanOrEqual(2);
    const build = dockerfile.stage('build')!;
    expect(dockerfile.baseImage(build)).toBe('node:20-bookworm-slim');
    const runs = dockerfile.instructions(build, 'RUN').join('\n');
    expect(runs).toMatch(/\bnpm ci\b/);
    expect(runs).toMatch(/\bnpm run build\b/);
    expect(final).not.toBe(build);
    expect(dockerfile.baseImage(final)).toBe(runtimeBase);
    // Node itself comes from the official Node 20 image, also on the CUDA base.
    if (runtimeBase !== 'node:20-bookworm-slim') {
      const nodeCopy = dockerfile
        .lineage(final)
        .flatMap((s) => dockerfile.copies(s))
        .find((c) => c.sources.includes('/usr/local/bin/node'));
      expect(dockerfile.baseImage(dockerfile.stage(nodeCopy!.from!)!)).toBe('node:20-bookworm-slim');
    }
  });

  it('installs production dependencies only in the image it ships', () => {
    // The final stage's own installs, and those of every stage it takes node_modules from.
    const sources = dockerfile
      .copies(final)
      .filter((c) => c.from && c.sources.some((s) => s.endsWith('node_modules')))
      .map((c) => dockerfile.stage(c.from!)!);
    const installs = npmInstalls([...dockerfile.lineage(final), ...sources.flatMap((s) => dockerfile.lineage(s))]);
    expect(installs.length).toBeGreaterThan(0);
    for (const command of installs) expect(command).toMatch(/--omit=dev\b/);
    expect(sources.map((s) => s.name)).not.toContain('build');
    if (backend === 'gpu') expect(installs.join('\n')).toContain(`@tensorflow/tfjs-node-gpu@${TFJS_VERSION}`);
  });

  it('ships dist from the build stage, migrations, the verified models and the web UI', () => {
    const copies = dockerfile.copies(final);
    expect(copies).toContainEqual({ from: 'build', sources: ['/app/dist'], dest: './dist' });
    for (const dir of ['migrations', 'models', 'src/web'])
      expect(copies).toContainEqual({ from: undefined, sources: [dir], dest: `./${dir}` });
    expect(dockerfile.instructions(final, 'WORKDIR').at(-1)).toBe('/app');
    // The models are loaded, and so checked against manifest.json, while the image is built.
    expect(dockerfile.instructions(final, 'RUN').join('\n')).toMatch(/node dist\/cli\/main\.js info\b/);
  });

  it('copies only files that exist and that .dockerignore lets into the build context', () => {
    for (const stage of dockerfile.stages) {
      for (const copy of dockerfile.copies(stage).filter((c) => !c.from)) {
        for (const source of copy.sources) {
          expect(existsSync(path.join(ROOT, source)), `${file}: COPY ${source}`).toBe(true);
          expect(dockerignored(DOCKERIGNORE, source), `${file}: COPY ${source} is in .dockerignore`).toBe(false);
        }
      }
    }
  });

  it('runs as a non-root user', () => {
    const user = dockerfile.instructions(final, 'USER').at(-1);
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^(root|0)(:|$)/);
  });

  it('listens on 0.0.0.0:3000, exposes 3000, and every variable it sets is one the app reads', () => {
    const env = dockerfile.env(final);
    const config = configOf(env);
    expect(config.http.host).toBe('0.0.0.0');
    expect(config.http.port).toBe(3000);
    if (backend) expect(config.runtime.backend).toBe(backend);
    expect(Object.keys(env).filter((name) => /^(FACEREC_|DATABASE_URL)/.test(name) && !CONFIG_VARIABLES.has(name))).toEqual([]);
    expect(dockerfile.instructions(final, 'EXPOSE')).toEqual(['3000']);
  });

  it('has a HEALTHCHECK on /healthz with node (no curl in slim images)', () => {
    const [healthcheck] = dockerfile.instructions(final, 'HEALTHCHECK');
    const command = healthcheckCommand(healthcheck!);
    expect(command.slice(0, 2)).toEqual(['node', '-e']);
    expect(command[2]).toMatch(HEALTHZ_SCRIPT);
  });

  it('serves by default, and has `facerec` on the PATH for `docker compose run --rm app facerec keys create`', () => {
    expect(JSON.parse(dockerfile.instructions(final, 'CMD').at(-1)!)).toEqual(['facerec', 'serve']);
    expect(dockerfile.instructions(final, 'RUN').join('\n')).toMatch(/ln -s \/app\/dist\/cli\/main\.js \/usr\/local\/bin\/facerec/);
    expect(dockerfile.instructions(dockerfile.stage('build')!, 'RUN').join('\n')).toMatch(/chmod \+x dist\/cli\/main\.js/);
    expect(text('src/cli/main.ts').startsWith('#!/usr/bin/env node\n')).toBe(true);
  });
});

describe('.dockerignore', () => {
  it('keeps secrets, dependencies and build output out of the context, and lets the sources in', () => {
    for (const file of [
      '.env',
      '.env.local',
      '.git/config',
      'node_modules/pg/package.json',
      'dist/cli/main.js',
      'data/PG_VERSION',
      '.eval/bench.out',
    ]) {
      expect(dockerignored(DOCKERIGNORE, file), file).toBe(true);
    }
    for (const file of [
      'package.json',
      'package-lock.json',
      'tsconfig.json',
      'tsconfig.build.json',
      'src/cli/main.ts',
      'src/web/index.html',
      'models/manifest.json',
      'migrations/0001_initial.sql',
    ]) {
      expect(dockerignored(DOCKERIGNORE, file), file).toBe(false);
    }
  });
});

// ---- the compose environment against a real PostgreSQL --------------------------------------------------------

const silent = pino({ level: 'silent' });

/** A compose `command` run with the real CLI: `facerec` is dist/cli/main.js in the image, src/cli/main.ts here. */
function runCommand(command: string[], env: Record<string, string>): Promise<Run> {
  const [program, ...args] = command;
  expect(program).toBe('facerec');
  // The container's environment is compose's and nothing else (but PATH and HOME, which images have).
  return runFacerec(args, { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env }, timeout: 60_000 });
}

/** Runs a healthcheck's `node -e` script as Docker would inside the container; resolves its exit code. */
function runHealthcheck(command: string[], port: number): Promise<number> {
  const [program, ...args] = command;
  expect(program).toBe('node');
  return new Promise((resolve) => {
    execFile(process.execPath, args, { env: { PATH: process.env.PATH ?? '', FACEREC_PORT: String(port) }, timeout: 10_000 }, (err) =>
      resolve(err ? ((err as { code?: number }).code ?? 1) : 0),
    );
  });
}

const LIVE_SKIP = !TEST_DATABASE_URL ? SKIP_POSTGRES_REASON : !HAS_DATASETS ? SKIP_DATASETS_REASON : undefined;
if (LIVE_SKIP) console.warn(`skipping the compose environment against PostgreSQL: ${LIVE_SKIP}`);

describe.skipIf(LIVE_SKIP !== undefined)(`the compose environment against PostgreSQL${LIVE_SKIP ? ` [${LIVE_SKIP}]` : ''}`, () => {
  const compose = loadCompose(USER_ENV);
  let test: TestDatabase;
  let env: Record<string, string>;
  let server: RunningServer | undefined;
  let key: string;

  beforeAll(async () => {
    test = await createTestDatabase('postgres');
    // Compose's DATABASE_URL with the host `db` (and its credentials and database) swapped for the local throwaway.
    const url = new URL(environmentOf(compose.services.app!).DATABASE_URL!);
    const local = new URL(test.url!);
    expect(url.hostname).toBe('db');
    Object.assign(url, {
      hostname: local.hostname,
      port: local.port,
      username: local.username,
      password: local.password,
      pathname: local.pathname,
    });
    env = { ...environmentOf(compose.services.app!), DATABASE_URL: url.toString() };
  });

  afterAll(async () => {
    await server?.close();
    await test?.drop();
  });

  it('serve refuses 0.0.0.0 while no API key exists, after applying every migration', async () => {
    await expect(startServer(configOf(env), { port: 0, workers: 1, logger: silent })).rejects.toMatchObject({
      code: 'INVALID_CONFIG',
      message: expect.stringMatching(/facerec keys create/),
    });
    const applied = await test.db.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
    expect(applied.map((r) => r.version)).toEqual((await readMigrations()).map((m) => m.version));
  }, 120_000);

  it('the keys service’s command creates an admin key', async () => {
    const run = await runCommand(compose.services.keys!.command as string[], env);
    expect(run.code, run.stderr).toBe(0);
    key = run.stdout.trim();
    expect(key).toMatch(/^\S{32,}$/);
    expect(await test.db.query('SELECT role, name FROM api_keys')).toEqual([{ role: 'admin', name: 'admin' }]);
  }, 60_000);

  it('serve then listens on 0.0.0.0, passes both healthchecks, enrolls and identifies with the key', async () => {
    expect(key).toBeDefined();
    server = await startServer(configOf(env), { port: 0, workers: 1, logger: silent });
    const { address, port } = server.server.address() as AddressInfo;
    expect(address).toBe('0.0.0.0');
    const base = `http://127.0.0.1:${port}`;

    const dockerHealthcheck = healthcheckCommand(
      new Dockerfile('Dockerfile').instructions(new Dockerfile('Dockerfile').final, 'HEALTHCHECK')[0]!,
    );
    const composeHealthcheck = (compose.services.app!.healthcheck!.test as string[]).slice(1);
    expect(await runHealthcheck(dockerHealthcheck, port)).toBe(0);
    expect(await runHealthcheck(composeHealthcheck, port)).toBe(0);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);

    const auth = { authorization: `Bearer ${key}` };
    const photo = (...p: string[]) => readFile(KNN(...p));
    expect((await fetch(`${base}/v1/identify`, { method: 'POST', body: form({ image: await photo('test', 'obama1.jpg') }) })).status).toBe(
      401,
    );

    const enrolled = await fetch(`${base}/v1/people`, {
      method: 'POST',
      headers: auth,
      body: form(
        { images: [await photo('train', 'obama', 'obama.jpg'), await photo('train', 'obama', 'obama2.jpg')] },
        { name: 'Barack Obama' },
      ),
    });
    expect(enrolled.status, await enrolled.clone().text()).toBe(201);
    expect(((await enrolled.json()) as { faces: unknown[] }).faces).toHaveLength(2);

    const identified = await fetch(`${base}/v1/identify`, {
      method: 'POST',
      headers: auth,
      body: form({ image: await photo('test', 'obama1.jpg') }),
    });
    expect(identified.status).toBe(200);
    const { faces } = (await identified.json()) as { faces: Array<{ label: string; outcome: string }> };
    expect(faces).toHaveLength(1);
    expect(faces[0]).toMatchObject({ label: 'Barack Obama', outcome: 'match' });

    await server.close();
    server = undefined;
    expect(await runHealthcheck(dockerHealthcheck, port)).toBe(1);
  }, 180_000);
});
