/**
 * `npm start`: the whole pipeline in one process on a laptop with no balena, GPU or Docker:
 * ingest watches ./data/inbox, inference runs every model in ./data/models over the embedded queue,
 * results land in ./data/results, and one port serves /metrics, /healthz and /readyz.
 */

import { createInferenceWorker, createModelRegistry, noModelHint } from '@scopehive/inference';
import { Ingest } from '@scopehive/ingest';
import {
  collectProcessMetrics,
  createLogger,
  createPipelineMetrics,
  EmbeddedQueue,
  ensureFolders,
  onShutdown,
  settingsOrExit,
  shouldPoll,
  startHttpServer,
} from '@scopehive/shared';
import { Registry } from 'prom-client';

const settings = settingsOrExit();
const logger = createLogger('scopehive', settings.logLevel);
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

const { server, port } = await startHttpServer({
  host: settings.host,
  port: settings.port,
  registry,
  readiness: () =>
    models.list().length > 0 ? { ready: true } : { ready: false, reason: noModelHint(settings.modelsDir) },
});
logger.info(
  { port, inbox: settings.inboxDir, results: settings.resultsDir },
  `scopehive running: drop images into ${settings.inboxDir}; metrics on http://${settings.host}:${port}/metrics`,
);

onShutdown(async () => {
  logger.info('stopping');
  await ingest.close();
  await worker.close();
  await queue.close();
  await models.close();
  server.close();
});
