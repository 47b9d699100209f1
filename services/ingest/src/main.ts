/**
 * The ingest container: watches the share's inbox and publishes one job per (image, model) to NATS
 * JetStream. It only needs model names and hashes, so it reads the models folder without loading.
 */
import { onShutdown, openQueue, shouldPoll, startServiceBase } from '@scopehive/shared';
import { Ingest } from './ingest.ts';
import { ModelCatalog } from './model-catalog.ts';

let connected = () => false;
let natsUrl = '';
const base = await startServiceBase({
  service: 'ingest',
  folders: (s) => ({
    inbox: { path: s.inboxDir, writable: false },
    models: { path: s.modelsDir, writable: false },
    results: { path: s.resultsDir, writable: false },
  }),
  readiness: () =>
    connected() ? { ready: true } : { ready: false, reason: `waiting for NATS at ${natsUrl}` },
});
const { settings, logger } = base;
natsUrl = settings.natsUrl ?? 'embedded';
if (!settings.natsUrl) {
  logger.error(
    'ingest as its own process needs NATS_URL: the embedded queue cannot reach another process (use `npm start`)',
  );
  process.exit(1);
}
const shutdown = new AbortController();
const opened = await openQueue(settings, logger, { name: 'ingest', signal: shutdown.signal });
connected = opened.connected;
const catalog = new ModelCatalog({
  modelsDir: settings.modelsDir,
  enabled: settings.models,
  stableMs: settings.stableMs,
  usePolling: shouldPoll(settings.polling, settings.modelsDir),
  pollIntervalMs: settings.pollIntervalMs,
  logger,
});
await catalog.start();
const ingest = new Ingest({
  inboxDir: settings.inboxDir,
  resultsDir: settings.resultsDir,
  stableMs: settings.stableMs,
  usePolling: shouldPoll(settings.polling, settings.inboxDir),
  pollIntervalMs: settings.pollIntervalMs,
  queue: opened.queue,
  models: catalog,
  logger,
});
await ingest.start();

onShutdown(async () => {
  shutdown.abort();
  await ingest.close();
  await catalog.close();
  await opened.queue.close();
  await base.close();
});
