import fs from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isModelEnabled, type Logger, sha256File, writeFileAtomic } from '@scopehive/shared';
import type { ModelStore, ServedModel, ServedSidecar } from '@scopehive/shared/hive';
import { SIDECAR_EXTENSIONS } from './sidecar.ts';

export interface HiveModelFetcherOptions {
  store: ModelStore;
  /**
   * The worker's own models folder, on its data volume: the cache the registry loads from. Files
   * named `<model>.onnx` and their sidecars in it are the fetcher's; it adds, replaces and removes them.
   */
  modelsDir: string;
  /** `['all']` or model names (SCOPEHIVE_MODELS): others are not fetched. */
  enabled: readonly string[];
  logger: Logger;
  /** How often the hive's models are read again besides the watch (default 30 s). */
  refreshMs?: number;
}

/** What the cache holds for a model name. */
interface Cached {
  sha256: string;
  sidecar?: ServedSidecar;
}

const cachedName = /^([A-Za-z0-9_-]{1,128})\.onnx$/;

/**
 * Keeps a worker's models folder in step with the models the hive serves: each one downloaded by
 * SHA-256 (streamed and checked), its sidecar written beside it, both in place at once so the
 * registry loads the model as its origin runs it; a model withdrawn from the hive is removed.
 *
 * Two nodes serving different files (or sidecars) under one name: jobs name the model by name and
 * SHA-256, and this worker can hold one file per name, so it serves that name from neither until
 * they agree; one line says so. Running either would give some jobs results of the wrong model.
 */
export class HiveModelFetcher {
  readonly #opts: HiveModelFetcherOptions;
  readonly #cached = new Map<string, Cached>();
  /** The line last logged, by what it is about: each problem once until it changes or clears. */
  readonly #reported = new Map<string, string>();
  readonly #stop = new AbortController();
  #timer: NodeJS.Timeout | undefined;
  #watching: Promise<void> = Promise.resolve();
  #running: Promise<void> = Promise.resolve();
  #syncing = false;
  #again = false;

  constructor(options: HiveModelFetcherOptions) {
    this.#opts = options;
  }

  /** Reads the cache, brings it in step with the hive once (a failure is logged), then follows the hive. */
  async start(): Promise<void> {
    await fs.mkdir(this.#opts.modelsDir, { recursive: true });
    await this.#readCache();
    const refreshMs = this.#opts.refreshMs ?? 30_000;
    this.#watching = this.#watch(refreshMs);
    this.#timer = setInterval(() => this.#schedule(), refreshMs);
    this.#schedule();
    await this.settled();
  }

  /** Resolves once no sync is under way or asked for. */
  async settled(): Promise<void> {
    while (this.#syncing || this.#again) await this.#running;
  }

  async close(): Promise<void> {
    this.#stop.abort();
    clearInterval(this.#timer);
    await Promise.all([this.#watching, this.#running]);
  }

  async #watch(refreshMs: number): Promise<void> {
    const signal = this.#stop.signal;
    while (!signal.aborted) {
      try {
        await this.#opts.store.watchServed(() => this.#schedule(), signal);
      } catch (err) {
        this.#report(
          'watch',
          `cannot watch the hive's models, reading them every ${refreshMs / 1000} s: ${message(err)}`,
        );
      }
      await sleep(refreshMs, undefined, { signal }).catch(() => undefined);
    }
  }

  #schedule(): void {
    if (this.#stop.signal.aborted) return;
    if (this.#syncing) {
      this.#again = true;
      return;
    }
    this.#syncing = true;
    this.#running = (async () => {
      do {
        this.#again = false;
        await this.#sync();
      } while (this.#again && !this.#stop.signal.aborted);
      this.#syncing = false;
    })();
  }

  /** The files a previous run left, hashed once so that unchanged models are not fetched again. */
  async #readCache(): Promise<void> {
    const dir = this.#opts.modelsDir;
    for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
      const name = cachedName.exec(entry.name)?.[1];
      if (!name || !entry.isFile()) continue;
      const sha256 = await sha256File(path.join(dir, entry.name));
      let sidecar: ServedSidecar | undefined;
      for (const ext of SIDECAR_EXTENSIONS) {
        const text = await fs.readFile(path.join(dir, name + ext), 'utf8').catch(() => undefined);
        if (text !== undefined) {
          sidecar = { ext, text };
          break;
        }
      }
      this.#cached.set(name, { sha256, sidecar });
    }
  }

