/**
 * The queue-depth gauge after NATS comes back from a kill: it counts the jobs still to do, not
 * acknowledged jobs that a killed server left behind in its stream. Real nats-server processes on
 * one store folder; the gauge is the inference service's own (createPipelineMetrics).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { makeJob } from '@scopehive/shared';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPipelineMetrics } from '../../services/inference/src/pipeline/metrics.ts';
import { JetStreamQueue } from '../../shared/src/queue/jetstream/queue.ts';
import { findNatsServer, freePort } from '../../shared/test/helpers/nats-server.ts';

const stream = 'SCOPEHIVE_JOBS';
let store: string;
let port: number;
let nats: ChildProcess | undefined;

/** nats-server with JetStream on `store`, resolved once it says it is ready. */
async function startNats(): Promise<void> {
  const proc = spawn(findNatsServer(), ['-js', '-sd', store, '-a', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  nats = proc;
  let log = '';
  await new Promise<void>((resolve, reject) => {
    proc.stderr?.on('data', (chunk: Buffer) => {
      log += chunk.toString();
      if (log.includes('Server is ready')) resolve();
    });
    proc.once('exit', (code) => reject(new Error(`nats-server exited (${code}):\n${log}`)));
  });
  proc.removeAllListeners('exit');
}

async function stopNats(signal: NodeJS.Signals): Promise<void> {
  const proc = nats;
  nats = undefined;
  if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  proc.kill(signal);
  await exited;
}

const url = () => `nats://127.0.0.1:${port}`;
const streamFiles = () => path.join(store, 'jetstream', '$G', 'streams', stream, 'msgs');
const openQueue = () =>
  JetStreamQueue.connect({
    servers: url(),
    ackWaitMs: 30_000,
    maxDeliver: 3,
    logger: pino({ level: 'silent' }),
  });
const job = (i: number) =>
  makeJob({
    origin: 'node-a',
    image: { path: `session/${i}.png`, bytes: 1, sha256: String(i).repeat(64) },
    model: { name: 'yolo', sha256: 'b'.repeat(64) },
  });

async function gauge(registry: Registry): Promise<number | undefined> {
  const text = await registry.getSingleMetricAsString('scopehive_queue_depth');
  const m = /^scopehive_queue_depth(?:\{[^}]*\})? (\S+)$/m.exec(text);
  return m ? Number(m[1]) : undefined;
}

beforeAll(async () => {
  store = mkdtempSync(path.join(os.tmpdir(), 'scopehive-queue-depth-'));
  port = await freePort();
});

afterAll(async () => {
  await stopNats('SIGKILL');
  rmSync(store, { recursive: true, force: true });
});

describe('scopehive_queue_depth after NATS is killed', () => {
  it('goes back to 0 when the jobs are done, though the killed server kept them in its stream', async () => {
    // Three jobs in the stream, and the stream's files as they are now.
    await startNats();
    let queue = await openQueue();
    for (let i = 0; i < 3; i++) await queue.publish(job(i));
    await queue.close();
    await stopNats('SIGTERM');
    const before = `${store}-stream-before`;
    cpSync(streamFiles(), before, { recursive: true });

    // The jobs are done: each acknowledged, and the server confirmed it.
    await startNats();
    queue = await openQueue();
    const done = new Set<string>();
    for await (const delivery of queue.consume({ models: ['yolo'] })) {
      await delivery.ack();
      done.add(delivery.job.id);
      if (done.size === 3) break;
    }
    expect(await queue.depth()).toBe(0);
    await queue.close();

    // What a SIGKILL can leave on disk: the consumer's acknowledgements kept, the stream's removal
    // of the acknowledged jobs lost. (The server is stopped cleanly so that the consumer's side is
    // certainly on disk; the stream's side is then put back as it was before the acknowledgements.)
    await stopNats('SIGTERM');
    rmSync(streamFiles(), { recursive: true });
    cpSync(before, streamFiles(), { recursive: true });
    rmSync(before, { recursive: true });
    await startNats();

    // The premise: the restarted server holds the three jobs, and its consumer has none to deliver.
    const nc = await connect({ servers: url() });
    try {
      const jsm = await jetstreamManager(nc);
      expect((await jsm.streams.info(stream)).state.messages).toBe(3);
      const consumer = await jsm.consumers.info(stream, 'inference-yolo');
      expect(consumer.num_pending + consumer.num_ack_pending).toBe(0);
    } finally {
      await nc.close();
    }

    queue = await openQueue();
    try {
      const registry = new Registry();
      createPipelineMetrics(registry, { rateWindowS: 60, queueDepth: () => queue.depth() });
      expect(await gauge(registry)).toBe(0);
      expect(await queue.depth()).toBe(0);

      // And it still counts real work: a new job waits, then is done.
      await queue.publish(job(3));
      expect(await gauge(registry)).toBe(1);
      for await (const delivery of queue.consume({ models: ['yolo'] })) {
        expect(await gauge(registry)).toBe(1);
        await delivery.ack();
        break;
      }
      expect(await gauge(registry)).toBe(0);
    } finally {
      await queue.close();
    }
  });
});
