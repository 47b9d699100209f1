/**
 * Files that are not what they seem when first seen: a file written in two parts with a pause (a copy
 * that stalls), and a file replaced after ingest hashed it and before inference read it. Each is
 * analysed once, as its final content, with one set of table rows.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { ResultDocument } from '@scopehive/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { addModel, readJson, resultFiles, waitFor } from '../integration/helpers/pipeline.ts';
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
  logLines,
  makeFaultFolders,
  PipelineProcess,
  type RunningProcess,
  removeFaultFolders,
  waitReady,
} from './helpers/pipeline-process.ts';
import { NatsProcess, ServiceProcess } from './helpers/services.ts';

const MODEL = 'yolo11n_int8';
const MODELS = [MODEL];
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

let folders: FaultFolders | undefined;
let nats: NatsProcess | undefined;
let processes: RunningProcess[] = [];

afterEach(async (context) => {
  if (context.task.result?.state === 'fail') {
    for (const p of [...processes.map((s) => s.process), ...(nats?.processes ?? [])])
      console.error(p.report());
  }
  await Promise.allSettled(processes.map((p) => p.process.stop()));
  processes = [];
  await nats?.close();
  nats = undefined;
  await removeFaultFolders(folders);
  folders = undefined;
});

/** The fault suite's checks for one image whose final content is `bytes`. */
async function expectOneCurrentResult(
  f: FaultFolders,
  outside: Map<string, string>,
  image: string,
  bytes: Uint8Array,
): Promise<void> {
  const { json } = resultFiles(f.resultsDir, image, MODEL);
  const doc = await waitFor(
    async () => {
      const d = await readJson<ResultDocument>(json).catch(() => undefined);
      return d?.image.sha256 === sha256(bytes) ? d : undefined;
    },
    60_000,
    `the result of ${image} as its final content`,
  );
  expect(doc.image.bytes).toBe(bytes.length);
  expect(await lostImages(f, [image], MODELS)).toEqual([]);
  expect(await rowsWhenSettled(f, [image], MODELS)).toEqual([]);
  expect(await fs.readdir(f.rejectedDir)).toEqual([]);
  expect(await writtenOutside(f, outside)).toEqual([]);
  for (const p of processes) await waitHealthy(p.url);
}

/** NATS and a model on fresh folders: what the replaced-file tests start from. */
async function setUp(): Promise<{ f: FaultFolders; outside: Map<string, string>; nats: NatsProcess }> {
  const f = await makeFaultFolders();
  folders = f;
  await addModel(f.modelsDir, MODEL);
  const outside = await outsideSnapshot(f);
  nats = await NatsProcess.create();
  await nats.start();
  return { f, outside, nats };
}

/** Starts one of the device's services on `f` and waits until it is ready. */
async function startService(kind: 'ingest' | 'inference', f: FaultFolders): Promise<ServiceProcess> {
  const service = await ServiceProcess.start(kind, {
    dataDir: f.dataDir,
    natsUrl: nats!.url,
    node: `fault-${kind}`,
  });
  processes.push(service);
  await waitReady(service);
  return service;
}

describe('half-written and replaced files', () => {
  it('analyses a file written in two parts with a pause once, complete', async () => {
    folders = await makeFaultFolders();
    await addModel(folders.modelsDir, MODEL);
    const outside = await outsideSnapshot(folders);
    // A file is complete once unchanged for the stable time. The copy stalls half-way until the
    // watcher has noticed the half file (its debug line), then finishes at once: the stall is ordered
    // by that signal, and the stable time leaves a margin of many seconds for a busy machine.
    const stableMs = 15_000;
    const pipeline = await PipelineProcess.start(folders.dataDir, {
      env: { SCOPEHIVE_STABLE_MS: String(stableMs), SCOPEHIVE_LOG_LEVEL: 'debug' },
    });
    processes.push(pipeline);
    const [[image, bytes]] = await smallPhotos('copies', 1, 'stalled');
    const file = path.join(folders.inboxDir, ...image.split('/'));
    await fs.mkdir(path.dirname(file), { recursive: true });
    const half = Math.floor(bytes.length / 2);
    const handle = await fs.open(file, 'w');
    try {
      await handle.write(bytes, 0, half);
      await handle.sync();
      await waitFor(
        () => pipeline.logs.some((l) => l.msg === `${image} seen; waiting until it stops changing`),
        30_000,
        'the watcher to notice the half-written file',
      );
      await handle.write(bytes, half, bytes.length - half);
    } finally {
      await handle.close();
    }
    await waitAllSettled(folders, [image], MODELS);
    // Taken for complete half-way, it would have been set aside as truncated.
    expect(await fs.readdir(folders.rejectedDir)).toEqual([]);
    await expectOneCurrentResult(folders, outside, image, bytes);
  }, 60_000);

  it('analyses a file replaced after ingest hashed it and before inference read it as its final content', async () => {
    const { f, outside, nats } = await setUp();
    // Inference starts only after the replacement: ingest hashes and queues the first content, the
    // file is replaced, and only then is there anyone to read it.
    await startService('ingest', f);
    const photos = [...(await smallPhotos('replaced', 2, 'scan')).values()];
    const image = 'replaced/scan.jpg';
    const [first, final] = photos;
    await dropAll(f.inboxDir, new Map([[image, first]]));
    await waitFor(async () => (await nats!.lastJobSeq()) >= 1, 60_000, 'the job of the first content');
    await dropAll(f.inboxDir, new Map([[image, final]]));

    await startService('inference', f);
    await expectOneCurrentResult(f, outside, image, final);
    await waitFor(async () => (await nats!.jobsOutstanding()) === 0, 60_000, 'every job to be settled');
    expect(await rowsWhenSettled(f, [image], MODELS)).toEqual([]);
  }, 60_000);

  it('neither analyses nor sets aside a file inference reads half-way through being rewritten, and analyses its next version', async () => {
    const { f, outside, nats } = await setUp();
    const ingest = await startService('ingest', f);
    const [first, final] = [...(await smallPhotos('rewritten', 2, 'scan')).values()];
    const image = 'rewritten/scan.jpg';
    await dropAll(f.inboxDir, new Map([[image, first]]));
    await waitFor(async () => (await nats!.lastJobSeq()) >= 1, 60_000, 'the job of the first content');
    // The writer starts rewriting the file; no watcher sees it (ingest is stopped), so the only job is
    // the first content's, and inference reads the half-written bytes for it.
    await ingest.process.stop();
    processes = processes.filter((p) => p !== ingest);
    await fs.writeFile(path.join(f.inboxDir, ...image.split('/')), final.subarray(0, final.length >> 1));
    const inference = await startService('inference', f);
    // Settled when inference says what it did with the image (analysed, set aside or skipped).
    await waitFor(
      async () => logLines(inference.process).some((l) => l.image === image),
      60_000,
      'inference to settle the first job',
    );
    // Neither analysed half nor set aside.
    expect(await fs.readdir(f.rejectedDir)).toEqual([]);
    const { json } = resultFiles(f.resultsDir, image, MODEL);
    await expect(fs.access(json)).rejects.toThrow();
    // The writer finishes; the watcher queues the final content.
    await fs.writeFile(path.join(f.inboxDir, ...image.split('/')), final);
    await startService('ingest', f);
    await expectOneCurrentResult(f, outside, image, final);
  }, 90_000);
});
