import fs from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { jetstream } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { modelToken } from '../../src/queue/jetstream/provision.ts';
import { JetStreamQueue, type JetStreamQueueOptions } from '../../src/queue/jetstream/queue.ts';
import type { JobDelivery } from '../../src/queue/types.ts';
import { type NatsServer, startNatsServer } from '../helpers/nats-server.ts';
import { testJob as job } from './test-job.ts';

let server: NatsServer;
const open: JetStreamQueue[] = [];
let streamSerial = 0;

beforeAll(async () => {
  server = await startNatsServer();
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((q) => q.close()));
});
afterAll(async () => {
  await server?.close();
});

const names = new WeakMap<JetStreamQueue, { stream: string; subjectPrefix: string }>();

/** A queue on its own stream and subjects, so tests sharing one server never see each other's jobs. */
async function queue(
  options: Partial<JetStreamQueueOptions> = {},
  url = server.url,
): Promise<JetStreamQueue> {
  streamSerial += 1;
  const own = { stream: `TEST_${streamSerial}`, subjectPrefix: `test${streamSerial}.jobs` };
  const q = await JetStreamQueue.connect({
    servers: url,
    ackWaitMs: 5000,
    maxDeliver: 3,
    ...own,
    ...options,
  });
  names.set(q, {
    stream: options.stream ?? own.stream,
    subjectPrefix: options.subjectPrefix ?? own.subjectPrefix,
  });
  open.push(q);
  return q;
}

/** Another process on the same stream. */
function peer(q: JetStreamQueue, options: Partial<JetStreamQueueOptions> = {}, url = server.url) {
  return queue({ ...names.get(q), ...options }, url);
}

/** Runs `handle` for each delivery until `stop` aborts; returns what was delivered. */
function run(
  q: JetStreamQueue,
  handle: (d: JobDelivery) => Promise<void> | void,
  options: { models?: string[] } = {},
) {
  const stop = new AbortController();
  const seen: Array<{ id: string; model: string; attempt: number; at: number }> = [];
  const done = (async () => {
    for await (const d of q.consume({ models: options.models, signal: stop.signal })) {
      seen.push({ id: d.job.id, model: d.job.model.name, attempt: d.attempt, at: Date.now() });
      await handle(d);
    }
  })();
  return {
    seen,
    async stop() {
      stop.abort();
      await done;
    },
  };
}

async function until(check: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(50);
  }
}

describe('modelToken', () => {
  it('keeps plain model names and makes any other name a safe, distinct subject token', () => {
    expect(modelToken('yolo11n-particles_v2')).toBe('yolo11n-particles_v2');
    const dotted = modelToken('yolo.sem');
    expect(dotted).toMatch(/^yolo_sem-[0-9a-f]{8}$/);
    expect(modelToken('yolo_sem')).toBe('yolo_sem');
    expect(dotted).not.toBe(modelToken('yolo*sem'));
    for (const name of ['a b', 'a>b', 'a*b', 'a\tb', '', 'x'.repeat(300)]) {
      expect(modelToken(name)).toMatch(/^[A-Za-z0-9_-]{1,80}$/);
    }
  });
});

