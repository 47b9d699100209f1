import type { Stats } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import {
  isImageFile,
  type JobQueue,
  type Logger,
  type ModelSource,
  makeJob,
  ResultLedger,
  resultPaths,
  StableFiles,
  sha256,
  sha256File,
  supportedFormatsText,
  toInboxRelative,
} from '@scopehive/shared';
import { FileChangedError, type ImageStore } from '@scopehive/shared/hive';

/** Where ingest learns which models exist: the inference registry in one process, the models folder otherwise. */
export type { ModelSource };

/** The counters ingest keeps, by shape only (prom-client's Counter fits). */
export interface IngestMetrics {
  /** Symbolic links found in a watched folder and not taken, by folder (`inbox`, `models`). */
  linksRefusedTotal: { inc(labels: { folder: string }): void };
}

export interface IngestOptions {
  /** This node: the origin of every job, where the results come back to. */
  node: string;
  inboxDir: string;
  resultsDir: string;
  stableMs: number;
  usePolling: boolean;
  pollIntervalMs: number;
  queue: JobQueue;
  models: ModelSource;
  logger: Logger;
  /** Answers "is this already analysed"; shared with the pipeline when both run in one process. */
  ledger?: ResultLedger;
  /** Files hashed and checked at once. */
  concurrency?: number;
  metrics?: IngestMetrics;
  /** Hive mode: each image's bytes go here before its jobs are published, for other nodes to fetch. */
  images?: Pick<ImageStore, 'put'>;
}

interface Known {
  size: number;
  mtimeMs: number;
  sha256?: string;
  seenAt: number;
}

/**
 * Watches the inbox and queues one job per (complete image, model) that has no current result.
 * Files present at start are the backlog and go through the same path; the same content is never
 * queued twice for the same model version, changed content under the same name is.
 */
export class Ingest {
  readonly #opts: IngestOptions;
  readonly #watcher: StableFiles;
  readonly #known = new Map<string, Known>();
  /** Files waiting to be checked: a set, so a burst of events for one file costs one check. */
  readonly #toCheck = new Set<string>();
  readonly #ignored = new Set<string>();
  #active = 0;
  #idle: Array<() => void> = [];
  #closed = false;
  readonly #onModels = () => this.rescan();
  readonly #ledger: ResultLedger;

