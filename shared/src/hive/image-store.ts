import { createHash } from 'node:crypto';
import type { JetStreamClient } from '@nats-io/jetstream';
import type { ObjectInfo } from '@nats-io/obj';
import type { NatsConnection } from '@nats-io/transport-node';
import { isStreamMissing } from '../queue/jetstream/errors.ts';
import { type ObjectBucket, objectName, openBucket } from './object-bucket.ts';
import { downloadToBuffer, downloadToFile } from './object-download.ts';
import { putFile } from './object-upload.ts';
import { nodeToken } from './token.ts';

export const IMAGE_BUCKET = 'scopehive-images';

/**
 * Where one file of an origin is kept in the bucket (`origin/<node token>/<path hash>/sha256/<hash>`).
 * Per file, not per content: two files with the same bytes (a copy under another name) each keep
 * their own object, so the first one finished never takes the bytes from under the other's jobs.
 */
function originScope({ node, path }: ImageOrigin): string {
  return `origin/${nodeToken(node)}/${createHash('sha256').update(path).digest('hex').slice(0, 32)}`;
}

export interface ImageStoreOptions {
  /** 1, or 3 once three JetStream servers exist. */
  replicas: number;
  /** How long a transfer may go without a chunk before it is looked into (default 30 s). */
  stallMs?: number;
}

/** Where an image came from, kept with its bytes for whoever looks at the bucket. */
export interface ImageOrigin {
  node: string;
  /** The image's path in the origin's inbox. */
  path: string;
}

/**
 * The hive's image bytes: ingest stores an image here, by origin and SHA-256, before publishing its
 * jobs; a worker on another node fetches it from here; the origin removes it once every model's
 * result is written. Each origin's file has its own copy of its bytes, so one microscope (or one
 * copy of a file) finishing never takes an image from under another's jobs. Large micrographs stream through in chunks, never
 * whole in memory, and every transfer checks the SHA-256.
 */
export class ImageStore {
  private constructor(private readonly bucket: ObjectBucket) {}

  static async open(
    connection: NatsConnection | JetStreamClient,
    options: ImageStoreOptions,
  ): Promise<ImageStore> {
    return new ImageStore(
      await openBucket(connection, {
        name: IMAGE_BUCKET,
        kind: 'image',
        replicas: options.replicas,
        stallMs: options.stallMs,
      }),
    );
  }

  /**
   * Stores the file under `sha256`, the hash it was seen with (and under its origin, when given); already stored: nothing is sent.
   * Throws FileChangedError when the file's content is no longer that.
   */
  put(file: string, sha256: string, options: { origin?: ImageOrigin } = {}): Promise<ObjectInfo> {
    const { origin } = options;
    return putFile(
      this.bucket,
      file,
      sha256,
      { metadata: origin ? { node: origin.node, path: origin.path } : undefined },
      origin && originScope(origin),
    );
  }

  /**
   * Writes the image to `destination` (whole and checked, or not at all). Throws
   * ObjectMissingError when it is not stored, ObjectCorruptError when the bytes are wrong.
   */
  get(sha256: string, destination: string, origin?: ImageOrigin): Promise<void> {
    return downloadToFile(this.bucket, sha256, destination, { scope: origin && originScope(origin) });
  }

  /** The image in memory, in a single buffer (for decoding); same errors as `get`. */
  read(sha256: string, origin?: ImageOrigin): Promise<Buffer> {
    return downloadToBuffer(this.bucket, sha256, origin && originScope(origin));
  }

  /** Removes the image; removing one that is not there (or a bucket the server lost) is not an error. */
  async remove(sha256: string, origin?: ImageOrigin): Promise<void> {
    try {
      await this.bucket.store.delete(objectName(sha256, origin && originScope(origin)));
    } catch (err) {
      if (!isStreamMissing(err)) throw err;
    }
  }
}
