/**
 * How the inference parts are put together from settings, in one place for every front door: the
 * inference container, `npm start` and the benchmark; the parts the CLI also uses (model options,
 * loading one model file, the worker) are in compose-analysis.ts.
 */
import {
  type Config,
  type Logger,
  type ResultLedger,
  type ServiceContext,
  shouldPoll,
} from '@scopehive/shared';
import { createAnalysisWorker } from './compose-analysis.ts';
import { fillModelCache, heartbeat, openHive, serveModels, writeReturningResults } from './compose-hive.ts';
import { modelSettings } from './model/from-settings.ts';
import type { ModelFileSource } from './model/hive-model-publisher.ts';
import type { ModelSet } from './model/model.ts';
import { engineCacheRoot, gpuStackFromEnv } from './model/providers.ts';
import { ModelRegistry } from './model/registry.ts';
import { configureGpuSessions } from './model/session.ts';
import { imageRelease } from './pipeline/hive-results.ts';
import { HiveSink } from './pipeline/hive-sink.ts';
import { HiveSource } from './pipeline/hive-source.ts';
import { jobsRouter } from './pipeline/jobs-api.ts';
import { sweepLeftovers } from './pipeline/leftovers.ts';
import { LocalShare } from './pipeline/local-share.ts';
import { createPipelineMetrics, type PipelineMetrics } from './pipeline/metrics.ts';
import { resolveUpdateLockPath, UpdateLock, withUpdateLock } from './pipeline/update-lock.ts';
import type { InferenceWorker } from './pipeline/worker.ts';

/** The live models folder. */
export function createModelRegistry(
  config: Config<'paths' | 'analysis' | 'runtime' | 'watch'>,
  logger: Logger,
  metrics?: PipelineMetrics,
): ModelRegistry {
  // TensorRT keeps its engines on the data volume, keyed by this image's GPU stack (no-op on a CPU).
  configureGpuSessions({
    cacheRoot: engineCacheRoot(config.paths.data),
    stack: gpuStackFromEnv(process.env),
  });
  return new ModelRegistry({
    modelsDir: config.paths.models,
    enabled: config.analysis.models,
    ...modelSettings(config.analysis, config.runtime),
    stableMs: config.watch.stableMs,
    usePolling: shouldPoll(config.watch.polling, config.paths.models),
    pollIntervalMs: config.watch.pollIntervalMs,
    logger,
    metrics,
  });
}

/** The one-line hint shown while the models folder is empty. */
export function noModelHint(modelsDir: string): string {
  return (
    `no model in ${modelsDir}: copy a YOLO detection model (.onnx, Ultralytics export) there, or run ` +
    '`npm run fetch-model`; analysis starts as soon as one appears'
  );
}

export type InferenceSections = 'paths' | 'analysis' | 'runtime' | 'watch' | 'queue' | 'http' | 'hive';

export interface ComposeInferenceOptions {
  ledger?: ResultLedger;
  /**
   * Hive mode on a microscope node without inference: the models its jobs are made for, with their
   * files (ingest's catalog), so that the result writer knows when an image is finished and the
   * hive's workers can fetch them. With inference, the registry's.
   */
  modelFiles?: ModelFileSource;
  /**
   * Models ready to run, used instead of the models folder (the hive simulation's stand-ins). The
   * returned `models` is then undefined: there is no registry.
   */
  modelSet?: ModelSet;
}

/**
 * Inference on this node's share: models from the models folder, jobs from the queue, results to
 * the results folder. Used by the inference container and by `npm start`. In hive mode (its parts
 * are in compose-hive.ts) images, results and models of other nodes travel through JetStream; a
 * microscope-only node runs no models, only the writer of the results other nodes send back.
 */
