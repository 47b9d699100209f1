/**
 * The hive's parts of inference, put together in one place for composeInference: the stores and
 * streams (with the cluster's replica count), the models that travel (published by nodes with a
 * models folder, fetched by workers), the origin's results writer, and the node's heartbeat.
 */
import type { HiveRole, JetStreamClient, ModelRef, ServiceContext } from '@scopehive/shared';
import {
  ensureResultsStream,
  hiveReplicas,
  ImageStore,
  ModelStore,
  untilAnswered,
} from '@scopehive/shared/hive';
import { HiveModelFetcher } from './model/hive-model-fetcher.ts';
import { HiveModelPublisher, type ModelFileSource } from './model/hive-model-publisher.ts';
import type { LoadedModel } from './model/model.ts';
import { startNodeHeartbeat } from './pipeline/hive-heartbeat.ts';
import { createHiveMetrics, type HiveMetrics } from './pipeline/hive-metrics.ts';
import { startHiveResultsWriter } from './pipeline/hive-results.ts';
import type { LocalShare } from './pipeline/local-share.ts';

type HiveSections = 'paths' | 'analysis' | 'hive';

export interface Hive {
  js: JetStreamClient;
  role: HiveRole;
  /** 3 once the cluster has three JetStream servers, else 1. */
  replicas: number;
  images: ImageStore;
  models: ModelStore;
  metrics: HiveMetrics;
}

/**
 * Opens the hive's stores and the results stream on the queue's connection; a cluster too busy to
 * answer (every node starting at once) is waited out, never a failed start.
 */
export async function openHive(
  ctx: ServiceContext<HiveSections | 'queue'>,
  js: JetStreamClient,
): Promise<Hive> {
  const { queue } = await ctx.queue();
  const opened = await untilAnswered(
    'opening the hive’s streams',
    async () => {
      const jsm = await js.jetstreamManager();
      const replicas = await hiveReplicas(jsm);
      await ensureResultsStream(jsm);
      const images = await ImageStore.open(js, { replicas });
      const models = await ModelStore.open(js, { replicas });
      return { replicas, images, models };
    },
    { logger: ctx.logger, signal: ctx.signal },
  );
  return {
    js,
    role: ctx.config.hive.role,
    ...opened,
    metrics: createHiveMetrics(ctx.metrics, { queue }),
  };
}

/**
 * A worker-only node's models folder is its cache of the models the hive serves: filled before the
 * registry first reads it, and kept in step afterwards.
 */
export async function fillModelCache(ctx: ServiceContext<HiveSections>, hive: Hive): Promise<void> {
  const fetcher = new HiveModelFetcher({
    store: hive.models,
    modelsDir: ctx.config.paths.models,
    enabled: ctx.config.analysis.models,
    logger: ctx.logger,
  });
  await fetcher.start();
  ctx.onClose(() => fetcher.close());
}

/** A node with a models folder serves its models (and their sidecars) to the hive's workers. */
export async function serveModels(
  ctx: ServiceContext<HiveSections>,
  hive: Hive,
  source: ModelFileSource,
): Promise<void> {
  const publisher = new HiveModelPublisher({
    node: ctx.config.node.name,
    store: hive.models,
    source,
    logger: ctx.logger,
  });
  await publisher.start();
  ctx.onClose(() => publisher.close());
}

/** The origin's side: results other nodes send back are written to this node's share. */
export function writeReturningResults(
  ctx: ServiceContext<HiveSections>,
  hive: Hive,
  share: LocalShare,
  models: () => readonly ModelRef[],
): void {
  const writer = startHiveResultsWriter({
    node: ctx.config.node.name,
    js: hive.js,
    share,
    images: hive.images,
    models,
    logger: ctx.logger,
    signal: ctx.signal,
  });
  ctx.onClose(() => writer.close());
}

/**
 * The node's entry in the hive's registry, kept fresh while it runs. Registered after the worker,
 * so it closes first: the node leaves the registry before it drains.
 */
export async function heartbeat(
  ctx: ServiceContext<HiveSections>,
  hive: Hive,
  live: {
    models: () => readonly LoadedModel[];
    jobsInFlight: () => number;
    imagesPerSecond: () => ReadonlyMap<string, number>;
  },
): Promise<void> {
  const beat = await startNodeHeartbeat({
    js: hive.js,
    node: ctx.config.node.name,
    role: hive.role,
    ...live,
    replicas: hive.replicas,
    logger: ctx.logger,
  });
  ctx.onClose(() => beat.close());
}
