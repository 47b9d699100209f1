import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { MsgRequest, StoredMsg } from '@nats-io/jetstream';
import type { ObjectInfo } from '@nats-io/obj';
import { isStreamMissing } from '../queue/jetstream/errors.ts';
import { chunkSubject, chunksStored, type ObjectBucket, objectName, streamName } from './object-bucket.ts';
import { ObjectCorruptError, ObjectMissingError } from './object-errors.ts';

/**
 * Chunks asked for at a time. The object store's own `get` pushes every chunk as fast as the
 * server sends it, whatever the reader does with them: a 200 MB image written to a slow disk
 * ended up in memory whole. Pulling a few at a time keeps it to about 2 MB.
 */
const PREFETCH_CHUNKS = 16;

/** The stored object's description, or ObjectMissingError; ObjectCorruptError when chunks are gone. */
export async function findObject(bucket: ObjectBucket, sha256: string, scope?: string): Promise<ObjectInfo> {
  const name = objectName(sha256, scope);
  let info: ObjectInfo | null;
  try {
    info = await bucket.store.info(name);
  } catch (err) {
    if (isStreamMissing(err)) throw new ObjectMissingError(bucket.kind, sha256, bucket.name);
    throw err;
  }
  if (!info || info.deleted) throw new ObjectMissingError(bucket.kind, sha256, bucket.name);
  // Counted up front so that lost chunks are reported at once instead of waited for.
  const stored = await chunksStored(bucket, info);
  if (stored !== info.chunks) {
    throw new ObjectCorruptError(
      bucket.kind,
      sha256,
      bucket.name,
      `${stored} of its ${info.chunks} chunks are stored`,
    );
  }
  return info;
}

/**
 * Streams the object to a temporary file beside `destination`, checking its SHA-256 on the way,
 * and renames it into place only when it matches. `durable` flushes it to disk first, for files
 * whose presence is trusted later (a model cache).
 */
