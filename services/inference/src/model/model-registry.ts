import { EventEmitter } from 'node:events';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { type Logger, modelNameFromFile, type PipelineMetrics, StableFiles, sha256 } from '@scopehive/shared';
import { detectLayout, type OutputShapeInfo } from '../core/layout.ts';
import { parseYoloMetadata, readOnnxMetadata, type YoloMetadata } from '../core/onnx-metadata.ts';
import type { TilingMode } from '../core/tiling.ts';
import { type CalibrationOverride, parseCalibrationOverride } from '../microscopy/calibration.ts';
import { openSession } from './session.ts';
import type { RunResult, SessionThread } from './session-thread.ts';
import { type ModelSidecar, readSidecar, SIDECAR_EXTENSIONS } from './sidecar.ts';

export interface ModelRef {
  name: string;
  sha256: string;
}

export interface ModelDefaults {
  confidence: number;
  iou: number;
  maxDetections: number;
}

/** A model ready to run: its sessions, input geometry, output layout and thresholds. */
export class LoadedModel implements ModelRef {
  readonly #sessions: SessionThread[];
  readonly #busy: number[];
  #running = 0;
  #idle: Array<() => void> = [];

  constructor(
    /** One or more sessions of the model, each in its own thread; runs go to the least busy. */
    sessions: SessionThread[],
    readonly name: string,
    readonly file: string,
    readonly sha256: string,
    readonly provider: string,
    readonly inputWidth: number,
    readonly inputHeight: number,
    readonly output: OutputShapeInfo,
    readonly names: readonly string[],
    readonly thresholds: ModelDefaults,
    /** Class ids to report; all when undefined. */
    readonly classIds: readonly number[] | undefined,
    readonly metadata: YoloMetadata,
    readonly sidecar: ModelSidecar | undefined,
    /** Images per run: tiles are batched when the input's batch axis is dynamic. */
    readonly maxBatch: number,
    /** Pixel size or data-bar crop from the sidecar (`pixelSize`, `unit`, `cropBottom`, `override`). */
    readonly calibrationOverride?: CalibrationOverride,
    /** Tiling settings from the sidecar (`tiling`, `tileOverlap`, `wholeImagePass`). */
    readonly tiling: Partial<{ mode: TilingMode; overlap: number; wholeImagePass: boolean }> = {},
  ) {
    this.#sessions = sessions;
    this.#busy = sessions.map(() => 0);
  }

  /** Runs that can execute at once: one per session. */
  get replicas(): number {
    return this.#sessions.length;
  }

