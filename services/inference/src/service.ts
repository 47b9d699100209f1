import path from 'node:path';
import {
  exists,
  type JobQueue,
  type Logger,
  type PipelineMetrics,
  rejectedPaths,
  type Settings,
  shouldPoll,
} from '@scopehive/shared';
import type { ImageRejection } from './image/rejection.ts';
import { ModelRegistry } from './model/model-registry.ts';
import { nvidiaDevicePresent, resolveProviders } from './model/session.ts';
import { rejectFile } from './reject-file.ts';
import { InferenceWorker } from './worker.ts';

export function createModelRegistry(
  settings: Settings,
  logger: Logger,
  metrics?: PipelineMetrics,
): ModelRegistry {
  return new ModelRegistry({
    modelsDir: settings.modelsDir,
    enabled: settings.models,
    providers: resolveProviders(settings.providers, nvidiaDevicePresent()),
    threads: settings.threads,
    defaults: { confidence: settings.confidence, iou: settings.iou, maxDetections: settings.maxDetections },
    stableMs: settings.stableMs,
    usePolling: shouldPoll(settings.polling, settings.modelsDir),
    pollIntervalMs: settings.pollIntervalMs,
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

/** The inbox service's rejection: move the file aside with its reason, once, and count it. */
export function inboxRejecter(settings: Settings, logger: Logger, metrics?: PipelineMetrics) {
  return async (job: { image: string }, rejection: ImageRejection): Promise<void> => {
    const reasonFile = rejectedPaths(settings.rejectedDir, job.image).reason;
    // Several models' jobs share an image: the first rejection moved it, the others find it gone.
    if (rejection.reason === 'vanished' && (await exists(reasonFile))) return;
    const { movedTo } = await rejectFile({
      inboxDir: settings.inboxDir,
      rejectedDir: settings.rejectedDir,
      image: job.image,
      rejection,
    });
    metrics?.rejectedTotal.inc({ reason: rejection.reason });
    logger.warn(
      {
        image: job.image,
        reason: rejection.reason,
        movedTo: movedTo && path.relative(settings.dataDir, movedTo),
      },
      `${job.image} set aside (${rejection.reason}): ${rejection.message}`,
    );
  };
}

/** Inference as a service: models from the models folder, jobs from the queue, results to the share. */
export function createInferenceWorker(options: {
  settings: Settings;
  queue: JobQueue;
  registry: ModelRegistry;
  logger: Logger;
  metrics?: PipelineMetrics;
}): InferenceWorker {
  const { settings, queue, registry, logger, metrics } = options;
  return new InferenceWorker({
    queue,
    registry,
    resultsDir: settings.resultsDir,
    imagePath: (job) => path.join(settings.inboxDir, ...job.image.split('/')),
    onRejected: inboxRejecter(settings, logger, metrics),
    maxPixels: settings.maxPixels,
    annotate: settings.annotate,
    node: settings.nodeName,
    metrics,
    logger,
  });
}
