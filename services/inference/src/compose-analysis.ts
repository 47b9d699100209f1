/**
 * The analysis worker with its settings, for every front door. Apart from compose.ts because the CLI
 * needs it and nothing else there: compose.ts also wires the models folder, the hive, balena's update
 * lock and the HTTP routes, whose modules (the NATS client, express, chokidar) would add about 0.2 s
 * to every `scopehive analyze`. The model side (options from settings, one model file) is in
 * model/from-settings.ts.
 */
import type { Config, JobQueue, Logger } from '@scopehive/shared';
import type { ModelSet } from './model/model.ts';
import type { PipelineMetrics } from './pipeline/metrics.ts';
import type { ImageSource, ResultSink } from './pipeline/stages.ts';
import { PipelineTelemetry } from './pipeline/telemetry.ts';
import { InferenceWorker, type WorkerOptions } from './pipeline/worker.ts';

export interface AnalysisWorkerOptions
  extends Pick<
      WorkerOptions,
      | 'onSettled'
      | 'prefetch'
      | 'waitOutEnvironment'
      | 'folders'
      | 'holdOnlyCapacity'
      | 'handBackUnknownModels'
    >,
    Partial<Pick<WorkerOptions, 'heartbeatMs'>> {
  config: Config<'analysis' | 'queue'>;
  node: string;
  queue: JobQueue;
  models: ModelSet;
  source: ImageSource;
  sink: ResultSink;
  logger: Logger;
  metrics?: PipelineMetrics;
}

/** The worker with every analysis setting mapped from the configuration. */
export function createAnalysisWorker(options: AnalysisWorkerOptions): InferenceWorker {
  const { analysis, queue } = options.config;
  return new InferenceWorker({
    queue: options.queue,
    models: options.models,
    source: options.source,
    sink: options.sink,
    telemetry: new PipelineTelemetry(options.logger, options.metrics),
    node: options.node,
    annotate: analysis.annotate,
    edgeFeatures: analysis.edgeFeatures,
    maxPixels: analysis.maxPixels,
    stretch: { low: analysis.stretchLow, high: analysis.stretchHigh },
    tiling: { mode: analysis.tiling, overlap: analysis.tileOverlap, wholeImagePass: analysis.wholeImagePass },
    heartbeatMs: options.heartbeatMs ?? Math.max(500, Math.floor(queue.ackWaitMs / 3)),
    prefetch: options.prefetch,
    onSettled: options.onSettled,
    waitOutEnvironment: options.waitOutEnvironment,
    folders: options.folders,
    holdOnlyCapacity: options.holdOnlyCapacity,
    handBackUnknownModels: options.handBackUnknownModels,
  });
}