  /**
   * Runs the model on `batch` packed images (NCHW float32). The input array is handed to the session
   * thread and comes back as `input` once the run is over (reuse that one, not the original).
   */
  async run(input: Float32Array, batch = 1): Promise<RunResult> {
    let k = 0;
    for (let i = 1; i < this.#busy.length; i++) if (this.#busy[i] < this.#busy[k]) k = i;
    this.#busy[k]++;
    this.#running++;
    try {
      return await this.#sessions[k].run(input, [batch, 3, this.inputHeight, this.inputWidth]);
    } finally {
      this.#busy[k]--;
      this.#running--;
      if (this.#running === 0) for (const resolve of this.#idle.splice(0)) resolve();
    }
  }

  /** Releases the sessions once every run started on them has finished. */
  async dispose(): Promise<void> {
    if (this.#running > 0) await new Promise<void>((resolve) => this.#idle.push(resolve));
    await Promise.all(this.#sessions.map((s) => s.release()));
  }
}

/** The models a worker runs: the live registry for the service, a fixed set for the CLI. */
export interface ModelSet {
  list(): LoadedModel[];
  get(name: string): LoadedModel | undefined;
  on(event: 'change', listener: () => void): unknown;
  off(event: 'change', listener: () => void): unknown;
}

export interface ModelRegistryOptions {
  modelsDir: string;
  /** `['all']` or model names. */
  enabled: readonly string[];
  providers: readonly string[];
  threads: number;
  /** Sessions per model (0: automatic, see loadModel). */
  sessions: number;
  defaults: ModelDefaults;
  stableMs: number;
  usePolling: boolean;
  pollIntervalMs: number;
  logger: Logger;
  metrics?: PipelineMetrics;
}

/**
 * The models folder, live: every `.onnx` file (and its sidecar) is loaded when it appears or
 * changes and unloaded when it goes, without a restart. A model that fails to load is logged and
 * counted; the others keep working.
 */
export class ModelRegistry extends EventEmitter<{ change: [] }> implements ModelSet {
  readonly #opts: ModelRegistryOptions;
  readonly #models = new Map<string, LoadedModel>();
  readonly #failures = new Map<string, string>();
  readonly #watcher: StableFiles;
  /** Loads run one at a time: two large sessions building at once can exhaust a small device. */
  #loading: Promise<void> = Promise.resolve();

  constructor(options: ModelRegistryOptions) {
    super();
    this.#opts = options;
    const modelFiles = new Set(['.onnx', ...SIDECAR_EXTENSIONS]);
    this.#watcher = new StableFiles({
      root: options.modelsDir,
      stableMs: options.stableMs,
      usePolling: options.usePolling,
      pollIntervalMs: options.pollIntervalMs,
      accept: (file) => modelFiles.has(path.extname(file).toLowerCase()),
    });
    this.#watcher.on('stable', (file) => this.#schedule(modelFileFor(file)));
    this.#watcher.on('removed', (file) => this.#schedule(modelFileFor(file)));
    this.#watcher.on('error', (err) =>
      options.logger.error({ err: err.message }, 'models folder watch failed'),
    );
  }

  /** Watches the folder and resolves once the models present at start are loaded (or failed). */
  async start(): Promise<void> {
    await this.#watcher.start();
    await this.settled();
  }

  /** Resolves when no load is pending (files seen but not yet stable are still pending). */
  async settled(): Promise<void> {
    for (;;) {
      const current = this.#loading;
      await current;
      if (current === this.#loading && this.#watcher.pendingCount === 0) return;
      if (current === this.#loading) await new Promise((r) => setTimeout(r, 50));
    }
  }

  list(): LoadedModel[] {
    return [...this.#models.values()];
  }

  get(name: string): LoadedModel | undefined {
    return this.#models.get(name);
  }

  /** Models that failed to load, with the reason. */
  failures(): Map<string, string> {
    return new Map(this.#failures);
  }

  async close(): Promise<void> {
    await this.#watcher.close();
    await this.#loading;
    await Promise.all([...this.#models.values()].map((m) => m.dispose()));
    this.#models.clear();
  }

  #schedule(modelFile: string): void {
    this.#loading = this.#loading.then(() => this.#refresh(modelFile));
  }

  #isEnabled(name: string): boolean {
    const { enabled } = this.#opts;
    return enabled.includes('all') || enabled.includes(name);
  }

  async #refresh(modelFile: string): Promise<void> {
    const name = modelNameFromFile(modelFile);
    const { logger, metrics } = this.#opts;
    if (!this.#isEnabled(name)) return;
    let bytes: Buffer;
    try {
      bytes = await fs.readFile(modelFile);
    } catch {
      if (this.#unload(name)) logger.info({ model: name }, `model ${name} removed`);
      this.#failures.delete(name);
      return;
    }
    const hash = sha256(bytes);
    try {
      const found = await readSidecar(modelFile);
      if (found?.sidecar.enabled === false) {
        if (this.#unload(name)) logger.info({ model: name }, `model ${name} disabled by ${found.file}`);
        return;
      }
      const current = this.#models.get(name);
      if (current && current.sha256 === hash && sameSidecar(current.sidecar, found?.sidecar)) return;
      const model = await loadModel({
        name,
        file: modelFile,
        bytes,
        sha256: hash,
        sidecar: found?.sidecar,
        providers: this.#opts.providers,
        threads: this.#opts.threads,
        sessions: this.#opts.sessions,
        defaults: this.#opts.defaults,
        logger: this.#opts.logger,
      });
      const old = this.#models.get(name);
      this.#models.set(name, model);
      this.#failures.delete(name);
      metrics?.modelInfo.set(
        {
          model: name,
          provider: model.provider,
          input: `${model.inputWidth}x${model.inputHeight}`,
          layout: model.output.layout,
        },
        1,
      );
      logger.info(
        {
          model: name,
          provider: model.provider,
          input: [model.inputWidth, model.inputHeight],
          layout: model.output.layout,
          classes: model.names.length,
          sha256: hash,
        },
        `model ${name} ${old ? 'reloaded' : 'loaded'} (${model.output.layout}, ${model.inputWidth}x${model.inputHeight}, ${model.provider})`,
      );
      if (old) this.#retire(old);
      this.emit('change');
    } catch (err) {
      const reason = (err as Error).message.split('\n')[0];
      this.#failures.set(name, reason);
      metrics?.modelLoadFailuresTotal.inc({ model: name });
      logger.error({ model: name, file: modelFile, err: reason }, `model ${name} failed to load: ${reason}`);
      if (this.#unload(name)) this.emit('change');
    }
  }

  #unload(name: string): boolean {
    const model = this.#models.get(name);
    if (!model) return false;
    this.#models.delete(name);
    this.#opts.metrics?.modelInfo.remove({
      model: name,
      provider: model.provider,
      input: `${model.inputWidth}x${model.inputHeight}`,
      layout: model.output.layout,
    });
    this.#retire(model);
    this.emit('change');
    return true;
  }

  #retire(model: LoadedModel): void {
    model
      .dispose()
      .catch((err) =>
        this.#opts.logger.warn({ model: model.name, err: String(err) }, 'session release failed'),
      );
  }
}

/**
 * Loads one model: reads its Ultralytics metadata, opens a session on the first provider that
 * works, runs it once on a blank image (the real output shape when axes are dynamic, and a warm
 * session) and detects the output layout from that shape.
 */
export async function loadModel(options: {
  name: string;
  file: string;
  bytes: Uint8Array;
  sha256: string;
  sidecar?: ModelSidecar;
  providers: readonly string[];
  /** Intra-op threads per session; 0: one when several sessions share the CPU, else ONNX Runtime's default. */
  threads: number;
  /** Sessions of the model; 0: one per CPU core on the CPU provider, one on a GPU. */
  sessions: number;
  defaults: ModelDefaults;
  logger?: Logger;
}): Promise<LoadedModel> {
  const { name, file, bytes, sha256: hash, sidecar } = options;
  const { props } = readOnnxMetadata(bytes);
  const metadata = parseYoloMetadata(props);
  if (metadata.task && metadata.task !== 'detect') {
    throw new Error(`task "${metadata.task}" is not supported (detection models only)`);
  }
  // On a CPU, several single-threaded sessions working on different images get more done than one
  // session splitting each image across the cores (on 2 cores, measured: 78 against 111 ms per image).
  const wanted = options.sessions > 0 ? options.sessions : os.availableParallelism();
  const threads = options.threads > 0 ? options.threads : wanted > 1 ? 1 : 0;
  const { session, provider } = await openSession(bytes, {
    providers: options.providers,
    threads,
    logger: options.logger,
  });
  const sessions = [session];
  try {
    const more = provider === 'cpu' || options.sessions > 0 ? wanted - 1 : 0;
    for (let i = 0; i < more; i++) {
      sessions.push(
        (await openSession(bytes, { providers: [provider], threads, logger: options.logger })).session,
      );
    }
    const [inputWidth, inputHeight] = inputSize(session.inputShape, metadata);
    const blank = new Float32Array(3 * inputWidth * inputHeight);
    const { dims } = await session.run(blank, [1, 3, inputHeight, inputWidth]);
    const names = sidecar?.names ?? metadata.names;
    const output = detectLayout(dims, {
      numClasses: names.length > 0 ? names.length : undefined,
      end2end: metadata.end2end,
    });
    const classIds = sidecar?.classes?.map((c) => {
      const id = names.indexOf(c);
      if (id < 0) throw new Error(`sidecar lists class "${c}", which the model does not have`);
      return id;
    });
    const d = options.defaults;
    const thresholds = {
      confidence: sidecar?.confidence ?? d.confidence,
      iou: sidecar?.iou ?? d.iou,
      maxDetections: sidecar?.maxDetections ?? d.maxDetections,
    };
    const allNames = Array.from({ length: output.numClasses }, (_, i) => names[i] ?? `class${i}`);
    return new LoadedModel(
      sessions,
      name,
      file,
      hash,
      provider,
      inputWidth,
      inputHeight,
      output,
      allNames,
      thresholds,
      classIds,
      metadata,
      sidecar,
      dynamicBatch(session.inputShape) ? DYNAMIC_BATCH : 1,
      sidecar
        ? parseCalibrationOverride(sidecar.extra, { source: 'model-sidecar', origin: sidecarFile(file) })
        : undefined,
      sidecar ? sidecarTiling(sidecar.extra, sidecarFile(file)) : {},
    );
  } catch (err) {
    await Promise.all(sessions.map((s) => s.release()));
    throw err;
  }
}

function modelFileFor(file: string): string {
  const ext = path.extname(file);
  return ext.toLowerCase() === '.onnx' ? file : `${file.slice(0, -ext.length)}.onnx`;
}

function sameSidecar(a: ModelSidecar | undefined, b: ModelSidecar | undefined): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

function sidecarFile(modelFile: string): string {
  return `${path.basename(modelFile).replace(/\.onnx$/i, '')} sidecar`;
}

/** Reads `tiling`, `tileOverlap` and `wholeImagePass` from a sidecar; a bad value fails the load with one line. */
export function sidecarTiling(
  extra: Record<string, unknown>,
  origin: string,
): Partial<{ mode: TilingMode; overlap: number; wholeImagePass: boolean }> {
  const out: Partial<{ mode: TilingMode; overlap: number; wholeImagePass: boolean }> = {};
  const { tiling, tileOverlap, wholeImagePass } = extra;
  if (tiling !== undefined) {
    if (tiling !== 'auto' && tiling !== 'always' && tiling !== 'never') {
      throw new Error(`${origin}: "tiling" must be auto, always or never`);
    }
    out.mode = tiling;
  }
  if (tileOverlap !== undefined) {
    if (typeof tileOverlap !== 'number' || !(tileOverlap >= 0 && tileOverlap <= 0.9)) {
      throw new Error(`${origin}: "tileOverlap" must be a number from 0 to 0.9`);
    }
    out.overlap = tileOverlap;
  }
  if (wholeImagePass !== undefined) {
    if (typeof wholeImagePass !== 'boolean')
      throw new Error(`${origin}: "wholeImagePass" must be true or false`);
    out.wholeImagePass = wholeImagePass;
  }
  return out;
}

/** Tiles per run for models whose batch axis is dynamic: enough to amortise a run, small enough for an NX. */
const DYNAMIC_BATCH = 4;

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
