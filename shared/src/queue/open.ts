import type { JetStreamClient } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import { EmbeddedQueue } from './embedded.ts';
import { jobLogFields, type OnExhausted } from './exhausted.ts';
import type { JobQueue } from './types.ts';

/** What the queue needs from the settings. */
export interface QueueConfig {
  /** NATS server(s) with JetStream; unset means the embedded queue. */
  natsUrl?: string;
  /** Most jobs the embedded queue holds (JetStream has its own bound). */
  capacity: number;
  ackWaitMs: number;
  maxDeliver: number;
}

export interface OpenQueueOptions {
  /** The service, for the NATS connection name. */
  name: string;
  /** This node's name, for the NATS connection name. */
  node: string;
  logger: Logger;
  /** Stops the start-up connection attempts. */
  signal?: AbortSignal;
}

export interface OpenedQueue {
  queue: JobQueue;
  /** For readiness. */
  connected(): boolean;
  engine: 'jetstream' | 'embedded';
  /** The JetStream client of the queue's connection, for the hive; unset with the embedded queue. */
  jetstream?: JetStreamClient;
}

/**
 * The one place the queue engine is chosen: JetStream when `natsUrl` is set (the device and the
 * hive), otherwise the embedded one (everything in one process).
 */
export async function openQueue(config: QueueConfig, options: OpenQueueOptions): Promise<OpenedQueue> {
  const { logger } = options;
  const onExhausted: OnExhausted = (job) =>
    logger.error(jobLogFields(job), `${job.image.path}: no attempt finished for ${job.model.name}; gave up`);
  if (config.natsUrl) {
    // Loaded only here: the NATS client costs about 0.1 s of start-up that the embedded queue (the
    // CLI, `npm start` without NATS_URL) would pay for nothing.
    const { JetStreamQueue } = await import('./jetstream/queue.ts');
    const queue = await JetStreamQueue.connect({
      servers: config.natsUrl,
      ackWaitMs: config.ackWaitMs,
      maxDeliver: config.maxDeliver,
      name: `${options.name}@${options.node}`,
      logger,
      onExhausted,
      signal: options.signal,
    });
    return { queue, connected: () => queue.isConnected(), engine: 'jetstream', jetstream: queue.jetstream() };
  }
  const queue = new EmbeddedQueue({
    capacity: config.capacity,
    ackWaitMs: config.ackWaitMs,
    maxDeliver: config.maxDeliver,
    onExhausted,
    logger,
  });
  return { queue, connected: () => true, engine: 'embedded' };
}
