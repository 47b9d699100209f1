/**
 * A model file replaced mid-run (`cp` of another model over it) in the real `npm start` process:
 * every image ends with exactly one current result per model name, from the new model, with one set
 * of table rows; the process does not crash and is ready again.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { ResultDocument } from '@scopehive/shared';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readJson, resultFiles, sharedModel, waitFor } from '../integration/helpers/pipeline.ts';
import {
  lostImages,
  outsideSnapshot,
  rowsWhenSettled,
  waitAllSettled,
  waitHealthy,
  writtenOutside,
} from './helpers/checks.ts';
import { dropAll, smallPhotos } from './helpers/images.ts';
import {
  type FaultFolders,
  makeFaultFolders,
  PipelineProcess,
  removeFaultFolders,
} from './helpers/pipeline-process.ts';

/** The model's name on the share: its file is first one model, then another copied over it. */
const MODEL = 'detector';
const MODELS = [MODEL];
const sha256 = async (file: string) =>
  createHash('sha256')
    .update(await fs.readFile(file))
    .digest('hex');

let folders: FaultFolders;
let outside: Map<string, string>;
let pipeline: PipelineProcess | undefined;

beforeAll(async () => {
  folders = await makeFaultFolders();
  outside = await outsideSnapshot(folders);
});

afterEach(async (context) => {
  if (context.task.result?.state === 'fail' && pipeline) console.error(pipeline.process.report());
});

afterAll(async () => {
  await pipeline?.stop();
  await removeFaultFolders(folders);
});

describe('a model replaced mid-run', () => {
  it('ends with one current result per image from the new model, without a crash', async () => {
    const modelFile = path.join(folders.modelsDir, `${MODEL}.onnx`);
    await fs.copyFile(sharedModel('yolo11n_int8'), modelFile);
    pipeline = await PipelineProcess.start(folders.dataDir);
    const images = await smallPhotos('swap', 10);
    const names = [...images.keys()];
    await dropAll(folders.inboxDir, images);
    await waitFor(
      async () => (await lostImages(folders, names, MODELS)).length < names.length,
      60_000,
      'a first result from the first model',
    );

    // `cp` writes over the file in place: the registry sees it change, then complete.
    await fs.copyFile(sharedModel('yolov8n-uint8'), modelFile);
    const current = await sha256(modelFile);

    await waitAllSettled(folders, names, MODELS);
    await waitFor(
      async () => {
        for (const image of names) {
          const doc = await readJson<ResultDocument>(resultFiles(folders.resultsDir, image, MODEL).json);
          if (doc.model.sha256 !== current) return false;
        }
        return true;
      },
      90_000,
      'every result to come from the new model',
    );
    expect(pipeline.process.exit, 'the process exited').toBeUndefined();
    await waitHealthy(pipeline.url);
    expect(await lostImages(folders, names, MODELS)).toEqual([]);
    expect(await rowsWhenSettled(folders, names, MODELS)).toEqual([]);
    expect(await fs.readdir(folders.rejectedDir)).toEqual([]);
    expect(await writtenOutside(folders, outside)).toEqual([]);
  }, 120_000);
});
