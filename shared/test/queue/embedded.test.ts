import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { Job } from '../../src/job.ts';
import { EmbeddedQueue, type EmbeddedQueueOptions } from '../../src/queue/embedded.ts';
import type { ConsumeOptions, JobDelivery } from '../../src/queue/types.ts';
import { logLines } from './log-lines.ts';
import { testJob as job } from './test-job.ts';

const open: EmbeddedQueue[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((q) => q.close()));
});

function queue(options: Partial<EmbeddedQueueOptions> = {}): EmbeddedQueue {
  const q = new EmbeddedQueue({ capacity: 100, ackWaitMs: 60_000, maxDeliver: 3, ...options });
  open.push(q);
  return q;
}

const TIMEOUT = Symbol('timeout');

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; !check(); i++) {
    if (i > 2000) throw new Error('condition not met in time');
    await sleep(5);
  }
}

/** One consumer, read a delivery at a time; a read that timed out stays pending for the next call. */
function reader(q: EmbeddedQueue, options?: ConsumeOptions) {
  const it = q.consume(options)[Symbol.asyncIterator]();
  let pending: Promise<IteratorResult<JobDelivery>> | undefined;
  const next = async (ms: number) => {
    pending ??= it.next();
    const r = await Promise.race([pending, sleep(ms).then((): typeof TIMEOUT => TIMEOUT)]);
    if (r !== TIMEOUT) pending = undefined;
    return r;
  };
  return {
    /** The next delivery; fails when none comes within `ms`. */
    async delivery(ms = 2000): Promise<JobDelivery> {
      const r = await next(ms);
      if (r === TIMEOUT) throw new Error(`no delivery within ${ms} ms`);
      if (r.done) throw new Error('consume ended');
      return r.value;
    },
    /** True when nothing is delivered within `ms`. */
    async idle(ms: number): Promise<boolean> {
      return (await next(ms)) === TIMEOUT;
    },
    /** True when the iteration finishes within `ms`. */
    async ended(ms = 2000): Promise<boolean> {
      const r = await next(ms);
      return r !== TIMEOUT && r.done === true;
    },
  };
}

/** Whether `p` has settled after the pending callbacks of this turn have run. */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  void p.then(
    () => {
      done = true;
    },
    () => {
      done = true;
    },
  );
  await sleep(10);
  return done;
}

describe('EmbeddedQueue delivery', () => {
  it('delivers jobs first in, first out, each on its first attempt', async () => {
    const q = queue({ maxDeliver: 5 });
    for (const n of [1, 2, 3]) await q.publish(job(n));
    const r = reader(q);
    const got = [await r.delivery(), await r.delivery(), await r.delivery()];
    expect(got.map((d) => d.job.id)).toEqual([job(1).id, job(2).id, job(3).id]);
    expect(got.map((d) => d.attempt)).toEqual([1, 1, 1]);
    expect(got[0].maxDeliver).toBe(5);
    expect(got[0].job).toEqual(job(1));
  });

  it('counts waiting and in-flight jobs in depth(), and forgets acknowledged ones', async () => {
    const q = queue();
    expect(await q.depth()).toBe(0);
    await q.publish(job(1));
    await q.publish(job(2));
    expect(await q.depth()).toBe(2);
    const r = reader(q);
    const d = await r.delivery();
    expect(await q.depth()).toBe(2);
    await d.ack();
    expect(await q.depth()).toBe(1);
    await (await r.delivery()).ack();
    expect(await q.depth()).toBe(0);
  });

  it('ignores a job id that is already waiting', async () => {
    const q = queue();
    await q.publish(job(1));
    await q.publish({ ...job(1), seenAt: 5 });
    expect(await q.depth()).toBe(1);
    const r = reader(q);
    expect((await r.delivery()).job.seenAt).toBe(job(1).seenAt);
    expect(await r.idle(50)).toBe(true);
  });

  it('ignores a job id that is in flight, and accepts it again once acknowledged', async () => {
    const q = queue();
    await q.publish(job(1));
    const r = reader(q);
    const first = await r.delivery();
    await q.publish(job(1));
    expect(await q.depth()).toBe(1);
    expect(await r.idle(50)).toBe(true);
    await first.ack();
    await q.publish(job(1));
    const again = await r.delivery();
    expect(again.job.id).toBe(job(1).id);
    expect(again.attempt).toBe(1);
  });

  it('hands each consumer only the models it asked for', async () => {
    const q = queue();
    await q.publish(job(1, 'cells'));
    await q.publish(job(2, 'particles'));
    await q.publish(job(3, 'cells'));
    const particles = reader(q, { models: ['particles'] });
    expect((await particles.delivery()).job.id).toBe(job(2).id);
    expect(await particles.idle(50)).toBe(true);
    const cells = reader(q, { models: ['cells', 'pores'] });
    expect((await cells.delivery()).job.id).toBe(job(1, 'cells').id);
    expect((await cells.delivery()).job.id).toBe(job(3, 'cells').id);
    await q.publish(job(4, 'particles'));
    expect((await particles.delivery()).job.id).toBe(job(4).id);
  });
});

