/**
 * The inference container: models from the share's models folder, jobs from NATS JetStream (or the
 * embedded queue when NATS_URL is unset), results to the share. Several of these processes, on one
 * device or many, share the work.
 */
import { createPipelineMetrics, onShutdown, openQueue, startServiceBase } from '@scopehive/shared';
import { createInferenceWorker, createModelRegistry, noModelHint } from './service.ts';

let state = { queue: 'connecting to the job queue', models: 0, modelsDir: '' };
let connected = () => false;
const base = await startServiceBase({
  service: 'inference',
  folders: (s) => ({
    models: { path: s.modelsDir, writable: false },
    inbox: { path: s.inboxDir, writable: true },
    results: { path: s.resultsDir, writable: true },
    rejected: { path: s.rejectedDir, writable: true },
  }),
  readiness: () => {
    if (!connected()) return { ready: false, reason: state.queue };
    if (state.models === 0) return { ready: false, reason: noModelHint(state.modelsDir) };
    return { ready: true };
  },
});
const { settings, logger, registry } = base;
state.modelsDir = settings.modelsDir;
state = { ...state, queue: `waiting for NATS at ${settings.natsUrl ?? 'embedded'}` };
const shutdown = new AbortController();
const opened = await openQueue(settings, logger, { name: 'inference', signal: shutdown.signal });
const { queue } = opened;
connected = opened.connected;
const metrics = createPipelineMetrics(registry, {
  rateWindowS: settings.rateWindowS,
  queueDepth: () => queue.depth(),
});
const models = createModelRegistry(settings, logger, metrics);
models.on('change', () => {
  state.models = models.list().length;
  if (state.models === 0) logger.warn(noModelHint(settings.modelsDir));
});
await models.start();
state.models = models.list().length;
if (state.models === 0) logger.warn(noModelHint(settings.modelsDir));
const worker = createInferenceWorker({ settings, queue, registry: models, logger, metrics });
worker.start();
logger.info({ queue: opened.engine, node: settings.nodeName }, 'inference running');

onShutdown(async () => {
  shutdown.abort();
  await worker.close();
  await queue.close();
  await models.close();
  await base.close();
});
