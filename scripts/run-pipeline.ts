/**
 * The whole pipeline in one process: ingest watches the inbox, inference runs every model of the
 * models folder over the embedded queue, results land in the results folder, and one port serves
 * /metrics (pipeline and device metrics), /healthz, /readyz and /images/latest.jpg. `npm start` runs it; the integration tests start and stop it on
 * temporary folders.
 */

import type { Server } from 'node:http';
import { LatestImage, startDeviceMetrics } from '@scopehive/exporter';
import {
  createInferenceWorker,
  createModelRegistry,
  type InferenceWorker,
  type ModelRegistry,
  noModelHint,
} from '@scopehive/inference';
import { Ingest } from '@scopehive/ingest';
import {
  collectProcessMetrics,
  createLogger,
  createPipelineMetrics,
  EmbeddedQueue,
  ensureFolders,
  type Logger,
  type Settings,
  shouldPoll,
  startHttpServer,
} from '@scopehive/shared';
import { Registry } from 'prom-client';

export interface RunningPipeline {
  /** The port actually bound (settings may ask for 0: any free port). */
  port: number;
  models: ModelRegistry;
  ingest: Ingest;
  queue: EmbeddedQueue;
  worker: InferenceWorker;
  /** Stops watching, finishes the jobs in hand, releases the models and closes the port. */
  close(): Promise<void>;
}

/** Creates the data folders and starts ingest, inference and the metrics server on `settings`. */
export async function startPipeline(
  settings: Settings,
  logger: Logger = createLogger('scopehive', settings.logLevel),
): Promise<RunningPipeline> {
  await ensureFolders({
    inbox: settings.inboxDir,
    models: settings.modelsDir,
    results: settings.resultsDir,
    rejected: settings.rejectedDir,
  });

  const registry = new Registry();
  registry.setDefaultLabels({ node: settings.nodeName });
  collectProcessMetrics(registry);
  const queue = new EmbeddedQueue({
    capacity: settings.queueCapacity,
    ackWaitMs: settings.ackWaitMs,
    maxDeliver: settings.maxDeliver,
    onExhausted: (job) =>
      logger.error({ image: job.image, model: job.model }, `${job.image}: no attempt finished; gave up`),
  });
  const metrics = createPipelineMetrics(registry, {
    rateWindowS: settings.rateWindowS,
    queueDepth: () => queue.depth(),
  });

  const models = createModelRegistry(settings, logger, metrics);
  await models.start();
  if (models.list().length === 0) logger.warn(noModelHint(settings.modelsDir));
  models.on('change', () => {
    if (models.list().length === 0) logger.warn(noModelHint(settings.modelsDir));
  });

  const worker = createInferenceWorker({ settings, queue, registry: models, logger, metrics });
  worker.start();

  const ingest = new Ingest({
    inboxDir: settings.inboxDir,
    resultsDir: settings.resultsDir,
    stableMs: settings.stableMs,
    usePolling: shouldPoll(settings.polling, settings.inboxDir),
    pollIntervalMs: settings.pollIntervalMs,
    queue,
    models,
    logger,
  });
  await ingest.start();

  // The exporter's part: device health and the latest annotated image, on the same port.
  const device = startDeviceMetrics({
    registry,
    dataDir: settings.dataDir,
    procRoot: settings.procRoot,
    sysRoot: settings.sysRoot,
    logger,
  });
  const latest = new LatestImage(settings.resultsDir);
  await latest.start({
    usePolling: shouldPoll(settings.polling, settings.resultsDir),
    pollIntervalMs: settings.pollIntervalMs,
  });

  let server: Server;
  let port: number;
  try {
    ({ server, port } = await startHttpServer({
      host: settings.host,
      port: settings.port,
      registry,
      readiness: () =>
        models.list().length > 0
          ? { ready: true }
          : { ready: false, reason: noModelHint(settings.modelsDir) },
      routes: (app) => latest.routes(app),
    }));
  } catch (err) {
    await stop();
    throw err;
  }

  async function stop(): Promise<void> {
    device.close();
    await latest.close();
    await ingest.close();
    await worker.close();
    await queue.close();
    await models.close();
  }

  return {
    port,
    models,
    ingest,
    queue,
    worker,
    async close() {
      await stop();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
