/**
 * Three hive nodes as a lab runs them: separate `npm start` processes with their own data folders on
 * a real three-server NATS cluster on loopback — a microscope (inbox and result writer, no models), a
 * `both` node and a worker (models only). Each case arranges its event by construction (which node
 * can run models at that moment, a frozen process, a stopped server) and then checks the share as a
 * user would find it: every result on its origin's share alone, once, naming the node that analysed it.
 * The tests run in order on one hive: each leaves every node it needs running and every job settled.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type LoopbackCluster, startLoopbackCluster } from '../../scripts/hive/loopback-cluster.ts';
import { lostImages, rowsWhenSettled, waitAllSettled } from '../faults/helpers/checks.ts';
import { dropAll } from '../faults/helpers/images.ts';
import { waitFor } from '../integration/helpers/pipeline.ts';
import { writeBigTiff } from './helpers/big-tiff.ts';
import { HiveNode } from './helpers/hive-node.ts';
import { distinctPhotos } from './helpers/photos.ts';
import { HiveStreams } from './helpers/streams.ts';

const MODEL = 'yolo11n_int8';
const MODELS = [MODEL];
// One letterboxed pass per image: the large image's bytes must cross nodes, its tiles need not run.
const RUNNER_ENV = { SCOPEHIVE_TILING: 'never' };

let cluster: LoopbackCluster;
let streams: HiveStreams;
let microscope: HiveNode;
let both: HiveNode;
let worker: HiveNode;
const extraNodes: HiveNode[] = [];

/** Nothing lost, nothing duplicated, for `images` dropped on `origin`. */
async function expectOnceOn(origin: HiveNode, images: readonly string[]): Promise<void> {
  await waitAllSettled(origin.folders, images, MODELS, 120_000);
  expect(await lostImages(origin.folders, images, MODELS)).toEqual([]);
  expect(await rowsWhenSettled(origin.folders, images, MODELS)).toEqual([]);
}

/** The names of the nodes that analysed `images` of `origin`. */
async function analysedBy(origin: HiveNode, images: readonly string[]): Promise<string[]> {
  const nodes: string[] = [];
  for (const image of images) nodes.push((await origin.result(image, MODEL))?.node ?? 'none');
  return nodes;
}

/** No result, rejection or temporary file on the shares of `others`. */
async function expectNothingWrittenOn(others: HiveNode[]): Promise<void> {
  for (const node of others) expect(await node.writtenFiles(), node.name).toEqual([]);
}

/** A 16-bit TIFF staged beside the inbox and renamed into it in one step; returns its SHA-256. */
async function dropTiff(origin: HiveNode, name: string, width: number, height: number, seed: number) {
  const staged = path.join(origin.folders.root, `.${path.basename(name)}.staged`);
  const sha256 = await writeBigTiff(staged, width, height, seed);
  await fs.rename(staged, path.join(origin.folders.inboxDir, name));
  return sha256;
}

async function settledStreams(): Promise<void> {
  await waitFor(async () => (await streams.jobsLeft()) === 0, 60_000, 'every job to be acknowledged');
}

beforeAll(async () => {
  cluster = await startLoopbackCluster({ size: 3 });
  streams = await HiveStreams.open(cluster.urls);
  const common = { cluster, model: MODEL };
  microscope = await HiveNode.create({ ...common, name: 'microscope-1', role: 'microscope', own: 0 });
  both = await HiveNode.create({ ...common, name: 'both-2', role: 'both', own: 1, env: RUNNER_ENV });
  worker = await HiveNode.create({ ...common, name: 'worker-3', role: 'worker', own: 2, env: RUNNER_ENV });
  // `both` starts later (in the kill case): until then the worker is the only node running models.
  await Promise.all([microscope.start(), worker.start()]);
}, 180_000);

