import {
  linksRefusedCounter,
  type Readiness,
  type ResultLedger,
  type ServiceContext,
  shouldPoll,
  startModelCatalog,
} from '@scopehive/shared';
import { hiveReplicas, ImageStore, untilAnswered } from '@scopehive/shared/hive';
import { Ingest, type ModelSource } from './ingest.ts';

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
  // Hive mode: other nodes fetch the bytes from JetStream (the settings made sure NATS is there). A
  // cluster too busy to answer (every node starting at once) is waited out, never a failed start.
  const images =
    config.hive.enabled && jetstream
      ? await untilAnswered(
          'opening the hive’s image store',
          async () =>
            ImageStore.open(jetstream, { replicas: await hiveReplicas(await jetstream.jetstreamManager()) }),
          { logger, signal: ctx.signal },
        )
      : undefined;
  const models = options.models ?? (await startModelCatalog(ctx));
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
