import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedQueue } from '../../src/queue/embedded.ts';
import { modelToken } from '../../src/queue/jetstream/provision.ts';
import { JetStreamQueue } from '../../src/queue/jetstream/queue.ts';
import type { JobDelivery, JobQueue } from '../../src/queue/types.ts';
import { type NatsServer, startNatsServer } from '../helpers/nats-server.ts';
import { testJob as job } from './test-job.ts';

/** Jobs waiting per model (the Hive dashboard's queue depth), on both engines. */

let server: NatsServer;
const open: JobQueue[] = [];
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

async function jetStreamQueue(): Promise<JetStreamQueue> {
  streamSerial += 1;
  const q = await JetStreamQueue.connect({
    servers: server.url,
    stream: `WAITING_${streamSerial}`,
    subjectPrefix: `waiting${streamSerial}.jobs`,
    ackWaitMs: 30_000,
    maxDeliver: 3,
  });
  open.push(q);
  return q;
}

/** Takes deliveries of `model` until `count` arrived; the iteration is left open (jobs stay in hand). */
async function take(q: JobQueue, model: string, count: number): Promise<JobDelivery[]> {
  const got: JobDelivery[] = [];
  for await (const d of q.consume({ models: [model] })) {
    got.push(d);
    if (got.length === count) break;
  }
  return got;
}

async function waitingUntil(q: JobQueue, expected: Record<string, number>): Promise<void> {
  const deadline = Date.now() + 20_000;
  let last: Record<string, number> = {};
  for (;;) {
    last = Object.fromEntries(await q.waitingByModel());
    if (JSON.stringify(Object.entries(last).sort()) === JSON.stringify(Object.entries(expected).sort()))
      return;
    if (Date.now() > deadline)
      throw new Error(`waiting was ${JSON.stringify(last)}, expected ${JSON.stringify(expected)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('waitingByModel', () => {
  it('embedded: counts jobs not in hand per model, a nak’ed one waiting out its delay included', async () => {
    const q = new EmbeddedQueue({ capacity: 10, ackWaitMs: 30_000, maxDeliver: 3 });
    open.push(q);
    expect(await q.waitingByModel()).toEqual(new Map());
    for (let n = 0; n < 3; n++) await q.publish(job(n, 'particles'));
    await q.publish(job(9, 'cells'));
    await waitingUntil(q, { particles: 3, cells: 1 });
    const [first] = await take(q, 'particles', 1);
    await waitingUntil(q, { particles: 2, cells: 1 });
    await first.nak(60_000);
    await waitingUntil(q, { particles: 3, cells: 1 });
  });

  it('jetstream: counts each model’s jobs still to deliver, also for a model nobody serves yet', async () => {
    const q = await jetStreamQueue();
    for (let n = 0; n < 3; n++) await q.publish(job(n, 'particles'));
    await q.publish(job(9, 'cells'));
    await q.publish(job(10, 'yolo.sem'));
    // No consumer yet: the subjects' messages.
    await waitingUntil(q, { particles: 3, cells: 1, [modelToken('yolo.sem')]: 1 });
    // Delivered (in hand) is not waiting; acknowledged is gone.
    const delivered = await take(q, 'particles', 3);
    await waitingUntil(q, { particles: 0, cells: 1, [modelToken('yolo.sem')]: 1 });
    for (const d of delivered) await d.ack();
    await waitingUntil(q, { particles: 0, cells: 1, [modelToken('yolo.sem')]: 1 });
  });
});
