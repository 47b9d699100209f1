/**
 * Microscopy files through the running pipeline: every instrument file of ../shared/microscopy,
 * per-folder scopehive.json settings, a data bar that hides an object, and a calibrated 16-bit TIFF
 * whose detections land in the CSV tables in nm. The model is the small 320-input one: these tests
 * are about calibration, image areas and units, not about what a photo model sees in a micrograph.
 */

import fs from 'node:fs/promises';
import path from 'node:path';
import { featureSizeBuckets } from '@scopehive/inference';
import type { ResultDocument } from '@scopehive/shared';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ascii, buildTiff, greyPage } from '../../services/inference/test/microscopy/tiff-writer.ts';
import { BUS_16BIT_NM, bus16BitTiff } from './helpers/bus-tiff.ts';
import {
  addModel,
  makeDataDir,
  metricValue,
  readCsv,
  readJson,
  removeDataDir,
  resultFiles,
  sharedDir,
  sharedImage,
  startTestPipeline,
  type TestPipeline,
  waitFor,
} from './helpers/pipeline.ts';

const MODEL = 'yolo11n_int8';

interface SharedFile {
  file: string;
  /** Pixel size in nm as ../shared/microscopy/README.md gives it. */
  nm: number;
  source: string;
  width: number;
  analysedHeight: number;
  /** 16-bit, 32-bit or float data: mapped to 8 bits by the percentile stretch. */
  stretched: boolean;
  warning?: RegExp;
}

/** Every file of ../shared/microscopy with what its README says must be read from it. */
const SHARED_FILES: SharedFile[] = [
  {
    file: 'sem-tiff/fei-sem-rbc.tif',
    nm: 7.70833,
    source: 'fei-tiff',
    width: 1536,
    analysedHeight: 1024,
    stretched: false,
  },
  {
    file: 'sem-tiff/FEI-Helios-Ebeam-16bits.tif',
    nm: 3372.4, // 3.3724 µm
    source: 'fei-tiff',
    width: 512,
    analysedHeight: 442,
    stretched: true,
  },
  {
    file: 'sem-tiff/FEI-Helios-Ebeam-8bits.tif',
    nm: 3372.4,
    source: 'fei-tiff',
    width: 512,
    analysedHeight: 442,
    stretched: false,
  },
  {
    // README "Zeiss note": Pixel Size is used as stated; the field width over the stored width
    // (5.965 µm / 512 = 11.650 nm) disagrees, and the result says so.
    file: 'sem-tiff/test_tiff_Zeiss_SEM_512pix.tif',
    nm: 5.825,
    source: 'zeiss-tiff',
    width: 512,
    analysedHeight: 384,
    stretched: false,
    warning: /Pixel Size = 5\.825 nm.*Width = 5\.965 µm.*11\.650 nm/,
  },
  {
    file: 'imagej-tiff/test_loading_image_saved_with_imageJ.tif',
    nm: 168.67, // 0.16867 µm
    source: 'imagej',
    width: 68,
    analysedHeight: 68,
    stretched: true,
  },
  {
    file: 'dm3/test_STEM_image.dm3',
    nm: 0.248538,
    source: 'dm',
    width: 68,
    analysedHeight: 68,
    stretched: true,
  },
  {
    file: 'dm3/test_dm_image_um_unit.dm3',
    nm: 168.675, // 0.168675 µm
    source: 'dm',
    width: 68,
    analysedHeight: 68,
    stretched: true,
  },
  {
    file: 'ome-tiff/s_1_t_1_c_1_z_1.ome.tiff',
    nm: 1083.33, // 1.0833333 µm
    source: 'ome-xml',
    width: 475,
    analysedHeight: 325,
    stretched: true,
  },
];

/** Inbox-relative names of the images this test makes, and the scopehive.json beside some of them. */
const ZEISS_CROPPED = 'zeiss-cropped/test_tiff_Zeiss_SEM_512pix.tif';
const CROP_BOTTOM = 64;
const PNG_CALIBRATED = 'png-calibrated/bus.png';
const FEI_FORCED = 'forced/fei-sem-rbc.tif';
const BROKEN_JSON = 'broken-json/FEI-Helios-Ebeam-8bits.tif';
const BROKEN_UNIT = 'broken-unit/bus.png';
const BAR_HIDDEN = 'data-bar/bar-excluded.tif';
const BAR_INCLUDED = 'data-bar/bar-included.tif';
const IMAGEJ_16 = 'imagej-16bit/bus-16bit.tif';

