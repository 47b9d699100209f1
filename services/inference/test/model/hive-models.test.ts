/**
 * Models travel through the hive: a node publishes the models it runs (with their sidecars) into the
 * models bucket, a worker without models keeps its cache folder in step and its registry loads them.
 * Real nats-server, real models, real registries on both sides.
 */
import { EventEmitter } from 'node:events';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { jetstreamManager } from '@nats-io/jetstream';
import { Objm } from '@nats-io/obj';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { sha256File } from '@scopehive/shared';
import { type Logger, pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MODEL_BUCKET, ModelStore } from '../../../../shared/src/hive/model-store.ts';
import { type NatsServer, startNatsServer } from '../../../../shared/test/helpers/nats-server.ts';
import { HiveModelFetcher } from '../../src/model/hive-model-fetcher.ts';
import {
  HiveModelPublisher,
  type ModelFile,
  type ModelFileSource,
} from '../../src/model/hive-model-publisher.ts';
import { ModelRegistry } from '../../src/model/registry.ts';

const sharedDir =
  process.env.SCOPEHIVE_SHARED_DIR ?? path.resolve(import.meta.dirname, '../../../../../shared');
const modelPath = (file: string) => path.join(sharedDir, 'models', file);
const FIRST = modelPath('yolo11n_int8.onnx');
const SECOND = modelPath('yolov8n-uint8.onnx');
const THIRD = modelPath('yolov10n_int8.onnx');
const FOURTH = modelPath('yolov8n-fp32.onnx');

let server: NatsServer;
let nc: NatsConnection;
let dir: string;
let logs: Array<{ level: number; msg: string }>;
const closers: Array<() => Promise<unknown>> = [];

beforeEach(async () => {
  server = await startNatsServer();
  nc = await connect({ servers: server.url });
  dir = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'scopehive-hive-models-')));
  logs = [];
});
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
  await nc?.close();
  await server?.close();
  await fs.rm(dir, { recursive: true, force: true });
});

function logger(): Logger {
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line) logs.push(JSON.parse(line));
      done();
    },
  });
  return pino({ level: 'info' }, sink);
}

const lines = (pattern: RegExp) => logs.filter((l) => pattern.test(l.msg)).map((l) => l.msg);

async function folder(name: string): Promise<string> {
  const d = path.join(dir, name);
  await fs.mkdir(d, { recursive: true });
  return d;
}

/** Copies the model in whole (renamed into place), as a lab's copy onto the share ends. */
async function place(src: string, dest: string): Promise<void> {
  await fs.copyFile(src, `${dest}.part`);
  await fs.rename(`${dest}.part`, dest);
}

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function open(): Promise<ModelStore> {
  return ModelStore.open(nc, { replicas: 1 });
}

function registry(modelsDir: string): ModelRegistry {
  const r = new ModelRegistry({
    modelsDir,
    enabled: ['all'],
    providers: ['cpu'],
    threads: 1,
    sessions: 1,
    defaults: { confidence: 0.25, iou: 0.45, maxDetections: 300 },
    stableMs: 200,
    usePolling: false,
    pollIntervalMs: 100,
    logger: logger(),
  });
  closers.push(() => r.close());
  return r;
}

async function publisher(node: string, source: ModelFileSource): Promise<HiveModelPublisher> {
  const p = new HiveModelPublisher({ node, store: await open(), source, logger: logger() });
  closers.push(() => p.close());
  await p.start();
  return p;
}

async function fetcher(modelsDir: string, refreshMs?: number): Promise<HiveModelFetcher> {
  const f = new HiveModelFetcher({
    store: await open(),
    modelsDir,
    enabled: ['all'],
    logger: logger(),
    refreshMs,
  });
  closers.push(() => f.close());
  await f.start();
  return f;
}

/** A node's model files as ingest's catalog would list them, changed by the test. */
class Files extends EventEmitter<{ change: [] }> {
  #files: ModelFile[] = [];
  list(): ModelFile[] {
    return this.#files;
  }
  async set(files: Array<{ name: string; file: string }>): Promise<void> {
    this.#files = await Promise.all(files.map(async (f) => ({ ...f, sha256: await sha256File(f.file) })));
    this.emit('change');
  }
}

