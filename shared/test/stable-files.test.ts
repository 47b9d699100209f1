import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isHiddenOrPartial, StableFiles, type StableFilesOptions } from '../src/fs/stable-files.ts';
import { isImageFile } from '../src/images.ts';

const STABLE_MS = 250;

let root: string;
const watchers: StableFiles[] = [];

beforeEach(async () => {
  root = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'scopehive-inbox-')));
});
afterEach(async () => {
  await Promise.all(watchers.splice(0).map((w) => w.close()));
  await fs.rm(root, { recursive: true, force: true });
});

interface Seen {
  stable: Array<{ file: string; size: number; at: number }>;
  removed: string[];
}

/** A started watcher on `root` and the events it reported so far. */
async function watch(options: Partial<StableFilesOptions> = {}) {
  const watcher = new StableFiles({
    root,
    stableMs: STABLE_MS,
    usePolling: false,
    pollIntervalMs: 50,
    accept: isImageFile,
    ...options,
  });
  watchers.push(watcher);
  const seen: Seen = { stable: [], removed: [] };
  watcher.on('stable', (file, stats) => seen.stable.push({ file, size: stats.size, at: Date.now() }));
  watcher.on('removed', (file) => seen.removed.push(file));
  watcher.on('error', (err) => {
    throw err;
  });
  await watcher.start();
  return { watcher, seen };
}