export async function downloadToFile(
  bucket: ObjectBucket,
  sha256: string,
  destination: string,
  options: { durable?: boolean; scope?: string } = {},
): Promise<void> {
  const info = await findObject(bucket, sha256, options.scope);
  const dir = path.dirname(destination);
  const tmp = path.join(dir, `.${path.basename(destination)}.${randomBytes(6).toString('hex')}.tmp`);
  // Exclusive: a link planted at the temporary name makes the open fail instead of being followed.
  const handle = await fs.open(tmp, 'wx');
  try {
    const check = contentCheck(bucket, info, sha256);
    try {
      await eachChunk(bucket, info, sha256, async (data) => {
        check.add(data);
        await writeAll(handle, data);
      });
      if (options.durable) await handle.sync();
    } finally {
      await handle.close();
    }
    check.end();
    await fs.rename(tmp, destination);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
}

/** The object in one buffer of its stored size, filled as chunks arrive: never a second copy. */
export async function downloadToBuffer(
  bucket: ObjectBucket,
  sha256: string,
  scope?: string,
): Promise<Buffer> {
  const info = await findObject(bucket, sha256, scope);
  const buffer = Buffer.allocUnsafe(info.size);
  const check = contentCheck(bucket, info, sha256);
  let offset = 0;
  await eachChunk(bucket, info, sha256, (data) => {
    check.add(data);
    buffer.set(data, offset);
    offset += data.length;
  });
  check.end();
  return buffer;
}

/** Hashes and counts what arrives; refuses more bytes than stored and a SHA-256 other than the name. */
function contentCheck(bucket: ObjectBucket, info: ObjectInfo, sha256: string) {
  const hash = createHash('sha256');
  let size = 0;
  const corrupt = (problem: string) => new ObjectCorruptError(bucket.kind, sha256, bucket.name, problem);
  return {
    add(data: Uint8Array): void {
      size += data.length;
      if (size > info.size) throw corrupt(`more than its ${info.size} bytes arrived`);
      hash.update(data);
    },
    end(): void {
      if (size !== info.size) throw corrupt(`${size} of its ${info.size} bytes arrived`);
      const actual = hash.digest('hex');
      if (actual !== sha256) throw corrupt(`its content has SHA-256 ${actual}`);
    },
  };
}

/**
 * Hands the object's chunks, in order, to `take`, asking the server for more only as they are
 * taken. A download that gets no chunk for `bucket.stallMs` looks again: the object removed or
 * replaced meanwhile is missing, still there but silent is corrupt.
 */
export async function eachChunk(
  bucket: ObjectBucket,
  info: ObjectInfo,
  sha256: string,
  take: (data: Uint8Array) => Promise<void> | void,
): Promise<void> {
  if (info.size === 0) return;
  let consumer: Awaited<ReturnType<typeof bucket.js.consumers.get>>;
  try {
    consumer = await bucket.js.consumers.get(streamName(bucket), {
      filter_subjects: chunkSubject(bucket, info.nuid),
    });
  } catch (err) {
    if (!isTimeout(err)) throw err;
    // A server just lost (killed, not stopped): until the cluster gives up on it, which takes
    // nats-server minutes, making the short-lived consumer can time out again and again. The chunks
    // are still readable one by one from the stream's leader.
    await eachChunkByGet(bucket, info, sha256, take);
    return;
  }
  const chunks = await consumer.consume({ max_messages: PREFETCH_CHUNKS });
  let stalled = false;
  let timer: NodeJS.Timeout | undefined;
  const waitForNext = () => {
    timer = setTimeout(() => {
      stalled = true;
      chunks.stop();
    }, bucket.stallMs);
  };
  let complete = false;
  try {
    waitForNext();
    for await (const m of chunks) {
      clearTimeout(timer);
      await take(m.data);
      if (m.info.pending === 0) {
        complete = true;
        break;
      }
      waitForNext();
    }
  } finally {
    clearTimeout(timer);
    chunks.stop();
    // The ordered consumer is ephemeral; deleting it now spares the server minutes of keeping it.
    await consumer.delete().catch(() => undefined);
  }
  if (complete) return;
  const now = await bucket.store.info(info.name);
  if (!now || now.deleted || now.nuid !== info.nuid)
    throw new ObjectMissingError(bucket.kind, sha256, bucket.name);
  throw new ObjectCorruptError(
    bucket.kind,
    sha256,
    bucket.name,
    stalled ? `no chunk arrived for ${bucket.stallMs / 1000} s` : 'its chunks stopped',
  );
}

function isTimeout(err: unknown): boolean {
  return (err as Error)?.name === 'TimeoutError';
}

/** The chunks one request each, by subject from the last one's sequence: no consumer needed. */
export async function eachChunkByGet(
  bucket: ObjectBucket,
  info: ObjectInfo,
  sha256: string,
  take: (data: Uint8Array) => Promise<void> | void,
): Promise<void> {
  const jsm = await bucket.js.jetstreamManager();
  const subject = chunkSubject(bucket, info.nuid);
  let seq = 0;
  for (let chunk = 0; chunk < info.chunks; chunk++) {
    // The server takes `next_by_subj` on its plain message get too (2.9+); the client types it for
    // direct gets only.
    const request = { next_by_subj: subject, seq: seq + 1 } as unknown as MsgRequest;
    let msg: StoredMsg | null;
    try {
      msg = await jsm.streams.getMessage(streamName(bucket), request);
    } catch (err) {
      if (!isStreamMissing(err) && !/no message found/i.test(String((err as Error)?.message))) throw err;
      msg = null;
    }
    if (!msg) throw new ObjectMissingError(bucket.kind, sha256, bucket.name);
    await take(msg.data);
    seq = msg.seq;
  }
}

async function writeAll(handle: fs.FileHandle, data: Uint8Array): Promise<void> {
  for (let offset = 0; offset < data.length; ) {
    const { bytesWritten } = await handle.write(data, offset);
    offset += bytesWritten;
  }
}