describe('models through the hive (real nats-server)', () => {
  it('a worker with an empty cache loads the model another node runs, with its sidecar; a replaced model replaces the cache file; a removed one leaves', async () => {
    const origin = await folder('origin');
    await fs.writeFile(
      path.join(origin, 'particles.json'),
      JSON.stringify({ confidence: 0.61, classes: ['person'] }),
    );
    await place(FIRST, path.join(origin, 'particles.onnx'));
    const originModels = registry(origin);
    await originModels.start();
    await publisher('microscope-a', originModels);

    const cache = await folder('worker-cache');
    await fetcher(cache);
    const workerModels = registry(cache);
    await workerModels.start();
    const loaded = workerModels.get('particles');
    expect(loaded?.sha256).toBe(await sha256File(FIRST));
    expect(loaded?.thresholds.confidence).toBe(0.61);
    expect(loaded?.classIds).toEqual([0]);
    expect((await fs.readdir(cache)).sort()).toEqual(['particles.json', 'particles.onnx']);

    const second = await sha256File(SECOND);
    await place(SECOND, path.join(origin, 'particles.onnx'));
    await until(
      'the worker to run the replaced model',
      () => workerModels.get('particles')?.sha256 === second,
    );
    expect(await sha256File(path.join(cache, 'particles.onnx'))).toBe(second);
    expect(workerModels.get('particles')?.thresholds.confidence).toBe(0.61);
    expect(lines(/model particles replaced from the hive/)).toHaveLength(1);

    await fs.rm(path.join(origin, 'particles.onnx'));
    await until(
      'the worker to unload the withdrawn model',
      () => workerModels.get('particles') === undefined,
    );
    expect(await fs.readdir(cache)).toEqual([]);
  });

  it('a name served with two different files is run from neither, with one line, until the nodes agree', async () => {
    const a = new Files();
    const b = new Files();
    await a.set([{ name: 'grains', file: FIRST }]);
    await b.set([{ name: 'grains', file: SECOND }]);
    const pa = await publisher('microscope-a', a);
    const pb = await publisher('microscope-b', b);

    const cache = await folder('worker-cache');
    const f = await fetcher(cache);
    const conflict =
      /model grains is served with different files or sidecars \(microscope-a: \w{12}, microscope-b: \w{12}\): not run on this worker/;
    expect(lines(conflict)).toHaveLength(1);
    expect(await fs.readdir(cache)).toEqual([]);

    // Another model arriving makes the fetcher read the hive again: the conflict is not repeated.
    await a.set([
      { name: 'grains', file: FIRST },
      { name: 'pores', file: THIRD },
    ]);
    await pa.settled();
    await until('the other model', async () => (await fs.readdir(cache)).includes('pores.onnx'));
    await f.settled();
    expect(lines(conflict)).toHaveLength(1);
    expect(await fs.readdir(cache)).not.toContain('grains.onnx');

    await b.set([{ name: 'grains', file: FIRST }]);
    await pb.settled();
    await until('the agreed model', async () => (await fs.readdir(cache)).includes('grains.onnx'));
    expect(await sha256File(path.join(cache, 'grains.onnx'))).toBe(await sha256File(FIRST));
  });

  it('refuses a corrupt or mismatched object with one line each, leaves no file, and keeps fetching the rest', async () => {
    const store = await open();
    const jsm = await jetstreamManager(nc);
    const objects = await new Objm(nc).open(MODEL_BUCKET);
    const stream = `OBJ_${MODEL_BUCKET}`;

    // Lost a chunk on the server.
    const holed = await store.publish(SECOND);
    const info = await objects.info(`sha256/${holed}`);
    const chunk = await jsm.direct.getMessage(stream, { next_by_subj: `$O.${MODEL_BUCKET}.C.${info!.nuid}` });
    await jsm.streams.deleteMessage(stream, chunk!.seq);
    await store.serve({ node: 'microscope-a', name: 'holed', sha256: holed });
    // Another file's bytes stored under this one's name.
    const named = await sha256File(THIRD);
    await objects.putBlob({ name: `sha256/${named}` }, await fs.readFile(FIRST));
    await store.serve({ node: 'microscope-a', name: 'mismatched', sha256: named });
    const good = await store.publish(FIRST);
    await store.serve({ node: 'microscope-a', name: 'good', sha256: good });

    const cache = await folder('worker-cache');
    const f = await fetcher(cache);
    expect(await fs.readdir(cache)).toEqual(['good.onnx']);
    expect(lines(/holed/)).toEqual([
      `model holed (${holed}) from node microscope-a refused: model ${holed} in the hive's ${MODEL_BUCKET} bucket is corrupt: ${info!.chunks - 1} of its ${info!.chunks} chunks are stored`,
    ]);
    expect(lines(/mismatched/)).toEqual([
      `model mismatched (${named}) from node microscope-a refused: model ${named} in the hive's ${MODEL_BUCKET} bucket is corrupt: its content has SHA-256 ${good}`,
    ]);

    // Read again (another model served): still one line each, and the new one fetched.
    await store.serve({ node: 'microscope-b', name: 'other', sha256: await store.publish(FOURTH) });
    await until('the other model', async () => (await fs.readdir(cache)).includes('other.onnx'));
    await f.settled();
    expect(lines(/refused/)).toHaveLength(2);
    expect(await fs.readdir(cache)).toEqual(['good.onnx', 'other.onnx']);
  });
});
