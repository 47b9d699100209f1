import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addModel,
  dropImage,
  exists,
  makeDataDir,
  type ResultJson,
  readCsv,
  readJson,
  removeDataDir,
  resultFiles,
  sharedImage,
  startTestPipeline,
  type TestPipeline,
  waitFor,
} from './helpers/pipeline.ts';

const MODEL = 'yolo11n_int8';
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** The line the watcher logs when a file is taken, and by which rule. */
const takenBy = (run: TestPipeline, image: string) =>
  run.logs.filter((l) => l.file === image && typeof l.completeBy === 'string').map((l) => l.completeBy);

/**
 * One pipeline for both cases. Its stability window (which the models folder waits out at start too)
 * is the margin the slow writer has to go on after the watcher looked at its pause: many seconds, so
 * that a busy machine does not let stability take the half file.
 */
const STABLE_MS = 8000;

describe('the inbox takes a file as soon as its structure proves it whole, else after the stability window', () => {
  let run: TestPipeline;
  beforeAll(async () => {
    const dataDir = await makeDataDir();
    await fs.mkdir(path.join(dataDir, 'models'));
    await addModel(path.join(dataDir, 'models'), MODEL);
    run = await startTestPipeline(dataDir, { SCOPEHIVE_STABLE_MS: String(STABLE_MS) });
  }, 60_000);
  afterAll(async () => {
    await run?.close();
    await removeDataDir(run?.dataDir);
  });

  it('analyses a whole JPEG taken by its structure and one with bytes after its end taken by stability', async () => {
    await dropImage(run.inboxDir, 'bus.jpg');
    // Some cameras append data after the end of the image: no longer provable, so it waits.
    const trailing = Buffer.concat([
      await fs.readFile(sharedImage('zidane.jpg')),
      Buffer.from('camera data'),
    ]);
    await fs.writeFile(path.join(run.inboxDir, 'zidane.jpg'), trailing);

    for (const image of ['bus.jpg', 'zidane.jpg']) {
      const { json } = resultFiles(run.resultsDir, image, MODEL);
      await waitFor(() => readJson<ResultJson>(json), 60_000, `the result of ${image}`);
    }
    expect(takenBy(run, 'bus.jpg')).toEqual(['structure']);
    expect(takenBy(run, 'zidane.jpg')).toEqual(['stability']);
    const zidane = await readJson<ResultJson>(resultFiles(run.resultsDir, 'zidane.jpg', MODEL).json);
    expect(zidane.image.sha256).toBe(sha256(trailing));
  }, 90_000);

  it('analyses a slow writer that pauses right after a plausible end marker once whole, and once more when it rewrites', async () => {
    const image = 'session/scan.jpg';
    const file = path.join(run.inboxDir, 'session', 'scan.jpg');
    await fs.mkdir(path.dirname(file), { recursive: true });
    const versions = await Promise.all(['bus.jpg', 'zidane.jpg'].map(withThumbnail));
    const handle = await fs.open(file, 'w');
    try {
      for (const [i, { bytes, thumbnailEnd }] of versions.entries()) {
        if (i > 0) await handle.truncate(0);
        // Up to the thumbnail's end marker: the file ends in FF D9, and the writer waits here until
        // the watcher has looked at it.
        await handle.write(bytes, 0, thumbnailEnd, 0);
        await waitFor(
          () => run.logs.some((l) => l.file === image && l.bytes === thumbnailEnd && /waiting/.test(l.msg)),
          30_000,
          'the watcher to look at the file paused after its thumbnail',
        );
        await handle.write(bytes, thumbnailEnd, bytes.length - thumbnailEnd, thumbnailEnd);
        const { json } = resultFiles(run.resultsDir, image, MODEL);
        const doc = await waitFor(
          async () => {
            const d = await readJson<ResultJson>(json).catch(() => undefined);
            return d?.image.sha256 === sha256(bytes) ? d : undefined;
          },
          30_000,
          `the result of version ${i + 1}`,
        );
        expect(doc.image.bytes).toBe(bytes.length);
      }
    } finally {
      await handle.close();
    }
    await run.quiet();
    expect(takenBy(run, image)).toEqual(['structure', 'structure']);
    // One analysis per whole version, none of a part.
    const analysed = run.logs.filter((l) => l.image === image && l.timingsMs);
    expect(analysed).toHaveLength(2);
    expect(await exists(path.join(run.rejectedDir, 'session'))).toBe(false);
    // One current set of rows: the final version's.
    const doc = await readJson<ResultJson>(resultFiles(run.resultsDir, image, MODEL).json);
    const folder = path.join(run.resultsDir, 'session');
    const detections = (await readCsv(path.join(folder, 'detections.csv'))).filter((r) => r.Image === image);
    expect(detections).toHaveLength(doc.detections.length);
    expect((await readCsv(path.join(folder, 'summary.csv'))).filter((r) => r.Image === image)).toHaveLength(
      1,
    );
  }, 90_000);
});

/** A photo with a thumbnail JPEG in an EXIF block: an end-of-image marker long before its end. */
async function withThumbnail(name: string): Promise<{ bytes: Buffer; thumbnailEnd: number }> {
  const photo = await fs.readFile(sharedImage(name));
  const thumbnail = await sharp(photo).resize(16, 16).jpeg().toBuffer();
  const payload = Buffer.concat([Buffer.from('Exif\0\0'), thumbnail]);
  const length = Buffer.alloc(2);
  length.writeUInt16BE(payload.length + 2);
  const app1 = Buffer.concat([Buffer.from([0xff, 0xe1]), length, payload]);
  return {
    bytes: Buffer.concat([photo.subarray(0, 2), app1, photo.subarray(2)]),
    thumbnailEnd: 2 + app1.length,
  };
}