/** The data-bar image: plain grey above row BAR_TOP, a street scene with people below it. */
const BAR_WIDTH = 810;
const BAR_TOP = 460;
const BAR_HEIGHT = 1000;
const IMAGEJ_NM = BUS_16BIT_NM;

const UNIT_NM: Record<string, number> = { nm: 1, µm: 1e3, mm: 1e6 };

/** Half a unit in the last of `digits` significant digits of `value`. */
const halfUnit = (value: number, digits: number) =>
  0.5 * 10 ** (Math.floor(Math.log10(Math.abs(value))) - digits + 1);

/**
 * The README's pixel size to 5 significant digits. The result keeps 6, so a value such as ImageJ's
 * 168.6747 nm (0.16867 µm in the README) is stored as 168.675: both roundings are allowed for.
 */
function expectPixelSize(actualNm: number | undefined, expectedNm: number): void {
  expect(actualNm).toBeDefined();
  expect(
    Math.abs(actualNm! - expectedNm),
    `${actualNm} nm is ${expectedNm} nm to 5 digits`,
  ).toBeLessThanOrEqual(halfUnit(expectedNm, 5) + halfUnit(actualNm!, 6));
}

/** The FEI/Thermo INI text of tag 34682, as a Teneo writes it (abridged). */
function feiMetadata(pixelWidthM: string, resolutionY?: number): string {
  return [
    '[User]',
    'Date=11/23/2026',
    '[Scan]',
    `PixelWidth=${pixelWidthM}`,
    `PixelHeight=${pixelWidthM}`,
    '[Image]',
    `ResolutionX=${BAR_WIDTH}`,
    ...(resolutionY === undefined ? [] : [`ResolutionY=${resolutionY}`]),
    '',
  ].join('\r\n');
}

/** 8-bit grey pixels: uniform grey above the bar, bus.jpg at half scale (people in it) inside the bar. */
async function dataBarPixels(): Promise<Buffer> {
  const street = await sharp(sharedImage('bus.jpg'))
    .resize({ width: BAR_WIDTH / 2 })
    .toBuffer();
  const { data, info } = await sharp({
    create: { width: BAR_WIDTH, height: BAR_HEIGHT, channels: 3, background: { r: 128, g: 128, b: 128 } },
  })
    .composite([{ input: street, left: 0, top: BAR_TOP }])
    .greyscale()
    .toColourspace('b-w')
    .raw()
    .toBuffer({ resolveWithObject: true });
  expect(info).toMatchObject({ width: BAR_WIDTH, height: BAR_HEIGHT, channels: 1 });
  return data;
}

async function writeInbox(inboxDir: string, relative: string, bytes: Uint8Array | string): Promise<void> {
  const target = path.join(inboxDir, ...relative.split('/'));
  await fs.mkdir(path.dirname(target), { recursive: true });
  await fs.writeFile(target, bytes);
}

/** The unit a table's header names (`Area (µm²)`, `Total Area (nm²)`), or undefined: no calibrated image yet. */
function unitOf(row: Record<string, string>): string | undefined {
  for (const key of Object.keys(row)) {
    const m = /^(?:Area|Total Area) \((nm|µm|mm)²\)$/.exec(key);
    if (m) return m[1];
  }
  return undefined;
}

/** The row's pixel size in nm, from the table's `PixelSize (<unit>)` column. */
function pixelSizeNmOf(row: Record<string, string>): number {
  const unit = unitOf(row);
  expect(Object.keys(UNIT_NM), 'the table names a physical unit').toContain(unit);
  return Number(row[`PixelSize (${unit})`]) * UNIT_NM[unit as string];
}

