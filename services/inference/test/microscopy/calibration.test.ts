import { describe, expect, it } from 'vitest';
import { parseTiff } from '../../src/formats/tiff/tiff.ts';
import { tiffCalibration } from '../../src/formats/tiff/tiff-calibration.ts';
import {
  type Calibration,
  type CalibrationOverride,
  parseCalibrationOverride,
  resolveCalibration,
  resolveImageArea,
} from '../../src/microscopy/calibration.ts';
import { canonicalLengthUnit, toNanometres } from '../../src/microscopy/units.ts';
import { readMicroscopyFixture } from './shared-files.ts';
import { ascii, buildTiff, greyPage, rational, short, type TagSpec } from './tiff-writer.ts';

function fromFile(relative: string) {
  const bytes = readMicroscopyFixture(relative);
  const ifd = parseTiff(bytes, { maxIfds: 1 }).ifds[0];
  const width = ifd.tags.get(256)?.value as number[];
  const height = ifd.tags.get(257)?.value as number[];
  return tiffCalibration(ifd, { width: width[0], height: height[0] });
}

function fromTags(tags: Record<number, TagSpec>, width = 4, height = 4) {
  const bytes = buildTiff({ pages: [greyPage(width, height, 8, new Uint8Array(width * height), tags)] });
  return tiffCalibration(parseTiff(bytes).ifds[0], { width, height });
}

const nm5 = (c: Calibration | undefined) => [c?.pixelWidth.toPrecision(5), c?.pixelHeight.toPrecision(5)];

describe('length units', () => {
  it('reads micrometres however instruments spell them', () => {
    for (const unit of ['µm', '\u03bcm', 'um', 'micron', 'microns', '\\u00B5m', '\u00c2\u00b5m', ' µm ']) {
      expect(canonicalLengthUnit(unit)).toBe('µm');
    }
    expect(toNanometres(1.5, 'Å')).toBeCloseTo(0.15, 12);
    expect(toNanometres(2, 'm')).toBe(2e9);
    expect(toNanometres(1, 'inch')).toBe(2.54e7);
    expect(toNanometres(1, '1/nm')).toBeUndefined();
    expect(toNanometres(1, 'pixel')).toBeUndefined();
  });
});

describe('calibration of the instrument files (README values, 5 significant digits)', () => {
  it('FEI Teneo: 7.70833 nm from tag 34682, image area 1024 of 1094 rows; the 96 dpi tag is ignored', () => {
    const info = fromFile('sem-tiff/fei-sem-rbc.tif');
    expect(info.candidates).toHaveLength(1);
    expect(info.candidates[0]).toMatchObject({
      source: 'fei-tiff',
      unit: 'nm',
      originalUnit: 'm',
      detail: '[Scan] PixelWidth=7.70833e-009 m in tag 34682',
    });
    expect(nm5(info.candidates[0])).toEqual(['7.7083', '7.7083']);
    expect(info.imageArea).toEqual({ height: 1024, source: '[Image] ResolutionY=1024 in tag 34682' });
    expect(info.warnings).toEqual([]);
  });

  for (const file of ['sem-tiff/FEI-Helios-Ebeam-16bits.tif', 'sem-tiff/FEI-Helios-Ebeam-8bits.tif']) {
    it(`FEI Helios ${file.includes('16') ? '16' : '8'}-bit: 3.3724 µm, image area 442 of 471; the 64 dpi tag is ignored`, () => {
      const info = fromFile(file);
      expect(info.candidates.map((c) => c.source)).toEqual(['fei-tiff']);
      expect(nm5(info.candidates[0])).toEqual(['3372.4', '3372.4']);
      expect(info.candidates[0].detail).toBe('[Scan] PixelWidth=3.3724e-006 m in tag 34682');
      expect(info.imageArea).toEqual({ height: 442, source: '[Image] ResolutionY=442 in tag 34682' });
    });
  }

  it('Zeiss: Pixel Size = 5.825 nm as SmartSEM states it, with a warning that the field width disagrees', () => {
    // shared/microscopy/README.md expects 5.825 nm from `Pixel Size`. The same tag says the field is
    // 5.965 µm wide, which over 512 stored pixels would be 11.65 nm (RosettaSciIO's reading); the
    // result carries that as a warning so the microscopist can check the store resolution.
    const info = fromFile('sem-tiff/test_tiff_Zeiss_SEM_512pix.tif');
    expect(info.candidates).toHaveLength(1);
    expect(info.candidates[0]).toMatchObject({
      source: 'zeiss-tiff',
      originalUnit: 'nm',
      detail: 'AP_PIXEL_SIZE Pixel Size = 5.825 nm in tag 34118',
    });
    expect(nm5(info.candidates[0])).toEqual(['5.8250', '5.8250']);
    expect(info.imageArea).toBeUndefined();
    expect(info.warnings).toEqual([
      'Zeiss Pixel Size = 5.825 nm, but Width = 5.965 µm over the 512 stored pixels gives 11.650 nm: the image may have been stored at a lower resolution than it was scanned',
    ]);
  });

  it('ImageJ float32: 0.16867 µm from unit=micron and XResolution 5.928571 px per unit', () => {
    const info = fromFile('imagej-tiff/test_loading_image_saved_with_imageJ.tif');
    expect(info.candidates).toHaveLength(1);
    expect(info.candidates[0]).toMatchObject({
      source: 'imagej',
      originalUnit: 'micron',
      detail: 'ImageJ unit=micron, XResolution=5.928571 px per micron',
    });
    expect(nm5(info.candidates[0])).toEqual(['168.67', '168.67']);
  });

  it('OME-TIFF: 1.0833333 µm from OME-XML, agreeing with its (lower-ranked) cm resolution tags', () => {
    const info = fromFile('ome-tiff/s_1_t_1_c_1_z_1.ome.tiff');
    expect(info.candidates.map((c) => c.source)).toEqual(['ome-xml', 'tiff-resolution']);
    expect(info.candidates[0]).toMatchObject({
      originalUnit: 'µm',
      detail: 'OME-XML PhysicalSizeX=1.0833333333333333 µm',
    });
    expect(nm5(info.candidates[0])).toEqual(['1083.3', '1083.3']);
    expect(info.candidates[1].detail).toBe('XResolution=9230.769 px per cm (ResolutionUnit 3)');
    expect(nm5(info.candidates[1])).toEqual(['1083.3', '1083.3']);
    expect(resolveCalibration(info.candidates).source).toBe('ome-xml');
  });
});

