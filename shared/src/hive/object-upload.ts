import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import type { ObjectInfo } from '@nats-io/obj';
import { isStreamMissing } from '../queue/jetstream/errors.ts';
import { chunksStored, digestHex, type ObjectBucket, objectName, recreateBucket } from './object-bucket.ts';
import { FileChangedError, isWrongLastSequence } from './object-errors.ts';

/** Bytes read from disk at a time; the object store cuts them into its own chunks (128 KiB). */
const READ_SIZE = 128 * 1024;

/** Lost races (or a lost bucket) before giving up: each retry starts by looking again. */
const ATTEMPTS = 3;

export interface PutMeta {
  /** Kept with the object (its origin, its file name); the first store of a content keeps its own. */
  metadata?: Record<string, string>;
}

/**
 * Stores a file under its SHA-256, streaming it from disk. Already stored whole with that content:
 * nothing is sent; stored wrong or with chunks lost: stored again. The content is checked while it
 * streams; a file that no longer matches `sha256` fails with FileChangedError before the object
 * becomes visible, and nothing is left.
 */
export async function putFile(
  bucket: ObjectBucket,
  file: string,
  sha256: string,
  meta: PutMeta = {},
  scope?: string,
): Promise<ObjectInfo> {
  const name = objectName(sha256, scope);
  for (let attempt = 1; ; attempt++) {
    try {
      const existing = await bucket.store.info(name);
      if (existing && (await isWhole(bucket, existing, sha256))) return existing;
      const source = fileSource(file, sha256);
      try {
        // Conditional on the name's last revision (0: never stored), so that two nodes storing the
        // same image at once never replace each other's object under a reader.
        return await bucket.store.put({ name, ...meta }, source.stream, {
          previousRevision: existing?.revision ?? 0,
        });
      } finally {
        await source.close();
      }
    } catch (err) {
      const retry = isStreamMissing(err) || isWrongLastSequence(err);
      if (!retry || attempt >= ATTEMPTS) throw err;
      if (isStreamMissing(err)) await recreateBucket(bucket);
    }
  }
}

async function isWhole(bucket: ObjectBucket, info: ObjectInfo, sha256: string): Promise<boolean> {
  return (
    !info.deleted && digestHex(info.digest) === sha256 && (await chunksStored(bucket, info)) === info.chunks
  );
}

/**
 * The file as a web stream that reads only when the object store asks for more, so at most a
 * chunk or two of it is in memory. At the end it errors instead of closing when the content was
 * not `sha256`: the object store then drops what it sent and never publishes the object.
 */
function fileSource(
  file: string,
  sha256: string,
): { stream: ReadableStream<Uint8Array>; close(): Promise<void> } {
  let handle: fs.FileHandle | undefined;
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await handle?.close();
  };
  const hash = createHash('sha256');
  const stream = new ReadableStream<Uint8Array>({
    async start() {
      handle = await fs.open(file, 'r');
    },
    async pull(controller) {
      if (!handle) return;
      const buffer = Buffer.allocUnsafe(READ_SIZE);
      const { bytesRead } = await handle.read(buffer, 0, READ_SIZE, null);
      if (bytesRead > 0) {
        const chunk = buffer.subarray(0, bytesRead);
        hash.update(chunk);
        controller.enqueue(chunk);
        return;
      }
      await close();
      if (hash.digest('hex') === sha256) controller.close();
      else controller.error(new FileChangedError(file, sha256));
    },
    cancel: close,
  });
  return { stream, close };
}
