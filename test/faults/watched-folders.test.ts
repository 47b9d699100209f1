/**
 * Watched folders that vanish and come back while the real `npm start` pipeline runs (an NFS
 * remount, an operator tidying up): the inbox removed and made again, the models folder renamed away
 * and a new one made. The service says it is not ready while the inbox is missing, and picks up
 * both folders again once they are back: the images and models in them are used.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

const FIRST = 'yolo11n_int8';
const SECOND = 'yolov10n_int8';

let dataDir: string;
let run: TestPipeline;

const analysed = (image: string, model: string) =>
  waitFor(
    () => exists(resultFiles(run.resultsDir, image, model).json),
    60_000,
    `${image} analysed by ${model}`,
  );

const readiness = async () => {
  const res = await run.get('/readyz');
  return { status: res.status, reason: JSON.parse(res.text).reason as string | undefined };
};

beforeAll(async () => {
  dataDir = await makeDataDir();
  await fs.mkdir(path.join(dataDir, 'models'));
  await addModel(path.join(dataDir, 'models'), FIRST);
  run = await startTestPipeline(dataDir);
}, 120_000);

afterAll(async () => {
  await run?.close();
  await removeDataDir(dataDir);
});

describe('watched folders removed, renamed and made again while running', () => {
  it('the inbox removed: not ready, naming it; made again with an image in it: analysed', async () => {
    await dropImage(run.inboxDir, 'bus.jpg');
    await analysed('bus.jpg', FIRST);
    expect((await readiness()).status).toBe(200);

    await fs.rm(run.inboxDir, { recursive: true });
    const missing = `the inbox folder ${run.inboxDir} is missing`;
    const notReady = await waitFor(
      async () => {
        const r = await readiness();
        return r.status === 503 && r.reason;
      },
      30_000,
      '/readyz to say the inbox is missing',
    );
    expect(notReady).toBe(missing);
    expect(run.logs.filter((l) => l.msg.startsWith(missing))).toHaveLength(1);

    await fs.mkdir(run.inboxDir, { recursive: true });
    await dropImage(run.inboxDir, 'zidane.jpg');
    await analysed('zidane.jpg', FIRST);
    await waitFor(async () => (await readiness()).status === 200, 30_000, '/readyz to say ready again');
    expect(run.logs.some((l) => l.msg.startsWith(`the inbox folder ${run.inboxDir} is back`))).toBe(true);
  }, 180_000);

  it('the models folder renamed away: its models unloaded; a new one with a model: loaded and used', async () => {
    const away = `${run.modelsDir}-old`;
    await fs.rename(run.modelsDir, away);
    await waitFor(
      () => run.pipeline.models.list().length === 0,
      30_000,
      'the models renamed away to be unloaded',
    );
    expect((await readiness()).status).toBe(503);

    await fs.mkdir(run.modelsDir, { recursive: true });
    await addModel(run.modelsDir, SECOND);
    await waitFor(
      () => run.pipeline.models.get(SECOND),
      60_000,
      `${SECOND} to be loaded from the new folder`,
    );
    // The waiting image is analysed by the new model, and so is a new one.
    await analysed('zidane.jpg', SECOND);
    await dropImage(run.inboxDir, 'bus.jpg', 'after-models.jpg');
    await analysed('after-models.jpg', SECOND);
    expect(run.pipeline.models.list().map((m) => m.name)).toEqual([SECOND]);
    await waitFor(async () => (await readiness()).status === 200, 30_000, '/readyz to say ready again');
  }, 180_000);
});
