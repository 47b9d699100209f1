import path from 'node:path';
import {
  exists,
  type Job,
  type JobQueue,
  type Logger,
  type PipelineMetrics,
  rejectedPaths,
  type Settings,
  shouldPoll,
} from '@scopehive/shared';
import { FolderOverrides } from './folder-overrides.ts';
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
    sessions: settings.sessions,
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

/** Rejections remembered so that the other models' jobs for the same file do not record it again. */
const REMEMBERED_REJECTIONS = 1000;

/** The inbox service's rejection: move the file aside with its reason, once, and count it. */
export function inboxRejecter(settings: Settings, logger: Logger, metrics?: PipelineMetrics) {
  // Every model's job for a bad file fails, often at the same moment: the first one sets the file aside,
  // writes the reason and counts it; the others wait for it and add nothing (they would otherwise find
  // the file gone, overwrite the reason with "left in the inbox" and count it once per model). The
  // jobs of one arrival of a file share its detection time; the same bytes dropped again are new.
  const recorded = new Map<string, Promise<void>>();
  return (job: Pick<Job, 'image' | 'imageSha256' | 'detectedAt'>, rejection: ImageRejection) => {
    const key = `${job.image}\n${job.imageSha256}\n${job.detectedAt}`;
    let pending = recorded.get(key);
    if (!pending) {
      pending = record(job.image, rejection);
      recorded.set(key, pending);
      pending.catch(() => recorded.delete(key));
      if (recorded.size > REMEMBERED_REJECTIONS) recorded.delete(recorded.keys().next().value as string);
    }
    return pending;
  };

  async function record(image: string, rejection: ImageRejection): Promise<void> {
    const reasonFile = rejectedPaths(settings.rejectedDir, image).reason;
    // A job from before a restart: the first rejection moved the file, this one finds it gone.
    if (rejection.reason === 'vanished' && (await exists(reasonFile))) return;
    const { movedTo } = await rejectFile({
      inboxDir: settings.inboxDir,
      rejectedDir: settings.rejectedDir,
      image,
      rejection,
    });
    metrics?.rejectedTotal.inc({ reason: rejection.reason });
    logger.warn(
      {
        image,
        reason: rejection.reason,
        movedTo: movedTo && path.relative(settings.dataDir, movedTo),
      },
      `${image} set aside (${rejection.reason}): ${rejection.message}`,
    );
  }
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
    folders: new FolderOverrides(settings.inboxDir),
    ...analysisSettings(settings),
    metrics,
    logger,
  });
}

/** The worker settings that come straight from the environment, shared by the service, CLI and bench. */
export function analysisSettings(settings: Settings) {
  return {
    maxPixels: settings.maxPixels,
    annotate: settings.annotate,
    node: settings.nodeName,
    tiling: { mode: settings.tiling, overlap: settings.tileOverlap, wholeImagePass: settings.wholeImagePass },
    stretch: { low: settings.stretchLow, high: settings.stretchHigh },
    heartbeatMs: Math.max(500, Math.floor(settings.ackWaitMs / 3)),
  };
}
