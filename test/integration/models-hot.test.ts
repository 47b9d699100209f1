import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
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
  startTestPipeline,
  type TestPipeline,
  waitFor,
} from './helpers/pipeline.ts';

const FIRST = 'yolo11n_int8';
const SECOND = 'yolov10n_int8';

describe('models added, removed and broken while the service runs', () => {
  let dataDir: string;
  let run: TestPipeline;

  const result = (image: string, model: string) =>
    waitFor(
      () => readJson<ResultJson>(resultFiles(run.resultsDir, image, model).json),
      30_000,
      `${image} analysed by ${model}`,
    );

  beforeAll(async () => {
    dataDir = await makeDataDir();
    run = await startTestPipeline(dataDir);
  });

  afterAll(async () => {
    await run?.close();
    await removeDataDir(dataDir);
  });

  it('without a model: not ready, says how to add one, keeps the dropped images waiting', async () => {
    await dropImage(run.inboxDir, 'bus.jpg');
    const ready = await run.get('/readyz');
    expect(ready.status).toBe(503);
    const reason = String(JSON.parse(ready.text).reason);
    expect(reason).toContain(`no model in ${run.modelsDir}`);
    expect(reason).toContain('npm run fetch-model');
    expect((await run.get('/healthz')).status).toBe(200);
    expect(run.logs.some((l) => l.level === 40 && l.msg === reason)).toBe(true);
    await run.quiet();
    expect(await fs.readdir(run.resultsDir)).toEqual([]);
    expect(await exists(path.join(run.inboxDir, 'bus.jpg'))).toBe(true);
  });

  it('analyses the waiting images as soon as a model is copied in, without a restart', async () => {
    await addModel(run.modelsDir, FIRST);
    const doc = await result('bus.jpg', FIRST);
    expect(doc.counts).toMatchObject({ person: 4, bus: 1 });
    expect((await run.get('/readyz')).status).toBe(200);
  });

  it('runs a second model on the waiting and the new images alike', async () => {
    await addModel(run.modelsDir, SECOND);
    expect((await result('bus.jpg', SECOND)).counts).toEqual({ person: 4, bus: 1 });
    await dropImage(run.inboxDir, 'zidane.jpg');
    expect((await result('zidane.jpg', FIRST)).counts).toEqual({ person: 2 });
    expect((await result('zidane.jpg', SECOND)).counts).toEqual({ person: 2 });
    const metrics = await run.metrics();
    expect(metricValue(metrics, 'scopehive_model_info', { model: SECOND, layout: 'yolov10-e2e' })).toBe(1);
  });

  it('stops using a model once its file is removed', async () => {
    await fs.rm(path.join(run.modelsDir, `${SECOND}.onnx`));
    await waitFor(
      async () => metricValue(await run.metrics(), 'scopehive_model_info', { model: SECOND }) === undefined,
      30_000,
      `${SECOND} to be unloaded`,
    );
    expect(run.logs.some((l) => l.msg === `model ${SECOND} removed`)).toBe(true);
    await dropImage(run.inboxDir, 'zidane.jpg', 'after-removal.jpg');
    await result('after-removal.jpg', FIRST);
    await run.quiet();
    expect(await exists(resultFiles(run.resultsDir, 'after-removal.jpg', SECOND).json)).toBe(false);
    expect((await run.get('/readyz')).status).toBe(200);
  });

  it('reports a corrupt model file and keeps analysing with the others', async () => {
    await fs.writeFile(path.join(run.modelsDir, 'broken.onnx'), randomBytes(64 * 1024));
    await waitFor(
      async () =>
        metricValue(await run.metrics(), 'scopehive_model_load_failures_total', { model: 'broken' }) === 1,
      30_000,
      'the failed load of broken.onnx to be counted',
    );
    const logged = run.logs.find((l) => l.level === 50 && l.model === 'broken');
    expect(logged?.msg).toMatch(/^model broken failed to load: /);
    expect(run.pipeline.models.failures().has('broken')).toBe(true);

    await dropImage(run.inboxDir, 'bus.jpg', 'after-broken.jpg');
    expect((await result('after-broken.jpg', FIRST)).counts).toMatchObject({ person: 4, bus: 1 });
    expect((await run.get('/readyz')).status).toBe(200);
    expect(run.pipeline.models.list().map((m) => m.name)).toEqual([FIRST]);
  });
});