afterEach(async (context) => {
  if (context.task.result?.state !== 'fail') return;
  for (const node of [microscope, both, worker, ...extraNodes]) console.error(node?.report());
  for (const server of cluster?.servers ?? []) {
    console.error(`──── ${server.name} ────\n${server.log().slice(-4000)}`);
    // Where each stream and consumer has its leader and replicas, as this server sees them.
    const jsz = await fetch(
      `http://127.0.0.1:${server.monitorPort}/jsz?accounts=true&streams=true&consumers=true`,
    )
      .then((r) => r.json() as Promise<JszReport>)
      .catch((err: Error) => ({ error: err.message }) as JszReport);
    console.error(`──── ${server.name} /jsz ────\n${describeJsz(jsz)}`);
  }
});

interface JszReport {
  error?: string;
  meta_cluster?: { leader?: string };
  account_details?: Array<{
    stream_detail?: Array<{
      name: string;
      cluster?: ClusterInfo;
      consumer_detail?: Array<{ name: string; cluster?: ClusterInfo; num_pending?: number }>;
    }>;
  }>;
}
interface ClusterInfo {
  leader?: string;
  replicas?: Array<{ name: string; current?: boolean; offline?: boolean; lag?: number }>;
}

function describeJsz(jsz: JszReport): string {
  if (jsz.error) return jsz.error;
  const where = (c?: ClusterInfo) =>
    `leader ${c?.leader ?? 'none'}; replicas ${(c?.replicas ?? [])
      .map((r) => `${r.name}${r.current ? '' : ' (not current)'}${r.offline ? ' (offline)' : ''}`)
      .join(', ')}`;
  const lines = [`meta leader ${jsz.meta_cluster?.leader ?? 'none'}`];
  for (const account of jsz.account_details ?? [])
    for (const stream of account.stream_detail ?? []) {
      lines.push(`${stream.name}: ${where(stream.cluster)}`);
      for (const c of stream.consumer_detail ?? [])
        lines.push(`  ${c.name}: ${where(c.cluster)}; pending ${c.num_pending ?? '?'}`);
    }
  return lines.join('\n');
}

afterAll(async () => {
  for (const node of [microscope, both, worker, ...extraNodes]) if (node?.running) await node.process.stop();
  await streams?.close();
  await cluster?.close();
  for (const node of [microscope, both, worker, ...extraNodes])
    if (node) await fs.rm(node.folders.root, { recursive: true, force: true });
}, 120_000);

