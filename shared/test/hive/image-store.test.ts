import { createCipheriv, createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { type JetStreamManager, jetstreamManager } from '@nats-io/jetstream';
import { Objm } from '@nats-io/obj';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256, sha256File } from '../../src/fs/files.ts';
import { IMAGE_BUCKET, ImageStore } from '../../src/hive/image-store.ts';
import { openBucket } from '../../src/hive/object-bucket.ts';
import { eachChunk, eachChunkByGet, findObject } from '../../src/hive/object-download.ts';
import { FileChangedError, ObjectCorruptError, ObjectMissingError } from '../../src/hive/object-errors.ts';
import { type NatsServer, startNatsServer } from '../helpers/nats-server.ts';

const MB = 1024 * 1024;
const stream = `OBJ_${IMAGE_BUCKET}`;

let server: NatsServer;
let nc: NatsConnection;
let jsm: JetStreamManager;
let images: ImageStore;
let dir: string;

beforeAll(async () => {
  server = await startNatsServer();
  nc = await connect({ servers: server.url });
  jsm = await jetstreamManager(nc);
  images = await ImageStore.open(nc, { replicas: 1 });
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'scopehive-images-'));
});

afterAll(async () => {
  await nc?.close();
  await server?.close();
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

/** A file of `bytes` pseudo-random bytes (AES-CTR over zeros, so the same seed gives the same file), written in blocks. */
async function generatedFile(
  name: string,
  bytes: number,
  seed = name,
): Promise<{ file: string; sha: string }> {
  const file = path.join(dir, name);
  const key = createHash('sha256').update(seed).digest();
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  const hash = createHash('sha256');
  const zeros = Buffer.alloc(Math.min(bytes, 4 * MB));
  const handle = await fs.open(file, 'w');
  try {
    for (let left = bytes; left > 0; left -= zeros.length) {
      const block = cipher.update(zeros.subarray(0, Math.min(left, zeros.length)));
      hash.update(block);
      await handle.write(block);
    }
  } finally {
    await handle.close();
  }
  return { file, sha: hash.digest('hex') };
}

async function lastSeq(): Promise<number> {
  return (await jsm.streams.info(stream)).state.last_seq;
}

async function leftovers(folder: string): Promise<string[]> {
  return (await fs.readdir(folder)).filter((f) => f.endsWith('.tmp'));
}

describe('ImageStore on a real nats-server', () => {
  it('carries a 200 MB image through put and get intact without holding it in memory', async () => {
    const { file, sha } = await generatedFile('large.tif', 200 * MB);
    const out = path.join(dir, 'large-copy.tif');
    const fileScope = `origin/scope-1/${createHash('sha256').update('run 3/large.tif').digest('hex').slice(0, 32)}`;
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 5);
    try {
      const info = await images.put(file, sha, { origin: { node: 'scope-1', path: 'run 3/large.tif' } });
      // Kept under its origin and file: another microscope's (or another file's) copy of the same
      // bytes is its own object.
      expect(info).toMatchObject({ name: `${fileScope}/sha256/${sha}`, size: 200 * MB });
      await images.get(sha, out, { node: 'scope-1', path: 'run 3/large.tif' });
    } finally {
      clearInterval(sampler);
    }
    peak = Math.max(peak, process.memoryUsage().rss);
    expect(await sha256File(out)).toBe(sha);
    expect((await fs.stat(out)).size).toBe(200 * MB);
    expect(await leftovers(dir)).toEqual([]);
    // A memory bound, not a timing: the library's own get kept the whole object (~260 MB).
    expect((peak - before) / MB, `RSS grew by ${((peak - before) / MB).toFixed(0)} MB`).toBeLessThan(100);
    const stored = await (await new Objm(nc).open(IMAGE_BUCKET)).info(`${fileScope}/sha256/${sha}`);
    expect(stored?.metadata).toEqual({ node: 'scope-1', path: 'run 3/large.tif' });
    await images.remove(sha, { node: 'scope-1', path: 'run 3/large.tif' });
    await fs.rm(file);
    await fs.rm(out);
  });

  it('keeps each origin its own copy of the same bytes: one removing its copy leaves the other', async () => {
    const bytes = Buffer.from('the same micrograph on two microscopes');
    const sha = sha256(bytes);
    const file = path.join(dir, 'twice.tif');
    await fs.writeFile(file, bytes);
    await images.put(file, sha, { origin: { node: 'scope-a', path: 'x.tif' } });
    await images.put(file, sha, { origin: { node: 'scope-b', path: 'y.tif' } });
    await images.remove(sha, { node: 'scope-a', path: 'x.tif' });
    await expect(images.read(sha, { node: 'scope-a', path: 'x.tif' })).rejects.toBeInstanceOf(
      ObjectMissingError,
    );
    expect((await images.read(sha, { node: 'scope-b', path: 'y.tif' })).equals(bytes)).toBe(true);
    await images.remove(sha, { node: 'scope-b', path: 'y.tif' });
    await fs.rm(file);
  });

  it('keeps each file its own copy: a copy of an image under another name outlives the original', async () => {
    const bytes = Buffer.from('one micrograph saved twice on one microscope');
    const sha = sha256(bytes);
    const file = path.join(dir, 'copied.tif');
    await fs.writeFile(file, bytes);
    await images.put(file, sha, { origin: { node: 'scope-c', path: 'run 1/a.tif' } });
    await images.put(file, sha, { origin: { node: 'scope-c', path: 'run 1/a copy.tif' } });
    await images.remove(sha, { node: 'scope-c', path: 'run 1/a.tif' });
    expect((await images.read(sha, { node: 'scope-c', path: 'run 1/a copy.tif' })).equals(bytes)).toBe(true);
    await images.remove(sha, { node: 'scope-c', path: 'run 1/a copy.tif' });
    await fs.rm(file);
  });

  it('stores an image once: a second put of the same content sends nothing', async () => {
    const { file, sha } = await generatedFile('twice.png', 300_000);
    const first = await images.put(file, sha);
    const seq = await lastSeq();
    const second = await images.put(file, sha);
    expect(second.nuid).toBe(first.nuid);
    expect(await lastSeq()).toBe(seq);
  });

  it('refuses a file that changed since it was hashed, names it, and stores nothing', async () => {
    const { sha } = await generatedFile('changing.tif', 1 * MB, 'first content');
    const { file } = await generatedFile('changing.tif', 1 * MB, 'second content');
    const messages = (await jsm.streams.info(stream)).state.messages;
    const err = await images.put(file, sha).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FileChangedError);
    expect((err as Error).message).toContain(file);
    expect((await jsm.streams.info(stream)).state.messages).toBe(messages);
    await expect(images.get(sha, path.join(dir, 'never.tif'))).rejects.toBeInstanceOf(ObjectMissingError);
  });

  it('reports an image never stored as missing, leaving no file behind', async () => {
    const sha = sha256('never stored');
    const out = path.join(dir, 'missing.tif');
    await expect(images.get(sha, out)).rejects.toBeInstanceOf(ObjectMissingError);
    await expect(images.read(sha)).rejects.toBeInstanceOf(ObjectMissingError);
    await expect(fs.access(out)).rejects.toThrow();
    expect(await leftovers(dir)).toEqual([]);
  });

  it('refuses names that are not a SHA-256', async () => {
    await expect(images.get('../../etc/passwd', path.join(dir, 'x'))).rejects.toThrow(/not a SHA-256/);
    await expect(images.put(path.join(dir, 'x'), 'ABC')).rejects.toThrow(/not a SHA-256/);
  });

  it('reports bytes stored under another content’s name as corrupt, leaving no file behind; a put repairs it', async () => {
    const promise = 'what the name promises';
    const sha = sha256(promise);
    await (await new Objm(nc).open(IMAGE_BUCKET)).putBlob(
      { name: `sha256/${sha}` },
      new TextEncoder().encode('something else'),
    );
    const out = path.join(dir, 'corrupt.tif');
    await expect(images.get(sha, out)).rejects.toThrow(ObjectCorruptError);
    await expect(images.read(sha)).rejects.toThrow(/SHA-256/);
    await expect(fs.access(out)).rejects.toThrow();
    expect(await leftovers(dir)).toEqual([]);

    const file = path.join(dir, 'promised.txt');
    await fs.writeFile(file, promise);
    await images.put(file, sha);
    await images.get(sha, out);
    expect(await fs.readFile(out, 'utf8')).toBe(promise);
  });

  it('reports an image that lost a chunk as corrupt; a put repairs it', async () => {
    const { file, sha } = await generatedFile('holed.tif', 1 * MB);
    const info = await images.put(file, sha);
    const first = await jsm.direct.getMessage(stream, { next_by_subj: `$O.${IMAGE_BUCKET}.C.${info.nuid}` });
    await jsm.streams.deleteMessage(stream, first!.seq);
    await expect(images.get(sha, path.join(dir, 'holed-copy.tif'))).rejects.toThrow(
      new ObjectCorruptError(
        'image',
        sha,
        IMAGE_BUCKET,
        `${info.chunks - 1} of its ${info.chunks} chunks are stored`,
      ),
    );
    expect(await leftovers(dir)).toEqual([]);
    await images.put(file, sha);
    expect(sha256(await images.read(sha))).toBe(sha);
  });

  it('reads a small image into one buffer, checked', async () => {
    const { file, sha } = await generatedFile('small.jpg', 500_000);
    await images.put(file, sha);
    expect((await images.read(sha)).equals(await fs.readFile(file))).toBe(true);
  });

  it('removes an image; removing it again is fine; it can be stored again', async () => {
    const { file, sha } = await generatedFile('removed.tif', 400_000);
    await images.put(file, sha);
    await images.remove(sha);
    await expect(images.read(sha)).rejects.toBeInstanceOf(ObjectMissingError);
    await images.remove(sha);
    await images.remove(sha256('never stored either'));
    await images.put(file, sha);
    expect(sha256(await images.read(sha))).toBe(sha);
  });

  it('makes the bucket again when the server lost it', async () => {
    const { file, sha } = await generatedFile('after-loss.tif', 200_000);
    await images.put(file, sha);
    await jsm.streams.delete(stream);
    await expect(images.read(sha)).rejects.toBeInstanceOf(ObjectMissingError);
    await images.remove(sha);
    await images.put(file, sha);
    expect(sha256(await images.read(sha))).toBe(sha);
  });

  it('reads an object chunk by chunk without a consumer (the path used while a server is being lost)', async () => {
    const bucket = await openBucket(nc, { name: IMAGE_BUCKET, kind: 'image', replicas: 1 });
    // Another object stored in between, so the chunks are not the stream's only messages.
    const { file, sha } = await generatedFile('by-get.tif', 3 * MB + 17);
    const other = await generatedFile('interleaved.tif', 300_000);
    await images.put(file, sha);
    await images.put(other.file, other.sha);
    const info = await findObject(bucket, sha);
    const hash = createHash('sha256');
    let chunks = 0;
    await eachChunkByGet(bucket, info, sha, (data) => {
      hash.update(data);
      chunks += 1;
    });
    expect(chunks).toBe(info.chunks);
    expect(hash.digest('hex')).toBe(sha);
    await images.remove(sha);
    await expect(eachChunkByGet(bucket, info, sha, () => undefined)).rejects.toBeInstanceOf(
      ObjectMissingError,
    );
  });

  describe('a download whose chunks stop coming', () => {
    // More chunks (128 KiB) than a download asks for at once, so that some are still on the server
    // when the first one is taken.
    const size = 6 * MB;

    async function startedDownload(name: string, onFirstChunk: (sha: string, nuid: string) => Promise<void>) {
      const bucket = await openBucket(nc, { name: IMAGE_BUCKET, kind: 'image', replicas: 1, stallMs: 500 });
      const { file, sha } = await generatedFile(name, size);
      await images.put(file, sha);
      const info = await findObject(bucket, sha);
      let taken = 0;
      return eachChunk(bucket, info, sha, async () => {
        if (taken++ === 0) await onFirstChunk(sha, info.nuid);
      });
    }

    it('is corrupt when the object is still listed', async () => {
      await expect(
        startedDownload('silent.tif', async (_sha, nuid) => {
          await jsm.streams.purge(stream, { filter: `$O.${IMAGE_BUCKET}.C.${nuid}` });
        }),
      ).rejects.toThrow(/corrupt: no chunk arrived for 0.5 s/);
    });

    it('is missing when the object was removed meanwhile', async () => {
      await expect(
        startedDownload('removed-meanwhile.tif', (sha) => images.remove(sha)),
      ).rejects.toBeInstanceOf(ObjectMissingError);
    });
  });
});
