/**
 * The CLI and the watched inbox are two front doors over one pipeline: on the same folder, with a
 * folder `scopehive.json` (pixel size, data bar), they must give the same result documents.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type { ResultDocument } from '@scopehive/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addModel,
  dropImage,
  makeDataDir,
  readJson,
  removeDataDir,
  startTestPipeline,
  type TestPipeline,
  waitFor,
} from '../integration/helpers/pipeline.ts';

const repo = path.resolve(import.meta.dirname, '../..');
const bin = path.join(repo, 'node_modules/.bin/scopehive');
const run = promisify(execFile);

let dataDir: string;
let watcher: TestPipeline | undefined;

beforeAll(async () => {
  dataDir = await makeDataDir();
  await fs.mkdir(path.join(dataDir, 'models'), { recursive: true });
  await addModel(path.join(dataDir, 'models'), 'yolov8n-fp32');
});

afterAll(async () => {
  await watcher?.close();
  await removeDataDir(dataDir);
});

/** What differs between two runs of the same analysis: when it ran and how long it took. */
function withoutTimes(doc: ResultDocument): Omit<ResultDocument, 'analysedAt' | 'timings'> {
  const { analysedAt: _at, timings: _t, ...rest } = doc;
  return rest;
}

describe('the CLI and the watched inbox', () => {
  it('give the same result documents apart from times, honouring the folder settings', async () => {
    watcher = await startTestPipeline(dataDir);
    const session = path.join(watcher.inboxDir, 'session');
    await fs.mkdir(path.join(session, 'day1'), { recursive: true });
    // Forced pixel size and a data bar for the whole session: the photo becomes a calibrated,
    // tiled analysis of its upper rows, which is what the CLI used to ignore.
    await fs.writeFile(
      path.join(session, 'scopehive.json'),
      JSON.stringify({ pixelSize: 5, unit: 'nm', cropBottom: 80, override: true }),
    );
    await dropImage(watcher.inboxDir, 'bus.jpg', 'session/bus.jpg');
    await dropImage(watcher.inboxDir, 'zidane.jpg', 'session/day1/zidane.jpg');
    const images = ['session/bus.jpg', 'session/day1/zidane.jpg'];
    const fromWatcher = await Promise.all(
      images.map((image) =>
        waitFor(
          () => readJson<ResultDocument>(path.join(watcher!.resultsDir, `${image}.yolov8n-fp32.json`)),
          90_000,
          `the watcher's result for ${image}`,
        ),
      ),
    );
    expect(fromWatcher[0].calibration).toMatchObject({ source: 'folder-override', pixelWidthNm: 5 });
    expect(fromWatcher[0].analysedArea.height).toBe(1080 - 80);
    expect(fromWatcher[0].tiling.tiles).toBeGreaterThan(1);

    const out = path.join(dataDir, 'cli-results');
    await run(
      bin,
      [
        'analyze',
        session,
        '--model',
        path.join(dataDir, 'models/yolov8n-fp32.onnx'),
        '--out',
        out,
        '--quiet',
      ],
      {
        cwd: dataDir,
        env: { ...process.env, SCOPEHIVE_NODE_NAME: 'test-node', SCOPEHIVE_LOG_LEVEL: 'error' },
      },
    );
    for (const [i, image] of images.entries()) {
      const fromCli = await readJson<ResultDocument>(path.join(out, `${image}.yolov8n-fp32.json`));
      expect(withoutTimes(fromCli)).toEqual(withoutTimes(fromWatcher[i]));
    }
  });
});
