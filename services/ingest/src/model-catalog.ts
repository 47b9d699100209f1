import { EventEmitter } from 'node:events';
import path from 'node:path';
import {
  isModelEnabled,
  type Logger,
  type ModelRef,
  modelNameFromFile,
  StableFiles,
  sha256File,
} from '@scopehive/shared';
import type { IngestMetrics, ModelSource } from './ingest.ts';

export interface ModelCatalogOptions {
  modelsDir: string;
  /** `['all']` or model names. */
  enabled: readonly string[];
  stableMs: number;
  usePolling: boolean;
  pollIntervalMs: number;
  logger: Logger;
  metrics?: IngestMetrics;
}

/**
 * The models folder as ingest sees it when it runs in its own process: names and file hashes only,
 * no sessions. Ingest needs them to name jobs; loading is the inference service's business.
 */
export class ModelCatalog extends EventEmitter<{ change: [] }> implements ModelSource {
  readonly #opts: ModelCatalogOptions;
  readonly #models = new Map<string, ModelRef>();
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

  list(): ModelRef[] {
    return [...this.#models.values()];
  }

  async #add(file: string): Promise<void> {
    const name = modelNameFromFile(file);
    const { enabled, logger } = this.#opts;
    if (!isModelEnabled(name, enabled)) return;
    try {
      const sha256 = await sha256File(file);
      if (this.#models.get(name)?.sha256 === sha256) return;
      this.#models.set(name, { name, sha256 });
      logger.info({ model: name, sha256 }, `model ${name} found`);
      this.emit('change');
    } catch (err) {
      logger.warn({ model: name, err: String(err) }, `model file ${path.basename(file)} could not be read`);
    }
  }
}
