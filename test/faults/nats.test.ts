/**
 * NATS faults with the device's separate services: a real `nats-server -js`, ingest and inference as
 * their containers start them. NATS down when they start (they wait and say so, then work), and NATS
 * SIGKILLed mid-run with jobs certainly in the stream, then started again on the same store.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { addModel, waitFor } from '../integration/helpers/pipeline.ts';
import { get } from '../stack/helpers/stack.ts';
import {
  lostImages,
  outsideSnapshot,
  rowsWhenSettled,
  waitAllSettled,
  waitHealthy,
  writtenOutside,
} from './helpers/checks.ts';
import { dropAll, smallPhotos } from './helpers/images.ts';
import {
  type FaultFolders,
  makeFaultFolders,
  removeFaultFolders,
  waitReady,
} from './helpers/pipeline-process.ts';
import { NatsProcess, ServiceProcess } from './helpers/services.ts';

const MODEL = 'yolo11n_int8';
const MODELS = [MODEL];

let folders: FaultFolders;
let outside: Map<string, string>;
let nats: NatsProcess;
let ingest: ServiceProcess;
let inference: ServiceProcess;

/** Every check of the fault suite for `images`, and both services healthy and ready. */
async function expectRecovered(images: readonly string[]): Promise<void> {
  await waitAllSettled(folders, images, MODELS);
  expect(await lostImages(folders, images, MODELS)).toEqual([]);
  await waitFor(async () => (await nats.jobsOutstanding()) === 0, 60_000, 'every job to be settled');
  expect(await rowsWhenSettled(folders, images, MODELS)).toEqual([]);
  expect(await writtenOutside(folders, outside)).toEqual([]);
  for (const service of [ingest, inference]) {
    expect(service.process.exit, `${service.name} exited`).toBeUndefined();
    await waitHealthy(service.url);
  }
}

beforeAll(async () => {
  folders = await makeFaultFolders();
  await addModel(folders.modelsDir, MODEL);
  outside = await outsideSnapshot(folders);
  nats = await NatsProcess.create();
});

afterEach(async (context) => {
  if (context.task.result?.state !== 'fail') return;
  for (const p of [...nats.processes, ingest?.process, inference?.process]) if (p) console.error(p.report());
});

afterAll(async () => {
  await Promise.allSettled([ingest, inference].map((s) => s?.process.stop()));
  await nats?.close();
  await removeFaultFolders(folders);
});

describe('NATS faults with the separate services', () => {
  it('waits for NATS when it is down at start, says so in /readyz, and works once it is up', async () => {
    const env = { dataDir: folders.dataDir, natsUrl: nats.url };
    ingest = await ServiceProcess.start('ingest', { ...env, node: 'fault-ingest' });
    inference = await ServiceProcess.start('inference', { ...env, node: 'fault-inference' });
    for (const service of [ingest, inference]) {
      await waitFor(
        async () => {
          if (service.process.exit) throw new Error(`${service.name} exited\n${service.process.report()}`);
          const res = await get(`${service.url}/readyz`);
          return res?.status === 503 && res.text.includes('waiting for NATS');
        },
        60_000,
        `${service.name} to say it waits for NATS`,
      );
    }
    const images = await smallPhotos('nats-down', 4);
    await dropAll(folders.inboxDir, images);
    await nats.start();
    await Promise.all([waitReady(ingest), waitReady(inference)]);
    await expectRecovered([...images.keys()]);
  }, 120_000);

  it('loses and duplicates nothing when NATS is SIGKILLed mid-run with jobs in the stream', async () => {
    const running = await smallPhotos('nats-kill', 4, 'first');
    await dropAll(folders.inboxDir, running);
    await waitFor(
      async () => (await lostImages(folders, [...running.keys()], MODELS)).length < running.size,
      60_000,
      'a first result',
    );
    // Jobs in the stream at the kill by construction: inference is frozen (it keeps what it holds),
    // and a second batch is queued that nobody can take.
    inference.freeze();
    const queued = await smallPhotos('nats-kill', 4, 'second');
    try {
      const before = await nats.lastJobSeq();
      await dropAll(folders.inboxDir, queued);
      await waitFor(
        async () => (await nats.lastJobSeq()) >= before + queued.size,
        60_000,
        'the second batch to be queued',
      );
      await nats.kill();
      await nats.start();
    } finally {
      inference.thaw();
    }
    await expectRecovered([...running.keys(), ...queued.keys()]);
  }, 120_000);
});