describe('calibration from built TIFF tags', () => {
  it('FEI: [Scan] wins, [IRBeam] HFW / ResolutionX for ion images, nonsense ResolutionY is reported', () => {
    const ion = fromTags({
      34682: ascii('[IRBeam]\r\nHFW=2e-005\r\n[Image]\r\nResolutionX=1000\r\nResolutionY=99\r\n'),
    });
    expect(ion.candidates[0]).toMatchObject({
      pixelWidth: 20,
      detail: '[IRBeam] HFW=2e-005 m / [Image] ResolutionX=1000 in tag 34682',
    });
    expect(ion.imageArea).toBeUndefined();
    expect(ion.warnings).toEqual(['FEI [Image] ResolutionY=99 in tag 34682 does not fit the 4-row image']);
    const older = fromTags({ 34680: ascii('[Scan]\nPixelWidth=1e-9\nPixelHeight=2e-9\n') });
    expect(older.candidates[0]).toMatchObject({
      pixelWidth: 1,
      pixelHeight: 2,
      detail: '[Scan] PixelWidth=1e-9 m in tag 34680',
    });
  });

  it('Zeiss: the field width over the stored width when Pixel Size is missing', () => {
    const text = 'binary\0junk\r\nAP_WIDTH\r\nWidth = 2.56 µm\r\nDP_ZOOM\r\nZoom = Off\r\n';
    const info = fromTags({ 34118: ascii(text) }, 2048, 4);
    expect(info.candidates[0]).toMatchObject({ source: 'zeiss-tiff', pixelWidth: 1.25, originalUnit: 'µm' });
    expect(info.candidates[0].detail).toBe('AP_WIDTH Width = 2.56 µm over 2048 px in tag 34118');
  });

  it('ImageJ: escaped \\u00B5m, nm, and "pixel" meaning uncalibrated', () => {
    const escaped = fromTags({
      270: ascii('ImageJ=1.53t\nunit=\\u00B5m\n'),
      282: rational(4, 1),
      283: rational(2, 1),
    });
    expect(escaped.candidates[0]).toMatchObject({ source: 'imagej', pixelWidth: 250, pixelHeight: 500 });
    const pixel = fromTags({ 270: ascii('ImageJ=1.53t\nunit=pixel\n'), 282: rational(1, 1) });
    expect(pixel.candidates).toEqual([]);
  });

  it('OME-XML: Greek mu, a namespace prefix, default unit µm, unknown unit reported', () => {
    const greek = fromTags({
      270: ascii(
        '<OME><Image><Pixels PhysicalSizeX="0.5" PhysicalSizeXUnit="\u03bcm" PhysicalSizeY="0.25"/></Image></OME>',
      ),
    });
    expect(greek.candidates[0]).toMatchObject({ source: 'ome-xml', pixelWidth: 500, pixelHeight: 250 });
    const prefixed = fromTags({
      270: ascii("<ome:OME xmlns:ome='x'><ome:Pixels PhysicalSizeX='2' PhysicalSizeXUnit='nm'/></ome:OME>"),
    });
    expect(prefixed.candidates[0]).toMatchObject({ pixelWidth: 2, pixelHeight: 2, originalUnit: 'nm' });
    const noUnit = fromTags({ 270: ascii('<OME><Pixels PhysicalSizeX="3"/></OME>') });
    expect(noUnit.candidates[0]).toMatchObject({ pixelWidth: 3000, originalUnit: 'µm' });
    const furlong = fromTags({
      270: ascii('<OME><Pixels PhysicalSizeX="3" PhysicalSizeXUnit="furlong"/></OME>'),
    });
    expect(furlong.candidates).toEqual([]);
    expect(furlong.warnings).toEqual(['OME-XML PhysicalSizeXUnit="furlong" is not a length unit']);
  });

  it('plain resolution tags: screen and print dpi ignored, inch default, unit "none" ignored', () => {
    expect(fromTags({ 282: rational(72, 1), 296: short(2) }).candidates).toEqual([]);
    expect(fromTags({ 282: rational(300, 1) }).candidates).toEqual([]);
    expect(fromTags({ 282: rational(28346, 1000), 296: short(3) }).candidates).toEqual([]);
    expect(fromTags({ 282: rational(50000, 1), 296: short(1) }).candidates).toEqual([]);
    const inch = fromTags({ 282: rational(25400, 1), 283: rational(12700, 1) });
    expect(inch.candidates[0]).toMatchObject({
      source: 'tiff-resolution',
      pixelWidth: 1000,
      pixelHeight: 2000,
      originalUnit: 'in',
    });
    const cm = fromTags({ 282: rational(10000, 1), 296: short(3) });
    expect(cm.candidates[0]).toMatchObject({
      pixelWidth: 1000,
      detail: 'XResolution=10000 px per cm (ResolutionUnit 3)',
    });
  });
});