/** Checks every detections.csv row of one result against its pixel columns and pixel size. */
function expectRowsInPhysicalUnits(rows: Array<Record<string, string>>, doc: ResultDocument): void {
  expect(rows).toHaveLength(doc.detections.length);
  for (const row of rows) {
    const unit = unitOf(row) as string;
    const perNm = UNIT_NM[unit];
    const pixelNm = pixelSizeNmOf(row);
    // Cells carry 6 significant digits.
    expect(Math.abs(pixelNm - (doc.calibration.pixelWidthNm ?? Number.NaN))).toBeLessThanOrEqual(
      1e-5 * pixelNm,
    );
    expect(row.Calibration).toBe(doc.calibration.source);
    // Pixel columns carry 2 decimals and physical ones 6 significant digits: allow both roundings.
    const lengthSlack = (0.006 * pixelNm) / perNm;
    for (const name of ['X', 'Y', 'BX', 'BY', 'Width', 'Height']) {
      const column = `${name} (${unit})`;
      const pixels = `${name} (px)`;
      const expected = (Number(row[pixels]) * pixelNm) / perNm;
      expect(Number.isFinite(Number(row[column])), `${column} is a number`).toBe(true);
      expect(
        Math.abs(Number(row[column]) - expected),
        `${column} = ${pixels} × pixel size`,
      ).toBeLessThanOrEqual(1e-5 * Math.abs(expected) + lengthSlack);
    }
    const area = (Number(row['Area (px²)']) * pixelNm ** 2) / perNm ** 2;
    const areaSlack =
      (Number(row['Width (px)']) + Number(row['Height (px)'])) * lengthSlack * (pixelNm / perNm);
    expect(
      Math.abs(Number(row[`Area (${unit}²)`]) - area),
      'Area = Area (px²) × pixel size²',
    ).toBeLessThanOrEqual(1e-5 * area + areaSlack);
  }
}

