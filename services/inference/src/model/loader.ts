import os from 'node:os';
import type { Logger } from '@scopehive/shared';
import { detectLayout, layoutsForTask } from '../core/layout.ts';
import type { OutputShape } from '../core/layouts/layout-module.ts';
import { parseYoloMetadata, readOnnxMetadata, type YoloMetadata } from '../core/onnx-metadata.ts';
import { LoadedModel, type ModelThresholds } from './model.ts';
import { openSession } from './session.ts';
import type { ModelSidecar } from './sidecar.ts';

export interface LoadModelOptions {
  name: string;
  file: string;
  bytes: Uint8Array;
  sha256: string;
  /** The model's validated sidecar, if it has one. */
  sidecar?: ModelSidecar;
  providers: readonly string[];
  /** Intra-op threads per session; 0: one when several sessions share the CPU, else ONNX Runtime's default. */
  threads: number;
  /** GPUs to use (CUDA device indices): one session each when the provider is a GPU's. */
  gpuDevices?: readonly number[];
  /** Sessions of the model; 0: one per CPU core on the CPU provider, one on a GPU. */
  sessions: number;
  /** Thresholds for what the sidecar does not set. */
  defaults: ModelThresholds;
  logger?: Logger;
  /**
   * Called once the first session has started opening on its own thread: work for this thread
   * meanwhile (the CLI loads the pipeline's modules while its model opens).
   */
  whileOpening?: () => void;
  /**
   * Run the model once on a blank image as it loads (default): the service's first image then finds
   * a warm session. `false` (the CLI, whose first image warms it just the same) skips the run when
   * the model declares every output's shape; a dynamic axis still needs the run to resolve it.
   */
  warmUp?: boolean;
}

/**
 * The largest model input accepted, in pixels (2048 × 2048, four times a 1024² model): memory at
 * load and per run grows with it (a 4096² model took 1.5 GB to load), and microscope images larger
 * than the input are tiled anyway, so a bigger input buys nothing but memory.
 */
export const MAX_MODEL_INPUT_PIXELS = 2048 * 2048;

/** A model whose input is above MAX_MODEL_INPUT_PIXELS; its message is the one line to log. */
export class ModelInputTooLargeError extends Error {
  override name = 'ModelInputTooLargeError';
}

/** Refuses an input of more than MAX_MODEL_INPUT_PIXELS, naming the model and the limit. */
export function checkInputSize(model: string, [width, height]: readonly [number, number]): void {
  if (width * height <= MAX_MODEL_INPUT_PIXELS) return;
  throw new ModelInputTooLargeError(
    `model ${model} takes ${width}×${height} pixels, above the limit of 2048×2048 (${MAX_MODEL_INPUT_PIXELS} pixels); export it with a smaller imgsz (images larger than the input are analysed in tiles)`,
  );
}

/** Tiles per run for models whose batch axis is dynamic: enough to amortise a run, small enough for an NX. */
const DYNAMIC_BATCH = 4;

/**
 * Loads one model: reads its Ultralytics metadata, opens a session on the first provider that
 * works, runs it once on a blank image (the real output shape when axes are dynamic, and a warm
 * session; see `warmUp`) and detects the output layout from the output shapes and the metadata.
 */
