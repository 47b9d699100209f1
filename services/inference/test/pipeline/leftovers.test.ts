import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sweepLeftovers } from '../../src/pipeline/leftovers.ts';

let work: string;
const logger = pino({ level: 'silent' });

beforeAll(async () => {
  work = await fs.mkdtemp(path.join(os.tmpdir(), 'scopehive-leftovers-'));
});

afterAll(() => fs.rm(work, { recursive: true, force: true }));

async function put(file: string, mtime?: Date): Promise<string> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, 'x');
  if (mtime) await fs.utimes(file, mtime, mtime);
  return file;
}

const exists = (file: string) =>
  fs.lstat(file).then(
    () => true,
    () => false,
  );

describe('sweepLeftovers: temporary files a killed writer left behind', () => {
  it('removes them from every level of our folders, and nothing else', async () => {
    const results = path.join(work, 'results');
    const rejected = path.join(work, 'rejected');
    const outside = path.join(work, 'outside');
    const start = new Date();
    const before = new Date(start.getTime() - 60_000);
    const leftovers = [
      await put(path.join(results, '.bus.yolo.json.0123456789ab.tmp'), before),
      await put(path.join(results, 'day-1/.detections.csv.abcdef012345.tmp'), before),
      await put(path.join(rejected, '.bus.jpg.reason.txt.00ff00ff00ff.tmp'), before),
    ];
    const kept = [
      // Being written by a live process: newer than this process's start.
      await put(path.join(results, '.zidane.yolo.json.0123456789ab.tmp'), new Date(start.getTime() + 1000)),
      // Not our temporary name.
      await put(path.join(results, 'notes.tmp'), before),
      await put(path.join(results, '.hidden'), before),
      await put(path.join(results, '.x.json.nothex000000.tmp'), before),
      // Behind a link planted in results/: never followed.
      await put(path.join(outside, '.secret.json.0123456789ab.tmp'), before),
    ];
    await fs.symlink(outside, path.join(results, 'link'));
    await fs.symlink(
      path.join(outside, '.secret.json.0123456789ab.tmp'),
      path.join(results, '.l.json.0123456789ab.tmp'),
    );

    const removed = await sweepLeftovers([results, rejected, path.join(work, 'missing')], {
      before: start,
      logger,
    });

    expect(removed).toBe(leftovers.length);
    for (const file of leftovers) expect(await exists(file)).toBe(false);
    for (const file of kept) expect(await exists(file)).toBe(true);
    expect(await exists(path.join(results, '.l.json.0123456789ab.tmp'))).toBe(true);
  });

  it('stops when the service closes', async () => {
    const results = path.join(work, 'stopped');
    const file = await put(path.join(results, '.a.json.0123456789ab.tmp'), new Date(Date.now() - 60_000));
    const stop = new AbortController();
    stop.abort();
    expect(await sweepLeftovers([results], { before: new Date(), logger, signal: stop.signal })).toBe(0);
    expect(await exists(file)).toBe(true);
  });
});
