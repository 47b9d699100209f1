import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addModel,
  dropImage,
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

const MODEL = 'yolo11n_int8';

describe('/metrics, /healthz and /readyz after a run', () => {
  let dataDir: string;
  let run: TestPipeline;
  let metrics: string;
  const detected: Record<string, number> = {};

  beforeAll(async () => {
    dataDir = await makeDataDir();
    await fs.mkdir(path.join(dataDir, 'models'));
    await addModel(path.join(dataDir, 'models'), MODEL);
    run = await startTestPipeline(dataDir);
    for (const image of ['bus.jpg', 'zidane.jpg']) await dropImage(run.inboxDir, image);
    for (const image of ['bus.jpg', 'zidane.jpg']) {
      const { json } = resultFiles(run.resultsDir, image, MODEL);
      const doc = await waitFor(() => readJson<ResultJson>(json), 30_000, `the result of ${image}`);
      for (const [cls, n] of Object.entries(doc.counts)) detected[cls] = (detected[cls] ?? 0) + n;
    }
    await run.quiet();
    metrics = await run.metrics();
  });

  afterAll(async () => {
    await run?.close();
    await removeDataDir(dataDir);
  });

  const series = (name: string, labels: Record<string, string> = {}) =>
    metricValue(metrics, name, { node: 'test-node', ...labels });

  it('counts images by model and outcome', () => {
    expect(series('scopehive_images_total', { model: MODEL, outcome: 'ok' })).toBe(2);
  });

  it('has a duration histogram per stage', () => {
    expect(metrics).toContain('# TYPE scopehive_stage_duration_seconds histogram');
    for (const stage of ['read', 'decode', 'preprocess', 'inference', 'postprocess', 'write']) {
      expect(series('scopehive_stage_duration_seconds_count', { model: MODEL, stage }), stage).toBe(2);
      expect(series('scopehive_stage_duration_seconds_sum', { model: MODEL, stage }), stage).toBeGreaterThan(
        0,
      );
      expect(series('scopehive_stage_duration_seconds_bucket', { model: MODEL, stage, le: '+Inf' })).toBe(2);
    }
  });

  it('gives the model frame rate over the sliding window', () => {
    expect(metrics).toContain('# TYPE scopehive_model_frame_rate gauge');
    expect(series('scopehive_model_frame_rate', { model: MODEL })).toBeGreaterThan(0);
  });

  it('counts detections by model and class', () => {
    expect(detected.person).toBe(6);
    for (const [cls, n] of Object.entries(detected)) {
      expect(series('scopehive_detections_total', { model: MODEL, class: cls }), cls).toBe(n);
    }
  });

  it('shows the queue depth and the file-to-result latency', () => {
    expect(series('scopehive_queue_depth')).toBe(0);
    expect(metrics).toContain('# TYPE scopehive_file_to_result_seconds histogram');
    expect(series('scopehive_file_to_result_seconds_count', { model: MODEL })).toBe(2);
    expect(series('scopehive_file_to_result_seconds_sum', { model: MODEL })).toBeGreaterThan(0);
  });

  it('describes each loaded model: provider, input size and layout', () => {
    expect(
      series('scopehive_model_info', { model: MODEL, provider: 'cpu', input: '320x320', layout: 'yolov8' }),
    ).toBe(1);
  });

  it("has Node's process metrics under prom-client's standard names (stock dashboards read them)", () => {
    expect(series('process_cpu_seconds_total')).toBeGreaterThan(0);
    expect(series('process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(metrics).toMatch(/^nodejs_eventloop_lag_seconds\{/m);
  });

  it('keeps labels low-cardinality: no file name in any series', () => {
    expect(metrics).not.toMatch(/bus\.jpg|zidane\.jpg/);
    const names = new Set(
      metrics
        .split('\n')
        .filter((l) => l && !l.startsWith('#'))
        .map((l) => l.split(/[{ ]/)[0]),
    );
    expect([...names].filter((n) => !/^(scopehive|process|nodejs)_/.test(n))).toEqual([]);
  });

  it('answers /healthz and /readyz with 200', async () => {
    const health = await run.get('/healthz');
    expect(health.status).toBe(200);
    expect(JSON.parse(health.text)).toEqual({ status: 'ok' });
    const ready = await run.get('/readyz');
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.text)).toMatchObject({ status: 'ready' });
  });
});
