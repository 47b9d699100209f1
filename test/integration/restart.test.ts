import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addModel,
  dropImage,
  makeDataDir,
  metricValue,
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
const IMAGES = ['bus.jpg', 'zidane.jpg', 'day-2/bus.jpg'];
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** What a user could compare before and after a restart: result file times and table sizes. */
async function snapshot(resultsDir: string) {
  const mtimes: Record<string, number> = {};
  for (const image of IMAGES) {
    const files = resultFiles(resultsDir, image, MODEL);
    mtimes[files.json] = (await fs.stat(files.json)).mtimeMs;
    mtimes[files.annotated] = (await fs.stat(files.annotated)).mtimeMs;
  }
  const rows: Record<string, number> = {};
  for (const folder of [resultsDir, path.join(resultsDir, 'day-2')]) {
    for (const table of ['detections.csv', 'summary.csv']) {
      rows[path.join(folder, table)] = (await readCsv(path.join(folder, table))).length;
    }
  }
  return { mtimes, rows };
}

describe('restarting on the same folders', () => {
  let dataDir: string;
  let run: TestPipeline | undefined;
  let before: Awaited<ReturnType<typeof snapshot>>;

  beforeAll(async () => {
    dataDir = await makeDataDir();
    await fs.mkdir(path.join(dataDir, 'models'), { recursive: true });
    await addModel(path.join(dataDir, 'models'), MODEL);
    // The backlog: images already in the inbox before the service starts.
    for (const image of IMAGES) await dropImage(path.join(dataDir, 'inbox'), path.basename(image), image);
  });

  afterAll(async () => {
    await run?.close();
    await removeDataDir(dataDir);
  });

  async function restart(): Promise<TestPipeline> {
    await run?.close();
    run = undefined;
    run = await startTestPipeline(dataDir);
    return run;
  }

  it('analyses every image that was in the inbox before the start', async () => {
    const first = await restart();
    for (const image of IMAGES) {
      const { json } = resultFiles(first.resultsDir, image, MODEL);
      const doc = await waitFor(() => readJson<ResultJson>(json), 30_000, `the backlog result of ${image}`);
      expect(doc.image.path).toBe(image);
    }
    await first.quiet();
    const metrics = await first.metrics();
    expect(metricValue(metrics, 'scopehive_images_total', { model: MODEL, outcome: 'ok' })).toBe(3);
    before = await snapshot(first.resultsDir);
    expect(Object.values(before.rows).every((n) => n > 0)).toBe(true);
  });

  it('analyses nothing again after a restart', async () => {
    const second = await restart();
    await second.quiet();
    expect(await snapshot(second.resultsDir)).toEqual(before);
    const metrics = await second.metrics();
    expect(metricValue(metrics, 'scopehive_images_total', { model: MODEL, outcome: 'ok' }) ?? 0).toBe(0);
    expect(metricValue(metrics, 'scopehive_images_total', { model: MODEL, outcome: 'skipped' }) ?? 0).toBe(0);
    expect(second.logs.filter((l) => l.timingsMs)).toEqual([]);
  });

  it('analyses changed content under the same name again, while running and across a restart', async () => {
    const bus = await fs.readFile(sharedImage('bus.jpg'));
    const zidane = await fs.readFile(sharedImage('zidane.jpg'));
    const running = run!;

    // While running: zidane.jpg now holds the bus picture.
    await fs.writeFile(path.join(running.inboxDir, 'zidane.jpg'), bus);
    const zidaneJson = resultFiles(running.resultsDir, 'zidane.jpg', MODEL).json;
    const changed = await waitFor(
      async () => {
        const doc = await readJson<ResultJson>(zidaneJson);
        return doc.image.sha256 === sha256(bus) && doc;
      },
      30_000,
      'the result of the rewritten zidane.jpg',
    );
    expect(changed.image).toMatchObject({ width: 810, height: 1080, bytes: bus.length });
    expect(changed.counts).toMatchObject({ person: 4, bus: 1 });

    // While stopped: bus.jpg now holds the zidane picture.
    await running.close();
    run = undefined;
    await fs.writeFile(path.join(dataDir, 'inbox', 'bus.jpg'), zidane);
    const third = await restart();
    const busJson = resultFiles(third.resultsDir, 'bus.jpg', MODEL).json;
    const redone = await waitFor(
      async () => {
        const doc = await readJson<ResultJson>(busJson);
        return doc.image.sha256 === sha256(zidane) && doc;
      },
      30_000,
      'the result of bus.jpg rewritten while stopped',
    );
    expect(redone.image).toMatchObject({ width: 1280, height: 720, bytes: zidane.length });
    expect(redone.counts).toEqual({ person: 2 });
    await third.quiet();

    // Only the changed file was analysed; the untouched one in day-2 kept its result.
    const metrics = await third.metrics();
    expect(metricValue(metrics, 'scopehive_images_total', { model: MODEL, outcome: 'ok' })).toBe(1);
    const day2 = resultFiles(third.resultsDir, 'day-2/bus.jpg', MODEL).json;
    expect((await fs.stat(day2)).mtimeMs).toBe(before.mtimes[day2]);
    // Each image keeps one summary row: the new analysis replaced the old one's (a rewrite may be
    // spaced out behind a burst of writes, so the table is read until it has settled).
    const widths = async (image: string) =>
      (await readCsv(path.join(third.resultsDir, 'summary.csv')))
        .filter((r) => r.Image === image)
        .map((r) => r.Width);
    await waitFor(async () => (await widths('bus.jpg')).length === 1, 30_000, 'one summary row for bus.jpg');
    await waitFor(
      async () => (await widths('zidane.jpg')).length === 1,
      30_000,
      'one summary row for zidane.jpg',
    );
    expect(await widths('bus.jpg')).toEqual(['1280']);
    expect(await widths('zidane.jpg')).toEqual(['810']);
  });
});
