import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { jetstreamManager } from '@nats-io/jetstream';
import { Objm } from '@nats-io/obj';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { type ResultDocument, resultPaths } from '@scopehive/shared';
import { ImageStore, isObjectMissing } from '@scopehive/shared/hive';
import { pino } from 'pino';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningNode, startNode } from '../../scripts/run-pipeline.ts';
import { findNatsServer, freePort } from '../../shared/test/helpers/nats-server.ts';
import { sharedImage, sharedModel } from '../integration/helpers/pipeline.ts';

/**
 * Two hive nodes in this process on a real three-server NATS cluster: A is a microscope (inbox and
 * result writer, no models run), B a worker (models only, no share). An image dropped on A is
 * analysed on B, and its result comes back to A's share alone, once; its bytes then leave the bucket.
 */

interface Server {
  url: string;
  proc: ChildProcess;
}

const servers: Server[] = [];
const dirs: string[] = [];
const nodes: RunningNode[] = [];
let nc: NatsConnection | undefined;

async function waitFor(what: string, check: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function tempDir(name: string): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), `scopehive-hive-${name}-`));
  dirs.push(dir);
  return dir;
}

/** Three JetStream servers routed to each other on loopback: one cluster, as three devices would be. */
async function startCluster(): Promise<void> {
  const ports = await Promise.all(
    [0, 1, 2].map(async () => ({ client: await freePort(), route: await freePort() })),
  );
  const routes = ports.map((p) => `nats://127.0.0.1:${p.route}`).join(',');
  for (const [i, p] of ports.entries()) {
    const store = await tempDir(`nats${i}`);
    const args = [
      '-js',
      '-sd',
      store,
      '-a',
      '127.0.0.1',
      '-p',
      String(p.client),
      '-n',
      `n${i}`,
      '--cluster_name',
      'hive',
      '--cluster',
      `nats://127.0.0.1:${p.route}`,
      '--routes',
      routes,
    ];
    const proc = spawn(findNatsServer(), args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    proc.stderr?.setEncoding('utf8');
    proc.stderr?.on('data', (chunk: string) => {
      if (log.length < 200_000) log += chunk;
    });
    servers.push({ url: `nats://127.0.0.1:${p.client}`, proc });
    await waitFor(`nats server ${i} to start`, () => log.includes('Server is ready')).catch((err: Error) => {
      throw new Error(`${err.message}; its log:\n${log}`);
    });
  }
  // JetStream answers once the cluster has elected its meta leader.
  nc = await connect({ servers: servers[0]?.url });
  const client = nc;
  await waitFor('JetStream in the cluster', async () => {
    try {
      await new Objm(client).create('scopehive-probe', { replicas: 1 });
      return true;
    } catch {
      return false;
    }
  });
}

async function node(
  name: string,
  url: string,
  env: Record<string, string>,
): Promise<{ dir: string; run: RunningNode }> {
  const dir = await tempDir(name);
  for (const folder of ['inbox', 'models', 'results', 'rejected']) await fs.mkdir(path.join(dir, folder));
  const logger = pino({ level: 'info' }, new Writable({ write: (_c, _e, cb) => cb() }));
  const run = await startNode({
    env: {
      SCOPEHIVE_DATA_DIR: dir,
      SCOPEHIVE_NODE_NAME: name,
      SCOPEHIVE_PORT: '0',
      SCOPEHIVE_STABLE_MS: '300',
      SCOPEHIVE_POLLING: 'false',
      SCOPEHIVE_HIVE: 'true',
      NATS_URL: url,
      ...env,
    },
    logger,
  });
  nodes.push(run);
  return { dir, run };
}

async function files(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name)));
}

