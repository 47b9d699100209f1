import { type JetStreamClient, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { NodeStatus } from '../../src/hive/node-entry.ts';
import { listNodes, NodeHeartbeat, openNodeRegistry, watchNodes } from '../../src/hive/nodes.ts';
import { type NatsServer, startNatsServer } from '../helpers/nats-server.ts';
import { logLines } from '../queue/log-lines.ts';

/** Short enough that a dead node is gone in under 2 s (three missed beats). */
const intervalMs = 600;

let server: NatsServer;
let nc: NatsConnection;
let js: JetStreamClient;
const cleanup: Array<() => Promise<unknown>> = [];
let bucketSerial = 0;

beforeAll(async () => {
  server = await startNatsServer();
  nc = await connect({ servers: server.url });
  js = jetstream(nc);
});
afterEach(async () => {
  for (const undo of cleanup.splice(0).reverse()) await undo().catch(() => undefined);
});
afterAll(async () => {
  await nc?.close();
  await server?.close();
});

/** A bucket of its own per test, so tests never see each other's nodes. */
function bucket(): string {
  bucketSerial += 1;
  return `nodes-test-${bucketSerial}`;
}

function status(overrides: Partial<NodeStatus> = {}): NodeStatus {
  return {
    role: 'both',
    deviceType: 'jetson-agx-orin',
    provider: 'tensorrt',
    models: [{ name: 'particles', sha256: 'a'.repeat(64), sessions: 2 }],
    jobsInFlight: 0,
    imagesPerSecond: { particles: 9.5 },
    version: '0.1.0',
    ...overrides,
  };
}

/** A node with its own connection, as on its own device. */
async function node(name: string, bucketName: string, describeNode: () => NodeStatus) {
  const own = await connect({ servers: server.url });
  const log = logLines();
  const heartbeat = new NodeHeartbeat({
    js: jetstream(own),
    node: name,
    intervalMs,
    bucket: bucketName,
    describe: describeNode,
    log: log.logger,
  });
  await heartbeat.start();
  cleanup.push(async () => {
    await heartbeat.close();
    await own.close();
  });
  // Its connection gone without a goodbye: what a node pulled out of the wall looks like.
  return { heartbeat, log, die: () => own.close() };
}

async function until(check: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('node registry', () => {
  it('shows each node live, follows its changes, and drops a node that stops heartbeating', async () => {
    const name = bucket();
    const registry = await openNodeRegistry(js, { intervalMs, bucket: name });
    let inFlight = 0;
    const orin = await node('orin-1', name, () => status({ jobsInFlight: inFlight }));
    await node('desk.lab.local', name, () =>
      status({ role: 'worker', deviceType: 'x86-64', provider: 'cuda' }),
    );

    const first = await listNodes(registry);
    expect(first.map((n) => n.node)).toEqual(['desk.lab.local', 'orin-1']);
    expect(first[1]).toMatchObject({ ...status(), node: 'orin-1' });
    expect(first[0]).toMatchObject({ role: 'worker', provider: 'cuda' });

    inFlight = 2;
    await until(async () => (await listNodes(registry)).find((n) => n.node === 'orin-1')?.jobsInFlight === 2);

    await orin.die();
    await until(async () => (await listNodes(registry)).every((n) => n.node !== 'orin-1'));
    // The live node is still there after the dead one expired: its beats keep renewing it.
    expect((await listNodes(registry)).map((n) => n.node)).toEqual(['desk.lab.local']);
  });

  it('removes a node at once when it stops cleanly', async () => {
    const name = bucket();
    const registry = await openNodeRegistry(js, { intervalMs: 60_000, bucket: name });
    const own = await connect({ servers: server.url });
    cleanup.push(() => own.close());
    const heartbeat = new NodeHeartbeat({
      js: jetstream(own),
      node: 'nx-3',
      intervalMs: 60_000,
      bucket: name,
      describe: () => status(),
      log: logLines().logger,
    });
    await heartbeat.start();
    expect((await listNodes(registry)).map((n) => n.node)).toEqual(['nx-3']);
    await heartbeat.close();
    // Expiry is a minute away: only the removal can explain an empty registry now.
    expect(await listNodes(registry)).toEqual([]);
  });

  it('judges a node alive by the server, not by the node’s clock', async () => {
    const name = bucket();
    const registry = await openNodeRegistry(js, { intervalMs, bucket: name });
    const tenMinutes = 10 * 60_000;
    await registry.kv.put(
      'slow-clock',
      JSON.stringify({ ...status(), node: 'slow-clock', seenAt: Date.now() - tenMinutes }),
    );
    await registry.kv.put(
      'fast-clock',
      JSON.stringify({ ...status(), node: 'fast-clock', seenAt: Date.now() + tenMinutes }),
    );
    // Written just now by the server's clock: listed, however old its own seenAt says it is.
    expect((await listNodes(registry)).map((n) => n.node)).toEqual(['fast-clock', 'slow-clock']);
    // Not renewed: gone after the bucket's max_age, however far ahead its seenAt is.
    await until(async () => (await listNodes(registry)).length === 0);
  });

  it('skips a malformed entry with one warning and lists the rest', async () => {
    const name = bucket();
    const registry = await openNodeRegistry(js, { intervalMs: 60_000, bucket: name });
    await registry.kv.put('good', JSON.stringify({ ...status(), node: 'good', seenAt: Date.now() }));
    await registry.kv.put('garbage', 'not json {');
    await registry.kv.put('half', JSON.stringify({ node: 'half', role: 'both' }));
    await registry.kv.put(
      'negative',
      JSON.stringify({ ...status({ jobsInFlight: -1 }), node: 'negative', seenAt: 1 }),
    );
    await registry.kv.put('impostor', JSON.stringify({ ...status(), node: 'good', seenAt: Date.now() }));
    const { logger, lines } = logLines();

    expect((await listNodes(registry, logger)).map((n) => n.node)).toEqual(['good']);
    const skipped = lines.filter((l) => l.msg === 'node registry entry skipped');
    expect(Object.fromEntries(skipped.map((l) => [l.key, l.reason]))).toEqual({
      garbage: 'node entry is not JSON',
      half: 'node entry is malformed: models is not a list',
      negative: 'node entry is malformed: bad jobsInFlight',
      impostor: 'node entry is malformed: it names node good',
    });
  });

  it('watches nodes join and leave, seeing a dead node’s entry expire', async () => {
    const name = bucket();
    const registry = await openNodeRegistry(js, { intervalMs, bucket: name });
    const stop = new AbortController();
    const snapshots: string[][] = [];
    const watching = (async () => {
      for await (const nodes of watchNodes(registry, { signal: stop.signal, refreshMs: 200 })) {
        snapshots.push(nodes.map((n) => n.node));
      }
    })();
    cleanup.push(async () => {
      stop.abort();
      await watching;
    });
    const latest = () => snapshots.at(-1)?.join(',');

    const xavier = await node('xavier-1', name, () => status());
    await until(() => latest() === 'xavier-1');
    await node('xavier-2', name, () => status());
    await until(() => latest() === 'xavier-1,xavier-2');
    await xavier.die();
    await until(() => latest() === 'xavier-2');
    stop.abort();
    await watching;
  });

  it('ends a watch when its reader stops reading, without an abort', async () => {
    const name = bucket();
    const registry = await openNodeRegistry(js, { intervalMs, bucket: name });
    await node('nx-1', name, () => status());
    let seen: string[] = [];
    // Breaking out returns the generator; this loop finishing at all is the check.
    for await (const nodes of watchNodes(registry, { signal: new AbortController().signal, refreshMs: 50 })) {
      seen = nodes.map((n) => n.node);
      if (seen.length > 0) break;
    }
    expect(seen).toEqual(['nx-1']);
  }, 15_000);

  it('makes the bucket again when the server lost it', async () => {
    const name = bucket();
    const registry = await openNodeRegistry(js, { intervalMs, bucket: name });
    const orin = await node('orin-2', name, () => status());
    const jsm = await jetstreamManager(nc);
    await jsm.streams.delete(`KV_${name}`);
    await until(async () => {
      // Only the heartbeat can have made it again: this test only looks.
      const made = await jsm.streams.info(`KV_${name}`).then(
        () => true,
        () => false,
      );
      return made && (await listNodes(registry)).some((n) => n.node === 'orin-2');
    });
    // The outage was one warning, its end one line, not a line per beat.
    expect(orin.log.lines.filter((l) => l.level === 40).length).toBeLessThanOrEqual(1);
  });
  it('starts while JetStream does not answer: one warning, and the node joins once it answers', async () => {
    // A server of its own, stopped before the heartbeat starts: every request of the start is unanswered.
    const own = await startNatsServer();
    cleanup.push(() => own.close());
    const conn = await connect({ servers: own.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    cleanup.push(() => conn.close());
    const name = bucket();
    const log = logLines();
    const heartbeat = new NodeHeartbeat({
      js: jetstream(conn, { timeout: 1000 }),
      node: 'xavier-5',
      intervalMs,
      bucket: name,
      describe: () => status(),
      log: log.logger,
    });
    cleanup.push(() => heartbeat.close());
    await own.stop();
    await heartbeat.start();
    expect(log.lines.filter((l) => l.level === 40).map((l) => l.msg)).toEqual([
      'cannot write this node’s heartbeat',
    ]);
    await own.start();
    const reader = await connect({ servers: own.url });
    cleanup.push(() => reader.close());
    await until(async () => {
      const registry = await openNodeRegistry(jetstream(reader), { intervalMs, bucket: name }).catch(
        () => undefined,
      );
      return registry !== undefined && (await listNodes(registry)).some((n) => n.node === 'xavier-5');
    });
    expect(log.lines.some((l) => l.msg === 'heartbeats written again')).toBe(true);
  }, 30_000);
});
