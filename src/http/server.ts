/** Starts the HTTP service: database, engine workers, the app; stops it gracefully. */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { pino, type Logger } from 'pino';
import type { Config } from '../config/index.js';
import { FacerecError } from '../errors.js';
import { databaseTarget, openFacerec, type DatabaseTarget, type Facerec, type OpenOptions } from '../service/context.js';
import { activeKeyCount } from '../service/keys.service.js';
import { maintainSightings } from '../service/sightings.service.js';
import { createApp, type App } from './app.js';

export interface ServeOptions {
  port?: number;
  host?: string;
  /** Serve without API keys on a non-loopback address. */
  insecure?: boolean;
  db?: DatabaseTarget;
  migrate?: boolean;
  workers?: number;
  /** Worker pool settings beyond the configuration (tests: a worker entry that fails on cue). */
  engine?: OpenOptions['engine'];
  logger?: Logger;
  /** Exit the process on SIGTERM/SIGINT after shutting down (the CLI); tests stop the server themselves. */
  handleSignals?: boolean;
}

export interface RunningServer {
  url: string;
  app: App;
  facerec: Facerec;
  server: Server;
  /** Stops accepting, lets in-flight requests finish (up to the deadline), closes the pool and the database. */
  close(): Promise<void>;
}

const SIGHTING_MAINTENANCE_MS = 3_600_000;

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost|::ffff:127\.\d+\.\d+\.\d+)$/;

export async function startServer(config: Config, options: ServeOptions = {}): Promise<RunningServer> {
  const logger = options.logger ?? pino({ level: config.http.logLevel, base: { service: 'facerec' } });
  const facerec = await openFacerec(config, {
    db: options.db ?? databaseTarget(config),
    migrate: options.migrate,
    workers: options.workers,
    engine: options.engine,
  });
  let server: Server | undefined;
  try {
    const keys = await activeKeyCount(facerec.db);
    const host = options.host ?? config.http.host ?? (keys > 0 ? '0.0.0.0' : '127.0.0.1');
    if (keys === 0 && !LOOPBACK.test(host)) {
      if (!options.insecure) {
        throw new FacerecError(
          'INVALID_CONFIG',
          `No API key exists, so facerec only listens on loopback; create one with \`facerec keys create --role admin --name <name>\` before listening on ${host}, or pass --insecure`,
          { host },
        );
      }
      logger.warn(
        { host },
        '!!! INSECURE: no API keys exist and the API is open to anyone who can reach %s. Create a key with `facerec keys create`.',
        host,
      );
    } else if (keys === 0) {
      logger.warn(
        'No API keys exist: the API is open to local clients only. Create one with `facerec keys create --role admin --name <name>`.',
      );
    }

    // A replaced worker is the containment working; its reason (possibly an internal message) goes to the log only.
    facerec.analyzer.onReplacement?.(({ cause, reason }) => logger.warn({ cause, reason }, 'engine worker replaced'));
    let draining = false;
    const app = createApp({ ctx: facerec, config, logger, draining: () => draining });
    const port = options.port ?? config.http.port;
    const listening: Server = await new Promise((resolve, reject) => {
      const s = app.app.listen(port, host, () => resolve(s));
      s.once('error', reject);
    });
    server = listening;
    // Uploads of 20 MB on slow links take a while; the per-request deadline is enforced by the app.
    listening.requestTimeout = config.http.requestTimeoutMs + 10_000;
    const address = listening.address() as AddressInfo;
    const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
    logger.info(
      {
        url,
        database: facerec.db.kind,
        location: facerec.db.location,
        workers: facerec.analyzer.status().workers,
        model: facerec.analyzer.descriptorModelId,
      },
      'facerec listening',
    );

    // Faces seen: retention's purge and any clustering left waiting, at start and hourly.
    const maintain = () =>
      maintainSightings(facerec)
        .then(({ purged, clustered }) => {
          if (purged.sightings || purged.photos || clustered) logger.info({ purged, clustered }, 'sightings maintained');
        })
        .catch((err: unknown) => logger.warn({ err }, 'sightings maintenance failed; it runs again within the hour'));
    let maintaining = maintain();
    const maintenance = setInterval(() => (maintaining = maintain()), SIGHTING_MAINTENANCE_MS);
    maintenance.unref();

    let closing: Promise<void> | undefined;
    const close = () =>
      (closing ??= (async () => {
        clearInterval(maintenance);
        draining = true;
        logger.info('shutting down: finishing in-flight requests');
        const finished = new Promise<void>((resolve) => listening.close(() => resolve()));
        listening.closeIdleConnections();
        const deadline = new Promise<void>((resolve) => setTimeout(resolve, config.http.shutdownTimeoutMs).unref());
        await Promise.race([finished, deadline]);
        listening.closeAllConnections();
        await maintaining;
        await facerec.close();
        logger.info('stopped');
      })());

    if (options.handleSignals) {
      for (const signal of ['SIGTERM', 'SIGINT'] as const) {
        process.once(signal, () => {
          void close().then(
            () => process.exit(0),
            (err: unknown) => {
              logger.error({ err }, 'shutdown failed');
              process.exit(1);
            },
          );
        });
      }
    }
    return { url, app, facerec, server: listening, close };
  } catch (err) {
    server?.close();
    await facerec.close();
    throw err;
  }
}