describe('JetStreamQueue on a real nats-server', () => {
  it('delivers published jobs and forgets them once acknowledged', async () => {
    const q = await queue();
    for (let n = 0; n < 5; n++) await q.publish(job(n));
    expect(await q.depth()).toBe(5);
    const c = run(q, (d) => d.ack());
    await until(() => c.seen.length === 5);
    await until(async () => (await q.depth()) === 0);
    await c.stop();
    expect(c.seen.map((s) => s.id).sort()).toEqual([0, 1, 2, 3, 4].map((n) => job(n).id).sort());
    expect(c.seen.every((s) => s.attempt === 1)).toBe(true);
  });

  it('drops a job published again with the same id', async () => {
    const q = await queue();
    await q.publish(job(1));
    await q.publish(job(1));
    await q.publish({ ...job(1), seenAt: 1 });
    expect(await q.depth()).toBe(1);
  });

  it('delivers a nak-ed job again after the delay, as the next attempt', async () => {
    const q = await queue();
    await q.publish(job(1));
    const c = run(q, (d) => (d.attempt === 1 ? d.nak(1500) : d.ack()));
    await until(() => c.seen.length === 2);
    await c.stop();
    expect(c.seen.map((s) => s.attempt)).toEqual([1, 2]);
    expect(c.seen[1].at - c.seen[0].at).toBeGreaterThanOrEqual(1400);
    expect(await q.depth()).toBe(0);
  });

  it('delivers a job again when its ack wait runs out, unless the handler says it is still working', async () => {
    const q = await queue({ ackWaitMs: 1000 });
    await q.publish(job(1));
    await q.publish(job(2, 'other'));
    const c = run(q, async (d) => {
      if (d.job.model.name === 'other') {
        for (let i = 0; i < 4; i++) {
          await sleep(400);
          await d.working();
        }
        await d.ack();
      } else if (d.attempt === 2) {
        await d.ack();
      }
    });
    await until(() => c.seen.filter((s) => s.id === job(1).id).length === 2);
    await until(async () => (await q.depth()) === 0);
    await c.stop();
    const first = c.seen.filter((s) => s.id === job(1).id);
    expect(first.map((s) => s.attempt)).toEqual([1, 2]);
    expect(first[1].at - first[0].at).toBeGreaterThanOrEqual(900);
    expect(c.seen.filter((s) => s.id === job(2, 'other').id)).toHaveLength(1);
  });

  it('stops delivering after maxDeliver and reports the exhausted job once', async () => {
    const exhausted: string[] = [];
    const q = await queue({ ackWaitMs: 1000, maxDeliver: 2, onExhausted: (j) => void exhausted.push(j.id) });
    await q.publish(job(1));
    await q.publish(job(2));
    // job 1 is never settled (its process "hangs"); job 2 fails with a transient error every time.
    const c = run(q, (d) => (d.job.id === job(2).id ? d.nak() : undefined));
    await until(() => exhausted.length === 2);
    await until(async () => (await q.depth()) === 0);
    await sleep(2500);
    await c.stop();
    expect(exhausted.sort()).toEqual([job(1).id, job(2).id]);
    for (const id of [job(1).id, job(2).id]) {
      expect(c.seen.filter((s) => s.id === id).map((s) => s.attempt)).toEqual([1, 2]);
    }
  });

  it('never delivers a terminated job again', async () => {
    const q = await queue({ ackWaitMs: 1000 });
    await q.publish(job(1));
    const c = run(q, (d) => d.term('not an image'));
    await until(() => c.seen.length === 1);
    await until(async () => (await q.depth()) === 0);
    await sleep(1500);
    await c.stop();
    expect(c.seen).toHaveLength(1);
  });

  it('terminates a message that is not a valid job and goes on with the next', async () => {
    const q = await queue();
    const nc = await connect({ servers: server.url });
    try {
      const forged = { ...job(1), id: 'not-its-id' };
      await jetstream(nc).publish(q.subjectFor('particles'), JSON.stringify(forged), { msgID: 'forged' });
      await jetstream(nc).publish(q.subjectFor('particles'), 'not json', { msgID: 'garbage' });
    } finally {
      await nc.close();
    }
    await q.publish(job(2));
    const c = run(q, (d) => d.ack(), { models: ['particles'] });
    await until(async () => (await q.depth()) === 0);
    await c.stop();
    expect(c.seen.map((s) => s.id)).toEqual([job(2).id]);
  });

  it('gives each consumer only the jobs of its models, and all jobs when no models are named', async () => {
    const q = await queue();
    const models = ['alpha', 'beta', 'yolo.sem v2'];
    for (const model of models) for (let n = 0; n < 3; n++) await q.publish(job(n, model));
    const beta = run(q, (d) => d.ack(), { models: ['beta'] });
    const dotted = run(q, (d) => d.ack(), { models: ['yolo.sem v2'] });
    await until(() => beta.seen.length === 3 && dotted.seen.length === 3);
    await sleep(300);
    await Promise.all([beta.stop(), dotted.stop()]);
    expect(beta.seen.every((s) => s.model === 'beta')).toBe(true);
    expect(dotted.seen.every((s) => s.model === 'yolo.sem v2')).toBe(true);
    expect(await q.depth()).toBe(3);

    const all = run(q, (d) => d.ack());
    await until(() => all.seen.length === 3);
    await all.stop();
    expect(all.seen.every((s) => s.model === 'alpha')).toBe(true);
    expect(await q.depth()).toBe(0);
  });

  it('splits one model between two processes without giving a job to both', async () => {
    const a = await queue();
    const b = await peer(a);
    for (let n = 0; n < 20; n++) await a.publish(job(n));
    const slow = async (d: JobDelivery) => {
      await sleep(30);
      await d.ack();
    };
    const ca = run(a, slow, { models: ['particles'] });
    const cb = run(b, slow, { models: ['particles'] });
    await until(() => ca.seen.length + cb.seen.length === 20);
    await sleep(300);
    await Promise.all([ca.stop(), cb.stop()]);
    const ids = [...ca.seen, ...cb.seen].map((s) => s.id);
    expect(new Set(ids).size).toBe(20);
    expect(ids).toHaveLength(20);
    expect(ca.seen.length).toBeGreaterThan(0);
    expect(cb.seen.length).toBeGreaterThan(0);
  });

  it('makes publish wait while the stream holds maxPending jobs', async () => {
    const q = await queue({ maxPending: 3 });
    for (let n = 0; n < 3; n++) await q.publish(job(n));
    let published = false;
    const fourth = q.publish(job(3)).then(() => {
      published = true;
    });
    await sleep(1000);
    expect(published).toBe(false);
    expect(await q.depth()).toBe(3);
    const c = run(q, (d) => d.ack());
    await fourth;
    await until(() => c.seen.length === 4);
    await c.stop();
  });

  it('pulls only what the consume loop asks for and hands back what it held when it stops', async () => {
    // A long ack wait: a job held back by a stopped loop would be stuck for 30 s unless it is nak-ed.
    const q = await queue({ ackWaitMs: 30_000 });
    await q.publish(job(1, 'alpha'));
    await q.publish(job(2, 'beta'));
    await q.publish(job(3, 'beta'));
    const stop = new AbortController();
    const deliveries = q.consume({ models: ['alpha', 'beta'], signal: stop.signal })[Symbol.asyncIterator]();
    const first = await deliveries.next();
    expect(first.done).toBe(false);
    // Both models' pumps were asked for one job; the loop took one, the other waits in the mailbox.
    await sleep(500);
    stop.abort();
    await deliveries.return?.();

    const other = run(q, (d) => d.ack(), { models: ['alpha', 'beta'] });
    await until(() => other.seen.length === 2, 5000);
    await other.stop();
    const held = (first.value as JobDelivery).job.id;
    expect(other.seen.map((s) => s.id)).not.toContain(held);
    expect(await q.depth()).toBe(1);
  });
});

