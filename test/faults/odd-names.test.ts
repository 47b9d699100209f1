/**
 * File names a Windows PC or a script puts on the share: a backslash is an ordinary character of a
 * Linux file name. Such files are analysed, or rejected with their true reason, never "vanished".
 */
import fs from 'node:fs/promises';
import path from 'node:path';
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

let dataDir: string;
let run: TestPipeline;

beforeAll(async () => {
  dataDir = await makeDataDir();
  await fs.mkdir(path.join(dataDir, 'models'), { recursive: true });
  await addModel(path.join(dataDir, 'models'), 'yolo11n_int8');
  run = await startTestPipeline(dataDir);
});

afterAll(async () => {
  await run?.close();
  await removeDataDir(dataDir);
});

describe('odd file names on the share', () => {
  it('analyses an image whose name holds a backslash', async () => {
    await dropImage(run.inboxDir, 'bus.jpg', 'scan\\001.jpg');
    const doc = await waitFor(
      () => readJson<ResultDocument>(path.join(run.resultsDir, 'scan\\001.jpg.yolo11n_int8.json')),
      60_000,
      'the result of scan\\001.jpg',
    );
    expect(doc.image.path).toBe('scan\\001.jpg');
    expect(doc.counts.person).toBe(4);
  });

  it('rejects a bad file whose name holds a backslash with its true reason', async () => {
    await fs.writeFile(path.join(run.inboxDir, 'notes\\a.jpg'), 'not an image');
    const reason = await waitFor(
      () => fs.readFile(path.join(run.rejectedDir, 'notes\\a.jpg.reason.txt'), 'utf8'),
      60_000,
      'the reason for notes\\a.jpg',
    );
    expect(reason).toMatch(/unsupported: not an image in a supported format/);
    await fs.access(path.join(run.rejectedDir, 'notes\\a.jpg'));
  });
});