  constructor(options: IngestOptions) {
    this.#opts = options;
    this.#ledger = options.ledger ?? new ResultLedger();
    this.#watcher = new StableFiles({
      root: options.inboxDir,
      stableMs: options.stableMs,
      usePolling: options.usePolling,
      pollIntervalMs: options.pollIntervalMs,
      accept: () => true,
      name: 'inbox',
      logger: options.logger,
    });
    this.#watcher.on('stable', (file, stats) => this.#onStable(file, stats));
    this.#watcher.on('link', () => options.metrics?.linksRefusedTotal.inc({ folder: 'inbox' }));
    this.#watcher.on('removed', (file) => this.#known.delete(file));
    this.#watcher.on('error', (err) =>
      options.logger.error({ err: err.message }, `inbox watch failed: ${err.message}`),
    );
  }

  /** The models jobs are made for (the origin's result writer asks when an image is finished). */
  get models(): ModelSource {
    return this.#opts.models;
  }

  async start(): Promise<void> {
    this.#opts.models.on('change', this.#onModels);
    await this.#watcher.start();
    this.#opts.logger.info(
      { inbox: this.#opts.inboxDir, polling: this.#opts.usePolling },
      `watching ${this.#opts.inboxDir}${this.#opts.usePolling ? ' (polling)' : ''}`,
    );
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#opts.models.off('change', this.#onModels);
    await this.#watcher.close();
    await this.idle();
  }

  /** While the inbox is missing (removed, renamed, unmounted), why; it is watched again once back. */
  get problem(): string | undefined {
    return this.#watcher.problem;
  }

  /** Checks every known file again (a model appeared or changed). */
  rescan(): void {
    for (const file of this.#known.keys()) this.#toCheck.add(file);
    this.#pump();
  }

  /** Resolves when no file is waiting to become stable or to be checked. */
  async idle(): Promise<void> {
    while (this.#active > 0 || this.#toCheck.size > 0 || (!this.#closed && this.#watcher.pendingCount > 0)) {
      await new Promise<void>((resolve) => {
        this.#idle.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }

  #onStable(file: string, stats: Stats): void {
    if (!isImageFile(file)) {
      if (!this.#ignored.has(file)) {
        this.#ignored.add(file);
        this.#opts.logger.info(
          { file: path.relative(this.#opts.inboxDir, file) },
          `ignoring ${path.basename(file)}: not a supported image type (${supportedFormatsText()})`,
        );
      }
      return;
    }
    const known = this.#known.get(file);
    if (!known || known.size !== stats.size || known.mtimeMs !== stats.mtimeMs) {
      this.#known.set(file, { size: stats.size, mtimeMs: stats.mtimeMs, seenAt: Date.now() });
    }
    this.#toCheck.add(file);
    this.#pump();
  }

  #pump(): void {
    const limit = this.#opts.concurrency ?? 2;
    while (!this.#closed && this.#active < limit && this.#toCheck.size > 0) {
      const file = this.#toCheck.values().next().value as string;
      this.#toCheck.delete(file);
      this.#active++;
      this.#check(file)
        .catch((err) =>
          this.#opts.logger.error(
            { file, err: String(err) },
            `could not queue ${path.basename(file)}: ${err}`,
          ),
        )
        .finally(() => {
          this.#active--;
          for (const resolve of this.#idle.splice(0)) resolve();
          this.#pump();
        });
    }
  }

  async #check(file: string): Promise<void> {
    const known = this.#known.get(file);
    const models = this.#opts.models.list();
    if (!known || models.length === 0) return;
    let image: string;
    try {
      image = toInboxRelative(path.relative(this.#opts.inboxDir, file));
    } catch {
      return;
    }
    if (!known.sha256) {
      try {
        known.sha256 = await sha256File(file);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // gone again: nothing to do
        // A stand-in hash for this version of the file: inference then reads it and records why it cannot.
        known.sha256 = sha256(`unreadable ${file} ${known.size} ${known.mtimeMs}`);
      }
      // Changed while it was hashed (a writer rewriting it): the hash may mix two versions. The
      // watcher reports the new version, which is queued then.
      if (!(await this.#unchanged(file, known))) {
        known.sha256 = undefined;
        return;
      }
    }
    let stored = false;
    for (const model of models) {
      const { json } = resultPaths(this.#opts.resultsDir, image, model.name);
      if (await this.#ledger.isCurrent(json, { imageSha256: known.sha256, modelSha256: model.sha256 }))
        continue;
      if (!stored) {
        if (!(await this.#store(file, image, known.sha256))) return;
        stored = true;
      }
      await this.#opts.queue.publish(
        makeJob({
          origin: this.#opts.node,
          image: { path: image, bytes: known.size, sha256: known.sha256 },
          model,
          seenAt: known.seenAt,
        }),
      );
    }
  }

  /** Whether `file` still has the size and modification time it was taken with. */
  async #unchanged(file: string, known: { size: number; mtimeMs: number }): Promise<boolean> {
    const now = await fs.lstat(file).catch(() => undefined);
    return now !== undefined && now.size === known.size && now.mtimeMs === known.mtimeMs;
  }

  /**
   * Hive mode: the bytes are stored (idempotently, by hash) before any job names them. A file that
   * changed since it was hashed is left for this round: its change is seen and it comes again.
   */
  async #store(file: string, image: string, sha: string): Promise<boolean> {
    const { images, node, logger } = this.#opts;
    if (!images) return true;
    try {
      await images.put(file, sha, { origin: { node, path: image } });
      return true;
    } catch (err) {
      if (err instanceof FileChangedError || (err as NodeJS.ErrnoException).code === 'ENOENT') {
        logger.info({ image }, `${image} changed while it was stored; taken again when it settles`);
        return false;
      }
      throw err;
    }
  }
}
