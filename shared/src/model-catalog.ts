import { EventEmitter } from 'node:events';
import path from 'node:path';
import type { Logger } from 'pino';
import { sha256File } from './fs/files.ts';
import { shouldPoll } from './fs/mounts.ts';
import { StableFiles } from './fs/stable-files.ts';
import { linksRefusedCounter } from './metrics/links.ts';
import { isModelEnabled, type ModelRef, modelNameFromFile } from './model-name.ts';
import type { ServiceContext } from './service.ts';

/** Where a service learns which models exist: the inference registry, or the catalog below. */
export interface ModelSource {
  list(): ModelRef[];
  on(event: 'change', listener: () => void): unknown;
  off(event: 'change', listener: () => void): unknown;
}

/** A model in the folder: its name, the hash of its file, and the file (for the hive's models bucket). */
export interface CatalogModel extends ModelRef {
  file: string;
}

export interface ModelCatalogOptions {
  modelsDir: string;
  /** `['all']` or model names. */
  enabled: readonly string[];
  stableMs: number;
  usePolling: boolean;
  pollIntervalMs: number;
  logger: Logger;
  /** Symbolic links found in the models folder and not taken (prom-client's Counter fits). */
  metrics?: { linksRefusedTotal: { inc(labels: { folder: string }): void } };
}

/**
 * The models folder without loading anything: names and file hashes only, no sessions. Ingest in
 * its own process needs them to name jobs, and a hive microscope node's result writer to know when
 * an image has all its results; loading is the inference registry's business.
 */
export class ModelCatalog extends EventEmitter<{ change: [] }> implements ModelSource {
  readonly #opts: ModelCatalogOptions;
  readonly #models = new Map<string, CatalogModel>();
  readonly #watcher: StableFiles;

  constructor(options: ModelCatalogOptions) {
    super();
    this.#opts = options;
    this.#watcher = new StableFiles({
      root: options.modelsDir,
      stableMs: options.stableMs,
      usePolling: options.usePolling,
      pollIntervalMs: options.pollIntervalMs,
      accept: (file) => file.toLowerCase().endsWith('.onnx'),
      name: 'models',
      logger: options.logger,
    });
    this.#watcher.on('link', () => options.metrics?.linksRefusedTotal.inc({ folder: 'models' }));
    this.#watcher.on('stable', (file) => void this.#add(file));
    this.#watcher.on('removed', (file) => {
      if (this.#models.delete(modelNameFromFile(file))) this.emit('change');
    });
    this.#watcher.on('error', (err) =>
      options.logger.error({ err: err.message }, 'models folder watch failed'),
    );
  }

  async start(): Promise<void> {
    await this.#watcher.start();
  }

  async close(): Promise<void> {
    await this.#watcher.close();
  }

  /** While the models folder is missing, why; its models are found again once it is back. */
  get problem(): string | undefined {
    return this.#watcher.problem;
  }

  list(): CatalogModel[] {
    return [...this.#models.values()];
  }

  async #add(file: string): Promise<void> {
    const name = modelNameFromFile(file);
    const { enabled, logger } = this.#opts;
    if (!isModelEnabled(name, enabled)) return;
    try {
      const sha256 = await sha256File(file);
      if (this.#models.get(name)?.sha256 === sha256) return;
      this.#models.set(name, { name, sha256, file });
      logger.info({ model: name, sha256 }, `model ${name} found`);
      this.emit('change');
    } catch (err) {
      logger.warn({ model: name, err: String(err) }, `model file ${path.basename(file)} could not be read`);
    }
  }
}

/**
 * The models folder's catalog for a service, from its settings: started, closed with the service,
 * and not ready while the folder is missing. `npm start`, ingest and a hive microscope's inference
 * container use it wherever no registry loads the models.
 */
export async function startModelCatalog(
  ctx: ServiceContext<'paths' | 'analysis' | 'watch'>,
): Promise<ModelCatalog> {
  const { config, logger } = ctx;
  const catalog = new ModelCatalog({
    modelsDir: config.paths.models,
    enabled: config.analysis.models,
    stableMs: config.watch.stableMs,
    usePolling: shouldPoll(config.watch.polling, config.paths.models),
    pollIntervalMs: config.watch.pollIntervalMs,
    logger,
    // The same counter as the model registry's in one process: links not taken, by folder.
    metrics: { linksRefusedTotal: linksRefusedCounter(ctx.metrics) },
  });
  await catalog.start();
  ctx.onClose(() => catalog.close());
  ctx.ready(() => (catalog.problem ? { ready: false, reason: catalog.problem } : { ready: true }));
  return catalog;
}
