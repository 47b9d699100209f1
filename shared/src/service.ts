/**
 * The one bootstrap. Every front door (each container's main, `npm start`, the CLI, the benchmark)
 * is a `ServiceSpec`: the settings sections it needs, the data folders it checks, and a `compose`
 * step that wires its parts. Settings, logger, metrics registry, the HTTP server for /metrics,
 * /healthz and /readyz, the job queue (chosen in one place) and shutdown are done here, once.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Express, Router } from 'express';
import { Registry } from 'prom-client';
import { StartupError } from './config/errors.ts';
import { exitOnStartupError } from './config/exit.ts';
import { loadConfig } from './config/load.ts';
import type { Config, SectionName } from './config/sections.ts';
import { DataVolumeCheck } from './fs/data-volume.ts';
import { type Readiness, startHttpServer } from './http/server.ts';
import { createLogger, type Logger } from './log.ts';
import { collectProcessMetrics } from './metrics/process.ts';
import { type OpenedQueue, openQueue } from './queue/open.ts';
import { withoutCredentials } from './redact.ts';

export interface ServiceContext<N extends SectionName> {
  /** The process name in logs and NATS connection names (`inference`, `scopehive`, `cli`). */
  name: string;
  config: Config<N | 'node'>;
  logger: Logger;
  /** The Prometheus registry served on /metrics; every series carries the node's name. */
  metrics: Registry;
  /** Aborted when the service stops. */
  signal: AbortSignal;
  /** The job queue: JetStream when NATS_URL is set, else the embedded one. Opened once, on first call. */
  queue(): Promise<OpenedQueue>;
  /** Adds a readiness condition to /readyz. */
  ready(check: () => Readiness): void;
  /**
   * Adds a condition the service waits out by itself (a full disk): while it holds, /healthz stays
   * 200 but names it ("degraded: …"). A failing health check gets the container restarted (balena's
   * engine restarts unhealthy containers), which would not cure a full disk and would hand every
   * held job back to the queue, spending a delivery attempt each time.
   */
  degraded(check: () => Readiness): void;
  /** Adds routes to the service's HTTP server; ignored by a service that serves none (`http: false`). */
  routes(add: (app: Express) => void): void;
  /** Runs on stop, in reverse order of registration. */
  onClose(close: () => unknown): void;
}

export interface ServiceSpec<N extends SectionName> {
  name: string;
  /** Settings sections the service reads (`node` is always given). */
  sections: readonly N[];
  /** Data folders checked (created when missing) before composing: /readyz says which is missing or read-only. */
  folders?: (config: Config<N | 'node'>) => Record<string, { path: string; writable: boolean }>;
  /**
   * A device container waits for its data volume (a restart loop would hide the cause); a front door
   * run by hand (`npm start`, the CLI) stops with the reason at once.
   */
  waitForFolders?: boolean;
  /** Always the in-process queue, whatever NATS_URL says (the CLI and the benchmark are one process). */
  embeddedQueue?: boolean;
  /** Serves /metrics, /healthz and /readyz (needs the `http` section). Default: true. */
  http?: boolean;
  /** Log level when the settings don't choose one (the CLI keeps quiet). */
  logLevel?: string;
  compose(context: ServiceContext<N>): Promise<void>;
}

export interface RunningService<N extends SectionName> {
  config: Config<N | 'node'>;
  logger: Logger;
  metrics: Registry;
  /** The HTTP port actually bound (the settings may ask for 0: any free port). */
  port?: number;
  close(): Promise<void>;
}

