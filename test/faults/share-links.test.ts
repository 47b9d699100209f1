/**
 * Hostile links on the share, against the real `npm start` pipeline: a folder link in results/ or
 * rejected/, a folder link in the inbox that leads out of the share, and a link named like an
 * annotated image with a forged latest-image pointer. Nothing is written, moved or served outside
 * the data folder, and the image concerned is never lost.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { makeJob } from '@scopehive/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  addModel,
  dropImage,
  exists,
  makeDataDir,
  removeDataDir,
  resultFiles,
  startTestPipeline,
  type TestPipeline,
  waitFor,
} from '../integration/helpers/pipeline.ts';

const MODEL = 'yolo11n_int8';

let dataDir: string;
let elsewhere: string;
let run: TestPipeline;

beforeEach(async () => {
  dataDir = await makeDataDir();
  // Outside the data folder: where a planted link would lead.
  elsewhere = await fs.mkdtemp(path.join(os.tmpdir(), 'scopehive-elsewhere-'));
  await fs.mkdir(path.join(dataDir, 'models'));
  await addModel(path.join(dataDir, 'models'), MODEL);
  for (const folder of ['inbox', 'results', 'rejected']) await fs.mkdir(path.join(dataDir, folder));
});

afterEach(async () => {
  await run?.close();
  await removeDataDir(dataDir);
  await fs.rm(elsewhere, { recursive: true, force: true });
});

/** Every file under `dir`, relative to it. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => !e.isDirectory())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();
}

/** The first log line that names `link` as a symbolic link, if any. */
function linkLine(link: string): string | undefined {
  return run.logs.map((l) => l.msg).find((msg) => msg.includes(link) && /symbolic link/.test(msg));
}

describe('links planted on the share are never followed out of it', () => {
  it('writes no result through a folder link in results/, and keeps the image', async () => {
    await fs.symlink(elsewhere, path.join(dataDir, 'results', 'day1'));
    run = await startTestPipeline(dataDir);
    await dropImage(run.inboxDir, 'bus.jpg', 'day1/bus.jpg');
    // Other images go on being analysed meanwhile.
    await dropImage(run.inboxDir, 'zidane.jpg');

    // Either outcome ends the wait: the refusal logged, or (the defect) a file written outside.
    await waitFor(
      async () => linkLine('day1') || (await filesUnder(elsewhere)).length > 0,
      60_000,
      'the result of day1/bus.jpg to be refused or written',
    );
    expect(await filesUnder(elsewhere)).toEqual([]);
    expect(linkLine('day1')).toMatch(/day1/);
    const inInbox = await exists(path.join(run.inboxDir, 'day1', 'bus.jpg'));
    const setAside = await exists(path.join(run.rejectedDir, 'day1', 'bus.jpg'));
    expect(inInbox || setAside).toBe(true);

    await waitFor(() => exists(resultFiles(run.resultsDir, 'zidane.jpg', MODEL).json), 60_000, 'zidane.jpg');
    expect(await filesUnder(elsewhere)).toEqual([]);
  });

  it('moves no rejected file through a folder link in rejected/, and keeps it in the inbox', async () => {
    await fs.symlink(elsewhere, path.join(dataDir, 'rejected', 'day2'));
    run = await startTestPipeline(dataDir);
    const bad = path.join(run.inboxDir, 'day2', 'notes.jpg');
    await fs.mkdir(path.dirname(bad));
    await fs.writeFile(bad, 'Sample 12, grid B: not an image.\n');

    await waitFor(
      async () => linkLine('day2') || (await filesUnder(elsewhere)).length > 0,
      60_000,
      'the rejection of day2/notes.jpg to be refused or done',
    );
    expect(await filesUnder(elsewhere)).toEqual([]);
    expect(linkLine('day2')).toMatch(/day2/);
    expect(await fs.readFile(bad, 'utf8')).toBe('Sample 12, grid B: not an image.\n');
  });

  it('never moves a file from outside the share that a folder link in the inbox leads to', async () => {
    const secret = path.join(elsewhere, 'secret.jpg');
    await fs.writeFile(secret, 'not for the share\n');
    run = await startTestPipeline(dataDir);
    await fs.symlink(elsewhere, path.join(run.inboxDir, 'day3'));
    // A job for the linked path, as a watcher that followed the link would publish it.
    const model = run.pipeline.models.get(MODEL)!;
    const bytes = Buffer.from('not for the share\n');
    await run.pipeline.queue.publish(
      makeJob({
        origin: 'test-node',
        image: { path: 'day3/secret.jpg', bytes: bytes.length, sha256: sha256(bytes) },
        model: { name: model.name, sha256: model.sha256 },
      }),
    );

    const reason = path.join(run.rejectedDir, 'day3', 'secret.jpg.reason.txt');
    await waitFor(() => exists(reason), 60_000, 'the reason for day3/secret.jpg');
    expect(await fs.readFile(secret, 'utf8')).toBe('not for the share\n');
    expect(await exists(path.join(run.rejectedDir, 'day3', 'secret.jpg'))).toBe(false);
    expect(await fs.readFile(reason, 'utf8')).toMatch(/symbolic link/);
  });

  it('serves the latest annotated image, never a planted link or a forged pointer', async () => {
    run = await startTestPipeline(dataDir);
    expect((await run.get('/images/latest.jpg')).status).toBe(404);
    await dropImage(run.inboxDir, 'bus.jpg');
    const annotated = resultFiles(run.resultsDir, 'bus.jpg', MODEL).annotated;
    await waitFor(() => exists(resultFiles(run.resultsDir, 'bus.jpg', MODEL).json), 60_000, 'bus.jpg');
    const written = await fs.readFile(annotated);
    const served = await latestImage();
    expect(served.status).toBe(200);
    expect(served.type).toMatch(/image\/jpeg/);
    expect(served.body.equals(written)).toBe(true);

    // A link named like an annotated image, and a pointer forged to name it with the right size and hash.
    const passwd = await fs.readFile('/etc/passwd');
    await fs.symlink('/etc/passwd', path.join(run.resultsDir, 'x.jpg'));
    await fs.mkdir(path.join(run.resultsDir, '.scopehive'), { recursive: true });
    await fs.writeFile(
      path.join(run.resultsDir, '.scopehive', 'latest.json'),
      JSON.stringify({ image: 'x.jpg', bytes: passwd.length, sha256: sha256(passwd) }),
    );
    // Asked until the answer is no longer the image written above: a 404, or (the defect) the link.
    const answer = await waitFor(
      async () => {
        const res = await latestImage();
        return res.status === 200 && res.body.equals(written) ? undefined : res;
      },
      30_000,
      'the latest image to change',
    );
    expect(answer.body.includes('root:'), 'the planted link was served').toBe(false);
    expect(answer.status).toBe(404);
  });
});

async function latestImage(): Promise<{ status: number; type: string; body: Buffer }> {
  const res = await fetch(`http://127.0.0.1:${run.port}/images/latest.jpg`);
  const body = Buffer.from(await res.arrayBuffer());
  return { status: res.status, type: res.headers.get('content-type') ?? '', body };
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}
