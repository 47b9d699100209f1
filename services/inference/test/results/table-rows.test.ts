/**
 * Tables that pool (issue 10, item 5): one physical unit per table file, fixed when the file is
 * created and named in its header; pixel columns always; µm spelled one way; an optional UTF-8
 * byte-order mark; ImageJ measurement columns with their source; one current row set per pair kept.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { makeJob, type ResultDocument } from '@scopehive/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FeatureInput } from '../../src/core/quantify.ts';
import type { CalibrationOverride } from '../../src/microscopy/calibration.ts';
import { planAnalysis } from '../../src/pipeline/plan.ts';
import { parseCsvLine, splitCsvRecords } from '../../src/results/csv.ts';
import { CsvTables } from '../../src/results/csv-table.ts';
import { buildResultDocument } from '../../src/results/document.ts';
import {
  appendResultRows,
  detectionColumns,
  parseSizeUnit,
  type SizeUnitSetting,
  summaryColumns,
  unitOfHeader,
} from '../../src/results/table-rows.ts';
import { particlesModel } from './fixtures.ts';

const model = particlesModel;

/** A 400×300 image's result; `nmPerPx` undefined: uncalibrated. */
function result(image: string, detections: FeatureInput[], nmPerPx?: number, sha = 'a'): ResultDocument {
  const job = makeJob({
    origin: 'scope-1',
    image: { path: image, bytes: 4096, sha256: sha.repeat(64) },
    model,
  });
  const overrides: CalibrationOverride[] =
    nmPerPx === undefined
      ? []
      : [
          {
            source: 'folder-override',
            origin: 'scopehive.json',
            override: true,
            calibration: {
              pixelWidth: nmPerPx,
              pixelHeight: nmPerPx,
              unit: 'nm',
              source: 'folder-override',
              detail: 'test',
            },
          },
        ];
  const plan = planAnalysis({
    image: { format: 'tiff', width: 400, height: 300, calibrationCandidates: [], warnings: [] },
    model,
    tiling: { mode: 'auto', overlap: 0.2, wholeImagePass: false },
    overrides,
  });
  return buildResultDocument({
    job,
    model,
    image: { width: 400, height: 300, format: 'tiff' },
    imageSha256: job.image.sha256,
    imageBytes: job.image.bytes,
    detections,
    plan,
    node: 'worker-7',
    timings: {},
  });
}

const particle = (
  box: [number, number, number, number],
  extra: Partial<FeatureInput> = {},
): FeatureInput => ({
  classId: 0,
  className: 'particle',
  score: 0.9,
  box,
  ...extra,
});

let dir: string;
let files: { detections: string; summary: string };
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'scopehive-tables-'));
  files = { detections: path.join(dir, 'detections.csv'), summary: path.join(dir, 'summary.csv') };
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

/** A table as header → cells per row (ResultId dropped). */
async function table(file: string): Promise<{ header: string[]; rows: Array<Record<string, string>> }> {
  let text = await fs.readFile(file, 'utf8');
  if (text.startsWith('\uFEFF')) text = text.slice(1);
  const [head, ...records] = splitCsvRecords(text).records.map(parseCsvLine);
  return {
    header: head.slice(0, -1),
    rows: records.map((cells) => Object.fromEntries(head.map((h, i) => [h, cells[i]]))),
  };
}

const write = (tables: CsvTables, doc: ResultDocument, unit: SizeUnitSetting = 'auto') =>
  appendResultRows(tables, files, doc, unit);