/** Starts a service; a bad setting or a start-up problem rejects with a ConfigError or StartupError. */
export async function startService<const N extends SectionName>(
  spec: ServiceSpec<N>,
  options: { env?: NodeJS.ProcessEnv; logger?: Logger } = {},
): Promise<RunningService<N>> {
  const names = [...new Set<SectionName>([...spec.sections, 'node'])] as (N | 'node')[];
  const { config, warnings } = loadConfig(names, options.env ?? process.env);
  const logger = options.logger ?? createLogger(spec.name, spec.logLevel ?? config.node.logLevel);
  for (const warning of warnings) logger.warn(warning);
  const metrics = new Registry();
  metrics.setDefaultLabels({ node: config.node.name });
  // Only where /metrics serves them: collecting costs a one-shot process (the CLI) about 30 ms.
  if (spec.http !== false) collectProcessMetrics(metrics);

  const closers: Array<() => unknown> = [];
  const checks: Array<() => Readiness> = [];
  // Not ready until every part has registered its checks: before that, no check could say no.
  let composed = false;
  const degradations: Array<() => Readiness> = [];
  // Made with the HTTP server (express loads only then); without one, routes have nowhere to go.
  let router: Router | undefined;
  const shutdown = new AbortController();
  let queue: Promise<OpenedQueue> | undefined;
  const context: ServiceContext<N> = {
    name: spec.name,
    config,
    logger,
    metrics,
    signal: shutdown.signal,
    queue() {
      const configured = (config as Partial<Config<'queue'>>).queue;
      const queueConfig =
        configured && spec.embeddedQueue ? { ...configured, natsUrl: undefined } : configured;
      if (!queueConfig) throw new Error(`${spec.name}: the queue section was not asked for`);
      if (!queue) {
        let opened: OpenedQueue | undefined;
        const waiting = {
          ready: false,
          reason: `waiting for NATS at ${withoutCredentials(queueConfig.natsUrl ?? '')}`,
        };
        checks.push(() => (opened?.connected() ? { ready: true } : waiting));
        queue = openQueue(queueConfig, {
          name: spec.name,
          node: config.node.name,
          logger,
          signal: shutdown.signal,
        });
        queue.then(
          (q) => {
            opened = q;
            closers.push(() => q.queue.close());
          },
          () => undefined,
        );
      }
      return queue;
    },
    ready: (check) => checks.push(check),
    degraded: (check) => degradations.push(check),
    routes: (add) => {
      if (router) add(router as unknown as Express);
    },
    onClose: (close) => closers.push(close),
  };
  const close = async () => {
    shutdown.abort();
    for (const closer of closers.splice(0).reverse()) await closer();
  };

  try {
    const volume =
      spec.folders &&
      new DataVolumeCheck(spec.folders(config), (state) => {
        if (state.ready) logger.info('data folders ok');
        else logger.error({ reason: state.reason }, `data folder problem: ${state.reason}`);
      });
    if (volume) closers.push(() => volume.stop());
    let port: number | undefined;
    if (spec.http !== false) {
      const http = (config as Partial<Config<'http'>>).http;
      if (!http) throw new Error(`${spec.name}: the http section was not asked for`);
      const { default: express } = await import('express');
      const served = express.Router();
      router = served;
      const started = await startHttpServer({
        host: http.host,
        port: http.port,
        registry: metrics,
        health: () => {
          if (volume && !volume.state.ready) return volume.state;
          const degraded = degradations.map((check) => check()).find((r) => !r.ready);
          return degraded ? { ready: true, reason: `degraded: ${degraded.reason}` } : { ready: true };
        },
        readiness: () => {
          if (volume && !volume.state.ready) return volume.state;
          const results = checks.map((check) => check());
          const notReady = results.find((r) => !r.ready);
          if (notReady) return notReady;
          // The checks registered so far say yes, but not every part has registered its own yet.
          if (!composed) return { ready: false, reason: 'starting' };
          // Ready, with what still needs an operator's eye (a broken sidecar beside a running model).
          const notes = results.flatMap((r) => (r.reason ? [r.reason] : []));
          return notes.length > 0 ? { ready: true, reason: notes.join('; ') } : { ready: true };
        },
        routes: (app) => app.use(served),
      });
      port = started.port;
      closers.push(
        () =>
          new Promise<void>((resolve) => {
            started.server.close(() => resolve());
            started.server.closeAllConnections();
          }),
      );
      logger.info({ port }, `${spec.name} serving /metrics, /healthz and /readyz on port ${port}`);
    }
    // Up before anything slow (NATS, models), so the device shows why a service is not ready yet.
    while (volume && !(await volume.start()).ready) {
      volume.stop();
      if (!spec.waitForFolders) throw new StartupError(volume.state.reason ?? 'data folders are not usable');
      await sleep(5000);
    }
    await spec.compose(context);
    composed = true;
    return { config, logger, metrics, port, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/**
 * A process's main: starts the service, turns a bad setting or a start-up problem into one line on
 * stderr and exit code 1, and stops cleanly on SIGINT or SIGTERM.
 */
export function runMain<const N extends SectionName>(spec: ServiceSpec<N>): Promise<RunningService<N>> {
  return keepRunning(() => startService(spec));
}

/** Runs what `start` started until SIGINT or SIGTERM; a start-up problem exits with its one line. */
export async function keepRunning<T extends { logger: Logger; close(): Promise<void> }>(
  start: () => Promise<T>,
): Promise<T> {
  let running: T;
  try {
    running = await start();
  } catch (err) {
    return exitOnStartupError(err);
  }
  let closing = false;
  const stop = (signal: string) => {
    if (closing) return;
    closing = true;
    running.logger.info(`stopping (${signal})`);
    running
      .close()
      .catch((err) => process.stderr.write(`scopehive: error while stopping after ${signal}: ${err}\n`))
      .finally(() => process.exit(0));
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
  return running;
}