describe('EmbeddedQueue backpressure', () => {
  it('makes publish wait while the queue is full until an ack frees room', async () => {
    const q = queue({ capacity: 2 });
    await q.publish(job(1));
    await q.publish(job(2));
    const third = q.publish(job(3));
    expect(await settled(third)).toBe(false);

    const r = reader(q);
    const d1 = await r.delivery();
    // Delivered but not settled still takes room.
    expect(await settled(third)).toBe(false);
    expect(await q.depth()).toBe(2);

    await d1.ack();
    expect(await settled(third)).toBe(true);
    expect(await q.depth()).toBe(2);
    expect((await r.delivery()).job.id).toBe(job(2).id);
    expect((await r.delivery()).job.id).toBe(job(3).id);
  });

  it('does not make a duplicate wait for room', async () => {
    const q = queue({ capacity: 1 });
    await q.publish(job(1));
    expect(await settled(q.publish(job(1)))).toBe(true);
    expect(await q.depth()).toBe(1);
  });
});

describe('EmbeddedQueue redelivery', () => {
  it('delivers a job again with attempt + 1 when its ack wait expires', async () => {
    const q = queue({ ackWaitMs: 50 });
    await q.publish(job(1));
    const r = reader(q);
    const first = await r.delivery();
    expect(first.attempt).toBe(1);
    const started = Date.now();
    const second = await r.delivery();
    expect(Date.now() - started).toBeGreaterThanOrEqual(40);
    expect(second.job.id).toBe(job(1).id);
    expect(second.attempt).toBe(2);
    expect(await q.depth()).toBe(1);
  });

  it('puts a timed-out job at the front of the queue', async () => {
    const q = queue({ ackWaitMs: 50 });
    await q.publish(job(1));
    const r = reader(q);
    await r.delivery();
    await q.publish(job(2));
    await sleep(100);
    const next = await r.delivery();
    expect([next.job.id, next.attempt]).toEqual([job(1).id, 2]);
  });

  it('ignores the ack of a stale delivery after the job was delivered again', async () => {
    const q = queue({ ackWaitMs: 50 });
    await q.publish(job(1));
    const r = reader(q);
    const stale = await r.delivery();
    const fresh = await r.delivery();
    expect(fresh.attempt).toBe(2);
    await stale.ack();
    await stale.term('late');
    await stale.nak();
    expect(await q.depth()).toBe(1);
    await fresh.ack();
    expect(await q.depth()).toBe(0);
    expect(await r.idle(120)).toBe(true);
  });

  it('keeps a job that reports working() past its ack wait', async () => {
    const q = queue({ ackWaitMs: 80 });
    await q.publish(job(1));
    const r = reader(q);
    const d = await r.delivery();
    for (let i = 0; i < 5; i++) {
      await sleep(40);
      await d.working();
    }
    expect(await r.idle(20)).toBe(true);
    await d.ack();
    expect(await r.idle(150)).toBe(true);
    expect(await q.depth()).toBe(0);
  });

  it('nak() without delay puts the job behind the jobs already waiting', async () => {
    const q = queue();
    await q.publish(job(1));
    await q.publish(job(2));
    const r = reader(q);
    await (await r.delivery()).nak();
    const next = await r.delivery();
    const last = await r.delivery();
    expect([next.job.id, next.attempt]).toEqual([job(2).id, 1]);
    expect([last.job.id, last.attempt]).toEqual([job(1).id, 2]);
  });

  it('nak(delay) delivers the job again only after the delay', async () => {
    const q = queue();
    await q.publish(job(1));
    const r = reader(q);
    const first = await r.delivery();
    const started = Date.now();
    await first.nak(150);
    expect(await r.idle(75)).toBe(true);
    // Still counted while it waits out the delay, so its id is not accepted again.
    expect(await q.depth()).toBe(1);
    await q.publish(job(1));
    const second = await r.delivery();
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(second.attempt).toBe(2);
    expect(await r.idle(50)).toBe(true);
  });

  it('gives a job up to onExhausted after maxDeliver timed-out deliveries', async () => {
    const exhausted: Job[] = [];
    const q = queue({ ackWaitMs: 50, maxDeliver: 2, onExhausted: (j) => void exhausted.push(j) });
    await q.publish(job(1));
    const r = reader(q);
    expect((await r.delivery()).attempt).toBe(1);
    const last = await r.delivery();
    expect([last.attempt, last.maxDeliver]).toEqual([2, 2]);
    expect(await r.idle(150)).toBe(true);
    expect(exhausted).toEqual([job(1)]);
    expect(await q.depth()).toBe(0);
  });

  it('gives a job up to onExhausted when its last delivery is nak-ed', async () => {
    const exhausted: string[] = [];
    const q = queue({ maxDeliver: 2, onExhausted: (j) => void exhausted.push(j.id) });
    await q.publish(job(1));
    const r = reader(q);
    await (await r.delivery()).nak();
    expect(exhausted).toEqual([]);
    await (await r.delivery()).nak(10);
    expect(exhausted).toEqual([job(1).id]);
    expect(await q.depth()).toBe(0);
    expect(await r.idle(60)).toBe(true);
  });

  it('logs a job it gives up on, by image and model, when no one else is told', async () => {
    const { logger, lines } = logLines();
    const q = queue({ maxDeliver: 1, logger });
    await q.publish(job(1, 'cells'));
    await (await reader(q).delivery()).nak();
    expect(lines).toEqual([
      expect.objectContaining({
        level: 50,
        job: job(1, 'cells').id,
        origin: 'node-a',
        image: 'run1/img1.tif',
        model: 'cells',
        deliveries: 1,
      }),
    ]);
  });

  it('survives an onExhausted that fails, logging it, and keeps delivering', async () => {
    const { logger, lines } = logLines();
    const q = queue({
      ackWaitMs: 50,
      maxDeliver: 1,
      logger,
      onExhausted: () => {
        throw new Error('report store is down');
      },
    });
    await q.publish(job(1));
    await q.publish(job(2));
    const r = reader(q);
    await (await r.delivery()).nak();
    // The second one is given up from the ack-wait timer, where a throw would end the process.
    expect((await r.delivery()).job.id).toBe(job(2).id);
    await until(() => lines.length === 2);
    expect(lines.map((l) => [l.job, (l.err as { message: string }).message])).toEqual([
      [job(1).id, 'report store is down'],
      [job(2).id, 'report store is down'],
    ]);
    await q.publish(job(3));
    expect((await r.delivery()).job.id).toBe(job(3).id);
  });

  it('never delivers a terminated job again, even after its ack wait', async () => {
    const exhausted: Job[] = [];
    const q = queue({ ackWaitMs: 50, onExhausted: (j) => void exhausted.push(j) });
    await q.publish(job(1));
    const r = reader(q);
    await (await r.delivery()).term('corrupt image');
    expect(await q.depth()).toBe(0);
    expect(await r.idle(150)).toBe(true);
    expect(exhausted).toEqual([]);
  });
});

