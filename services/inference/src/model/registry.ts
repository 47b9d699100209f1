import { EventEmitter } from 'node:events';
import { constants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { isModelEnabled, type Logger, modelNameFromFile, StableFiles, sha256 } from '@scopehive/shared';
import { loadModel } from './loader.ts';
import type { LoadedModel, ModelSet, ModelThresholds } from './model.ts';
import { type ModelSidecar, readSidecar, SIDECAR_EXTENSIONS, SidecarError } from './sidecar.ts';

/** The labels of the loaded-model info metric. */
export interface ModelInfoLabels {
  model: string;
  provider: string;
  input: string;
  layout: string;
}

/**
 * The metrics the registry keeps, by shape only (prom-client's Gauge and Counter fit), so it does not
 * depend on where the service defines them.
 */
export interface ModelRegistryMetrics {
  modelInfo: {
    set(labels: ModelInfoLabels, value: number): void;
    remove(labels: ModelInfoLabels): void;
  };
  /** Failed loads, a sidecar that cannot be used included (the model then keeps its last good one). */
  modelLoadFailuresTotal: { inc(labels: { model: string }): void };
  /** Symbolic links found in the models folder and not taken (`folder: 'models'`). */
  linksRefusedTotal?: { inc(labels: { folder: string }): void };
}

export interface ModelRegistryOptions {
  modelsDir: string;
  /** `['all']` or model names. */
  enabled: readonly string[];
  providers: readonly string[];
  threads: number;
  /** Sessions per model (0: automatic, see loadModel). */
  sessions: number;
  defaults: ModelThresholds;
  stableMs: number;
  usePolling: boolean;
  pollIntervalMs: number;
  logger: Logger;
  metrics?: ModelRegistryMetrics;
}

/**
 * The models folder, live: every `.onnx` file (and its sidecar) is loaded when it appears or
 * changes and unloaded when it goes, without a restart. A model that fails to load is logged and
 * counted; the others keep working. A sidecar that cannot be used (a typo) leaves a running model
 * on its last good configuration, and is reported until it is fixed. The folder itself may go and
 * come back (an NFS remount): its models are unloaded with it and loaded again from it.
 */
export class ModelRegistry extends EventEmitter<{ change: [] }> implements ModelSet {
  readonly #opts: ModelRegistryOptions;
  readonly #models = new Map<string, LoadedModel>();
  readonly #failures = new Map<string, string>();
  /** Sidecars that cannot be used, by model: one line each, with the file and the line. */
  readonly #sidecarProblems = new Map<string, string>();
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
      name: 'models',
      logger: options.logger,
    });
    this.#watcher.on('link', () => options.metrics?.linksRefusedTotal?.inc({ folder: 'models' }));
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

  /**
   * What an operator should fix, one line each: the models folder missing, sidecars that cannot be
   * used (their model, if it was running, runs on with its last good configuration).
   */
  problems(): string[] {
    const folder = this.#watcher.problem;
    return [...(folder ? [folder] : []), ...this.#sidecarProblems.values()];
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

  async #refresh(modelFile: string): Promise<void> {
    const name = modelNameFromFile(modelFile);
    const { logger, metrics } = this.#opts;
    if (!isModelEnabled(name, this.#opts.enabled)) return;
    let bytes: Buffer;
    try {
      bytes = await readModelFile(modelFile);
    } catch (err) {
      const gone = (err as NodeJS.ErrnoException).code === 'ENOENT';
      if (this.#unload(name)) {
        logger.info({ model: name }, gone ? `model ${name} removed` : `model ${name} unloaded: ${err}`);
      }
      this.#failures.delete(name);
      this.#sidecarProblems.delete(name);
      return;
    }
    const hash = sha256(bytes);
    try {
      const found = await this.#readSidecar(name, modelFile);
      if (found === false) return;
      if (!isModelEnabled(name, this.#opts.enabled, found?.sidecar)) {
        if (this.#unload(name)) logger.info({ model: name }, `model ${name} disabled by ${found?.file}`);
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
        logger,
      });
      const old = this.#models.get(name);
      this.#models.set(name, model);
      this.#failures.delete(name);
      metrics?.modelInfo.set(infoLabels(model), 1);
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

  /**
   * The model's sidecar (undefined when it has none), or false when it cannot be used: then the
   * model keeps running on its last good one, or, never loaded, is not loaded; either way the file,
   * the line and the error are logged, counted and listed in `problems()`.
   */
  async #readSidecar(
    name: string,
    modelFile: string,
  ): Promise<Awaited<ReturnType<typeof readSidecar>> | false> {
    try {
      const found = await readSidecar(modelFile);
      this.#sidecarProblems.delete(name);
      return found;
    } catch (err) {
      if (!(err instanceof SidecarError)) throw err;
      const { logger, metrics } = this.#opts;
      const running = this.#models.has(name);
      const problem = `${err.summary}: ${running ? `model ${name} keeps its last good configuration` : `model ${name} not loaded`}`;
      this.#sidecarProblems.set(name, problem);
      if (!running) this.#failures.set(name, err.summary);
      metrics?.modelLoadFailuresTotal.inc({ model: name });
      logger.error({ model: name, file: err.file, line: err.line, err: err.message }, problem);
      return false;
    }
  }

  #unload(name: string): boolean {
    const model = this.#models.get(name);
    if (!model) return false;
    this.#models.delete(name);
    this.#opts.metrics?.modelInfo.remove(infoLabels(model));
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

function infoLabels(model: LoadedModel): ModelInfoLabels {
  return {
    model: model.name,
    provider: model.provider,
    input: `${model.inputWidth}x${model.inputHeight}`,
    layout: model.output.layout,
  };
}

/** The model's bytes; a link is not followed (the models folder is on the share, writable by all). */
async function readModelFile(file: string): Promise<Buffer> {
  const handle = await fs.open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

function modelFileFor(file: string): string {
  const ext = path.extname(file);
  return ext.toLowerCase() === '.onnx' ? file : `${file.slice(0, -ext.length)}.onnx`;
}

function sameSidecar(a: ModelSidecar | undefined, b: ModelSidecar | undefined): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}