export async function composeInference(
  ctx: ServiceContext<InferenceSections>,
  options: ComposeInferenceOptions = {},
): Promise<{ models?: ModelRegistry; metrics: PipelineMetrics }> {
  const { config, logger } = ctx;
  const startedAt = new Date();
  const { queue, jetstream } = await ctx.queue();
  const metrics = createPipelineMetrics(ctx.metrics, {
    rateWindowS: config.http.rateWindowS,
    queueDepth: () => queue.depth(),
  });
  // balena's update lock, held while the worker has jobs in flight, so an update or a restart never
  // cuts an analysis short. Closed after the worker, whose closer is registered later.
  const updateLock = new UpdateLock({
    path: resolveUpdateLockPath(config.runtime.updateLock, process.env),
    logger,
  });
  ctx.onClose(() => updateLock.close());
  ctx.routes((app) => app.use(jobsRouter(updateLock)));
  // The settings refuse hive mode without NATS_URL, so the hive always has its connection here.
  const hive = config.hive.enabled && jetstream ? await openHive(ctx, jetstream) : undefined;
  // A worker-only node has no share of its own: every job's bytes and results travel.
  const share =
    hive?.role === 'worker'
      ? undefined
      : new LocalShare({
          inboxDir: config.paths.inbox,
          resultsDir: config.paths.results,
          rejectedDir: config.paths.rejected,
          ledger: options.ledger,
          logger,
          onRejected: (reason) => metrics.rejectedTotal.inc({ reason }),
          tables: { sizeUnit: config.analysis.sizeUnit, bom: config.analysis.csvBom },
        });
  // Closed after the worker (closers run in reverse): the worker's last writes come first.
  if (share) ctx.onClose(() => share.close());
  if (hive?.role === 'worker' && !options.modelSet) await fillModelCache(ctx, hive);
  const registry =
    hive?.role === 'microscope' || options.modelSet ? undefined : await startModels(ctx, metrics);
  const models: ModelSet | undefined = options.modelSet ?? registry;
  const served = registry ?? options.modelFiles;
  if (hive && hive.role !== 'worker' && served && !options.modelSet) await serveModels(ctx, hive, served);
  const jobModels = () => (models ?? served)?.list() ?? [];
  if (hive && share) writeReturningResults(ctx, hive, share, jobModels);
  let worker: InferenceWorker | undefined;
  if (models) {
    const node = config.node.name;
    const transfers = hive?.metrics;
    const source = hive ? new HiveSource({ node, share, images: hive.images, transfers }) : share;
    const ownWritten =
      hive && share ? imageRelease({ share, images: hive.images, models: jobModels, logger }) : undefined;
    const sink = hive ? new HiveSink({ node, share, js: hive.js, logger, transfers, ownWritten }) : share;
    if (!source || !sink) throw new Error('inference needs a share or the hive');
    const running = createAnalysisWorker({
      config,
      node,
      queue: withUpdateLock(queue, updateLock),
      models,
      source,
      sink,
      logger,
      metrics,
      // A full or read-only share is waited out: the images stay in the inbox until it clears.
      waitOutEnvironment: true,
      folders: { inbox: config.paths.inbox, results: config.paths.results, rejected: config.paths.rejected },
      // The hive's scheduling: take only what this node can run, and leave other nodes' models to them.
      holdOnlyCapacity: hive !== undefined,
      handBackUnknownModels: hive !== undefined,
    });
    running.start();
    worker = running;
    ctx.onClose(() => running.close());
    ctx.ready(() => running.readiness());
    ctx.degraded(() => running.readiness());
  }
  if (hive) {
    await heartbeat(ctx, hive, {
      models: () => models?.list() ?? [],
      jobsInFlight: () => worker?.jobsInHand() ?? 0,
      imagesPerSecond: () => metrics.frameRate.rates(),
    });
  }
  if (share) {
    const swept = sweepLeftovers([config.paths.results, config.paths.rejected], {
      before: startedAt,
      logger,
      signal: ctx.signal,
    });
    ctx.onClose(() => swept);
  }
  return { models: registry, metrics };
}

/** The live models folder, with readiness and the hint shown while it is empty. */
async function startModels(
  ctx: ServiceContext<InferenceSections>,
  metrics: PipelineMetrics,
): Promise<ModelRegistry> {
  const { config, logger } = ctx;
  const models = createModelRegistry(config, logger, metrics);
  const hint = () => {
    if (models.list().length === 0) logger.warn(noModelHint(config.paths.models));
  };
  models.on('change', hint);
  ctx.onClose(() => models.close());
  await models.start();
  hint();
  // Ready while a model runs; a broken sidecar or a missing models folder is named either way.
  ctx.ready(() => {
    const problems = models.problems().join('; ');
    if (models.list().length === 0)
      return { ready: false, reason: problems || noModelHint(config.paths.models) };
    return problems ? { ready: true, reason: problems } : { ready: true };
  });
  return models;
}
