import fs from 'node:fs/promises';
import path from 'node:path';
import type { JetStreamClient } from '@nats-io/jetstream';
import type { ObjectInfo } from '@nats-io/obj';
import type { NatsConnection } from '@nats-io/transport-node';
import { exists, sha256File } from '../fs/files.ts';
import { isStreamMissing } from '../queue/jetstream/errors.ts';
import { checkSha256, type ObjectBucket, openBucket, recreateBucket } from './object-bucket.ts';
import { downloadToFile } from './object-download.ts';
import { putFile } from './object-upload.ts';
import { nodeToken } from './token.ts';

export const MODEL_BUCKET = 'scopehive-models';

export interface ModelStoreOptions {
  /** 1, or 3 once three JetStream servers exist. */
  replicas: number;
  /** How long a transfer may go without a chunk before it is looked into (default 30 s). */
  stallMs?: number;
}

/** The sidecar a model runs with, as its file says it (the `.json`, `.yaml` or `.yml` beside it). */
export interface ServedSidecar {
  ext: '.json' | '.yaml' | '.yml';
  text: string;
}

/** One node's word that it serves a model: its name, its file's SHA-256 and the sidecar it runs with. */
export interface ServedModel {
  node: string;
  name: string;
  sha256: string;
  sidecar?: ServedSidecar;
}

/** Larger sidecars are refused: a sidecar is a few settings, and the record travels in one message. */
export const MAX_SIDECAR_CHARS = 64 * 1024;

const SERVED_PREFIX = 'served/';
const modelNamePattern = /^[A-Za-z0-9_-]{1,128}$/;
const sidecarExts: ReadonlySet<string> = new Set(['.json', '.yaml', '.yml']);

/**
 * The hive's model files, by SHA-256, and which node serves which: a node publishes each model it
 * runs (`publish`, then `serve` with its sidecar); a worker without models of its own reads
 * `served()` and downloads them into its cache. (TensorRT engine caches are built per node and
 * never travel.) A served record is an empty object named `served/<node>/<model>` whose metadata is
 * the record, so one `list()` of the bucket reads them all and a removed model leaves with `withdraw`.
 */
export class ModelStore {
  /** One transfer per model at a time in this process, however many sessions ask for it. */
  private readonly fetching = new Map<string, Promise<string>>();

  private constructor(private readonly bucket: ObjectBucket) {}

  static async open(
    connection: NatsConnection | JetStreamClient,
    options: ModelStoreOptions,
  ): Promise<ModelStore> {
    return new ModelStore(
      await openBucket(connection, {
        name: MODEL_BUCKET,
        kind: 'model',
        replicas: options.replicas,
        stallMs: options.stallMs,
      }),
    );
  }

  /**
   * Stores the model file (once per content) and returns its SHA-256. Given the SHA-256 it was
   * seen with, a file whose content changed since fails with FileChangedError and nothing is stored.
   */
  async publish(file: string, expectedSha256?: string): Promise<string> {
    const sha256 = expectedSha256 ?? (await sha256File(file));
    await putFile(this.bucket, file, sha256, { metadata: { file: path.basename(file) } });
    return sha256;
  }

  /**
   * The local path of the model with this SHA-256, fetched into `cacheDir` the first time and
   * read from there afterwards. Throws ObjectMissingError when no node published it.
   */
  async fetch(sha256: string, cacheDir: string): Promise<string> {
    // Models are `.onnx` files (DESIGN "Models"); the name is the content's hash, so a file found
    // there was checked before it was renamed into place.
    const file = path.join(cacheDir, `${checkSha256(sha256)}.onnx`);
    // Looked up and set before anything is awaited, so concurrent callers share one transfer.
    let pending = this.fetching.get(file);
    if (!pending) {
      pending = this.fetchOnce(sha256, cacheDir, file).finally(() => this.fetching.delete(file));
      this.fetching.set(file, pending);
    }
    return pending;
  }

  /**
   * Writes the model with this SHA-256 to `destination` (streamed, checked, flushed, renamed into
   * place), or throws ObjectMissingError / ObjectCorruptError and leaves nothing.
   */
  download(sha256: string, destination: string): Promise<void> {
    return downloadToFile(this.bucket, sha256, destination, { durable: true });
  }