describe('JetStreamQueue across NATS outages', () => {
  it('loses nothing when NATS restarts mid-run (file store)', async () => {
    const nats = await startNatsServer();
    try {
      const producer = await queue({}, nats.url);
      const worker = await peer(producer, { ackWaitMs: 2000 }, nats.url);
      const acked = new Set<string>();
      const c = run(
        worker,
        async (d) => {
          await sleep(20);
          await d.ack();
          acked.add(d.job.id);
        },
        { models: ['particles'] },
      );
      for (let n = 0; n < 20; n++) await producer.publish(job(n));
      await until(() => acked.size >= 5);

      await nats.stop();
      await until(() => !producer.isConnected() && !worker.isConnected());
      // Ingest keeps publishing through the outage: these wait for the server to come back.
      const duringOutage = Promise.all([20, 21, 22, 23, 24].map((n) => producer.publish(job(n))));
      await sleep(1000);
      await nats.start();

      await duringOutage;
      await until(() => producer.isConnected() && worker.isConnected());
      await until(() => acked.size === 25, 40_000);
      await until(async () => (await producer.depth()) === 0, 20_000);
      await c.stop();
      expect([...acked].sort()).toEqual(Array.from({ length: 25 }, (_, n) => job(n).id).sort());
    } finally {
      await Promise.all(open.splice(0).map((q) => q.close()));
      await nats.close();
    }
  });

  it('sets the stream and consumers up again when NATS comes back without its store', async () => {
    const nats = await startNatsServer();
    try {
      const q = await queue({}, nats.url);
      await q.publish(job(1));
      const acked: string[] = [];
      const c = run(
        q,
        async (d) => {
          await d.ack();
          acked.push(d.job.id);
        },
        { models: ['particles'] },
      );
      await until(() => acked.length === 1);
      await nats.stop();
      await fs.rm(nats.storeDir, { recursive: true, force: true });
      await nats.start();
      await q.publish(job(2));
      await until(() => acked.length === 2, 30_000);
      await c.stop();
      expect(acked).toEqual([job(1).id, job(2).id]);
    } finally {
      await Promise.all(open.splice(0).map((q) => q.close()));
      await nats.close();
    }
  });

  it('keeps trying to connect while NATS is down and connects once it is up', async () => {
    const nats = await startNatsServer({ startStopped: true });
    try {
      let connected = false;
      const connecting = JetStreamQueue.connect({ servers: nats.url, ackWaitMs: 5000, maxDeliver: 3 }).then(
        (q) => {
          connected = true;
          open.push(q);
          return q;
        },
      );
      await sleep(2000);
      expect(connected).toBe(false);
      await nats.start();
      const q = await connecting;
      expect(q.isConnected()).toBe(true);
      await q.publish(job(1));
      expect(await q.depth()).toBe(1);
    } finally {
      await Promise.all(open.splice(0).map((q) => q.close()));
      await nats.close();
    }
  });

  it('gives up connecting when its signal aborts', async () => {
    const nats = await startNatsServer({ startStopped: true });
    try {
      const signal = AbortSignal.timeout(1000);
      await expect(
        JetStreamQueue.connect({ servers: nats.url, ackWaitMs: 5000, maxDeliver: 3, signal }),
      ).rejects.toThrow();
    } finally {
      await nats.close();
    }
  });
});
