import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type JetStreamManager, jetstreamManager } from '@nats-io/jetstream';
import { Objm } from '@nats-io/obj';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256, sha256File } from '../../src/fs/files.ts';
import { MODEL_BUCKET, ModelStore } from '../../src/hive/model-store.ts';
import { ObjectMissingError } from '../../src/hive/object-errors.ts';
import { type NatsServer, startNatsServer } from '../helpers/nats-server.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const sharedDir = process.env.SCOPEHIVE_SHARED_DIR ?? path.resolve(repoRoot, '../shared');
const modelFile = path.join(sharedDir, 'models', 'yolo11n_int8.onnx');

let server: NatsServer;
let nc: NatsConnection;
let jsm: JetStreamManager;
let models: ModelStore;
let dir: string;

beforeAll(async () => {
  server = await startNatsServer();
  nc = await connect({ servers: server.url });
  jsm = await jetstreamManager(nc);
  models = await ModelStore.open(nc, { replicas: 1 });
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'scopehive-models-'));
});

afterAll(async () => {
  await nc?.close();
  await server?.close();
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

describe('ModelStore on a real nats-server', () => {
  it('publishes a model once, by its SHA-256', async () => {
    const sha = await models.publish(modelFile);
    expect(sha).toBe(await sha256File(modelFile));
    const seq = (await jsm.streams.info(`OBJ_${MODEL_BUCKET}`)).state.last_seq;
    expect(await models.publish(modelFile)).toBe(sha);
    expect((await jsm.streams.info(`OBJ_${MODEL_BUCKET}`)).state.last_seq).toBe(seq);
  });

  it('fetches a model into the cache once; later fetches read nothing from NATS', async () => {
    const sha = await models.publish(modelFile);
    const cache = path.join(dir, 'cache-a');
    const [first, same] = await Promise.all([models.fetch(sha, cache), models.fetch(sha, cache)]);
    expect(first).toBe(path.join(cache, `${sha}.onnx`));
    expect(same).toBe(first);
    expect(await sha256File(first)).toBe(sha);
    expect(await fs.readdir(cache)).toEqual([`${sha}.onnx`]);

    // Gone from the bucket: only the cache can answer now.
    await (await new Objm(nc).open(MODEL_BUCKET)).delete(`sha256/${sha}`);
    expect(await models.fetch(sha, cache)).toBe(first);
    await expect(models.fetch(sha, path.join(dir, 'cache-b'))).rejects.toBeInstanceOf(ObjectMissingError);
  });

  it('says which model is missing, and leaves the cache without a partial file', async () => {
    const sha = sha256('no such model');
    const cache = path.join(dir, 'cache-c');
    const err = await models.fetch(sha, cache).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ObjectMissingError);
    expect((err as Error).message).toBe(`model ${sha} is not in the hive's ${MODEL_BUCKET} bucket`);
    expect(await fs.readdir(cache)).toEqual([]);
  });

  it('refuses a name that is not a SHA-256 before touching the cache folder', async () => {
    const cache = path.join(dir, 'cache-d');
    await expect(models.fetch('../escape', cache)).rejects.toThrow(/not a SHA-256/);
    await expect(fs.access(cache)).rejects.toThrow();
  });
});
