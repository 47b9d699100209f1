import fs from 'node:fs/promises';
import path from 'node:path';
import type { JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { exists, sha256File } from '../fs/files.ts';
import { checkSha256, type ObjectBucket, openBucket } from './object-bucket.ts';
import { downloadToFile } from './object-download.ts';
import { putFile } from './object-upload.ts';

export const MODEL_BUCKET = 'scopehive-models';

export interface ModelStoreOptions {
  /** 1, or 3 once three JetStream servers exist. */
  replicas: number;
  /** How long a transfer may go without a chunk before it is looked into (default 30 s). */
  stallMs?: number;
}

/**
 * The hive's model files, by SHA-256: a node publishes the models it has; a worker asked for a
 * model it lacks fetches it once into its cache folder. (TensorRT engine caches are built per node
 * and never travel.)
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

  /** Stores the model file (once per content) and returns its SHA-256. */
  async publish(file: string): Promise<string> {
    const sha256 = await sha256File(file);
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

  private async fetchOnce(sha256: string, cacheDir: string, file: string): Promise<string> {
    if (await exists(file)) return file;
    await fs.mkdir(cacheDir, { recursive: true });
    await downloadToFile(this.bucket, sha256, file, { durable: true });
    return file;
  }
}