/** Waits until `done()` holds, polling every 10 ms; fails after `ms`. */
async function until(done: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms`);
    await sleep(10);
  }
}

describe('StableFiles', () => {
  it('reports a file written in chunks once, only after it stopped changing for stableMs', async () => {
    const { seen } = await watch();
    const file = path.join(root, 'img1.tif');
    const handle = await fs.open(file, 'w');
    // Ten chunks, one every 80 ms: the copy takes about three times stableMs but never pauses that long.
    let lastWrite = 0;
    for (let i = 0; i < 10; i++) {
      await handle.write(Buffer.alloc(4096, i));
      await handle.sync();
      lastWrite = Date.now();
      expect(seen.stable).toEqual([]);
      await sleep(80);
    }
    await handle.close();
    await until(() => seen.stable.length > 0);
    await sleep(STABLE_MS * 2);
    expect(seen.stable.map((s) => [s.file, s.size])).toEqual([[file, 40_960]]);
    expect(seen.stable[0].at - lastWrite).toBeGreaterThanOrEqual(STABLE_MS - 10);
  });

  it('reports files already in the folder at start, in subfolders too', async () => {
    await fs.mkdir(path.join(root, 'run1', 'grid2'), { recursive: true });
    await fs.writeFile(path.join(root, 'a.png'), 'a');
    await fs.writeFile(path.join(root, 'run1', 'grid2', 'b.JPG'), 'bb');
    const { watcher, seen } = await watch();
    await until(() => seen.stable.length === 2);
    expect(seen.stable.map((s) => [s.file, s.size]).sort()).toEqual([
      [path.join(root, 'a.png'), 1],
      [path.join(root, 'run1', 'grid2', 'b.JPG'), 2],
    ]);
    expect(watcher.pendingCount).toBe(0);
  });

  it('never reports hidden files, partial downloads or files the filter refuses', async () => {
    const { seen } = await watch();
    await fs.mkdir(path.join(root, '.sync'));
    for (const name of ['.x.jpg', 'a.jpg.part', '~$a.jpg', 'a.crdownload', 'b.jpg.tmp', 'notes.txt']) {
      await fs.writeFile(path.join(root, name), 'data');
    }
    await fs.writeFile(path.join(root, '.sync', 'c.jpg'), 'data');
    await fs.writeFile(path.join(root, 'ok.jpg'), 'data');
    await until(() => seen.stable.length > 0);
    await sleep(STABLE_MS * 2);
    expect(seen.stable.map((s) => path.basename(s.file))).toEqual(['ok.jpg']);
  });

  it('reports a partial download once it is renamed to its final name', async () => {
    const { seen } = await watch();
    await fs.writeFile(path.join(root, 'scan.tif.part'), 'pixels');
    await sleep(STABLE_MS * 2);
    expect(seen.stable).toEqual([]);
    await fs.rename(path.join(root, 'scan.tif.part'), path.join(root, 'scan.tif'));
    await until(() => seen.stable.length > 0);
    expect(seen.stable.map((s) => [path.basename(s.file), s.size])).toEqual([['scan.tif', 6]]);
  });

  it('reports a removed file, and nothing for a file removed before it was stable', async () => {
    const kept = path.join(root, 'kept.jpg');
    await fs.writeFile(kept, 'k');
    const { watcher, seen } = await watch();
    await until(() => seen.stable.length === 1);
    await fs.rm(kept);
    await until(() => seen.removed.length === 1);
    expect(seen.removed).toEqual([kept]);

    const brief = path.join(root, 'brief.jpg');
    await fs.writeFile(brief, 'b');
    await until(() => watcher.pendingCount === 1);
    await fs.rm(brief);
    await until(() => seen.removed.length === 2);
    await sleep(STABLE_MS * 2);
    expect(seen.removed).toEqual([kept, brief]);
    expect(seen.stable.map((s) => s.file)).toEqual([kept]);
    expect(watcher.pendingCount).toBe(0);
  });

  it('reports a file changed after it was reported, again', async () => {
    const file = path.join(root, 'img.png');
    await fs.writeFile(file, 'v1');
    const { seen } = await watch();
    await until(() => seen.stable.length === 1);
    await fs.writeFile(file, 'version 2');
    await until(() => seen.stable.length === 2);
    expect(seen.stable.map((s) => s.size)).toEqual([2, 9]);
  });

  it('works by polling too (usePolling), for new, changed-in-chunks and removed files', async () => {
    const { seen } = await watch({ usePolling: true, pollIntervalMs: 50 });
    await fs.mkdir(path.join(root, 'run2'));
    const file = path.join(root, 'run2', 'img1.tiff');
    const handle = await fs.open(file, 'w');
    for (let i = 0; i < 5; i++) {
      await handle.write(Buffer.alloc(1000, i));
      await sleep(80);
    }
    await handle.close();
    await fs.writeFile(path.join(root, 'run2', '.hidden.tiff'), 'x');
    await until(() => seen.stable.length > 0);
    await sleep(STABLE_MS * 2);
    expect(seen.stable.map((s) => [s.file, s.size])).toEqual([[file, 5000]]);
    await fs.rm(file);
    await until(() => seen.removed.length > 0);
    expect(seen.removed).toEqual([file]);
  });

  it('reports every file written into a folder created while watching, however quickly they follow', async () => {
    // chokidar reads a new folder, then starts watching it: a file written between the two raises no
    // event (paulmillr/chokidar#1471). Acquisition software that creates a session folder and saves
    // into it at once, while this process is busy analysing, hits that gap.
    const { seen } = await watch();
    const script = `
      const fs = require('node:fs');
      const path = require('node:path');
      const root = process.argv[1];
      for (let run = 0; run < 20; run++) {
        const folder = path.join(root, 'session-' + run);
        fs.mkdirSync(folder);
        for (let i = 0; i < 4; i++) {
          fs.writeFileSync(path.join(folder, 'img' + i + '.tif'), 'pixels');
          const until = Date.now() + i * 3;
          while (Date.now() < until);
        }
        fs.mkdirSync(path.join(folder, 'grid'));
        fs.writeFileSync(path.join(folder, 'grid', 'img.tif'), 'pixels');
      }`;
    // The watching process is busy (decoding, letterboxing) most of the time, as during analysis.
    const busy = setInterval(() => {
      const until = Date.now() + 15;
      while (Date.now() < until);
    }, 20);
    try {
      await new Promise<void>((resolve, reject) =>
        execFile(process.execPath, ['-e', script, root], (err) => (err ? reject(err) : resolve())),
      );
      await sleep(STABLE_MS * 4);
    } finally {
      clearInterval(busy);
    }
    const expected = Array.from({ length: 20 }, (_, run) => [
      ...Array.from({ length: 4 }, (_, i) => path.join(root, `session-${run}`, `img${i}.tif`)),
      path.join(root, `session-${run}`, 'grid', 'img.tif'),
    ]).flat();
    await until(() => seen.stable.length >= expected.length, 10_000).catch(() => undefined);
    expect(seen.stable.map((s) => s.file).sort()).toEqual(expected.sort());
  });

  it('stops reporting after close()', async () => {
    const { watcher, seen } = await watch();
    await fs.writeFile(path.join(root, 'late.jpg'), 'x');
    await until(() => watcher.pendingCount === 1);
    await watcher.close();
    await sleep(STABLE_MS * 2);
    expect(seen.stable).toEqual([]);
  });
});

describe('isHiddenOrPartial', () => {
  it.each([
    '.x.jpg',
    'a.jpg.part',
    'a.partial',
    '~$a.jpg',
    'a.crdownload',
    'A.CRDOWNLOAD',
    'a.jpg.tmp',
    'a.temp',
    'a.filepart',
    'a.download',
    path.join('.Trash', 'a.jpg'),
    path.join('run1', '.git', 'x.png'),
  ])('%s is hidden or partial', (name) => {
    expect(isHiddenOrPartial(name)).toBe(true);
  });

  it.each(['a.jpg', path.join('run1', 'a.tif'), 'part.jpg', 'a~$.jpg', '', '.'])('%j is not', (name) => {
    expect(isHiddenOrPartial(name)).toBe(false);
  });
});
