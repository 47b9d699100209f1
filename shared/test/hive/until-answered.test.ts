import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { type Logger, pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { untilAnswered } from '../../src/hive/until-answered.ts';
import { type NatsServer, startNatsServer } from '../helpers/nats-server.ts';

/**
 * A hive start-up step against a real nats-server that is down when the step starts: the server is
 * started by the step's first warning line, so the test arranges "unanswered, then answered"
 * without any timing.
 */

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const undo of cleanup.splice(0).reverse()) await undo().catch(() => undefined);
});

function loggerCalling(onWarn: () => void): { logger: Logger; warnings: string[] } {
  const warnings: string[] = [];
  const logger = pino(
    { level: 'info' },
    {
      write(line: string) {
        const entry = JSON.parse(line) as { level: number; msg: string };
        if (entry.level !== 40) return;
        warnings.push(entry.msg);
        if (warnings.length === 1) onWarn();
      },
    },
  );
  return { logger, warnings };
}

async function serverAndClient(): Promise<{ server: NatsServer; nc: NatsConnection }> {
  const server = await startNatsServer();
  cleanup.push(() => server.close());
  const nc = await connect({ servers: server.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
  cleanup.push(() => nc.close());
  return { server, nc };
}

describe('untilAnswered', () => {
  it('tries a step again while JetStream does not answer, and returns once it does', async () => {
    const { server, nc } = await serverAndClient();
    await server.stop();
    const { logger, warnings } = loggerCalling(() => void server.start());
    const info = await untilAnswered(
      'opening the test stream',
      async () =>
        (await jetstreamManager(nc, { timeout: 1000 })).streams.add({ name: 'UNTIL', subjects: ['until.>'] }),
      { logger },
    );
    expect(info.config.name).toBe('UNTIL');
    expect(warnings[0]).toBe('opening the test stream: JetStream does not answer yet, trying again');
  }, 30_000);

  it('passes a refusal on at once, without a warning', async () => {
    const { nc } = await serverAndClient();
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: 'FIRST', subjects: ['same.>'] });
    const { logger, warnings } = loggerCalling(() => undefined);
    // Subjects overlapping another stream's: the server refuses (400), retrying cannot help.
    await expect(
      untilAnswered(
        'opening the test stream',
        () => jsm.streams.add({ name: 'SECOND', subjects: ['same.>'] }),
        {
          logger,
        },
      ),
    ).rejects.toThrow(/overlap/);
    expect(warnings).toEqual([]);
  });

  it('stops when the service is closing', async () => {
    const { server, nc } = await serverAndClient();
    await server.stop();
    const closing = new AbortController();
    const { logger } = loggerCalling(() => closing.abort());
    await expect(
      untilAnswered(
        'opening the test stream',
        async () => (await jetstreamManager(nc, { timeout: 500 })).streams.info('NONE'),
        { logger, signal: closing.signal },
      ),
    ).rejects.toThrow();
  }, 30_000);
});