  /** Records that `model.node` serves the model, replacing its earlier record of that name; unchanged: nothing is written. */
  async serve(model: ServedModel): Promise<void> {
    const name = servedName(model.node, checkModelName(model.name));
    checkSha256(model.sha256);
    const metadata: Record<string, string> = { node: model.node, model: model.name, sha256: model.sha256 };
    if (model.sidecar) {
      metadata.sidecarExt = model.sidecar.ext;
      metadata.sidecar = model.sidecar.text;
    }
    await this.withBucket(async () => {
      const current = await this.bucket.store.info(name);
      if (current && !current.deleted && sameMetadata(current.metadata, metadata)) return;
      await this.bucket.store.putBlob({ name, metadata }, new Uint8Array(0));
    });
  }

  /** Removes `node`'s record of the model; the file stays in the bucket for anyone else serving it. */
  async withdraw(node: string, name: string): Promise<void> {
    const object = servedName(node, checkModelName(name));
    await this.withBucket(async () => {
      const current = await this.bucket.store.info(object);
      if (current && !current.deleted) await this.bucket.store.delete(object);
    });
  }

  /**
   * Every served record in the hive. A malformed one (any device on the LAN may write the bucket)
   * is skipped and passed to `skipped` with the reason.
   */
  async served(skipped?: (object: string, revision: number, reason: string) => void): Promise<ServedModel[]> {
    let infos: ObjectInfo[];
    try {
      infos = await this.bucket.store.list();
    } catch (err) {
      if (isStreamMissing(err)) return [];
      throw err;
    }
    const found: ServedModel[] = [];
    for (const info of infos) {
      if (info.deleted || !info.name.startsWith(SERVED_PREFIX)) continue;
      const parsed = parseServed(info);
      if (typeof parsed === 'string') skipped?.(info.name, info.revision, parsed);
      else found.push(parsed);
    }
    return found;
  }

  /**
   * Calls `changed` at each change of a served record until the signal aborts (then resolves);
   * rejects when the watch fails (the server restarted without the bucket), for the caller to
   * watch again.
   */
  async watchServed(changed: () => void, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return;
    const watch = await this.bucket.store.watch({ ignoreDeletes: false });
    const stop = () => watch.stop();
    signal.addEventListener('abort', stop, { once: true });
    try {
      for await (const info of watch) if (info?.name.startsWith(SERVED_PREFIX)) changed();
    } finally {
      signal.removeEventListener('abort', stop);
      watch.stop();
    }
  }

  /** Makes the bucket again once if the server lost it. */
  private async withBucket(fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      if (!isStreamMissing(err)) throw err;
      await recreateBucket(this.bucket);
      await fn();
    }
  }

  private async fetchOnce(sha256: string, cacheDir: string, file: string): Promise<string> {
    if (await exists(file)) return file;
    await fs.mkdir(cacheDir, { recursive: true });
    await downloadToFile(this.bucket, sha256, file, { durable: true });
    return file;
  }
}

function servedName(node: string, name: string): string {
  return `${SERVED_PREFIX}${nodeToken(node)}/${name}`;
}

function checkModelName(name: string): string {
  if (!modelNamePattern.test(name)) throw new Error(`not a model name: ${JSON.stringify(name)}`);
  return name;
}

function sameMetadata(a: Record<string, string> | undefined, b: Record<string, string>): boolean {
  const keys = Object.keys(b);
  return !!a && Object.keys(a).length === keys.length && keys.every((k) => a[k] === b[k]);
}

/** The record, or why it cannot be used: its name and content become file names and files on workers. */
function parseServed(info: ObjectInfo): ServedModel | string {
  const { node, model, sha256, sidecarExt, sidecar } = info.metadata ?? {};
  if (!node || !model || !sha256) return 'served model record without node, model or sha256';
  if (!modelNamePattern.test(model))
    return `served model record names no valid model: ${JSON.stringify(model)}`;
  if (!/^[0-9a-f]{64}$/.test(sha256)) return `served model record ${model} has no valid SHA-256`;
  if (info.name !== servedName(node, model)) return `served model record ${info.name} names node ${node}`;
  if (sidecarExt === undefined && sidecar === undefined) return { node, name: model, sha256 };
  if (!sidecarExt || !sidecarExts.has(sidecarExt) || sidecar === undefined)
    return `served model record ${model} has a sidecar without a valid extension`;
  if (sidecar.length > MAX_SIDECAR_CHARS)
    return `served model record ${model} has a sidecar over ${MAX_SIDECAR_CHARS} characters`;
  return { node, name: model, sha256, sidecar: { ext: sidecarExt as ServedSidecar['ext'], text: sidecar } };
}
