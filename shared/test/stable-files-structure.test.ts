import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { completeByStructure } from '../src/fs/complete/index.ts';
import { type CompleteBy, StableFiles } from '../src/fs/stable-files.ts';
import { isImageFile } from '../src/images.ts';
import { segment, sharedDir } from './complete/samples.ts';

/** Longer than any test here: a file reported within a test was taken by its structure. */
const NEVER_MS = 600_000;

let root: string;
const watchers: StableFiles[] = [];

beforeEach(async () => {
  root = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'scopehive-structure-')));
});
afterEach(async () => {
  await Promise.all(watchers.splice(0).map((w) => w.close()));
  await fs.rm(root, { recursive: true, force: true });
});

interface Reported {
  file: string;
  size: number;
  by: CompleteBy;
  /** The file's content when it was reported (the writers here never write while the test reads). */
  sha256: string;
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

async function watch(stableMs: number) {
  const logs: Array<{ msg: string; file?: string; bytes?: number; completeBy?: string }> = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line) logs.push(JSON.parse(line));
      done();
    },
  });
  const watcher = new StableFiles({
    root,
    stableMs,
    usePolling: false,
    pollIntervalMs: 50,
    accept: isImageFile,
    name: 'inbox',
    logger: pino({ level: 'debug' }, sink),
  });
  watchers.push(watcher);
  const reported: Reported[] = [];
  const reads: Array<Promise<void>> = [];
  watcher.on('stable', (file, stats, by) => {
    reads.push(
      fs.readFile(file).then((bytes) => {
        reported.push({ file: path.relative(root, file), size: stats.size, by, sha256: sha256(bytes) });
      }),
    );
  });
  await watcher.start();
  /** Resolves once the watcher has looked at `file` at `bytes` and decided to wait for it. */
  const declined = (file: string, bytes: number) =>
    until(() => logs.some((l) => l.file === file && l.bytes === bytes && l.msg.includes('waiting')));
  return { watcher, reported, reads, logs, declined };
}

async function until(done: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms`);
    await sleep(10);
  }
}

/** bus.jpg with a small JPEG (a thumbnail) in an EXIF block: an end marker well before its end. */
async function photoWithThumbnail(name: string): Promise<{ bytes: Uint8Array; thumbnailEnd: number }> {
  const photo = await fs.readFile(path.join(sharedDir, 'images', name));
  const thumbnail = await sharp(photo).resize(16, 16).jpeg().toBuffer();
  const app1 = segment(0xe1, [...Buffer.from('Exif\0\0'), ...thumbnail]);
  const bytes = Uint8Array.from([0xff, 0xd8, ...app1, ...photo.subarray(2)]);
  return { bytes, thumbnailEnd: 2 + app1.length };
}

describe('StableFiles: complete by structure', () => {
  it('takes a whole photo at once by its structure, and a file without a rule by stability', async () => {
    const { reported } = await watch(300);
    const photo = await fs.readFile(path.join(sharedDir, 'images', 'bus.jpg'));
    await fs.writeFile(path.join(root, 'bus.jpg'), photo);
    // WebP has no rule: only the stability window takes it.
    await fs.writeFile(path.join(root, 'shot.webp'), Buffer.from('RIFF\x10\0\0\0WEBPVP8 not really'));
    await until(() => reported.length === 2);
    expect(reported.map((r) => [r.file, r.by]).sort()).toEqual([
      ['bus.jpg', 'structure'],
      ['shot.webp', 'stability'],
    ]);
  });

  it('takes nothing at an end marker inside the EXIF block, and each whole version once, as a slow writer rewrites', async () => {
    const { reported, declined } = await watch(NEVER_MS);
    const first = await photoWithThumbnail('bus.jpg');
    const second = await photoWithThumbnail('zidane.jpg');
    const file = path.join(root, 'session.jpg');
    const handle = await fs.open(file, 'w');
    try {
      // The writer pauses right after the thumbnail's end marker: the file ends in FF D9.
      await handle.write(first.bytes, 0, first.thumbnailEnd, 0);
      await declined('session.jpg', first.thumbnailEnd);
      expect(reported).toEqual([]);
      await handle.write(
        first.bytes,
        first.thumbnailEnd,
        first.bytes.length - first.thumbnailEnd,
        first.thumbnailEnd,
      );
      await until(() => reported.length === 1);

      // It rewrites the file with the next image, again pausing after the thumbnail.
      await handle.truncate(0);
      await handle.write(second.bytes, 0, second.thumbnailEnd, 0);
      await declined('session.jpg', second.thumbnailEnd);
      expect(reported).toHaveLength(1);
      await handle.write(
        second.bytes,
        second.thumbnailEnd,
        second.bytes.length - second.thumbnailEnd,
        second.thumbnailEnd,
      );
      await until(() => reported.length === 2);

      // And appends after the end marker: no longer provable, so it waits (here: past the test).
      await handle.write(Uint8Array.from([1, 2, 3, 4]), 0, 4, second.bytes.length);
      await declined('session.jpg', second.bytes.length + 4);
    } finally {
      await handle.close();
    }
    expect(reported).toEqual([
      { file: 'session.jpg', size: first.bytes.length, by: 'structure', sha256: sha256(first.bytes) },
      { file: 'session.jpg', size: second.bytes.length, by: 'structure', sha256: sha256(second.bytes) },
    ]);
  });

  it('does not take a file whose end arrived before its middle (a hole), until the hole is written', async () => {
    const { reported, declined } = await watch(NEVER_MS);
    const photo = await fs.readFile(path.join(sharedDir, 'images', 'bus.jpg'));
    const file = path.join(root, 'out-of-order.jpg');
    const handle = await fs.open(file, 'w');
    try {
      // NFS writes can land out of order: the headers and the end are there, a hole inside the
      // scan's data between them (zeros, which a scan may well hold: only the hole gives it away).
      const holeAt = Math.ceil((photo.indexOf(Buffer.from([0xff, 0xda])) + 1) / 65536) * 65536;
      const holeEnd = photo.length - 65536;
      await handle.write(photo, 0, holeAt, 0);
      await handle.write(photo, holeEnd, photo.length - holeEnd, holeEnd);
      await declined('out-of-order.jpg', photo.length);
      expect(reported).toEqual([]);
      await handle.write(photo, holeAt, holeEnd - holeAt, holeAt);
      await handle.sync();
      await until(() => reported.length === 1);
    } finally {
      await handle.close();
    }
    expect(reported).toEqual([
      { file: 'out-of-order.jpg', size: photo.length, by: 'structure', sha256: sha256(photo) },
    ]);
  });

  it('never waits on a named pipe put where a file was: it is not proven, at once', async () => {
    const pipe = path.join(root, 'pipe.jpg');
    execFileSync('mkfifo', [pipe]);
    expect(await completeByStructure(pipe)).toBeUndefined();
  });

  it('waits out the stability window as before when told not to look at structure', async () => {
    const watcher = new StableFiles({
      root,
      stableMs: 300,
      usePolling: false,
      pollIntervalMs: 50,
      accept: isImageFile,
      byStructure: false,
    });
    watchers.push(watcher);
    const by: CompleteBy[] = [];
    watcher.on('stable', (_file, _stats, how) => by.push(how));
    await watcher.start();
    await fs.copyFile(path.join(sharedDir, 'images', 'zidane.jpg'), path.join(root, 'zidane.jpg'));
    await until(() => by.length === 1);
    expect(by).toEqual(['stability']);
  });
});
