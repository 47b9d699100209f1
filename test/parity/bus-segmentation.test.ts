/**
 * Parity with the real ImageJ end to end: the segmentation model on bus.jpg through the inbox
 * watcher writes a label image and detections.csv; ImageJ 1.53t's Analyze Particles on that label
 * image (grey values redirected to the same pixels we measured: bus.jpg's (R + G + B) / 3) must give
 * what our table says. Area, the bounding box and the grey values exactly (to the table's six
 * significant digits); Perim., Feret, MinFeret, Major, Minor, Circ. and the centroid within 0.5 %.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeImage } from '../../services/inference/src/image/decode-image.ts';
import { greyValues } from '../../services/inference/src/pipeline/measure-features.ts';
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
  startTestPipeline,
  type TestPipeline,
  waitFor,
} from '../integration/helpers/pipeline.ts';
import { type ImageJRow, runImageJ, writeGrey16Png } from './imagej.ts';

const MODEL = 'yolov8n-seg-int8-320';
/** ImageJ column → our detections.csv column (an uncalibrated photo: the pixel columns). */
const EXACT: Array<[string, string]> = [
  ['Area', 'Area (px²)'],
  ['BX', 'BX (px)'],
  ['BY', 'BY (px)'],
  ['Width', 'Width (px)'],
  ['Height', 'Height (px)'],
  ['Mean', 'Mean'],
  ['Min', 'Min'],
  ['Max', 'Max'],
  ['IntDen', 'IntDen (px²)'],
];
const WITHIN_HALF_PERCENT: Array<[string, string]> = [
  ['X', 'X (px)'],
  ['Y', 'Y (px)'],
  ['Perim.', 'Perim. (px)'],
  ['Feret', 'Feret (px)'],
  ['MinFeret', 'MinFeret (px)'],
  ['Major', 'Major (px)'],
  ['Minor', 'Minor (px)'],
  ['Circ.', 'Circ.'],
];

describe('ImageJ parity: the segmentation model on bus.jpg, through the pipeline', () => {
  let dataDir: string;
  let tmp: string;
  let run: TestPipeline;
  let rows: Array<Record<string, string>>;
  let imagej: ImageJRow[];

  beforeAll(async () => {
    dataDir = await makeDataDir();
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'scopehive-bus-parity-'));
    run = await startTestPipeline(dataDir);
    await addModel(run.modelsDir, MODEL);
    await dropImage(run.inboxDir, 'bus.jpg');
    const files = resultFiles(run.resultsDir, 'bus.jpg', MODEL);
    const doc = await waitFor(() => readJson<ResultJson>(files.json), 60_000, 'the result of bus.jpg');
    rows = (await readCsv(path.join(run.resultsDir, 'detections.csv'))).filter(
      (r) => r.Image === 'bus.jpg' && r.Model === MODEL,
    );
    expect(rows).toHaveLength(doc.detections.length);
    const image = await decodeImage(await fs.readFile(sharedImage('bus.jpg')), { maxPixels: 1e8 });
    const grey = Uint16Array.from(greyValues(image) as ArrayLike<number>);
    const greyPng = path.join(tmp, 'bus-grey.png');
    await writeGrey16Png(greyPng, grey, image.width, image.height);
    imagej = await runImageJ(files.json.replace(/\.json$/, '.labels.png'), greyPng);
  }, 180_000);

  afterAll(async () => {
    await run?.close();
    await removeDataDir(dataDir);
    if (tmp) await fs.rm(tmp, { recursive: true, force: true });
  });

  it('writes mask rows and a label image ImageJ reads as one particle per row', () => {
    expect(rows.length).toBeGreaterThanOrEqual(3);
    expect(rows.every((r) => r.Source === 'mask')).toBe(true);
    const labels = new Set(imagej.map((r) => r.k));
    expect([...labels].sort((a, b) => a - b)).toEqual(rows.map((_r, i) => i + 1));
  });

  it('agrees with ImageJ on every column, row by row', () => {
    // A label in several 8-connected pieces is one row here and several in ImageJ: compared whole only.
    const single = imagej.filter((r) => imagej.filter((o) => o.k === r.k).length === 1);
    expect(single.length).toBeGreaterThanOrEqual(3);
    const failures: string[] = [];
    for (const theirs of single) {
      const ours = rows[theirs.k - 1];
      const check = ([ij, column]: [string, string], allowed: number) => {
        const a = theirs[ij];
        const b = Number(ours[column]);
        const relative = Math.abs(a - b) / Math.max(1, Math.abs(a));
        if (!(relative <= allowed)) failures.push(`row ${theirs.k} ${ij}: ImageJ ${a}, ours ${ours[column]}`);
      };
      // The table keeps six significant digits.
      for (const pair of EXACT) check(pair, 5e-6);
      for (const pair of WITHIN_HALF_PERCENT) check(pair, 0.005);
    }
    expect(failures).toEqual([]);
  });
});
