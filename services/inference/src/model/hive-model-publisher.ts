import { constants } from 'node:fs';
import fs from 'node:fs/promises';
import type { Logger } from '@scopehive/shared';
import type { ModelStore, ServedSidecar } from '@scopehive/shared/hive';
import { FileChangedError } from '@scopehive/shared/hive';
import { parse as parseYaml } from 'yaml';
import { parseSidecar, SIDECAR_EXTENSIONS } from './sidecar.ts';

/** A model file this node serves: the registry's loaded models fit, and so does ingest's catalog. */
export interface ModelFile {
  name: string;
  sha256: string;
  file: string;
}

/** Where the publisher learns this node's models: `list()` now, `change` when it may differ. */
export interface ModelFileSource {
  list(): readonly ModelFile[];
  on(event: 'change', listener: () => void): unknown;
  off(event: 'change', listener: () => void): unknown;
}

export interface HiveModelPublisherOptions {
  /** This node's name. */
  node: string;
  store: ModelStore;
  source: ModelFileSource;
  logger: Logger;
  /**
   * How often everything is published again (default 60 s): a sidecar edited beside a model the
   * catalog does not reload, a bucket the server lost, records of models removed while this node
   * was off (withdrawn only from the first of these on, once the source has found its files).
   */
  refreshMs?: number;
}

/** What this node said it serves, by model name. */
interface Published {
  sha256: string;
  sidecar?: ServedSidecar;
}

/**
 * Puts each model this node serves into the hive's models bucket with the sidecar it runs with, so
 * a worker without models runs it exactly as this node would; a model replaced here is published
 * again, one removed is withdrawn. A failure (NATS away) is logged once and retried at the next
 * change or refresh; it never stops the node.
 */
export class HiveModelPublisher {
  readonly #opts: HiveModelPublisherOptions;
  readonly #published = new Map<string, Published>();
  /** Names the source listed in this run: one that goes is withdrawn at once. */
  readonly #listed = new Set<string>();
  /** The problem last logged, by model: one line each until it changes. */
  readonly #reported = new Map<string, string>();
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> = Promise.resolve();
  #again = false;
  #syncing = false;
  #withdrawStale = false;
  /** Puts every model again (a no-op where the bucket holds it): heals a bucket the server lost. */
  #full = false;
  #failing = false;
  #closed = false;
  readonly #onChange = () => this.#schedule();

  constructor(options: HiveModelPublisherOptions) {
    this.#opts = options;
  }

  /** Reads what this node published before and publishes what it serves now. */
  async start(): Promise<void> {
    const { store, node } = this.#opts;
    try {
      for (const served of await store.served()) {
        if (served.node === node) this.#published.set(served.name, served);
      }
    } catch (err) {
      this.#problem('', `cannot read the hive's served models: ${message(err)}`);
    }
    this.#opts.source.on('change', this.#onChange);
    this.#timer = setInterval(() => {
      this.#withdrawStale = true;
      this.#full = true;
      this.#schedule();
    }, this.#opts.refreshMs ?? 60_000);
    this.#schedule();
    await this.settled();
  }

  /** Resolves once no publishing is under way or asked for. */
  async settled(): Promise<void> {
    while (this.#syncing || this.#again) await this.#running;
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    this.#opts.source.off('change', this.#onChange);
    await this.#running;
  }

  /** One sync at a time; changes during one make exactly one more. */
  #schedule(): void {
    if (this.#closed) return;
    if (this.#syncing) {
      this.#again = true;
      return;
    }
    this.#syncing = true;
    this.#running = (async () => {
      do {
        this.#again = false;
        await this.#sync();
      } while (this.#again && !this.#closed);
      this.#syncing = false;
    })();
  }

  async #sync(): Promise<void> {
    const { source, store, node, logger } = this.#opts;
    try {
      const full = this.#full;
      this.#full = false;
      const serving = new Set<string>();
      for (const model of source.list()) {
        serving.add(model.name);
        this.#listed.add(model.name);
        const sidecar = await this.#sidecar(model);
        // A sidecar that cannot be used: this node runs its last good one (or nothing), so the hive
        // keeps what it was told before.
        if (sidecar === false) continue;
        this.#reported.delete(model.name);
        const before = this.#published.get(model.name);
        const same = before?.sha256 === model.sha256 && sameSidecar(before?.sidecar, sidecar);
        if (same && !full) continue;
        try {
          await store.publish(model.file, model.sha256);
        } catch (err) {
          // Replaced while it was read: the source reports the new file, published then.
          if (err instanceof FileChangedError) continue;
          throw err;
        }
        await store.serve({ node, name: model.name, sha256: model.sha256, sidecar });
        this.#published.set(model.name, { sha256: model.sha256, sidecar });
        if (same) continue;
        logger.info(
          { model: model.name, sha256: model.sha256 },
          `model ${model.name} ${before ? 'published again' : 'published'} to the hive`,
        );
      }
      for (const name of [...this.#published.keys()]) {
        // A record left from before this run waits for the first refresh: a catalog finds its files
        // only once they are stable, and withdrawing them meanwhile would empty every worker's cache.
        if (serving.has(name) || !(this.#listed.has(name) || this.#withdrawStale)) continue;
        await store.withdraw(node, name);
        this.#published.delete(name);
        this.#listed.delete(name);
        logger.info({ model: name }, `model ${name} withdrawn from the hive`);
      }
      if (this.#failing) logger.info('models published to the hive again');
      this.#failing = false;
    } catch (err) {
      // One line per outage, not one per attempt.
      if (!this.#failing) logger.warn({ err: message(err) }, 'cannot publish models to the hive, retrying');
      this.#failing = true;
    }
  }

  /**
   * The sidecar beside the model as its text, undefined when there is none, false when it cannot be
   * used (logged once). Read as the registry reads it: first of .json, .yaml, .yml; no links.
   */
  async #sidecar(model: ModelFile): Promise<ServedSidecar | undefined | false> {
    const stem = model.file.replace(/\.onnx$/i, '');
    for (const ext of SIDECAR_EXTENSIONS) {
      const file = stem + ext;
      let text: string;
      try {
        const handle = await fs.open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
        try {
          text = await handle.readFile('utf8');
        } finally {
          await handle.close();
        }
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        this.#problem(model.name, `sidecar ${file} not published: ${message(err)}`);
        return false;
      }
      try {
        parseSidecar(ext === '.json' ? JSON.parse(text) : parseYaml(text), file);
      } catch (err) {
        this.#problem(model.name, `sidecar ${file} not published: ${message(err)}`);
        return false;
      }
      return { ext, text };
    }
    return undefined;
  }

  #problem(model: string, line: string): void {
    if (this.#reported.get(model) === line) return;
    this.#reported.set(model, line);
    this.#opts.logger.warn({ model }, line);
  }
}

function sameSidecar(a: ServedSidecar | undefined, b: ServedSidecar | undefined): boolean {
  return a?.ext === b?.ext && a?.text === b?.text;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
