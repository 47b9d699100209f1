import type { Logger } from 'pino';
import { EmbeddedQueue } from './queue/embedded.ts';
import { JetStreamQueue } from './queue/jetstream.ts';
import type { JobQueue } from './queue/types.ts';
import type { Settings } from './settings.ts';

/**
 * The queue a service process uses: JetStream when `NATS_URL` is set (the device and the hive),
 * otherwise the embedded one (everything in one process). `connected()` feeds readiness.
 */
export async function openQueue(
  settings: Settings,
  logger: Logger,
  options: { name: string; signal?: AbortSignal },
): Promise<{ queue: JobQueue; connected: () => boolean; engine: 'jetstream' | 'embedded' }> {
  const onExhausted = (job: { image: string; model: string }) =>
    logger.error(
      { image: job.image, model: job.model },
      `${job.image}: no attempt finished for ${job.model}; gave up`,
    );
  if (settings.natsUrl) {
    const queue = await JetStreamQueue.connect({
      servers: settings.natsUrl,
      ackWaitMs: settings.ackWaitMs,
      maxDeliver: settings.maxDeliver,
      name: `${options.name}@${settings.nodeName}`,
      logger,
      onExhausted,
      signal: options.signal,
    });
    return { queue, connected: () => queue.isConnected(), engine: 'jetstream' };
  }
  const queue = new EmbeddedQueue({
    capacity: settings.queueCapacity,
    ackWaitMs: settings.ackWaitMs,
    maxDeliver: settings.maxDeliver,
    onExhausted,
  });
  return { queue, connected: () => true, engine: 'embedded' };
}
