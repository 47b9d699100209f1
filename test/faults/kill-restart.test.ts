/**
 * SIGKILL of the real `npm start` process at several points of a run, each time started again on the
 * same data folder: before any result, right after the first result, with results partly written,
 * and at random moments. Each point is arranged by freezing the process (SIGSTOP) and looking at the
 * results folder before the kill, never by sleeping.
 */
import fs from 'node:fs/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { addModel, resultFiles, waitFor } from '../integration/helpers/pipeline.ts';
import {
  leftoverTemps,
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
  PipelineProcess,
  removeFaultFolders,
} from './helpers/pipeline-process.ts';

const MODEL = 'yolo11n_int8';
const MODELS = [MODEL];

let folders: FaultFolders;
let outside: Map<string, string>;
let current: PipelineProcess | undefined;
const everyProcess: PipelineProcess[] = [];

async function start(env: Record<string, string> = {}): Promise<PipelineProcess> {
  current = await PipelineProcess.start(folders.dataDir, { env });
  everyProcess.push(current);
  return current;
}

/** How many of `images` have their result JSON now. */
async function resultsWritten(images: readonly string[]): Promise<number> {
  let n = 0;
  for (const image of images) {
    if (
      await fs.access(resultFiles(folders.resultsDir, image, MODEL).json).then(
        () => true,
        () => false,
      )
    )
      n++;
  }
  return n;
}

/**
 * Kills `proc` (SIGKILL) at the first moment `when(results written)` holds: the process is frozen,
 * the results counted, `whileFrozen` run, and only then the process killed, so the count is what the
 * kill leaves behind. Returns that count.
 */
async function killWhen(
  proc: PipelineProcess,
  images: readonly string[],
  when: (written: number) => boolean,
  what: string,
  whileFrozen: () => Promise<void> = async () => undefined,
): Promise<number> {
  let written = 0;
  await waitFor(
    async () => {
      if (proc.process.exit) throw new Error(`the process exited by itself\n${proc.process.report()}`);
      proc.freeze();
      written = await resultsWritten(images);
      if (when(written)) return true;
      if (written === images.length) throw new Error(`every result was written before ${what}`);
      proc.thaw();
      return false;
    },
    90_000,
    what,
  );
  await whileFrozen();
  await proc.kill();
  return written;
}

/** Every check of the fault suite, once the restarted process has finished the batch. */
async function expectRecovered(images: readonly string[]): Promise<void> {
  await waitAllSettled(folders, images, MODELS);
  expect(await lostImages(folders, images, MODELS)).toEqual([]);
  expect(await rowsWhenSettled(folders, images, MODELS)).toEqual([]);
  expect(await writtenOutside(folders, outside)).toEqual([]);
  await waitHealthy(current!.url);
  // Issue 8 item 9: hidden `.tmp` files of interrupted atomic writes are removed at start.
  expect(await leftoverTemps(folders.resultsDir)).toEqual([]);
  // Good images only: nothing may have been set aside because of a kill.
  expect(await fs.readdir(folders.rejectedDir)).toEqual([]);
}

beforeAll(async () => {
  folders = await makeFaultFolders();
  await addModel(folders.modelsDir, MODEL);
  outside = await outsideSnapshot(folders);
});

afterEach(async (context) => {
  if (context.task.result?.state === 'fail') for (const p of everyProcess) console.error(p.process.report());
});

afterAll(async () => {
  await Promise.allSettled(everyProcess.map((p) => p.stop()));
  await removeFaultFolders(folders);
});

describe('SIGKILL of npm start, then a restart on the same folder', () => {
  it('loses and duplicates nothing when killed before any result, right after the first, and mid-batch', async () => {
    // Bytes after each photo's end marker (as some cameras write): no structure proves them whole,
    // so every one waits out the stability window before it is taken.
    const trailer = Buffer.from('camera trailer after the JPEG end marker');
    const images = new Map(
      [...(await smallPhotos('run-1', 12))].map(([name, bytes]) => [name, Buffer.concat([bytes, trailer])]),
    );
    const names = [...images.keys()];
    await dropAll(folders.inboxDir, images);

    // Before any result: the first look comes as soon as the process is ready, 30 s before any photo
    // can be taken.
    const first = await start({ SCOPEHIVE_STABLE_MS: '30000' });
    expect(await killWhen(first, names, (n) => n === 0, 'a moment with no result')).toBe(0);

    // Right after the first result JSON appears.
    const second = await start();
    expect(await killWhen(second, names, (n) => n >= 1, 'the first result')).toBeGreaterThan(0);

    // With results partly written: the first moment a further one is done. Both by construction,
    // not by luck (between two looks a busy machine can let a process finish the batch): three
    // photos are dropped before the start, so there is always a further one to do, and three more
    // while it is frozen, so the kill always leaves work behind.
    const done = await resultsWritten(names);
    const extra = [...(await smallPhotos('run-1', 18, 'late'))].slice(12);
    const before = new Map(extra.slice(0, 3));
    const meanwhile = new Map(extra.slice(3));
    await dropAll(folders.inboxDir, before);
    names.push(...before.keys());
    const third = await start();
    const written = await killWhen(
      third,
      names,
      (n) => n > done,
      'a further result',
      async () => {
        await dropAll(folders.inboxDir, meanwhile);
        names.push(...meanwhile.keys());
      },
    );
    expect(written).toBeGreaterThan(done);
    expect(written).toBeLessThan(names.length);

    await start();
    await expectRecovered(names);
  }, 120_000);

  it('loses and duplicates nothing when killed at random moments of a run', async () => {
    const seed = Number(process.env.SCOPEHIVE_FAULT_SEED ?? Date.now() % 100_000);
    let state = seed;
    // A small seeded generator, so that a failing run can be repeated (SCOPEHIVE_FAULT_SEED).
    const random = () => {
      state = (state * 48271) % 2147483647;
      return state / 2147483647;
    };
    console.info(`kill-restart random moments: SCOPEHIVE_FAULT_SEED=${seed}`);
    const images = await smallPhotos('run-2', 10);
    const names = [...images.keys()];
    for (let round = 0; round < 3; round++) {
      const proc = await start();
      if (round === 0) await dropAll(folders.inboxDir, images);
      // Any moment up to two seconds in: wherever the kill lands, the checks below must hold.
      await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 2000)));
      await proc.kill();
    }
    await start();
    await expectRecovered(names);
  }, 120_000);
});
