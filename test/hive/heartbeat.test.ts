import { readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { listNodes, type NodeEntry, type NodeRegistry, openNodeRegistry } from '@scopehive/shared/hive';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  jetsonType,
  readDeviceType,
  startNodeHeartbeat,
} from '../../services/inference/src/pipeline/hive-heartbeat.ts';
import { type NatsServer, startNatsServer } from '../../shared/test/helpers/nats-server.ts';

/**
 * The node heartbeat as the pipeline starts it, on a real nats-server: each beat describes the node
 * as it is at that moment, read from what it has (models, worker, frame rate, device tree, version).
 */

/** Short, so that a dead node's entry is gone within two seconds (three missed beats). */
const intervalMs = 500;
const log = pino({ level: 'silent' });
const version = (
  JSON.parse(readFileSync(path.resolve(import.meta.dirname, '../../package.json'), 'utf8')) as {
    version: string;
  }
).version;

let server: NatsServer;
let nc: NatsConnection;
let registry: NodeRegistry;
let tmp: string;
let bucketSerial = 0;

beforeAll(async () => {
  server = await startNatsServer();
  nc = await connect({ servers: server.url });
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'scopehive-heartbeat-'));
});
afterAll(async () => {
  await nc?.close();
  await server?.close();
  if (tmp) await fs.rm(tmp, { recursive: true, force: true });
});

/** A registry bucket of its own per test. */
async function freshBucket(): Promise<string> {
  bucketSerial += 1;
  const bucket = `heartbeat-test-${bucketSerial}`;
  registry = await openNodeRegistry(jetstream(nc), { intervalMs, bucket });
  return bucket;
}

/** Polls the registry until `node`'s entry satisfies `ok`; fails with the last entry seen. */
async function entryOf(node: string, ok: (e: NodeEntry) => boolean = () => true): Promise<NodeEntry> {
  const deadline = Date.now() + 20_000;
  let last: NodeEntry | undefined;
  for (;;) {
    last = (await listNodes(registry)).find((n) => n.node === node);
    if (last && ok(last)) return last;
    if (Date.now() > deadline)
      throw new Error(`entry of ${node} never matched; last: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function goneFromRegistry(node: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while ((await listNodes(registry)).some((n) => n.node === node)) {
    if (Date.now() > deadline) throw new Error(`${node} is still in the registry`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A fixture proc folder whose device tree names a Jetson, as an AGX Orin's does (NUL-terminated). */
async function jetsonProc(model: string): Promise<string> {
  const proc = path.join(tmp, `proc-${bucketSerial}`);
  await fs.mkdir(path.join(proc, 'device-tree'), { recursive: true });
  await fs.writeFile(path.join(proc, 'device-tree', 'model'), `${model}\0`);
  return proc;
}

describe('startNodeHeartbeat', () => {
  it('describes a worker live: its models and sessions, provider, jobs in hand, frame rate, device and version', async () => {
    const bucket = await freshBucket();
    let inHand = 0;
    let rate = 0;
    const models = [
      { name: 'particles', sha256: 'a'.repeat(64), provider: 'cpu', replicas: 2 },
      { name: 'cells', sha256: 'b'.repeat(64), provider: 'cpu', replicas: 1 },
    ];
    const heartbeat = await startNodeHeartbeat({
      js: jetstream(nc),
      node: 'orin-1',
      role: 'both',
      models: () => models,
      jobsInFlight: () => inHand,
      imagesPerSecond: () => new Map([['particles', rate]]),
      procRoot: await jetsonProc('NVIDIA Jetson AGX Orin Developer Kit'),
      sysRoot: tmp,
      intervalMs,
      bucket,
      logger: log,
    });
    try {
      const first = await entryOf('orin-1');
      expect(first).toMatchObject({
        node: 'orin-1',
        role: 'both',
        deviceType: 'jetson-agx-orin',
        provider: 'cpu',
        models: [
          { name: 'particles', sha256: 'a'.repeat(64), sessions: 2 },
          { name: 'cells', sha256: 'b'.repeat(64), sessions: 1 },
        ],
        jobsInFlight: 0,
        imagesPerSecond: { particles: 0 },
        version,
      });
      // What the node has now, not what it had at start.
      inHand = 3;
      rate = 7.5;
      models.pop();
      const later = await entryOf('orin-1', (e) => e.jobsInFlight === 3);
      expect(later.imagesPerSecond).toEqual({ particles: 7.5 });
      expect(later.models.map((m) => m.name)).toEqual(['particles']);
    } finally {
      await heartbeat.close();
    }
    // A node that stops cleanly leaves at once.
    expect((await listNodes(registry)).map((n) => n.node)).toEqual([]);
  });

  it('describes a microscope-only node: no models, nothing in hand, provider none, the architecture as device', async () => {
    const bucket = await freshBucket();
    const heartbeat = await startNodeHeartbeat({
      js: jetstream(nc),
      node: 'scope-1',
      role: 'microscope',
      procRoot: path.join(tmp, 'no-proc'),
      sysRoot: path.join(tmp, 'no-sys'),
      intervalMs,
      bucket,
      logger: log,
    });
    try {
      expect(await entryOf('scope-1')).toMatchObject({
        role: 'microscope',
        deviceType: process.arch === 'x64' ? 'x86-64' : process.arch,
        provider: 'none',
        models: [],
        jobsInFlight: 0,
        imagesPerSecond: {},
        version,
      });
    } finally {
      await heartbeat.close();
    }
  });

  it('is gone from the registry when the node dies (its connection lost, no goodbye)', async () => {
    const bucket = await freshBucket();
    const own = await connect({ servers: server.url });
    const heartbeat = await startNodeHeartbeat({
      js: jetstream(own),
      node: 'doomed',
      role: 'worker',
      intervalMs,
      bucket,
      logger: log,
    });
    await entryOf('doomed');
    await own.close();
    await goneFromRegistry('doomed');
    await heartbeat.close();
  });
});

describe('device type', () => {
  it.each([
    ['NVIDIA Jetson AGX Orin Developer Kit', 'jetson-agx-orin'],
    ['NVIDIA Jetson AGX Xavier [AGX Xavier]', 'jetson-agx-xavier'],
    ['NVIDIA Jetson Xavier NX Developer Kit', 'jetson-xavier-nx'],
    ['NVIDIA Jetson Orin Nano Developer Kit', 'jetson-orin-nano'],
    ['Jetson-AGX', 'jetson-agx'],
    ['NVIDIA Jetson Orin NX Engineering Reference Developer Kit', 'jetson-orin-nx'],
  ])('names %s %s', (model, type) => {
    expect(jetsonType(`${model}\0`)).toBe(type);
  });

  it('is not a Jetson for another board', () => {
    expect(jetsonType('Raspberry Pi 4 Model B Rev 1.4\0')).toBeUndefined();
  });

  it('reads the device tree under sysfs when proc has none', async () => {
    const sys = path.join(tmp, 'sys-only');
    await fs.mkdir(path.join(sys, 'firmware', 'devicetree', 'base'), { recursive: true });
    await fs.writeFile(
      path.join(sys, 'firmware', 'devicetree', 'base', 'model'),
      'NVIDIA Jetson Xavier NX\0',
    );
    expect(await readDeviceType(path.join(tmp, 'no-proc'), sys)).toBe('jetson-xavier-nx');
  });
});
