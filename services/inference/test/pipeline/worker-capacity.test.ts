import { EventEmitter } from 'node:events';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EmbeddedQueue, type Job, makeJob, sha256 } from '@scopehive/shared';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAnalysisWorker } from '../../src/compose-analysis.ts';
import { loadModel } from '../../src/model/loader.ts';
import type { LoadedModel, ModelSet } from '../../src/model/model.ts';
import type { AnalysisResult, FolderSettings, ImageSource, ResultSink } from '../../src/pipeline/stages.ts';
import type { InferenceWorker } from '../../src/pipeline/worker.ts';

/**
 * The hive's scheduling rule, on the real worker loop with a real model: a worker holds at most one
 * job per session and one more, so a job it cannot run yet stays in the queue for a faster node;
 * and a job for a model it does not have goes back to the queue rather than being dropped.
 */

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const sharedDir = process.env.SCOPEHIVE_SHARED_DIR ?? path.resolve(repoRoot, '../shared');
const logger = pino({ level: 'silent' });

/** Reads that wait until the test lets them go: a job is in hand from its read until it settles. */
class GatedSource implements ImageSource {
  started = 0;
  #gate!: () => void;
  readonly #open = new Promise<void>((resolve) => {
    this.#gate = resolve;
  });
  /** `bytes(job)`: the content the job was made for. */
  constructor(private readonly bytes: (job: Job) => Buffer) {}
  async read(job: Job): Promise<Buffer> {
    this.started += 1;
    await this.#open;
    return this.bytes(job);
  }
  folderSettings(): Promise<FolderSettings> {
    return Promise.resolve({});
  }
  release(): void {
    this.#gate();
  }
}

class CountingSink implements ResultSink {
  readonly written: Job[] = [];
  isDone(): Promise<boolean> {
    return Promise.resolve(false);
  }
  async write(_result: AnalysisResult, job: Job): Promise<void> {
    this.written.push(job);
  }
  async reject(): Promise<void> {}
}

/** `removed`: the model is unloaded after the consumer asked for its jobs (a job in flight meets it). */
function modelSet(model: LoadedModel, removed = false): ModelSet {
  const events = new EventEmitter();
  return {
    list: () => [model],
    get: (name) => (name === model.name && !removed ? model : undefined),
    on: (event, listener) => events.on(event, listener),
    off: (event, listener) => events.off(event, listener),
  };
}

/** Lets every pending promise callback and I/O callback run: the in-process queue needs no timer. */
async function settleCallbacks(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
}

async function until(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('worker capacity (hive scheduling)', () => {
  let model: LoadedModel;
  let image: Buffer;

  beforeAll(async () => {
    const file = path.join(sharedDir, 'models', 'yolov8n-uint8.onnx');
    const bytes = await fs.readFile(file);
    model = await loadModel({
      name: 'yolov8n',
      file,
      bytes,
      sha256: sha256(bytes),
      providers: ['cpu'],
      threads: 1,
      sessions: 1,
      defaults: { confidence: 0.25, iou: 0.45, maxDetections: 300 },
      logger,
    });
    image = await fs.readFile(path.join(sharedDir, 'images', 'bus.jpg'));
  });

  afterAll(async () => {
    await model?.dispose();
  });

  /** Image i: bus.jpg with one byte of its own after the end (a distinct file that decodes the same). */
  const imageNumber = (i: number) => Buffer.concat([image, Buffer.from([i])]);
  const contentOf = (job: Job) => imageNumber(Number(/img-(\d+)\.jpg/.exec(job.image.path)?.[1]));

  function jobFor(i: number, modelName = model.name): Job {
    return makeJob({
      origin: 'microscope-1',
      image: {
        path: `img-${i}.jpg`,
        bytes: image.length + 1,
        sha256: sha256(imageNumber(i)),
      },
      model: { name: modelName, sha256: model.sha256 },
    });
  }

  async function run(holdOnlyCapacity: boolean, jobs: number, options: { removed?: boolean } = {}) {
    const queue = new EmbeddedQueue({ capacity: 100, ackWaitMs: 60_000, maxDeliver: 3, logger });
    for (let i = 0; i < jobs; i++) await queue.publish(jobFor(i));
    const lines: string[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
    const source = new GatedSource(contentOf);
    const sink = new CountingSink();
    const worker: InferenceWorker = createAnalysisWorker({
      config: {
        analysis: {
          annotate: false,
          maxPixels: 100_000_000,
          stretchLow: 0.5,
          stretchHigh: 99.5,
          tiling: 'off',
          tileOverlap: 0.2,
          wholeImagePass: false,
        },
        queue: { ackWaitMs: 60_000 },
      } as never,
      node: 'worker-1',
      queue,
      models: modelSet(model, options.removed),
      source,
      sink,
      logger: log,
      holdOnlyCapacity,
      handBackUnknownModels: holdOnlyCapacity,
    });
    worker.start();
    return { queue, source, sink, worker, lines };
  }

  it('holds one job per session and one more, and leaves the rest in the queue', async () => {
    const { queue, source, sink, worker } = await run(true, 6);
    await until(() => source.started >= 1);
    await settleCallbacks();
    expect(worker.jobsInHand()).toBe(2);
    expect(source.started).toBe(2);
    source.release();
    await until(() => sink.written.length === 6);
    expect(worker.jobsInHand()).toBe(0);
    await worker.close();
    await queue.close();
  });

  it('without the rule the worker takes more than it can run (the device default)', async () => {
    const { queue, source, sink, worker } = await run(false, 6);
    await until(() => source.started >= 1);
    await settleCallbacks();
    expect(worker.jobsInHand()).toBeGreaterThan(2);
    source.release();
    await until(() => sink.written.length === 6);
    await worker.close();
    await queue.close();
  });

  it('hands a job for a model it no longer has back to the queue instead of dropping it', async () => {
    const { queue, sink, worker, lines } = await run(true, 1, { removed: true });
    await until(() => lines.some((l) => l.includes('handed back')));
    await worker.close();
    expect(sink.written).toEqual([]);
    // Still in the queue for a node that has the model (a dropped job would be gone).
    expect(await queue.depth()).toBe(1);
    await queue.close();
  });
});