describe('EmbeddedQueue shutdown', () => {
  it('ends a waiting consume when its signal aborts', async () => {
    const q = queue();
    const controller = new AbortController();
    const r = reader(q, { signal: controller.signal });
    expect(await r.idle(30)).toBe(true);
    controller.abort();
    expect(await r.ended()).toBe(true);
    // The job stays for other consumers.
    await q.publish(job(1));
    expect((await reader(q).delivery()).job.id).toBe(job(1).id);
  });

  it('delivers nothing to an already aborted consumer', async () => {
    const q = queue();
    await q.publish(job(1));
    const r = reader(q, { signal: AbortSignal.abort() });
    expect(await r.ended()).toBe(true);
    expect(await q.depth()).toBe(1);
  });

  it('close() ends consumers, refuses new jobs and releases publishers waiting for room', async () => {
    const exhausted: Job[] = [];
    const q = queue({
      capacity: 1,
      ackWaitMs: 50,
      maxDeliver: 1,
      onExhausted: (j) => void exhausted.push(j),
    });
    await q.publish(job(1));
    const r = reader(q);
    await r.delivery();
    const blocked = q.publish(job(2));
    const consumer = reader(q);
    expect(await consumer.idle(20)).toBe(true);

    await q.close();
    await expect(blocked).rejects.toThrow('queue is closed');
    await expect(q.publish(job(3))).rejects.toThrow('queue is closed');
    expect(await consumer.ended()).toBe(true);
    expect(await r.ended()).toBe(true);
    // The ack-wait timer was cleared: the unsettled job is not given up after close.
    await sleep(100);
    expect(exhausted).toEqual([]);
  });
});