export async function loadModel(options: LoadModelOptions): Promise<LoadedModel> {
  const { bytes, sidecar } = options;
  const metadata = parseYoloMetadata(readOnnxMetadata(bytes).props);
  layoutsForTask(metadata.task);
  if (sidecar?.ignored) {
    options.logger?.warn(
      { model: options.name, keys: sidecar.ignored },
      `sidecar of ${options.name}: unknown settings ${sidecar.ignored.map((k) => `"${k}"`).join(', ')} ignored`,
    );
  }
  // On a CPU, several single-threaded sessions working on different images get more done than one
  // session splitting each image across the cores (on 2 cores, measured: 78 against 111 ms per image).
  const wanted = options.sessions > 0 ? options.sessions : os.availableParallelism();
  const threads = options.threads > 0 ? options.threads : wanted > 1 ? 1 : 0;
  const gpus = options.gpuDevices?.length ? options.gpuDevices : [0];
  const open = (providers: readonly string[], deviceId: number) =>
    openSession(bytes, {
      providers,
      threads,
      logger: options.logger,
      label: options.name,
      gpu: { deviceId },
    });
  const opening = open(options.providers, gpus[0]);
  options.whileOpening?.();
  const { session, provider } = await opening;
  const sessions = [session];
  try {
    // Before anything that grows with the input: more sessions, and the first run's buffers.
    checkInputSize(options.name, inputSize(session.inputShape, metadata));
    const more = provider === 'cpu' || options.sessions > 0 ? wanted - 1 : 0;
    for (let i = 0; i < more; i++)
      sessions.push((await open([provider], gpus[(i + 1) % gpus.length])).session);
    // A GPU worker with several GPUs (SCOPEHIVE_GPU_DEVICES): one session on each of the others.
    if (provider !== 'cpu' && options.sessions === 0) {
      for (const deviceId of gpus.slice(1)) sessions.push((await open([provider], deviceId)).session);
    }
    const [inputWidth, inputHeight] = inputSize(session.inputShape, metadata);
    let outputs = options.warmUp === false ? declaredOutputs(session) : undefined;
    if (!outputs) {
      const blank = new Float32Array(3 * inputWidth * inputHeight);
      const { dims, extra } = await session.run(blank, [1, 3, inputHeight, inputWidth]);
      // The run gives every output's real dims, dynamic axes resolved (a prototype grid sized by the input).
      outputs = session.outputNames.map((name, i) => ({
        name,
        dims: i === 0 ? dims : (extra?.[i - 1]?.dims ?? session.outputShapes[i] ?? []),
      }));
    }
    const names = sidecar?.names ?? metadata.names;
    const output = detectLayout(outputs, { task: metadata.task, end2end: metadata.end2end, names });
    const classIds = sidecar?.classes?.map((c) => {
      const id = names.indexOf(c);
      if (id < 0) throw new Error(`sidecar lists class "${c}", which the model does not have`);
      return id;
    });
    const d = options.defaults;
    return new LoadedModel({
      sessions,
      name: options.name,
      file: options.file,
      sha256: options.sha256,
      provider,
      inputWidth,
      inputHeight,
      output,
      names: Array.from({ length: output.numClasses }, (_, i) => names[i] ?? `class${i}`),
      thresholds: {
        confidence: sidecar?.confidence ?? d.confidence,
        iou: sidecar?.iou ?? d.iou,
        maxDetections: sidecar?.maxDetections ?? d.maxDetections,
      },
      classIds,
      maxBatch: dynamicBatch(session.inputShape) ? DYNAMIC_BATCH : 1,
      sidecar,
    });
  } catch (err) {
    await Promise.all(sessions.map((s) => s.release()));
    throw err;
  }
}

function dynamicBatch(shape: ReadonlyArray<number | string>): boolean {
  return typeof shape[0] === 'string' || Number(shape[0]) < 0;
}

/** Input width and height: fixed dims of the graph's input, else Ultralytics `imgsz`, else 640. */
function inputSize(shape: ReadonlyArray<number | string>, metadata: YoloMetadata): [number, number] {
  const h = Number(shape[2]);
  const w = Number(shape[3]);
  if (Number.isInteger(w) && w > 0 && Number.isInteger(h) && h > 0) return [w, h];
  if (metadata.imgsz) return [metadata.imgsz[1], metadata.imgsz[0]];
  return [640, 640];
}

/** Every output's shape as the graph declares it, when all are fixed sizes; else undefined. */
export function declaredOutputs(session: {
  outputNames: readonly string[];
  outputShapes: ReadonlyArray<ReadonlyArray<number | string>>;
}): OutputShape[] | undefined {
  const outputs: OutputShape[] = [];
  for (const [i, name] of session.outputNames.entries()) {
    const dims = session.outputShapes[i] ?? [];
    if (dims.length === 0 || !dims.every((d) => typeof d === 'number' && d > 0)) return undefined;
    outputs.push({ name, dims: dims as number[] });
  }
  return outputs;
}
