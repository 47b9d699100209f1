import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { deflateSync } from 'node:zlib';
import type { Job } from '@scopehive/shared';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addModel,
  dropImage,
  exists,
  makeDataDir,
  metricValue,
  type ResultJson,
  readJson,
  removeDataDir,
  resultFiles,
  sharedImage,
  startTestPipeline,
  type TestPipeline,
  waitFor,
} from './helpers/pipeline.ts';

// Two models, as a lab usually runs: every bad file then fails twice and must still be set aside,
// explained and counted once.
const MODELS = ['yolo11n_int8', 'yolo11n_copy'];

function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? 0xedb88320 ^ (crc >>> 1) : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

const PNG_SIGNATURE = Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]);

/** A valid PNG header claiming 100000 × 100000 RGB pixels (30 GB decoded) over a few bytes of data. */
function decompressionBomb(): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(100_000, 0);
  header.writeUInt32BE(100_000, 4);
  header[8] = 8; // bit depth
  header[9] = 2; // RGB
  return Buffer.concat([
    PNG_SIGNATURE,
    pngChunk('IHDR', header),
    pngChunk('IDAT', deflateSync(Buffer.alloc(1000))),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A 2 × 2 24-bit Windows bitmap: a real image in a format scopehive does not take. */
function bitmap(): Buffer {
  const rowBytes = 8; // 2 pixels × 3 bytes, padded to 4
  const pixels = Buffer.alloc(rowBytes * 2, 0x80);
  const file = Buffer.alloc(14 + 40);
  file.write('BM', 0, 'ascii');
  file.writeUInt32LE(file.length + pixels.length, 2);
  file.writeUInt32LE(54, 10);
  file.writeUInt32LE(40, 14);
  file.writeInt32LE(2, 18);
  file.writeInt32LE(2, 22);
  file.writeUInt16LE(1, 26);
  file.writeUInt16LE(24, 28);
  file.writeUInt32LE(pixels.length, 34);
  return Buffer.concat([file, pixels]);
}

interface BadFile {
  name: string;
  what: string;
  reason: string;
  /** Moved to rejected/ (true) or left in the inbox (false). */
  moved: boolean;
  /** What the one-line reason must say, in words a microscopist reads (not a decoder's jargon alone). */
  says: RegExp;
}

const BAD_FILES: BadFile[] = [
  { name: 'empty.jpg', what: 'a zero-byte file', reason: 'empty', moved: false, says: /empty|0 bytes/i },
  {
    name: 'truncated.jpg',
    what: 'a JPEG cut in half',
    reason: 'truncated',
    moved: true,
    says: /incomplete|truncated|premature end/i,
  },
  {
    name: 'random.png',
    what: 'random bytes named .png',
    reason: 'unsupported',
    moved: true,
    says: /not (a|an|supported)\b/i,
  },
  {
    name: 'damaged.png',
    what: 'a PNG signature followed by garbage',
    reason: 'corrupt',
    moved: true,
    says: /could not be decoded|corrupt|damaged/i,
  },
  {
    name: 'notes.tif',
    what: 'a text file named .tif',
    reason: 'unsupported',
    moved: true,
    says: /not (a|an|supported)\b/i,
  },
  {
    name: 'animation.jpg',
    what: 'a GIF named .jpg',
    reason: 'unsupported',
    moved: true,
    says: /not (a|an|supported)\b/i,
  },
  {
    name: 'scan.jpg',
    what: 'a BMP named .jpg',
    reason: 'unsupported',
    moved: true,
    says: /not (a|an|supported)\b/i,
  },
  {
    name: 'bomb.png',
    what: 'a PNG claiming 100000 × 100000 pixels',
    reason: 'too_large',
    moved: true,
    says: /limit/,
  },
  {
    name: 'vanished.jpg',
    what: 'a file that vanishes after it was queued',
    reason: 'vanished',
    moved: false,
    says: /disappeared|vanished|no longer/i,
  },
];

/** Whether this process can be kept from reading a file by its mode bits (root usually is not). */
async function permissionsApply(dir: string): Promise<boolean> {
  const probe = path.join(dir, 'probe');
  await fs.writeFile(probe, 'x');
  await fs.chmod(probe, 0);
  try {
    await fs.access(probe, constants.R_OK);
    return false;
  } catch {
    return true;
  } finally {
    await fs.rm(probe);
  }
}

describe('bad input never stops the service and is never lost', () => {
  let dataDir: string;
  let run: TestPipeline;
  let modeBitsApply = false;

  beforeAll(async () => {
    dataDir = await makeDataDir();
    modeBitsApply = await permissionsApply(dataDir);
    await fs.mkdir(path.join(dataDir, 'models'));
    await addModel(path.join(dataDir, 'models'), 'yolo11n_int8');
    await addModel(path.join(dataDir, 'models'), 'yolo11n_int8', 'yolo11n_copy');
    run = await startTestPipeline(dataDir);

    // A file deleted between detection and reading: the race is made certain by deleting it just as
    // ingest hands its first job to the queue, after it has been hashed.
    const queue = run.pipeline.queue;
    const publish = queue.publish.bind(queue);
    queue.publish = async (job: Job) => {
      if (job.image.path === 'vanished.jpg')
        await fs.rm(path.join(run.inboxDir, job.image.path), { force: true });
      return publish(job);
    };

    const bus = await fs.readFile(sharedImage('bus.jpg'));
    const gif = await sharp({ create: { width: 16, height: 16, channels: 3, background: '#808080' } })
      .gif()
      .toBuffer();
    const contents: Record<string, Buffer> = {
      'empty.jpg': Buffer.alloc(0),
      'truncated.jpg': bus.subarray(0, bus.length >> 1),
      'random.png': randomBytes(8192),
      'damaged.png': Buffer.concat([PNG_SIGNATURE, randomBytes(4096)]),
      'notes.tif': Buffer.from('Sample 12, grid B: nothing to see here.\n'),
      'animation.jpg': gif,
      'scan.jpg': bitmap(),
      'bomb.png': decompressionBomb(),
      'vanished.jpg': bus,
    };
    for (const [name, bytes] of Object.entries(contents)) {
      await fs.writeFile(path.join(run.inboxDir, name), bytes);
    }
  });

  afterAll(async () => {
    await run?.close();
    await removeDataDir(dataDir);
  });

  for (const bad of BAD_FILES) {
    it(`sets aside ${bad.what} (${bad.name}) with a readable reason: ${bad.reason}`, async () => {
      const reasonFile = path.join(run.rejectedDir, `${bad.name}.reason.txt`);
      const text = await waitFor(
        () => fs.readFile(reasonFile, 'utf8'),
        30_000,
        `the reason file of ${bad.name}`,
      );
      await run.quiet();
      expect(text.endsWith('\n')).toBe(true);
      expect(text.trimEnd().split('\n'), 'one line').toHaveLength(1);
      expect(text).toMatch(new RegExp(`^\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z ${bad.reason}: `));
      const message = text.slice(text.indexOf(`${bad.reason}: `) + bad.reason.length + 2);
      expect(message).toMatch(bad.says);
      // Every model failed on it, and the reason file still holds the first, real reason.
      for (const model of MODELS) {
        expect(await exists(resultFiles(run.resultsDir, bad.name, model).json)).toBe(false);
      }
      const inInbox = await exists(path.join(run.inboxDir, bad.name));
      const inRejected = await exists(path.join(run.rejectedDir, bad.name));
      if (bad.reason === 'vanished') {
        expect([inInbox, inRejected]).toEqual([false, false]);
      } else {
        expect({ inInbox, inRejected }).toEqual({ inInbox: !bad.moved, inRejected: bad.moved });
      }
      if (bad.moved) {
        expect(text).not.toContain('file left at');
      }
      const logged = run.logs.filter(
        (l) => l.image === bad.name && l.reason === bad.reason && l.movedTo !== 0,
      );
      expect(logged.length).toBeGreaterThan(0);
    });
  }

  it('counts each bad file once, by reason', async () => {
    await run.quiet();
    const metrics = await run.metrics();
    const expected: Record<string, number> = {};
    for (const bad of BAD_FILES) expected[bad.reason] = (expected[bad.reason] ?? 0) + 1;
    for (const [reason, count] of Object.entries(expected)) {
      expect(metricValue(metrics, 'scopehive_rejected_files_total', { reason }), reason).toBe(count);
    }
    for (const model of MODELS) {
      expect(metricValue(metrics, 'scopehive_images_total', { model, outcome: 'rejected' }), model).toBe(
        BAD_FILES.length,
      );
    }
  });

  it('keeps an earlier rejected file when another bad file of the same name arrives', async () => {
    await waitFor(
      () => exists(path.join(run.rejectedDir, 'truncated.jpg')),
      30_000,
      'the first truncated.jpg',
    );
    const first = await fs.readFile(path.join(run.rejectedDir, 'truncated.jpg'));
    const zidane = await fs.readFile(sharedImage('zidane.jpg'));
    const second = zidane.subarray(0, zidane.length >> 1);
    await fs.writeFile(path.join(run.inboxDir, 'truncated.jpg'), second);
    const reason = await waitFor(
      () => fs.readFile(path.join(run.rejectedDir, 'truncated.2.jpg.reason.txt'), 'utf8'),
      30_000,
      'the reason of the second truncated.jpg',
    );
    expect(reason).toMatch(/ truncated: /);
    expect(await fs.readFile(path.join(run.rejectedDir, 'truncated.jpg'))).toEqual(first);
    expect(await fs.readFile(path.join(run.rejectedDir, 'truncated.2.jpg'))).toEqual(second);
    expect(await fs.readFile(path.join(run.rejectedDir, 'truncated.jpg.reason.txt'), 'utf8')).toMatch(
      / truncated: /,
    );
    expect(await exists(path.join(run.inboxDir, 'truncated.jpg'))).toBe(false);
  });

  it('sets aside a file it may not read, and never just overlooks it', async () => {
    const file = path.join(run.inboxDir, 'locked.jpg');
    await fs.writeFile(file, await fs.readFile(sharedImage('bus.jpg')), { mode: 0 });
    await fs.chmod(file, 0);
    if (!modeBitsApply) {
      // Running as root (CI, containers): mode 000 does not stop this process from reading, so the
      // "permission denied" rejection cannot happen here. What can still go wrong is the watcher
      // skipping the file for its mode bits; it must be analysed like any other image instead.
      const { json } = resultFiles(run.resultsDir, 'locked.jpg', MODELS[0]);
      const doc = await waitFor(() => readJson<ResultJson>(json), 30_000, 'locked.jpg analysed as root');
      expect(doc.counts).toMatchObject({ person: 4, bus: 1 });
      return;
    }
    const text = await waitFor(
      () => fs.readFile(path.join(run.rejectedDir, 'locked.jpg.reason.txt'), 'utf8'),
      30_000,
      'the reason file of locked.jpg',
    );
    expect(text).toMatch(/ unreadable: permission denied/);
    expect(await exists(path.join(run.rejectedDir, 'locked.jpg'))).toBe(true);
    expect(await exists(file)).toBe(false);
  });

  it('leaves a named pipe called .jpg alone without blocking the service', async () => {
    const fifo = path.join(run.inboxDir, 'pipe.jpg');
    execFileSync('mkfifo', [fifo]);
    await dropImage(run.inboxDir, 'zidane.jpg', 'after-pipe.jpg');
    for (const model of MODELS) {
      const { json } = resultFiles(run.resultsDir, 'after-pipe.jpg', model);
      await waitFor(() => readJson<ResultJson>(json), 30_000, `after-pipe.jpg analysed by ${model}`);
    }
    await run.quiet();
    expect((await fs.stat(fifo)).isFIFO()).toBe(true);
    expect(await exists(path.join(run.rejectedDir, 'pipe.jpg.reason.txt'))).toBe(false);
  });

  it('keeps analysing good images after all of them', async () => {
    await dropImage(run.inboxDir, 'bus.jpg', 'good-after-bad.jpg');
    for (const model of MODELS) {
      const { json } = resultFiles(run.resultsDir, 'good-after-bad.jpg', model);
      const doc = await waitFor(() => readJson<ResultJson>(json), 30_000, `good-after-bad.jpg by ${model}`);
      expect(doc.counts).toMatchObject({ person: 4, bus: 1 });
    }
    expect((await run.get('/healthz')).status).toBe(200);
    expect((await run.get('/readyz')).status).toBe(200);
  });
});
