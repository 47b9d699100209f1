/**
 * The inference container: models from the share's models folder, jobs from NATS JetStream (or the
 * embedded queue when NATS_URL is unset), results to the share. Several of these processes, on one
 * device or many, share the work.
 */
import {
  createPipelineMetrics,
  onShutdown,
  openQueue,
  type Readiness,
  startServiceBase,
} from '@scopehive/shared';
import type { ModelRegistry } from './model/model-registry.ts';
import { createInferenceWorker, createModelRegistry, noModelHint } from './service.ts';

// Filled in as start-up proceeds; /readyz reports whichever step is still missing.
let waitingFor: Readiness = { ready: false, reason: 'connecting to the job queue' };
let connected = () => false;
let models: ModelRegistry | undefined;
const base = await startServiceBase({
  service: 'inference',
  folders: (s) => ({
    models: { path: s.modelsDir, writable: false },
    inbox: { path: s.inboxDir, writable: true },
    results: { path: s.resultsDir, writable: true },
    rejected: { path: s.rejectedDir, writable: true },
  }),
  readiness: () => {
    if (!connected()) return waitingFor;
    if (!models || models.list().length === 0)
      return { ready: false, reason: noModelHint(base.settings.modelsDir) };
    return { ready: true };
  },
});
const { settings, logger, registry } = base;
waitingFor = { ready: false, reason: `waiting for NATS at ${settings.natsUrl}` };
const shutdown = new AbortController();
const opened = await openQueue(settings, logger, { name: 'inference', signal: shutdown.signal });
const { queue } = opened;
connected = opened.connected;
const metrics = createPipelineMetrics(registry, {
  rateWindowS: settings.rateWindowS,
  queueDepth: () => queue.depth(),
});
models = createModelRegistry(settings, logger, metrics);
const loaded = models;
loaded.on('change', () => {
  if (loaded.list().length === 0) logger.warn(noModelHint(settings.modelsDir));
});
await loaded.start();
if (loaded.list().length === 0) logger.warn(noModelHint(settings.modelsDir));
const worker = createInferenceWorker({ settings, queue, registry: loaded, logger, metrics });
worker.start();
logger.info({ queue: opened.engine, node: settings.nodeName }, 'inference running');

onShutdown(async () => {
  shutdown.abort();
  await worker.close();
  await queue.close();
  await loaded.close();
  await base.close();
});
