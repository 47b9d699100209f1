import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { makeJob, sha256 } from '@scopehive/shared';
import { ImageStore } from '@scopehive/shared/hive';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type NatsServer, startNatsServer } from '../../../../shared/test/helpers/nats-server.ts';
import { ImageRejection } from '../../src/image/rejection.ts';
import { HiveSource } from '../../src/pipeline/hive-source.ts';
import { LocalShare } from '../../src/pipeline/local-share.ts';

/** Where a hive worker reads a job's bytes: its own share for its own images, the image store for others'. */
describe('HiveSource', () => {
  let server: NatsServer;
  let nc: NatsConnection;
  let dir: string;
  let images: ImageStore;
  let share: LocalShare;
  const own = Buffer.from('own image bytes');
  const theirs = Buffer.from('another node’s image bytes');
  const job = (origin: string, bytes: Buffer) =>
    makeJob({
      origin,
      image: { path: 'a/img.jpg', bytes: bytes.length, sha256: sha256(bytes) },
      model: { name: 'm', sha256: 'f'.repeat(64) },
    });

  beforeAll(async () => {
    server = await startNatsServer();
    nc = await connect({ servers: server.url });
    images = await ImageStore.open(nc, { replicas: 1 });
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'scopehive-hive-source-'));
    const inboxDir = path.join(dir, 'inbox');
    await fs.mkdir(path.join(inboxDir, 'a'), { recursive: true });
    await fs.writeFile(path.join(inboxDir, 'a', 'img.jpg'), own);
    // Bad on purpose: its warning shows whether the folder's settings were read.
    await fs.writeFile(path.join(inboxDir, 'a', 'scopehive.json'), '{ not json');
    const file = path.join(dir, 'theirs.jpg');
    await fs.writeFile(file, theirs);
    await images.put(file, sha256(theirs), { origin: { node: 'b', path: 'a/img.jpg' } });
    share = new LocalShare({
      inboxDir,
      resultsDir: path.join(dir, 'results'),
      rejectedDir: path.join(dir, 'rejected'),
      logger: pino({ level: 'silent' }),
    });
  });

  afterAll(async () => {
    await nc?.close();
    await server?.close();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it('reads its own node’s images from the share, with their folder settings', async () => {
    const source = new HiveSource({ node: 'a-node', share, images });
    expect(await source.read(job('a-node', own))).toEqual(own);
    expect((await source.folderSettings(job('a-node', own))).warning).toMatch(/scopehive\.json/);
  });

  it('fetches another node’s image from the store, without folder settings', async () => {
    const source = new HiveSource({ node: 'a-node', share, images });
    expect(await source.read(job('b', theirs))).toEqual(theirs);
    expect(await source.folderSettings(job('b', theirs))).toEqual({});
  });

  it('on a worker-only node fetches even its own node’s images from the store', async () => {
    const source = new HiveSource({ node: 'b', images });
    expect(await source.read(job('b', theirs))).toEqual(theirs);
  });

  it('rejects a job whose image is no longer stored as vanished', async () => {
    const source = new HiveSource({ node: 'a-node', share, images });
    const gone = Buffer.from('removed already');
    const err = await source.read(job('b', gone)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImageRejection);
    expect((err as ImageRejection).reason).toBe('vanished');
  });
});
