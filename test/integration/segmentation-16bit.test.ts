/**
 * A calibrated 16-bit TIFF through the watcher with the segmentation model (issue 10, end to end):
 * rows in calibrated units with the pixel columns beside them, a 16-bit label image of the image's
 * size whose label k is row k, and grey values taken from the 16-bit counts in each label's region
 * (not from the 8-bit copy the model saw). The expected grey values are computed here from the
 * samples the test wrote and the label image the pipeline wrote, independently of the product's code.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { ResultDocument } from '@scopehive/shared';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUS_16BIT_NM, type Bus16Bit, bus16BitTiff } from './helpers/bus-tiff.ts';
import {
  addModel,
  makeDataDir,
  readCsv,
  readJson,
  removeDataDir,
  resultFiles,
  startTestPipeline,
  waitFor,
} from './helpers/pipeline.ts';

const MODEL = 'yolov8n-seg-int8-320';
const IMAGE = 'bus-16bit.tif';
const NM_PER: Record<string, number> = { nm: 1, µm: 1e3, mm: 1e6 };

let dataDir: string;
let bus: Bus16Bit;
let doc: ResultDocument;
let rows: Array<Record<string, string>>;
let labels: Uint16Array;
let labelSize: { width: number; height: number };

beforeAll(async () => {
  dataDir = await makeDataDir();
  bus = await bus16BitTiff();
  const run = await startTestPipeline(dataDir, { SCOPEHIVE_ANNOTATE: 'false' });
  try {
    await addModel(run.modelsDir, MODEL);
    await fs.writeFile(path.join(run.inboxDir, IMAGE), bus.tiff);
    const { json } = resultFiles(run.resultsDir, IMAGE, MODEL);
    doc = await waitFor(() => readJson<ResultDocument>(json), 90_000, `the result of ${IMAGE}`);
    rows = (await readCsv(path.join(run.resultsDir, 'detections.csv'))).filter(
      (r) => r.Image === IMAGE && r.Model === MODEL,
    );
    const { data, info } = await sharp(json.replace(/\.json$/, '.labels.png'))
      .toColourspace('grey16')
      .raw({ depth: 'ushort' })
      .toBuffer({ resolveWithObject: true });
    expect(info.channels).toBe(1);
    labels = new Uint16Array(data.buffer, data.byteOffset, data.length / 2);
    labelSize = { width: info.width, height: info.height };
    await run.quiet();
  } finally {
    await run.close();
  }
}, 180_000);

afterAll(async () => {
  await removeDataDir(dataDir);
});

/** Rows measured from their masks, with their label (row number). */
const masked = () => rows.map((row, i) => ({ row, k: i + 1 })).filter(({ row }) => row.Source === 'mask');

/** |a − b| / b. */
const relative = (actual: string, expected: number) => Math.abs(Number(actual) - expected) / expected;

/** The column of `rows` named `<measure> (<unit>)` in a physical unit, and that unit. */
function physicalColumn(measure: string, power = ''): { name: string; unit: string } {
  const pattern = new RegExp(`^${measure.replace('.', '\\.')} \\((nm|µm|mm)${power}\\)$`);
  const name = Object.keys(rows[0]).find((h) => pattern.test(h));
  expect(
    name,
    `a ${measure} column in a physical unit among ${Object.keys(rows[0]).join(', ')}`,
  ).toBeDefined();
  return { name: name!, unit: pattern.exec(name!)![1] };
}

describe('a calibrated 16-bit TIFF through the watcher with the segmentation model', () => {
  it('is read with its ImageJ calibration and measured from masks', () => {
    expect(doc.calibration).toMatchObject({ source: 'imagej', pixelWidthNm: BUS_16BIT_NM });
    expect(doc.detections.length).toBeGreaterThanOrEqual(2);
    expect(rows).toHaveLength(doc.detections.length);
    expect(masked().length).toBeGreaterThanOrEqual(2);
    // A feature whose mask lies wholly under stronger ones has no region: its row says 'box'.
    expect(rows.every((r) => r.Source === 'mask' || r.Source === 'box')).toBe(true);
  });

  it('writes calibrated rows with the pixel columns beside them', () => {
    const area = physicalColumn('Area', '²');
    const perimeter = physicalColumn('Perim.');
    const nm = NM_PER[area.unit];
    for (const row of rows) {
      const px = Number(row['Area (px²)']);
      expect(px).toBeGreaterThan(0);
      // Six significant digits in the table, each column rounded on its own.
      expect(relative(row[area.name], (px * BUS_16BIT_NM ** 2) / nm ** 2)).toBeLessThan(1e-5);
    }
    for (const { row } of masked()) {
      expect(relative(row[perimeter.name], (Number(row['Perim. (px)']) * BUS_16BIT_NM) / nm)).toBeLessThan(
        1e-5,
      );
    }
  });

  it('writes a 16-bit label image of the image size whose label k is row k', () => {
    expect(labelSize).toEqual({ width: bus.width, height: bus.height });
    const present = new Set(labels);
    present.delete(0);
    expect([...present].sort((a, b) => a - b)).toEqual(masked().map(({ k }) => k));
    const areas = new Map<number, number>();
    for (const k of labels) if (k) areas.set(k, (areas.get(k) ?? 0) + 1);
    for (const { row, k } of masked()) expect(Number(row['Area (px²)']), `row ${k}`).toBe(areas.get(k));
  });

  it('takes Mean, Min, Max and IntDen from the 16-bit counts in each label region', () => {
    const stats = new Map<number, { sum: number; min: number; max: number; n: number }>();
    labels.forEach((k, i) => {
      if (!k) return;
      const v = bus.samples[i];
      const s = stats.get(k) ?? { sum: 0, min: Infinity, max: -Infinity, n: 0 };
      s.sum += v;
      s.min = Math.min(s.min, v);
      s.max = Math.max(s.max, v);
      s.n += 1;
      stats.set(k, s);
    });
    for (const { row, k } of masked()) {
      const s = stats.get(k)!;
      expect(relative(row.Mean, s.sum / s.n), `row ${k} Mean`).toBeLessThan(5e-6);
      expect(Number(row.Min), `row ${k} Min`).toBe(s.min);
      expect(Number(row.Max), `row ${k} Max`).toBe(s.max);
      expect(relative(row['IntDen (px²)'], s.sum), `row ${k} IntDen`).toBeLessThan(5e-6);
    }
    // Counts, not the 8-bit copy: every 16-bit count here is at least 1000.
    const mins = masked().map(({ row }) => Number(row.Min));
    expect(Math.min(...mins)).toBeGreaterThanOrEqual(1000);
    expect(Math.max(...masked().map(({ row }) => Number(row.Max)))).toBeGreaterThan(255);
  });
});
