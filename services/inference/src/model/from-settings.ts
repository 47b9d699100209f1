/**
 * Models from settings: the options every model is opened with, and one model file loaded with its
 * sidecar as the models folder would load it. Free of the pipeline's modules (sharp, the result
 * writers), so that the CLI can open its models while those load.
 */
import fs from 'node:fs/promises';
import {
  type AnalysisConfig,
  type Logger,
  modelNameFromFile,
  type RuntimeConfig,
  sha256,
} from '@scopehive/shared';
import { type LoadModelOptions, loadModel } from './loader.ts';
import type { LoadedModel } from './model.ts';
import { parseGpuDevices } from './providers.ts';
import { nvidiaDevicePresent, resolveProviders } from './session.ts';
import { readSidecar } from './sidecar.ts';

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
  more: Pick<LoadModelOptions, 'whileOpening' | 'warmUp'> = {},
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
    ...more,
  });
}
