import {
  hiveReplicas,
  ImageStore,
  linksRefusedCounter,
  type Readiness,
  type ResultLedger,
  type ServiceContext,
  shouldPoll,
} from '@scopehive/shared';
import { Ingest, type ModelSource } from './ingest.ts';
import { ModelCatalog } from './model-catalog.ts';

export type IngestSections = 'paths' | 'watch' | 'analysis' | 'queue' | 'hive';

/**
 * Ingest on this node's inbox: one job per (complete image, model) onto the queue. In its own
 * container it reads the models folder for names and hashes; in `npm start` the inference registry
 * is the model source and the ledger is shared with the pipeline.
 */
export async function composeIngest(
  ctx: ServiceContext<IngestSections>,
  options: { models?: ModelSource; ledger?: ResultLedger } = {},
): Promise<Ingest> {
  const { config, logger } = ctx;
  // The same counter as the model registry's in one process: links not taken, by folder.
  const metrics = { linksRefusedTotal: linksRefusedCounter(ctx.metrics) };
  const { queue, jetstream } = await ctx.queue();
  // Hive mode: other nodes fetch the bytes from JetStream (the settings made sure NATS is there).
  const images =
    config.hive.enabled && jetstream
      ? await ImageStore.open(jetstream, { replicas: await hiveReplicas(await jetstream.jetstreamManager()) })
      : undefined;
  let models = options.models;
  if (!models) {
    const catalog = new ModelCatalog({
      modelsDir: config.paths.models,
      enabled: config.analysis.models,
      stableMs: config.watch.stableMs,
      usePolling: shouldPoll(config.watch.polling, config.paths.models),
      pollIntervalMs: config.watch.pollIntervalMs,
      logger,
      metrics,
    });
    await catalog.start();
    ctx.onClose(() => catalog.close());
    ctx.ready(() => readiness(catalog.problem));
    models = catalog;
  }
  const ingest = new Ingest({
    node: config.node.name,
    inboxDir: config.paths.inbox,
    resultsDir: config.paths.results,
    stableMs: config.watch.stableMs,
    usePolling: shouldPoll(config.watch.polling, config.paths.inbox),
    pollIntervalMs: config.watch.pollIntervalMs,
    queue,
    models,
    logger,
    ledger: options.ledger,
    metrics,
    images,
  });
  await ingest.start();
  ctx.onClose(() => ingest.close());
  ctx.ready(() => readiness(ingest.problem));
  return ingest;
}

/** Not ready while a watched folder is missing: nothing in it can be seen. */
function readiness(problem: string | undefined): Readiness {
  return problem ? { ready: false, reason: problem } : { ready: true };
}