describe('one unit per table file', () => {
  it('keeps the unit of the first calibrated image: 124 nm particles next to µm ones stay in µm', async () => {
    const tables = new CsvTables();
    // 300 px at 10 nm: 3 µm features choose µm.
    await write(tables, result('big.tif', [particle([10, 10, 310, 290])], 10));
    // 124 nm features in the next image (old tables wrote these rows in nm beside the µm ones).
    await write(tables, result('small.tif', [particle([100, 100, 112.4, 112.4])], 10, 'c'));
    const { header, rows } = await table(files.detections);
    expect(header).toContain('Area (µm²)');
    expect(header).toContain('Width (µm)');
    expect(header).not.toContain('Unit');
    expect(rows.map((r) => r['Width (µm)'])).toEqual(['3', '0.124']);
    expect(rows[1]['Area (µm²)']).toBe('0.015376');
    const summary = await table(files.summary);
    expect(summary.header).toContain('Mean ECD (µm)');
    expect(summary.rows).toHaveLength(2);
  });

  it('is the setting when it names one, and a table keeps its unit when the setting changes', async () => {
    await write(new CsvTables(), result('a.tif', [particle([10, 10, 310, 290])], 10), 'nm');
    await write(new CsvTables(), result('b.tif', [particle([10, 10, 20, 20])], 10, 'c'), 'mm');
    const { header, rows } = await table(files.detections);
    expect(unitOfHeader(header)).toBe('nm');
    expect(rows.map((r) => r['Width (nm)'])).toEqual(['3000', '100']);
    expect((await table(files.summary)).header).toContain('Total Area (nm²)');
  });

  it('names its unit with its first calibrated image when uncalibrated images began it, keeping their rows', async () => {
    const tables = new CsvTables();
    await write(tables, result('plain.png', [particle([10, 10, 20, 20])]));
    let t = await table(files.detections);
    expect(t.header).toContain('Area');
    expect(t.rows[0]).toMatchObject({ Area: '', 'Area (px²)': '100' });
    await write(tables, result('cal.tif', [particle([10, 10, 310, 290])], 10, 'c'));
    t = await table(files.detections);
    expect(t.header).toContain('Area (µm²)');
    expect(t.rows.map((r) => r.Image)).toEqual(['plain.png', 'cal.tif']);
    expect(t.rows[1]['Area (µm²)']).toBe('8.4');
    expect(await fs.readdir(dir)).toEqual(['detections.csv', 'summary.csv']);
  });

  it('has its pixel columns always, calibrated or not', () => {
    for (const unit of [undefined, 'nm', 'µm', 'mm'] as const) {
      expect(detectionColumns(unit)).toEqual(
        expect.arrayContaining(['Area (px²)', 'X (px)', 'Perim. (px)', 'Feret (px)', 'ECD (px)']),
      );
      expect(summaryColumns(unit)).toEqual(expect.arrayContaining(['Total Area (px²)', 'Mean ECD (px)']));
    }
  });

  it('spells micrometres one way, µ (U+00B5), in the header, and reads um and μm as it', async () => {
    const text = [...detectionColumns('µm'), ...summaryColumns('µm')].join(',');
    expect(text).not.toMatch(/um|\u03bc/);
    expect(text).toContain('\u00b5m');
    expect(parseSizeUnit('um')).toBe('µm');
    expect(parseSizeUnit('\u03bcm')).toBe('\u00b5m');
    expect(parseSizeUnit('furlong')).toBeUndefined();
  });
});

describe('rows', () => {
  it('write ImageJ measurements when a feature has them, and say their source', async () => {
    const measured = particle([10, 10, 30, 30], {
      measurements: {
        source: 'mask',
        pixel: { Area: 314, 'Perim.': 62.8, 'Circ.': 1, Feret: 20, X: 20, Y: 20 },
        calibrated: { Area: 31400, 'Perim.': 628, 'Circ.': 1, Feret: 200, X: 200, Y: 200 },
      },
    });
    await write(new CsvTables(), result('m.tif', [measured, particle([100, 100, 110, 120])], 10), 'nm');
    const { rows } = await table(files.detections);
    expect(rows[0]).toMatchObject({
      Source: 'mask',
      'Area (nm²)': '31400',
      'Perim. (nm)': '628',
      'Perim. (px)': '62.8',
      'Circ.': '1',
      'Feret (nm)': '200',
      'Area (px²)': '314',
    });
    // A box gives what a box can: no perimeter or shape; its Feret is its diagonal.
    expect(rows[1]).toMatchObject({ Source: 'box', 'Perim. (nm)': '', 'Circ.': '', 'Area (px²)': '200' });
    expect(Number(rows[1]['Feret (px)'])).toBeCloseTo(Math.hypot(10, 20), 1);
  });

  it('leave SD and percentiles blank for one feature, and state edge and measured counts', async () => {
    await write(new CsvTables(), result('one.tif', [particle([10, 10, 20, 20]), particle([0, 0, 5, 5])], 10));
    const [row] = (await table(files.summary)).rows;
    expect(row).toMatchObject({ Count: '2', EdgeTouching: '1', Measured: '1', EdgeFeatures: 'exclude' });
    expect(row['Mean ECD (nm)']).not.toBe('');
    for (const stat of ['SD', 'Median', 'D10', 'D50', 'D90']) expect(row[`${stat} ECD (nm)`]).toBe('');
  });
});

describe('the table lock and the byte-order mark', () => {
  it('keeps one current row set per image and model', async () => {
    const tables = new CsvTables();
    await write(tables, result('a.tif', [particle([10, 10, 20, 20]), particle([30, 30, 40, 40])], 10));
    await write(tables, result('a.tif', [particle([10, 10, 20, 20])], 10, 'd'));
    await tables.settled();
    expect((await table(files.detections)).rows).toHaveLength(1);
    expect((await table(files.summary)).rows).toHaveLength(1);
  });

  it('begins new tables with a BOM when asked; an existing table keeps what it has', async () => {
    await write(new CsvTables({ bom: true }), result('a.tif', [particle([10, 10, 20, 20])], 10));
    const bytes = await fs.readFile(files.detections);
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    // A writer without the setting appends to it and rewrites it without losing the mark or a row.
    const plain = new CsvTables();
    await write(plain, result('b.tif', [particle([10, 10, 20, 20])], 10, 'c'));
    await write(plain, result('a.tif', [particle([50, 50, 60, 60])], 10, 'd'));
    await plain.settled();
    const after = await fs.readFile(files.detections);
    expect([...after.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    expect((await table(files.detections)).rows.map((r) => r.Image)).toEqual(['b.tif', 'a.tif']);
    expect(await fs.readdir(dir)).toEqual(['detections.csv', 'summary.csv']);
  });
});
