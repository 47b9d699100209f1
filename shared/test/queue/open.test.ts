import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openQueue } from '../../src/queue/open.ts';
import { type NatsServer, startNatsServer } from '../helpers/nats-server.ts';
import { logLines } from './log-lines.ts';
import { testJob } from './test-job.ts';

const config = { capacity: 10, ackWaitMs: 60_000, maxDeliver: 1 };

describe('openQueue', () => {
  let server: NatsServer;
  beforeAll(async () => {
    server = await startNatsServer();
  });
  afterAll(async () => {
    await server?.close();
  });

  it('opens the embedded queue when no NATS URL is set, and logs a job it gives up on', async () => {
    const { logger, lines } = logLines();
    const opened = await openQueue(config, { name: 'ingest', node: 'node-a', logger });
    try {
      expect([opened.engine, opened.connected()]).toEqual(['embedded', true]);
      await opened.queue.publish(testJob(1, 'cells'));
      for await (const d of opened.queue.consume()) {
        await d.nak();
        break;
      }
      expect(lines).toEqual([
        expect.objectContaining({
          level: 50,
          image: 'run1/img1.tif',
          model: 'cells',
          msg: 'run1/img1.tif: no attempt finished for cells; gave up',
        }),
      ]);
    } finally {
      await opened.queue.close();
    }
  });

  it('opens JetStream when a NATS URL is set, named after the service and the node', async () => {
    const { logger } = logLines();
    const opened = await openQueue(
      { ...config, natsUrl: server.url },
      { name: 'ingest', node: 'node-a', logger },
    );
    try {
      expect([opened.engine, opened.connected()]).toEqual(['jetstream', true]);
      const connz = (await (await fetch(`http://127.0.0.1:${server.monitorPort}/connz`)).json()) as {
        connections: Array<{ name?: string }>;
      };
      expect(connz.connections.map((c) => c.name)).toContain('ingest@node-a');
    } finally {
      await opened.queue.close();
    }
    expect(opened.connected()).toBe(false);
  });
});
