/**
 * Symbolic links planted in the inbox, against the real `npm start` pipeline: a folder link loop
 * (`ln -s .. loop`), a folder link and a file link that lead out of the share. None is taken: nothing
 * is analysed through them, nothing outside the share is read, moved or written, and each link is
 * named once in the log. The real images beside them are analysed as usual.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addModel,
  dropImage,
  exists,
  makeDataDir,
  metricValue,
  removeDataDir,
  resultFiles,
  sharedImage,
  startTestPipeline,
  type TestPipeline,
  waitFor,
} from '../integration/helpers/pipeline.ts';

const MODEL = 'yolo11n_int8';
const LINKS = ['loop', 'elsewhere', 'linked.jpg', 'run1/up'];

let dataDir: string;
let elsewhere: string;
let run: TestPipeline;

/** Every entry under `dir`, relative to it, links not followed. */
async function entriesUnder(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true });
  return entries.map((e) => path.relative(dir, path.join(e.parentPath, e.name))).sort();
}

beforeAll(async () => {
  dataDir = await makeDataDir();
  // Outside the data folder: real images a link would lead to.
  elsewhere = await fs.mkdtemp(path.join(os.tmpdir(), 'scopehive-elsewhere-'));
  await fs.copyFile(sharedImage('bus.jpg'), path.join(elsewhere, 'private.jpg'));
  await fs.mkdir(path.join(elsewhere, 'deep'));
  await fs.copyFile(sharedImage('zidane.jpg'), path.join(elsewhere, 'deep', 'private2.jpg'));

  await fs.mkdir(path.join(dataDir, 'models'));
  await addModel(path.join(dataDir, 'models'), MODEL);
  const inbox = path.join(dataDir, 'inbox');
  await dropImage(inbox, 'zidane.jpg');
  await fs.symlink('..', path.join(inbox, 'loop'));
  await fs.symlink(elsewhere, path.join(inbox, 'elsewhere'));
  await fs.symlink(path.join(elsewhere, 'private.jpg'), path.join(inbox, 'linked.jpg'));
  run = await startTestPipeline(dataDir);
}, 120_000);

afterAll(async () => {
  await run?.close();
  await removeDataDir(dataDir);
  await fs.rm(elsewhere, { recursive: true, force: true });
});

describe('symbolic links in the inbox', () => {
  it('are not taken: only the real images are analysed, nothing outside is touched, each link is logged once', async () => {
    // A link made while running, in a new session folder, then an image after it there.
    await fs.mkdir(path.join(run.inboxDir, 'run1'));
    await fs.symlink(run.inboxDir, path.join(run.inboxDir, 'run1', 'up'));
    await dropImage(run.inboxDir, 'bus.jpg', 'run1/bus.jpg');
    for (const image of ['zidane.jpg', 'run1/bus.jpg']) {
      await waitFor(
        () => exists(resultFiles(run.resultsDir, image, MODEL).json),
        60_000,
        `${image} analysed`,
      );
    }
    await waitFor(
      async () => {
        await run.quiet();
        return true;
      },
      60_000,
      'the pipeline to be quiet',
    );

    const documents = (await entriesUnder(run.resultsDir)).filter(
      (f) => f.endsWith('.json') && !f.startsWith('.'),
    );
    expect(documents).toEqual([`run1/bus.jpg.${MODEL}.json`, `zidane.jpg.${MODEL}.json`]);
    expect(await entriesUnder(run.rejectedDir)).toEqual([]);
    expect(await entriesUnder(elsewhere)).toEqual(['deep', 'deep/private2.jpg', 'private.jpg']);
    // The links are still where they were put: refused, not removed or moved.
    for (const link of LINKS) {
      expect((await fs.lstat(path.join(run.inboxDir, link))).isSymbolicLink()).toBe(true);
    }

    for (const link of LINKS) {
      const lines = run.logs.filter((l) => l.msg.includes('symbolic link not taken') && l.msg.includes(link));
      expect(
        lines.map((l) => l.msg),
        `log lines for ${link}`,
      ).toHaveLength(1);
    }
    expect(metricValue(await run.metrics(), 'scopehive_links_refused_total', { folder: 'inbox' })).toBe(
      LINKS.length,
    );
  }, 180_000);
});