describe('two hive nodes', () => {
  let a: { dir: string; run: RunningNode };
  let b: { dir: string; run: RunningNode };

  beforeAll(async () => {
    await startCluster();
    const model = sharedModel('yolo11n_int8');
    a = await node('microscope-a', servers[0]?.url ?? '', { SCOPEHIVE_ROLE: 'microscope' });
    b = await node('worker-b', servers[2]?.url ?? '', { SCOPEHIVE_ROLE: 'worker' });
    // A reads its models folder only for names and hashes (its jobs' models) and serves the files to
    // the hive; B, a worker with no share, fetches the model from the hive's models bucket and runs it.
    await fs.copyFile(model, path.join(a.dir, 'models', 'yolo11n_int8.onnx'));
    await waitFor('B to load the model from the hive', () => (b.run.models?.list().length ?? 0) > 0, 90_000);
  });

  afterAll(async () => {
    for (const run of nodes.splice(0)) await run.close();
    await nc?.close();
    for (const s of servers.splice(0)) {
      const exited = new Promise((r) => s.proc.once('exit', r));
      s.proc.kill('SIGTERM');
      await exited;
    }
    for (const dir of dirs.splice(0)) await fs.rm(dir, { recursive: true, force: true });
  });

  it('analyses the microscope’s image on the worker and writes the result only on the microscope, once', async () => {
    expect(a.run.models).toBeUndefined();
    expect(b.run.ingest).toBeUndefined();
    await fs.copyFile(sharedImage('bus.jpg'), path.join(a.dir, 'inbox', 'bus.jpg'));
    const { json } = resultPaths(path.join(a.dir, 'results'), 'bus.jpg', 'yolo11n_int8');
    await waitFor(
      'the result on A',
      () =>
        fs.access(json).then(
          () => true,
          () => false,
        ),
      30_000,
    );
    const doc = JSON.parse(await fs.readFile(json, 'utf8')) as ResultDocument;
    expect(doc.node).toBe('worker-b');
    expect(doc.detections.length).toBeGreaterThan(0);

    // The image's bytes leave the bucket once its one model's result is written.
    const client = nc as NatsConnection;
    const images = await ImageStore.open(client, { replicas: 1 });
    await waitFor('the image object to be removed', () =>
      images.read(doc.image.sha256, { node: 'microscope-a', path: 'bus.jpg' }).then(
        () => false,
        (err) => isObjectMissing(err),
      ),
    );
    // Nothing waits in the results stream: the one result was written and acknowledged.
    const jsm = await jetstreamManager(client);
    await waitFor('the results stream to be empty', async () => {
      const info = await jsm.streams.info('SCOPEHIVE_RESULTS');
      return info.state.messages === 0;
    });
    const aFiles = await files(path.join(a.dir, 'results'));
    expect(aFiles.filter((f) => f.endsWith('.json') && !f.startsWith('.'))).toEqual([
      path.relative(path.join(a.dir, 'results'), json),
    ]);
    expect(await files(path.join(b.dir, 'results'))).toEqual([]);
    expect(await files(path.join(b.dir, 'rejected'))).toEqual([]);
  });

  it('sets aside on the microscope an image the worker found corrupt, with the worker named', async () => {
    const good = await fs.readFile(sharedImage('zidane.jpg'));
    // A JPEG cut short: the header promises more than the file holds.
    await fs.writeFile(path.join(a.dir, 'inbox', 'cut.jpg'), good.subarray(0, 2000));
    const reason = path.join(a.dir, 'rejected', 'cut.jpg.reason.txt');
    await waitFor(
      'the rejection on A',
      () =>
        fs.access(reason).then(
          () => true,
          () => false,
        ),
      30_000,
    );
    expect(await fs.readFile(reason, 'utf8')).toMatch(/found by node worker-b/);
    await expect(fs.access(path.join(a.dir, 'inbox', 'cut.jpg'))).rejects.toThrow();
    expect(await files(path.join(b.dir, 'rejected'))).toEqual([]);
  });

  it('brings a segmentation model’s label image back to the microscope with its rows', async () => {
    const seg = 'yolov8n-seg-int8-320';
    await fs.copyFile(sharedModel(seg), path.join(a.dir, 'models', `${seg}.onnx`));
    await waitFor('B to load the segmentation model', () => b.run.models?.get(seg) !== undefined, 90_000);
    await fs.copyFile(sharedImage('bus.jpg'), path.join(a.dir, 'inbox', 'bus-seg.jpg'));
    const { json } = resultPaths(path.join(a.dir, 'results'), 'bus-seg.jpg', seg);
    const exists = (file: string) =>
      fs.access(file).then(
        () => true,
        () => false,
      );
    await waitFor('the segmentation result on A', () => exists(json), 60_000);
    const doc = JSON.parse(await fs.readFile(json, 'utf8')) as ResultDocument;
    expect(doc.node).toBe('worker-b');
    expect(doc.warnings.join('\n')).not.toMatch(/label image/);
    const { data, info } = await sharp(json.replace(/\.json$/, '.labels.png'))
      .toColourspace('grey16')
      .raw({ depth: 'ushort' })
      .toBuffer({ resolveWithObject: true });
    expect({ width: info.width, height: info.height }).toEqual({
      width: doc.image.width,
      height: doc.image.height,
    });
    const labels = new Set(new Uint16Array(data.buffer, data.byteOffset, data.length / 2));
    labels.delete(0);
    const masked = doc.detections.flatMap((d, i) => (d.source === 'mask' ? [i + 1] : []));
    expect(masked.length).toBeGreaterThanOrEqual(2);
    expect([...labels].sort((x, y) => x - y)).toEqual(masked);
    expect(await files(path.join(b.dir, 'results'))).toEqual([]);
  }, 180_000);
});