const candidate = (source: Calibration['source'], nm: number, detail = `${source} value`): Calibration => ({
  pixelWidth: nm,
  pixelHeight: nm,
  unit: 'nm',
  source,
  detail,
});

describe('resolveCalibration', () => {
  it('takes file sources in their fixed order, whatever order they come in', () => {
    const resolved = resolveCalibration([
      candidate('tiff-resolution', 9),
      candidate('imagej', 3),
      candidate('fei-tiff', 7),
    ]);
    expect(resolved).toMatchObject({ source: 'fei-tiff', pixelWidth: 7, warnings: [] });
  });

  it('skips zero, negative, NaN, infinite and absurd values with a warning and falls back', () => {
    const resolved = resolveCalibration([
      candidate('fei-tiff', 0, '[Scan] PixelWidth=0 m in tag 34682'),
      candidate('zeiss-tiff', -5),
      candidate('ome-xml', Number.NaN),
      candidate('imagej', Number.POSITIVE_INFINITY),
      candidate('dm', 2e6),
      candidate('tiff-resolution', 5e-4),
    ]);
    expect(resolved.source).toBe('uncalibrated');
    expect(resolved.warnings).toEqual([
      'fei-tiff calibration ignored: pixel width is 0 nm, not positive ([Scan] PixelWidth=0 m in tag 34682)',
      'zeiss-tiff calibration ignored: pixel width is -5 nm, not positive (zeiss-tiff value)',
      'ome-xml calibration ignored: pixel width is not a finite number (NaN) (ome-xml value)',
      'imagej calibration ignored: pixel width is not a finite number (Infinity) (imagej value)',
      'dm calibration ignored: pixel width 2000000 nm is more than 1 mm (dm value)',
      'tiff-resolution calibration ignored: pixel width 0.0005 nm is less than 1 pm (tiff-resolution value)',
    ]);
    const fallback = resolveCalibration([candidate('fei-tiff', 0), candidate('tiff-resolution', 1000)]);
    expect(fallback).toMatchObject({ source: 'tiff-resolution', pixelWidth: 1000 });
    expect(fallback.warnings).toHaveLength(1);
  });

  it('without any calibration says so, in pixels', () => {
    expect(resolveCalibration([])).toEqual({
      pixelWidth: 1,
      pixelHeight: 1,
      unit: 'nm',
      source: 'uncalibrated',
      originalUnit: 'px',
      detail: 'no pixel size in the file, scopehive.json or the model sidecar; sizes are in pixels',
      warnings: [],
    });
  });

  const folder = parseCalibrationOverride(
    { pixelSize: 5, unit: 'nm', cropBottom: 70 },
    { source: 'folder-override', origin: '/data/inbox/run1/scopehive.json' },
  ) as CalibrationOverride;
  const forced = parseCalibrationOverride(
    { pixelSize: 0.002, unit: 'µm', override: true, confidence: 0.4 },
    { source: 'model-sidecar', origin: 'particles.json' },
  ) as CalibrationOverride;

  it('overrides fill in when the file has no calibration, and lose to it otherwise', () => {
    expect(folder.calibration).toMatchObject({
      pixelWidth: 5,
      pixelHeight: 5,
      source: 'folder-override',
      originalUnit: 'nm',
    });
    expect(folder.calibration?.detail).toBe('pixelSize=5 nm in /data/inbox/run1/scopehive.json');
    expect(resolveCalibration([], [folder])).toMatchObject({ source: 'folder-override', pixelWidth: 5 });
    expect(resolveCalibration([candidate('dm', 0.25)], [folder])).toMatchObject({
      source: 'dm',
      pixelWidth: 0.25,
    });
  });

  it('"override": true wins over the file; an unusable forced value is skipped with a warning', () => {
    expect(forced.calibration?.detail).toBe('pixelSize=0.002 µm in particles.json (override: true)');
    expect(resolveCalibration([candidate('fei-tiff', 7.7)], [folder, forced])).toMatchObject({
      source: 'model-sidecar',
      pixelWidth: 2,
    });
    const broken = parseCalibrationOverride(
      { pixelSize: 5, unit: 'm', override: true },
      { source: 'folder-override', origin: 'scopehive.json' },
    ) as CalibrationOverride;
    const resolved = resolveCalibration([candidate('fei-tiff', 7.7)], [broken]);
    expect(resolved.source).toBe('fei-tiff');
    expect(resolved.warnings).toEqual([
      'folder-override calibration ignored: pixel width 5000000000 nm is more than 1 mm (pixelSize=5 m in scopehive.json (override: true))',
    ]);
  });

  it('parseCalibrationOverride reads separate width and height and refuses bad values by name', () => {
    const options = { source: 'folder-override', origin: 'scopehive.json' } as const;
    expect(
      parseCalibrationOverride({ pixelWidth: 2, pixelHeight: 3, unit: 'um' }, options)?.calibration,
    ).toMatchObject({
      pixelWidth: 2000,
      pixelHeight: 3000,
      detail: 'pixelWidth=2, pixelHeight=3 um in scopehive.json',
    });
    expect(parseCalibrationOverride({ confidence: 0.5 }, options)).toBeUndefined();
    expect(parseCalibrationOverride(null, options)).toBeUndefined();
    expect(parseCalibrationOverride({ cropBottom: 70 }, options)).toEqual({
      ...options,
      override: false,
      cropBottom: 70,
    });
    expect(() => parseCalibrationOverride({ pixelSize: 5 }, options)).toThrow(
      'scopehive.json: "unit" must be a length unit such as "nm" or "µm" when a pixel size is given',
    );
    expect(() => parseCalibrationOverride({ pixelSize: -1, unit: 'nm' }, options)).toThrow(
      'scopehive.json: "pixelSize" must be a positive number',
    );
    expect(() => parseCalibrationOverride({ pixelSize: 1, unit: 'parsec' }, options)).toThrow(
      /"unit" must be a length unit/,
    );
    expect(() => parseCalibrationOverride({ cropBottom: 1.5 }, options)).toThrow(
      'scopehive.json: "cropBottom" must be a whole number of rows, 0 or more',
    );
    expect(() => parseCalibrationOverride({ cropBottom: 1, override: 'yes' }, options)).toThrow(
      'scopehive.json: "override" must be true or false',
    );
  });

  it('resolveImageArea: the file’s data-bar height, cropBottom as fill-in or forced, nonsense refused', () => {
    const fei = { height: 1024, source: '[Image] ResolutionY=1024 in tag 34682' };
    expect(resolveImageArea(1094, fei, [folder])).toEqual({ imageArea: fei, warnings: [] });
    expect(resolveImageArea(1094, undefined, [folder])).toEqual({
      imageArea: { height: 1024, source: 'cropBottom=70 in /data/inbox/run1/scopehive.json' },
      warnings: [],
    });
    const forcedCrop = { ...folder, cropBottom: 100, override: true };
    expect(resolveImageArea(1094, fei, [forcedCrop]).imageArea?.height).toBe(994);
    expect(resolveImageArea(60, undefined, [folder])).toEqual({
      warnings: [
        'image area ignored: cropBottom=70 in /data/inbox/run1/scopehive.json leaves -10 of 60 rows',
      ],
    });
    expect(resolveImageArea(1094, undefined, [])).toEqual({ warnings: [] });
  });
});
