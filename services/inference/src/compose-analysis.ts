/**
 * The parts of an analysis that come from settings: model options, one model file loaded with its
 * sidecar, the worker. Apart from compose.ts because the CLI needs these and nothing else: compose.ts
 * also wires the models folder, the hive, balena's update lock and the HTTP routes, whose modules
 * (the NATS client, express, chokidar) would add about 0.2 s to every `scopehive analyze`.
 */
import fs from 'node:fs/promises';
import {
  type AnalysisConfig,
  type Config,
  type JobQueue,
  type Logger,
  modelNameFromFile,
  type RuntimeConfig,
  sha256,
} from '@scopehive/shared';
import { type LoadModelOptions, loadModel } from './model/loader.ts';
import type { LoadedModel, ModelSet } from './model/model.ts';
import { parseGpuDevices } from './model/providers.ts';
import { nvidiaDevicePresent, resolveProviders } from './model/session.ts';
import { readSidecar } from './model/sidecar.ts';
import type { PipelineMetrics } from './pipeline/metrics.ts';
import type { ImageSource, ResultSink } from './pipeline/stages.ts';
import { PipelineTelemetry } from './pipeline/telemetry.ts';
import { InferenceWorker, type WorkerOptions } from './pipeline/worker.ts';

/** The model options that come from settings: providers, threads, sessions and default thresholds. */
export function modelSettings(
  analysis: AnalysisConfig,
  runtime: RuntimeConfig,
): Pick<LoadModelOptions, 'providers' | 'threads' | 'sessions' | 'gpuDevices' | 'defaults'> {
  return {
    providers: resolveProviders(runtime.providers, nvidiaDevicePresent()),
    gpuDevices: parseGpuDevices(runtime.gpuDevices),
    threads: runtime.threads,
    sessions: runtime.sessions,
    defaults: { confidence: analysis.confidence, iou: analysis.iou, maxDetections: analysis.maxDetections },
  };
}

type ModelSettings = ReturnType<typeof modelSettings>;

/** One model file, with its sidecar, loaded as the registry would load it (the CLI's `--model`). */
export async function loadModelFile(
  file: string,
  settings: ModelSettings,
  logger: Logger,
): Promise<LoadedModel> {
  const bytes = await fs.readFile(file);
  const found = await readSidecar(file);
  return loadModel({
    name: modelNameFromFile(file),
    file,
    bytes,
    sha256: sha256(bytes),
    sidecar: found?.sidecar,
    ...settings,
    logger,
  });
}

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
