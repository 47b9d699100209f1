import type { JobQueue } from '@scopehive/shared';
import { Gauge, Histogram, type Registry } from 'prom-client';

/** `image`: a worker fetching another node's image; `result`: a worker publishing a result back to its origin. */
export type TransferDirection = 'image' | 'result';

/** From 1 ms to 2 min: a thumbnail on a quiet LAN to a 200 MB micrograph on a busy one. */
const transferBuckets = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

/**
 * The hive's own metrics on a node: how long bytes take to cross between nodes, and how many jobs
 * wait for each model (the queue is shared by the hive, so every node shows the same figure).
 */
export function createHiveMetrics(
  registry: Registry,
  options: { queue?: Pick<JobQueue, 'waitingByModel'> } = {},
) {
  const registers = [registry];
  const transferSeconds = new Histogram({
    name: 'scopehive_hive_transfer_seconds',
    help: 'Time to move bytes between nodes: an image fetched by a worker, a result published back to its origin.',
    labelNames: ['direction'] as const,
    buckets: transferBuckets,
    registers,
  });
  // A rate over a series that appears with its first observation misses that observation.
  for (const direction of ['image', 'result'] as const) transferSeconds.zero({ direction });
  const { queue } = options;
  new Gauge({
    name: 'scopehive_queue_jobs_waiting',
    help: 'Jobs waiting to be delivered, by model (in flight not counted).',
    labelNames: ['model'] as const,
    registers,
    async collect() {
      this.reset();
      if (!queue) return;
      try {
        for (const [model, jobs] of await queue.waitingByModel()) this.set({ model }, jobs);
      } catch {
        // The queue is unreachable (NATS down): no value rather than a failed scrape or a false 0.
      }
    },
  });
  return {
    transferSeconds,
    /** Runs one transfer and records its duration when it succeeds; a failed one says nothing about the link. */
    async timed<T>(direction: TransferDirection, transfer: () => Promise<T>): Promise<T> {
      const end = transferSeconds.startTimer({ direction });
      const value = await transfer();
      end();
      return value;
    },
  };
}

export type HiveMetrics = ReturnType<typeof createHiveMetrics>;