describe('microscopy files dropped into the inbox', () => {
  let dataDir: string;
  let run: TestPipeline;
  /** Every result of this run, by inbox-relative image path. */
  const docs = new Map<string, ResultDocument>();

  const inboxName = (file: string) => `shared/${file}`;
  const images = [
    ...SHARED_FILES.map((f) => inboxName(f.file)),
    ZEISS_CROPPED,
    PNG_CALIBRATED,
    FEI_FORCED,
    BROKEN_JSON,
    BROKEN_UNIT,
    BAR_HIDDEN,
    BAR_INCLUDED,
    IMAGEJ_16,
  ];
  const resultOf = (image: string): ResultDocument => {
    const doc = docs.get(image);
    if (!doc) {
      const said = run.logs.filter((l) => l.msg.includes(path.posix.basename(image))).map((l) => l.msg);
      throw new Error(`no result for ${image}; the log says: ${said.join(' | ') || 'nothing'}`);
    }
    return doc;
  };
  /** The rows of one image in the detections.csv or summary.csv of its results folder. */
  const rowsOf = async (image: string, table: 'detections.csv' | 'summary.csv') => {
    const folder = path.join(run.resultsDir, ...path.posix.dirname(image).split('/'));
    return (await readCsv(path.join(folder, table))).filter((r) => r.Image === image);
  };

  beforeAll(async () => {
    dataDir = await makeDataDir();
    await fs.mkdir(path.join(dataDir, 'models'));
    await addModel(path.join(dataDir, 'models'), MODEL);
    run = await startTestPipeline(dataDir);
    const inbox = run.inboxDir;

    // Folder settings first: an image is read with the scopehive.json present when it is analysed.
    const settings: Record<string, string> = {
      'zeiss-cropped': JSON.stringify({ cropBottom: CROP_BOTTOM }),
      'png-calibrated': JSON.stringify({ pixelSize: 2.5, unit: 'nm' }),
      forced: JSON.stringify({ pixelSize: 10, unit: 'nm', override: true }),
      'broken-json': '{ "pixelSize": 2.5, "unit": ',
      'broken-unit': JSON.stringify({ pixelSize: 2.5 }),
    };
    for (const [folder, text] of Object.entries(settings)) {
      await writeInbox(inbox, `${folder}/scopehive.json`, text);
    }

    const shared = (file: string) => fs.readFile(path.join(sharedDir, 'microscopy', file));
    const busPng = await sharp(sharedImage('bus.jpg')).resize({ width: 405 }).png().toBuffer();
    const bar = await dataBarPixels();
    const barTiff = (resolutionY?: number) =>
      buildTiff({
        pages: [
          greyPage(BAR_WIDTH, BAR_HEIGHT, 8, bar, { 34682: ascii(feiMetadata('2e-009', resolutionY)) }),
        ],
      });
    const contents: Record<string, Uint8Array> = {
      [ZEISS_CROPPED]: await shared('sem-tiff/test_tiff_Zeiss_SEM_512pix.tif'),
      [PNG_CALIBRATED]: busPng,
      [FEI_FORCED]: await shared('sem-tiff/fei-sem-rbc.tif'),
      [BROKEN_JSON]: await shared('sem-tiff/FEI-Helios-Ebeam-8bits.tif'),
      [BROKEN_UNIT]: busPng,
      [BAR_HIDDEN]: barTiff(BAR_TOP),
      [BAR_INCLUDED]: barTiff(),
      [IMAGEJ_16]: (await bus16BitTiff()).tiff,
    };
    for (const { file } of SHARED_FILES) contents[inboxName(file)] = await shared(file);
    for (const [name, bytes] of Object.entries(contents)) await writeInbox(inbox, name, bytes);

    // All results within one deadline; a missing one fails its own tests, not the others.
    const deadline = Date.now() + 90_000;
    for (const image of images) {
      const { json } = resultFiles(run.resultsDir, image, MODEL);
      const doc = await waitFor(
        () => readJson<ResultDocument>(json),
        Math.max(0, deadline - Date.now()),
        `the result of ${image}`,
      ).catch(() => undefined);
      if (doc) docs.set(image, doc);
    }
    await run.quiet();
  }, 120_000);

  afterAll(async () => {
    await run?.close();
    await removeDataDir(dataDir);
  });

  describe.each(SHARED_FILES)('$file', (expected) => {
    const image = inboxName(expected.file);

    it(`reads ${expected.nm} nm per pixel from ${expected.source}`, () => {
      const doc = resultOf(image);
      expect(doc.calibration.source).toBe(expected.source);
      expectPixelSize(doc.calibration.pixelWidthNm, expected.nm);
      expectPixelSize(doc.calibration.pixelHeightNm, expected.nm);
      if (expected.warning)
        expect(
          doc.warnings.some((w) => expected.warning!.test(w)),
          doc.warnings.join('\n'),
        ).toBe(true);
    });

    it(`analyses ${expected.width}×${expected.analysedHeight} pixels`, () => {
      const doc = resultOf(image);
      expect(doc.analysedArea).toMatchObject({ width: expected.width, height: expected.analysedHeight });
      for (const d of doc.detections) expect(d.box[3]).toBeLessThanOrEqual(expected.analysedHeight);
    });

    it(
      expected.stretched ? 'records the percentile stretch to 8 bits' : 'passes 8-bit data unchanged',
      () => {
        const doc = resultOf(image);
        const mapping = doc.intensityMapping as Record<string, number | string> | undefined;
        if (expected.stretched) {
          expect(mapping).toMatchObject({ rule: 'percentile', low: 0.1, high: 99.9 });
          expect(Number(mapping!.highValue)).toBeGreaterThan(Number(mapping!.lowValue));
        } else {
          expect(mapping?.rule ?? 'none').toBe('none');
        }
      },
    );

    it('has a summary.csv row in physical units with the pixel size', async () => {
      const doc = resultOf(image);
      const summary = await rowsOf(image, 'summary.csv');
      expect(summary).toHaveLength(1);
      const pixelNm = pixelSizeNmOf(summary[0]);
      expect(Math.abs(pixelNm - (doc.calibration.pixelWidthNm ?? Number.NaN))).toBeLessThanOrEqual(
        1e-5 * pixelNm,
      );
      expectPixelSize(doc.calibration.pixelWidthNm ?? Number.NaN, expected.nm);
      expect(summary[0]).toMatchObject({
        Calibration: expected.source,
        Width: String(expected.width),
        AnalysedHeight: String(expected.analysedHeight),
        Count: String(doc.detections.length),
      });
      expectRowsInPhysicalUnits(await rowsOf(image, 'detections.csv'), doc);
    });
  });

  describe('a folder scopehive.json', () => {
    it('crops the Zeiss data bar with cropBottom, keeping the file calibration', async () => {
      const doc = resultOf(ZEISS_CROPPED);
      expect(doc.analysedArea).toEqual({
        width: 512,
        height: 384 - CROP_BOTTOM,
        source: `cropBottom=${CROP_BOTTOM} in zeiss-cropped/scopehive.json`,
      });
      expect(doc.calibration).toMatchObject({ source: 'zeiss-tiff', pixelWidthNm: 5.825 });
      for (const d of doc.detections) expect(d.box[3]).toBeLessThanOrEqual(384 - CROP_BOTTOM);
      expect((await rowsOf(ZEISS_CROPPED, 'summary.csv'))[0].AnalysedHeight).toBe(String(384 - CROP_BOTTOM));
    });

    it('calibrates a plain PNG with pixelSize and unit', async () => {
      const doc = resultOf(PNG_CALIBRATED);
      expect(doc.image.format).toBe('png');
      expect(doc.calibration).toMatchObject({
        source: 'folder-override',
        pixelWidthNm: 2.5,
        pixelHeightNm: 2.5,
        originalUnit: 'nm',
      });
      expect(doc.calibration.detail).toContain('png-calibrated/scopehive.json');
      expect(doc.detections.length).toBeGreaterThan(0);
      const summary = await rowsOf(PNG_CALIBRATED, 'summary.csv');
      expect(summary[0]).toMatchObject({ Calibration: 'folder-override' });
      expect(pixelSizeNmOf(summary[0])).toBeCloseTo(2.5, 6);
      expectRowsInPhysicalUnits(await rowsOf(PNG_CALIBRATED, 'detections.csv'), doc);
    });

    it('beats the file calibration with "override": true, keeping the data bar', () => {
      const doc = resultOf(FEI_FORCED);
      expect(doc.calibration).toMatchObject({ source: 'folder-override', pixelWidthNm: 10 });
      expect(doc.calibration.detail).toContain('override: true');
      expect(doc.analysedArea.height).toBe(1024);
    });

    it('that is broken is reported in the result and does not stop the analysis', async () => {
      const broken = resultOf(BROKEN_JSON);
      expect(broken.warnings.some((w) => w.startsWith('broken-json/scopehive.json ignored:'))).toBe(true);
      expect(broken.calibration).toMatchObject({ source: 'fei-tiff', pixelWidthNm: 3372.4 });
      expect(broken.analysedArea.height).toBe(442);

      const noUnit = resultOf(BROKEN_UNIT);
      expect(noUnit.warnings.some((w) => /^broken-unit\/scopehive\.json ignored: .*"unit"/.test(w))).toBe(
        true,
      );
      expect(noUnit.calibration.source).toBe('uncalibrated');
      expect(noUnit.detections.length).toBeGreaterThan(0);
      // Uncalibrated: no pixel size, and sizes only in the pixel columns.
      const [row] = await rowsOf(BROKEN_UNIT, 'summary.csv');
      expect(Object.entries(row).filter(([k, v]) => k.startsWith('PixelSize') && v !== '')).toEqual([]);
      expect(Number(row['Total Area (px²)'])).toBeGreaterThan(0);
    });
  });

  describe('no detection lies in a data bar', () => {
    it('finds the people when the bar is analysed (the image would show them)', () => {
      const doc = resultOf(BAR_INCLUDED);
      expect(doc.analysedArea.height).toBe(BAR_HEIGHT);
      const inBar = doc.detections.filter((d) => d.class === 'person' && d.box[1] >= BAR_TOP - 2);
      expect(inBar.length, JSON.stringify(doc.detections)).toBeGreaterThan(0);
    });

    it('finds nothing below [Image] ResolutionY', async () => {
      const doc = resultOf(BAR_HIDDEN);
      expect(doc.calibration).toMatchObject({ source: 'fei-tiff', pixelWidthNm: 2 });
      expect(doc.analysedArea).toEqual({
        width: BAR_WIDTH,
        height: BAR_TOP,
        source: `[Image] ResolutionY=${BAR_TOP} in tag 34682`,
      });
      for (const d of doc.detections) expect(d.box[3]).toBeLessThanOrEqual(BAR_TOP);
      // Above the bar is plain grey: a person found there would have been seen through the bar.
      expect(doc.counts.person ?? 0).toBe(0);
      expect((await rowsOf(BAR_HIDDEN, 'summary.csv'))[0].AnalysedHeight).toBe(String(BAR_TOP));
    });
  });

  it('takes a calibrated 16-bit TIFF through the watcher to CSV rows in nm', async () => {
    const doc = resultOf(IMAGEJ_16);
    expect(doc.calibration).toMatchObject({ source: 'imagej', pixelWidthNm: IMAGEJ_NM, originalUnit: 'nm' });
    expect(doc.intensityMapping).toMatchObject({ rule: 'percentile', lowValue: expect.any(Number) });
    expect(doc.counts.person ?? 0).toBeGreaterThan(0);
    for (const d of doc.detections) {
      expect(d.widthNm).toBeCloseTo(d.widthPx * IMAGEJ_NM, 1);
      expect(d.ecdNm).toBeGreaterThan(0);
    }
    const rows = await rowsOf(IMAGEJ_16, 'detections.csv');
    expectRowsInPhysicalUnits(rows, doc);
    const summary = await rowsOf(IMAGEJ_16, 'summary.csv');
    expect(summary[0]).toMatchObject({ Calibration: 'imagej' });
    expect(pixelSizeNmOf(summary[0])).toBeCloseTo(IMAGEJ_NM, 6);
  });

  describe('/metrics after the run', () => {
    let metrics: string;
    const all = () => [...docs.values()];

    beforeAll(async () => {
      await run.quiet();
      metrics = await run.metrics();
    });

    const series = (name: string, labels: Record<string, string> = {}) =>
      metricValue(metrics, name, { node: 'test-node', ...labels });

    it('counts images by calibration source', () => {
      const bySource = new Map<string, number>();
      for (const doc of all())
        bySource.set(doc.calibration.source, (bySource.get(doc.calibration.source) ?? 0) + 1);
      expect([...bySource.keys()].sort()).toEqual(
        ['dm', 'fei-tiff', 'folder-override', 'imagej', 'ome-xml', 'uncalibrated', 'zeiss-tiff'].sort(),
      );
      for (const [source, n] of bySource) {
        expect(series('scopehive_images_by_calibration_total', { source }), source).toBe(n);
      }
    });

    it('has feature sizes in metres, in the buckets of the detections in nm', () => {
      const sizes = all().flatMap((doc) =>
        doc.detections
          .filter((d) => d.ecdNm !== undefined)
          .map((d) => ({ cls: d.class, m: d.ecdNm! * 1e-9 })),
      );
      const persons = sizes.filter((s) => s.cls === 'person');
      expect(persons.length).toBeGreaterThan(0);
      const labels = { model: MODEL, class: 'person' };
      expect(series('scopehive_feature_size_meters_count', labels)).toBe(persons.length);
      for (const le of featureSizeBuckets) {
        expect(
          series('scopehive_feature_size_meters_bucket', { ...labels, le: String(le) }),
          `le=${le}`,
        ).toBe(persons.filter((s) => s.m <= le).length);
      }
      // Uncalibrated images have no size in metres.
      const uncalibrated = all().filter((doc) => doc.calibration.source === 'uncalibrated');
      expect(uncalibrated.every((doc) => doc.detections.every((d) => d.ecdNm === undefined))).toBe(true);
    });

    it('has the tiles per image', () => {
      const docs = all();
      expect(series('scopehive_tiles_per_image_count', { model: MODEL })).toBe(docs.length);
      expect(series('scopehive_tiles_per_image_sum', { model: MODEL })).toBe(
        docs.reduce((n, doc) => n + doc.tiling.tiles, 0),
      );
      // The 1536-pixel FEI image is tiled for the 320-pixel model; the 68×68 DM3 is one pass.
      expect(
        docs.find((d) => d.image.path === inboxName('sem-tiff/fei-sem-rbc.tif'))!.tiling.tiles,
      ).toBeGreaterThan(1);
      expect(docs.find((d) => d.image.path === inboxName('dm3/test_STEM_image.dm3'))!.tiling.tiles).toBe(1);
    });
  });
});
