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
  metricValue,
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
} from './helpers/pipeline.ts';

const MODEL = 'yolo11n_int8';
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the inbox watcher, end to end', () => {
  let dataDir: string;
  let run: TestPipeline;

  beforeAll(async () => {
    dataDir = await makeDataDir();
    await fs.mkdir(path.join(dataDir, 'models'));
    await addModel(path.join(dataDir, 'models'), MODEL);
    // A stable time far above the 0.4 s gap between two writes of the slow copy below (a busy machine
    // can stretch that gap; the half copy has no end marker, so only stability could take it). It
    // costs nothing there: the finished copy is taken at once by its structure. The models folder
    // waits it out once at start.
    run = await startTestPipeline(dataDir, { SCOPEHIVE_STABLE_MS: '5000' });
  });

  afterAll(async () => {
    await run?.close();
    await removeDataDir(dataDir);
  });

  it('turns a dropped bus.jpg into a JSON result, an annotated image and CSV rows', async () => {
    await dropImage(run.inboxDir, 'bus.jpg');
    const files = resultFiles(run.resultsDir, 'bus.jpg', MODEL);
    const doc = await waitFor(() => readJson<ResultJson>(files.json), 30_000, 'the result of bus.jpg');
    const bytes = await fs.readFile(sharedImage('bus.jpg'));

    expect(doc.schema).toBe('scopehive.result/2');
    expect(doc.image).toEqual({
      path: 'bus.jpg',
      width: 810,
      height: 1080,
      bytes: bytes.length,
      sha256: sha256(bytes),
      format: 'jpeg',
    });
    expect(doc.model).toMatchObject({
      name: MODEL,
      file: `${MODEL}.onnx`,
      sha256: sha256(await fs.readFile(sharedModel(MODEL))),
      provider: 'cpu',
      input: { width: 320, height: 320 },
      layout: 'yolov8',
    });
    expect(doc.node).toBe('test-node');
    expect(Number.isNaN(Date.parse(doc.analysedAt))).toBe(false);
    for (const stage of ['read', 'decode', 'preprocess', 'inference', 'postprocess', 'write']) {
      expect(doc.timings[stage], `timing of ${stage}`).toBeGreaterThanOrEqual(0);
    }
    expect(doc.counts.person).toBe(4);
    expect(doc.counts.bus).toBe(1);
    for (const d of doc.detections) {
      expect(d.score).toBeGreaterThanOrEqual(0.25);
      expect(d.box[0]).toBeGreaterThanOrEqual(0);
      expect(d.box[2]).toBeLessThanOrEqual(810);
      expect(d.box[3]).toBeLessThanOrEqual(1080);
    }

    // The annotated picture: a real JPEG of the same size as the image.
    expect(doc.annotatedImage).toBe(path.basename(files.annotated));
    const annotated = await sharp(files.annotated).metadata();
    expect(annotated).toMatchObject({ format: 'jpeg', width: 810, height: 1080 });

    const detections = (await readCsv(path.join(run.resultsDir, 'detections.csv'))).filter(
      (r) => r.Image === 'bus.jpg',
    );
    expect(detections).toHaveLength(doc.detections.length);
    expect(detections.map((r) => r.Class)).toEqual(doc.detections.map((d) => d.class));
    expect(detections.every((r) => r.Model === MODEL && r.ResultId === doc.jobId)).toBe(true);
    // An uncalibrated photo: sizes in the pixel columns, ImageJ's names (BX, BY corner; Width,
    // Height; Area), the calibrated columns blank, and the row says it was measured from the box.
    detections.forEach((row, i) => {
      const [x1, y1, x2, y2] = doc.detections[i].box;
      expect(row.Source).toBe('box');
      expect(row.Area).toBe('');
      expect(Number(row['BX (px)'])).toBeCloseTo(x1, 1);
      expect(Number(row['BY (px)'])).toBeCloseTo(y1, 1);
      expect(Number(row['Width (px)'])).toBeCloseTo(x2 - x1, 1);
      expect(Number(row['Height (px)'])).toBeCloseTo(y2 - y1, 1);
      expect(Math.abs(Number(row['Area (px²)']) / ((x2 - x1) * (y2 - y1)) - 1)).toBeLessThan(1e-3);
    });

    const summary = (await readCsv(path.join(run.resultsDir, 'summary.csv'))).filter(
      (r) => r.Image === 'bus.jpg',
    );
    expect(summary).toHaveLength(1);
    expect(summary[0]).toMatchObject({
      Model: MODEL,
      Count: String(doc.detections.length),
      Width: '810',
      Height: '1080',
      Node: 'test-node',
      ResultId: doc.jobId,
    });
    expect(summary[0].Classes).toContain('bus=1');
    expect(summary[0].Classes).toContain('person=4');

    // One info log line for the analysed image, with its timings.
    const lines = run.logs.filter((l) => l.image === 'bus.jpg' && l.timingsMs);
    expect(lines).toHaveLength(1);
    expect(lines[0].msg).toMatch(/^bus\.jpg: \d+ objects .*by yolo11n_int8/);
  });

  it('analyses a file written slowly in chunks once, and only when complete', async () => {
    const bytes = await fs.readFile(sharedImage('zidane.jpg'));
    const file = path.join(run.inboxDir, 'slow-copy.jpg');
    const chunks = 5;
    const handle = await fs.open(file, 'w');
    try {
      for (let i = 0; i < chunks; i++) {
        const part = bytes.subarray(
          Math.floor((i * bytes.length) / chunks),
          Math.floor(((i + 1) * bytes.length) / chunks),
        );
        await handle.write(part);
        await handle.sync();
        if (i < chunks - 1) await sleep(400);
      }
    } finally {
      await handle.close();
    }
    const { json } = resultFiles(run.resultsDir, 'slow-copy.jpg', MODEL);
    const doc = await waitFor(() => readJson<ResultJson>(json), 30_000, 'the result of slow-copy.jpg');
    await run.quiet();

    expect(doc.image.bytes).toBe(bytes.length);
    expect(doc.image.sha256).toBe(sha256(bytes));
    expect(doc.counts).toEqual({ person: 2 });
    // Taken too early, the partial JPEG would have been set aside as truncated.
    expect(await exists(file)).toBe(true);
    expect(await exists(path.join(run.rejectedDir, 'slow-copy.jpg.reason.txt'))).toBe(false);
    const summary = (await readCsv(path.join(run.resultsDir, 'summary.csv'))).filter(
      (r) => r.Image === 'slow-copy.jpg',
    );
    expect(summary).toHaveLength(1);
    expect(run.logs.filter((l) => l.image === 'slow-copy.jpg' && l.timingsMs)).toHaveLength(1);
    const metrics = await run.metrics();
    // The series exists from the start (at zero, so dashboards count the first rejection) and stays 0.
    expect(metricValue(metrics, 'scopehive_images_total', { model: MODEL, outcome: 'rejected' })).toBe(0);
  });

  it('mirrors a subfolder of the inbox in the results', async () => {
    await fs.mkdir(path.join(run.inboxDir, 'session-1', 'grid-a'), { recursive: true });
    await dropImage(run.inboxDir, 'zidane.jpg', 'session-1/grid-a/zidane.jpg');
    const files = resultFiles(run.resultsDir, 'session-1/grid-a/zidane.jpg', MODEL);
    const doc = await waitFor(() => readJson<ResultJson>(files.json), 30_000, 'the result in the subfolder');

    expect(files.json).toBe(path.join(run.resultsDir, 'session-1', 'grid-a', `zidane.jpg.${MODEL}.json`));
    expect(doc.image.path).toBe('session-1/grid-a/zidane.jpg');
    expect(await exists(files.annotated)).toBe(true);
    const folder = path.join(run.resultsDir, 'session-1', 'grid-a');
    const detections = await readCsv(path.join(folder, 'detections.csv'));
    expect(detections.map((r) => r.Image)).toEqual(doc.detections.map(() => 'session-1/grid-a/zidane.jpg'));
    expect(await readCsv(path.join(folder, 'summary.csv'))).toHaveLength(1);
    // The top-level tables hold only the top-level images.
    const top = await readCsv(path.join(run.resultsDir, 'summary.csv'));
    expect(top.some((r) => r.Image.includes('session-1'))).toBe(false);
  });
});
