/**
 * Stale rows (issue 8, item 5): an image changed under the same name, or a model replaced under the
 * same name, is analysed again, and the tables keep only the new rows of that (image, model) pair.
 * The real `npm start` pipeline on a temporary data folder.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { sha256 } from '@scopehive/shared';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addModel,
  dropImage,
  makeDataDir,
  type ResultJson,
  readCsv,
  readJson,
  removeDataDir,
  resultFiles,
  sharedImage,
  sharedModel,
  startTestPipeline,
  type TestPipeline,
  waitFor,
} from '../integration/helpers/pipeline.ts';

/** Waits for the result of `image` by `model` made from `content` (sha256 of the image, or of the model). */
function resultOf(run: TestPipeline, image: string, model: string, matches: (doc: ResultJson) => boolean) {
  const { json } = resultFiles(run.resultsDir, image, model);
  return waitFor(
    async () => {
      const doc = await readJson<ResultJson>(json);
      return matches(doc) && doc;
    },
    60_000,
    `the new result of ${image} by ${model}`,
  );
}

/** The rows of `image` by `model` in the folder's two tables. */
async function rowsOf(folder: string, image: string, model: string) {
  const mine = (r: Record<string, string>) => r.Image === image && r.Model === model;
  return {
    detections: (await readCsv(path.join(folder, 'detections.csv'))).filter(mine),
    summary: (await readCsv(path.join(folder, 'summary.csv'))).filter(mine),
  };
}

/**
 * Exactly the rows of `doc`: one summary row and one row per detection, all under its id. The rows
 * of a superseded analysis may outlive the new result by a moment (the table is rewritten without
 * them in the background when replacements come in bursts), so wait for them to go first.
 */
async function expectOnlyRowsOf(folder: string, doc: ResultJson) {
  const rows = await waitFor(
    async () => {
      const found = await rowsOf(folder, doc.image.path, doc.model.name);
      const ids = [...found.detections, ...found.summary].map((r) => r.ResultId);
      return ids.every((id) => id === doc.jobId) && found;
    },
    30_000,
    `only the rows of ${doc.jobId}`,
  );
  expect(rows.summary.map((r) => [r.ResultId, r.Count, r.Width])).toEqual([
    [doc.jobId, String(doc.detections.length), String(doc.image.width)],
  ]);
  expect(rows.detections.map((r) => r.ResultId)).toEqual(doc.detections.map(() => doc.jobId));
  expect(rows.detections.map((r) => r.Class).sort()).toEqual(doc.detections.map((d) => d.class).sort());
}

describe('an image replaced under the same name', () => {
  const MODEL = 'yolo11n_int8';
  let dataDir: string;
  let run: TestPipeline;

  beforeAll(async () => {
    dataDir = await makeDataDir();
    await fs.mkdir(path.join(dataDir, 'models'), { recursive: true });
    await addModel(path.join(dataDir, 'models'), MODEL);
    run = await startTestPipeline(dataDir);
  });
  afterAll(async () => {
    await run?.close();
    await removeDataDir(dataDir);
  });

  it('keeps exactly one set of rows for it: the new ones', async () => {
    const zidane = await fs.readFile(sharedImage('zidane.jpg'));
    await dropImage(run.inboxDir, 'bus.jpg', 'one/scan.jpg');
    const first = await resultOf(run, 'one/scan.jpg', MODEL, () => true);
    await fs.writeFile(path.join(run.inboxDir, 'one', 'scan.jpg'), zidane);
    const second = await resultOf(run, 'one/scan.jpg', MODEL, (d) => d.image.sha256 === sha256(zidane));
    expect(second.jobId).not.toBe(first.jobId);
    await expectOnlyRowsOf(path.join(run.resultsDir, 'one'), second);
  });

  it("leaves the rows of the folder's other images as they were", async () => {
    const zidane = await fs.readFile(sharedImage('zidane.jpg'));
    await dropImage(run.inboxDir, 'bus.jpg', 'two/a.jpg');
    await dropImage(run.inboxDir, 'bus.jpg', 'two/b.jpg');
    await resultOf(run, 'two/a.jpg', MODEL, () => true);
    const b = await resultOf(run, 'two/b.jpg', MODEL, () => true);
    const folder = path.join(run.resultsDir, 'two');
    const before = await rowsOf(folder, 'two/b.jpg', MODEL);
    await fs.writeFile(path.join(run.inboxDir, 'two', 'a.jpg'), zidane);
    const a = await resultOf(run, 'two/a.jpg', MODEL, (d) => d.image.sha256 === sha256(zidane));
    await expectOnlyRowsOf(folder, a);
    expect(await rowsOf(folder, 'two/b.jpg', MODEL)).toEqual(before);
    await expectOnlyRowsOf(folder, b);
  });

  it('removes its detection rows when the new picture has nothing in it', async () => {
    const blank = await sharp({ create: { width: 640, height: 480, channels: 3, background: '#808080' } })
      .jpeg()
      .toBuffer();
    await dropImage(run.inboxDir, 'bus.jpg', 'three/scan.jpg');
    await resultOf(run, 'three/scan.jpg', MODEL, () => true);
    await fs.writeFile(path.join(run.inboxDir, 'three', 'scan.jpg'), blank);
    const empty = await resultOf(run, 'three/scan.jpg', MODEL, (d) => d.image.sha256 === sha256(blank));
    expect(empty.detections).toEqual([]);
    await expectOnlyRowsOf(path.join(run.resultsDir, 'three'), empty);
  });
});

describe('a model replaced under the same name', () => {
  const MODEL = 'yolov8n-fp32';
  let dataDir: string;
  let run: TestPipeline;

  beforeAll(async () => {
    dataDir = await makeDataDir();
    await fs.mkdir(path.join(dataDir, 'models'), { recursive: true });
    await addModel(path.join(dataDir, 'models'), MODEL);
    run = await startTestPipeline(dataDir);
  });
  afterAll(async () => {
    await run?.close();
    await removeDataDir(dataDir);
  });

  it('analyses the images again and keeps only the new rows', async () => {
    await dropImage(run.inboxDir, 'bus.jpg');
    await dropImage(run.inboxDir, 'zidane.jpg');
    const old = await Promise.all(['bus.jpg', 'zidane.jpg'].map((i) => resultOf(run, i, MODEL, () => true)));
    // Other bytes under the same name, put in place whole as a user's `cp` then `mv` would.
    const replacement = await fs.readFile(sharedModel('yolov8n-uint8'));
    const staged = path.join(run.modelsDir, '.incoming.tmp');
    await fs.writeFile(staged, replacement);
    await fs.rename(staged, path.join(run.modelsDir, `${MODEL}.onnx`));
    const renewed = await Promise.all(
      ['bus.jpg', 'zidane.jpg'].map((i) =>
        resultOf(run, i, MODEL, (d) => d.model.sha256 === sha256(replacement)),
      ),
    );
    for (const [i, doc] of renewed.entries()) {
      expect(doc.jobId).not.toBe(old[i].jobId);
      await expectOnlyRowsOf(run.resultsDir, doc);
    }
  });
});