  async #sync(): Promise<void> {
    const { store, enabled, logger } = this.#opts;
    let served: ServedModel[];
    try {
      served = await store.served((object, revision, reason) =>
        this.#report(`record ${object}`, `${reason}: skipped (revision ${revision})`),
      );
      this.#clear('read');
    } catch (err) {
      this.#report('read', `cannot read the hive's models, keeping the cache as it is: ${message(err)}`);
      return;
    }
    const byName = new Map<string, ServedModel[]>();
    for (const model of served) {
      if (!isModelEnabled(model.name, enabled)) continue;
      byName.set(model.name, [...(byName.get(model.name) ?? []), model]);
    }
    const wanted = new Map<string, ServedModel>();
    for (const [name, models] of byName) {
      if (new Set(models.map(contentKey)).size === 1) {
        wanted.set(name, models[0]);
        this.#clear(`conflict ${name}`);
        continue;
      }
      const who = models.map(
        (m) => `${m.node}: ${m.sha256.slice(0, 12)}${m.sidecar ? ` with ${m.sidecar.ext}` : ''}`,
      );
      this.#report(
        `conflict ${name}`,
        `model ${name} is served with different files or sidecars (${who.sort().join(', ')}): not run on this worker until every node serves the same one`,
      );
    }
    for (const name of [...this.#cached.keys()]) {
      if (wanted.has(name)) continue;
      await this.#remove(name);
      if (!byName.has(name))
        logger.info({ model: name }, `model ${name} withdrawn from the hive: removed from the cache`);
    }
    for (const model of wanted.values()) {
      try {
        await this.#bring(model);
        this.#clear(`fetch ${model.name}`);
      } catch (err) {
        // An older file would run jobs made for this one: the name is not served until it arrives.
        const older = this.#cached.has(model.name);
        if (older) await this.#remove(model.name).catch(() => undefined);
        this.#report(
          `fetch ${model.name}`,
          `model ${model.name} (${model.sha256}) from node ${model.node} refused: ${message(err)}${older ? '; its older file is removed from the cache' : ''}`,
        );
      }
    }
  }

  /** Downloads the model (when its file changed) and writes its sidecar; both appear together. */
  async #bring(model: ServedModel): Promise<void> {
    const { store, modelsDir: dir, logger } = this.#opts;
    const have = this.#cached.get(model.name);
    const sameFile = have?.sha256 === model.sha256;
    const sameSidecar =
      have?.sidecar?.ext === model.sidecar?.ext && have?.sidecar?.text === model.sidecar?.text;
    if (have && sameFile && sameSidecar) return;
    // Not a model or sidecar name, so the registry never sees it before it is whole and checked.
    const staged = path.join(dir, `.${model.name}.${model.sha256.slice(0, 12)}.download`);
    try {
      if (!sameFile) await store.download(model.sha256, staged);
      // Sidecar first: the registry reads both files when the model appears, a moment later.
      if (!have || !sameSidecar) await this.#writeSidecar(model.name, model.sidecar);
      if (!sameFile) await fs.rename(staged, path.join(dir, `${model.name}.onnx`));
    } finally {
      await fs.rm(staged, { force: true });
    }
    this.#cached.set(model.name, { sha256: model.sha256, sidecar: model.sidecar });
    const what = sameFile ? 'sidecar updated' : have ? 'replaced' : 'fetched';
    logger.info(
      { model: model.name, sha256: model.sha256, node: model.node },
      `model ${model.name} ${what} from the hive`,
    );
  }

  /** The served sidecar in place (written whole) and no other: the registry reads the first it finds. */
  async #writeSidecar(name: string, sidecar: ServedSidecar | undefined): Promise<void> {
    const dir = this.#opts.modelsDir;
    if (sidecar)
      await writeFileAtomic(path.join(dir, name + sidecar.ext), sidecar.text, { durable: true, root: dir });
    for (const ext of SIDECAR_EXTENSIONS) {
      if (ext !== sidecar?.ext) await fs.rm(path.join(dir, name + ext), { force: true });
    }
  }

  /** The model first, so the registry unloads it instead of loading it again without its sidecar. */
  async #remove(name: string): Promise<void> {
    const dir = this.#opts.modelsDir;
    await fs.rm(path.join(dir, `${name}.onnx`), { force: true });
    for (const ext of SIDECAR_EXTENSIONS) await fs.rm(path.join(dir, name + ext), { force: true });
    this.#cached.delete(name);
  }

  #report(about: string, line: string): void {
    if (this.#reported.get(about) === line) return;
    this.#reported.set(about, line);
    this.#opts.logger.warn(line);
  }

  #clear(about: string): void {
    this.#reported.delete(about);
  }
}

/** Two records agree when the file and the sidecar are the same. */
function contentKey(model: ServedModel): string {
  return `${model.sha256}\n${model.sidecar?.ext ?? ''}\n${model.sidecar?.text ?? ''}`;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