describe('three hive nodes in separate processes', () => {
  it('analyses the microscope’s images on the worker, the only node running models, and writes each once on the microscope alone', async () => {
    const photos = await distinctPhotos('plate-1', 4, 'photo');
    await dropAll(microscope.folders.inboxDir, photos);
    const images = [...photos.keys()];
    await expectOnceOn(microscope, images);
    expect(await analysedBy(microscope, images)).toEqual(images.map(() => 'worker-3'));
    await expectNothingWrittenOn([worker]);
  }, 150_000);

  it('carries a 200 MB image to the worker intact: its result names the worker and has the file’s hash', async () => {
    const name = 'large/stitched-16bit.tif';
    await fs.mkdir(path.join(microscope.folders.inboxDir, 'large'), { recursive: true });
    const sha256 = await dropTiff(microscope, name, 10_000, 10_000, 7);
    await expectOnceOn(microscope, [name]);
    const doc = await microscope.result(name, MODEL);
    expect(doc?.node).toBe('worker-3');
    expect(doc?.image.sha256).toBe(sha256);
    expect([doc?.image.width, doc?.image.height]).toEqual([10_000, 10_000]);
    await expectNothingWrittenOn([worker]);
  }, 150_000);

  it('redelivers the job of a worker SIGKILLed mid-image to another node after the ack wait: one result', async () => {
    // The worker is the only node running models, so an unacknowledged delivery is the worker's.
    // Frozen, it can neither finish nor acknowledge; a result already on its way (published before
    // the freeze) would show on the share once the stream is drained, and then the next image is tried.
    let held: string | undefined;
    for (let attempt = 1; attempt <= 4 && !held; attempt++) {
      const name = `held-${attempt}.tif`;
      await dropTiff(microscope, name, 5000, 5000, attempt);
      await waitFor(async () => (await streams.unacknowledged(MODEL)) > 0, 60_000, `${name} to be delivered`);
      worker.process.freeze();
      await waitFor(async () => (await streams.resultsWaiting('microscope-1')) === 0, 30_000, 'drained');
      if ((await streams.unacknowledged(MODEL)) > 0 && !(await microscope.result(name, MODEL))) held = name;
      else {
        worker.process.thaw();
        await expectOnceOn(microscope, [name]);
      }
    }
    if (!held) throw new Error('the worker finished every image before it could be frozen');
    await worker.process.kill();
    expect(await microscope.result(held, MODEL)).toBeUndefined();
    // Only now a second node runs models: the job can only reach it by redelivery.
    await both.start();
    await expectOnceOn(microscope, [held]);
    expect((await microscope.result(held, MODEL))?.node).toBe('both-2');
    await settledStreams();
    await expectNothingWrittenOn([worker, both]);
  }, 150_000);

  it('spreads images dropped on the microscope and on the `both` node across nodes, each result on its origin alone, once', async () => {
    await worker.start();
    const onMicroscope = await distinctPhotos('plate-2', 4, 'micro');
    const onBoth = await distinctPhotos('plate-2', 4, 'both');
    await Promise.all([
      dropAll(microscope.folders.inboxDir, onMicroscope),
      dropAll(both.folders.inboxDir, onBoth),
    ]);
    await expectOnceOn(microscope, [...onMicroscope.keys()]);
    await expectOnceOn(both, [...onBoth.keys()]);
    for (const name of [...onMicroscope.keys(), ...onBoth.keys()]) {
      const elsewhere = [microscope, both].filter((n) => n !== (onBoth.has(name) ? both : microscope));
      for (const node of elsewhere)
        expect(await node.result(name, MODEL), `${name} on ${node.name}`).toBeUndefined();
    }
    const runners = new Set(['worker-3', 'both-2']);
    for (const node of await analysedBy(microscope, [...onMicroscope.keys()]))
      expect(runners).toContain(node);
    for (const node of await analysedBy(both, [...onBoth.keys()])) expect(runners).toContain(node);
    // Over the run the microscope's images were analysed by both nodes that run models.
    const all = await fs.readdir(microscope.folders.inboxDir, { recursive: true });
    const images = all.filter((f) => /\.(jpg|tif)$/.test(f));
    expect(new Set(await analysedBy(microscope, images))).toEqual(runners);
    await expectNothingWrittenOn([worker]);
    // Every image has every model's result on its origin: no bytes are left in the image store.
    await waitFor(
      async () => (await streams.storedImages()).length === 0,
      15_000,
      'the image store to empty',
    ).catch(() => undefined);
    expect(await streams.storedImages()).toEqual([]);
  }, 150_000);

  it('analyses bytes dropped again under another name after the first copy was analysed', async () => {
    const [[, bytes]] = [...(await distinctPhotos('plate-5', 1, 'copy'))];
    await dropAll(microscope.folders.inboxDir, new Map([['plate-5/first.jpg', bytes]]));
    await expectOnceOn(microscope, ['plate-5/first.jpg']);
    await dropAll(microscope.folders.inboxDir, new Map([['plate-5/again.jpg', bytes]]));
    await expectOnceOn(microscope, ['plate-5/again.jpg']);
    expect(await microscope.result('plate-5/again.jpg', MODEL)).toMatchObject({
      node: expect.stringMatching(/^(worker-3|both-2)$/),
    });
  }, 150_000);

  it('keeps results for a stopped microscope in the stream and writes each once when it is back', async () => {
    // Nothing runs models while the images are taken in: every job is still in the stream when the
    // microscope stops, so every result is made while it is away.
    worker.process.freeze();
    both.process.freeze();
    const photos = await distinctPhotos('plate-3', 3, 'away');
    const images = [...photos.keys()];
    try {
      await dropAll(microscope.folders.inboxDir, photos);
      await waitFor(
        async () => (await streams.jobsLeft()) >= images.length,
        60_000,
        'the jobs to be published',
      );
      await microscope.process.stop();
    } finally {
      worker.process.thaw();
      both.process.thaw();
    }
    await settledStreams();
    await waitFor(
      async () => (await streams.resultsWaiting('microscope-1')) >= images.length,
      60_000,
      'the results to wait in the stream',
    );
    for (const image of images) expect(await microscope.result(image, MODEL)).toBeUndefined();
    await microscope.start();
    await expectOnceOn(microscope, images);
    await waitFor(
      async () => (await streams.resultsWaiting('microscope-1')) === 0,
      30_000,
      'the results written',
    );
    await expectNothingWrittenOn([worker]);
  }, 150_000);

  it('keeps running with any one of the three NATS servers stopped mid-run: nothing lost or duplicated', async () => {
    // Each server in turn, so whichever holds a stream's leader or its only copy is the one lost once.
    for (const server of cluster.servers) {
      const tag = server.name;
      const before = [...(await distinctPhotos(`plate-4/${tag}`, 3, 'before')).entries()];
      await dropAll(microscope.folders.inboxDir, new Map(before));
      const beforeImages = before.map(([name]) => name);
      // Mid-run: one of the images analysed, the server stopped before the others may be.
      await waitFor(
        async () => (await analysedBy(microscope, beforeImages)).some((n) => n !== 'none'),
        60_000,
        'a result',
      );
      await server.stop();
      try {
        const during = await distinctPhotos(`plate-4/${tag}`, 3, 'during');
        const duringBoth = await distinctPhotos(`plate-4/${tag}`, 2, 'during-both');
        await dropAll(microscope.folders.inboxDir, during);
        await dropAll(both.folders.inboxDir, duringBoth);
        await expectOnceOn(microscope, [...beforeImages, ...during.keys()]);
        await expectOnceOn(both, [...duringBoth.keys()]);
      } finally {
        await server.start();
      }
      await waitFor(() => streams.routesUp(cluster), 60_000, `${tag} to rejoin the hive`);
      // One server down at a time: the next is stopped only once every replica on this one caught up.
      await waitFor(
        () => streams.replicasCurrent().catch(() => false),
        90_000,
        `every stream and consumer to be current on ${tag} again`,
      );
      await settledStreams();
    }
    await expectNothingWrittenOn([worker]);
  }, 240_000);

  it('refuses a node whose nats-server has the wrong secret: the route is refused, and the node never joins', async () => {
    const wrong = 'Zz9/Yy8+Xx7Ww6Vv5Uu4Tt3Ss2Rr1QqPp0';
    const intruderServer = await cluster.extra('nats-x', { SCOPEHIVE_HIVE_SECRET: wrong });
    const intruder = await HiveNode.create({
      cluster,
      own: 0,
      urls: [intruderServer.url],
      name: 'intruder-9',
      role: 'worker',
      model: MODEL,
      env: RUNNER_ENV,
    });
    extraNodes.push(intruder);
    await intruder.start({ ready: false });
    await waitFor(
      () => intruderServer.log().includes("Route Error 'Authorization Violation'"),
      30_000,
      'the intruder’s server to be told it is not authorised',
    );
    await waitFor(
      () => cluster.servers.some((s) => /authentication error/.test(s.log())),
      30_000,
      'the hive to log the refused route',
    );
    for (const server of cluster.servers) {
      const routez = (await (await fetch(`http://127.0.0.1:${server.monitorPort}/routez`)).json()) as {
        routes: Array<{ remote_id: string }>;
      };
      expect(routez.routes.length, server.name).toBe(2);
      const connz = await (await fetch(`http://127.0.0.1:${server.monitorPort}/connz?limit=1000`)).text();
      expect(connz.includes('intruder-9'), server.name).toBe(false);
    }
    for (const text of [
      intruder.process.process.output,
      intruderServer.log(),
      ...cluster.servers.map((s) => s.log()),
    ])
      expect(text.includes(wrong)).toBe(false);
  }, 150_000);
});
