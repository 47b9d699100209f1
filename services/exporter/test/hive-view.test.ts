import { jetstream } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { NodeHeartbeat, type NodeStatus } from '@scopehive/shared/hive';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type NatsServer, startNatsServer } from '../../../shared/test/helpers/nats-server.ts';
import { startHiveView } from '../src/hive-view.ts';

/**
 * The hive view on a real nats-server: nodes heartbeat into the registry as they do on their devices
 * (each with its own connection), and this node's /metrics shows every live one.
 */

/** Short, so that a dead node's entry expires within two seconds. */
const intervalMs = 500;
const log = pino({ level: 'silent' });

let server: NatsServer;
let nc: NatsConnection;
let bucketSerial = 0;
const cleanup: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  server = await startNatsServer();
  nc = await connect({ servers: server.url });
});
afterEach(async () => {
  for (const undo of cleanup.splice(0).reverse()) await undo().catch(() => undefined);
});
afterAll(async () => {
  await nc?.close();
  await server?.close();
});

function status(overrides: Partial<NodeStatus> = {}): NodeStatus {
  return {
    role: 'both',
    deviceType: 'jetson-agx-orin',
    provider: 'tensorrt',
    models: [{ name: 'particles', sha256: 'a'.repeat(64), sessions: 2 }],
    jobsInFlight: 1,
    imagesPerSecond: { particles: 9.5 },
    version: '0.1.0',
    ...overrides,
  };
}

/** A node heartbeating on its own connection, as on its own device; `die()` drops it without goodbye. */
async function node(name: string, bucket: string, describeNode: () => NodeStatus) {
  const own = await connect({ servers: server.url });
  const heartbeat = new NodeHeartbeat({
    js: jetstream(own),
    node: name,
    intervalMs,
    bucket,
    describe: describeNode,
    log,
  });
  await heartbeat.start();
  cleanup.push(async () => {
    await heartbeat.close();
    await own.close();
  });
  return { leave: () => heartbeat.close(), die: () => own.close() };
}

/** This node's metrics registry (default label `node`, as every service's) with the hive view on it. */
function view(bucket: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ node: 'viewer' });
  const hive = startHiveView({
    js: jetstream(nc),
    registry,
    intervalMs,
    bucket,
    refreshMs: 200,
    logger: log,
  });
  cleanup.push(() => hive.close());
  return registry;
}

/** The hive series of /metrics as `name{labels} value` lines, sorted. */
async function hiveLines(registry: Registry): Promise<string[]> {
  const text = await registry.metrics();
  return text
    .split('\n')
    .filter((l) => l.startsWith('scopehive_hive_'))
    .sort();
}

async function until(registry: Registry, ok: (lines: string[]) => boolean): Promise<string[]> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const lines = await hiveLines(registry);
    if (ok(lines)) return lines;
    if (Date.now() > deadline) throw new Error(`metrics never matched; last:\n${lines.join('\n')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const mentions = (lines: string[], member: string) => lines.some((l) => l.includes(`member="${member}"`));

describe('startHiveView', () => {
  it('shows every live node with its state, frame rate per model, jobs in flight and sessions', async () => {
    bucketSerial += 1;
    const bucket = `view-test-${bucketSerial}`;
    let rate = 9.5;
    await node('orin-1', bucket, () => status({ imagesPerSecond: { particles: rate } }));
    await node('scope-1', bucket, () =>
      status({
        role: 'microscope',
        deviceType: 'x86-64',
        provider: 'none',
        models: [],
        jobsInFlight: 0,
        imagesPerSecond: {},
      }),
    );
    const registry = view(bucket);
    const lines = await until(registry, (l) => mentions(l, 'orin-1') && mentions(l, 'scope-1'));
    expect(lines).toEqual([
      'scopehive_hive_node_images_per_second{member="orin-1",model="particles",node="viewer"} 9.5',
      'scopehive_hive_node_info{member="orin-1",role="both",device_type="jetson-agx-orin",provider="tensorrt",version="0.1.0",node="viewer"} 1',
      'scopehive_hive_node_info{member="scope-1",role="microscope",device_type="x86-64",provider="none",version="0.1.0",node="viewer"} 1',
      'scopehive_hive_node_jobs_in_flight{member="orin-1",node="viewer"} 1',
      'scopehive_hive_node_jobs_in_flight{member="scope-1",node="viewer"} 0',
      'scopehive_hive_node_sessions{member="orin-1",model="particles",node="viewer"} 2',
    ]);
    // Each heartbeat's figures, as they change.
    rate = 12;
    await until(registry, (l) =>
      l.some((x) => x.includes('member="orin-1",model="particles"') && x.endsWith(' 12')),
    );
  });

  it('drops a node that died (entry expired) and one that left', async () => {
    bucketSerial += 1;
    const bucket = `view-test-${bucketSerial}`;
    const dying = await node('doomed', bucket, () => status());
    const leaving = await node('leaver', bucket, () => status({ provider: 'cuda' }));
    await node('stayer', bucket, () => status({ provider: 'cpu' }));
    const registry = view(bucket);
    await until(registry, (l) => ['doomed', 'leaver', 'stayer'].every((m) => mentions(l, m)));
    await dying.die();
    await leaving.leave();
    const lines = await until(registry, (l) => !mentions(l, 'doomed') && !mentions(l, 'leaver'));
    expect(mentions(lines, 'stayer')).toBe(true);
  });
});
