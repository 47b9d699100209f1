import fs from 'node:fs/promises';
import { supportedFormatsText } from '@scopehive/shared';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { type AnalysisImage, readAnalysisImage } from '../../src/image/read-analysis-image.ts';
import { ImageRejection } from '../../src/image/rejection.ts';
import { resolveCalibration, resolveImageArea } from '../../src/microscopy/calibration.ts';
import { DEFAULT_STRETCH, type IntensityStretch } from '../../src/microscopy/intensity.ts';
import { microscopyPath, readMicroscopyFixture } from '../microscopy/shared-files.ts';
import { buildTiff, greyPage } from '../microscopy/tiff-writer.ts';

const readBytes = (
  bytes: Uint8Array,
  fileName: string,
  maxPixels = 1e8,
  stretch: IntensityStretch = DEFAULT_STRETCH,
) => readAnalysisImage(bytes, { fileName, maxPixels, stretch });

const read = (relative: string, maxPixels = 1e8) =>
  readBytes(readMicroscopyFixture(relative), relative.split('/').pop()!, maxPixels);

/** The one 8-bit channel of a greyscale image (the model gets it as R = G = B); throws on colour. */
function grey(image: AnalysisImage): Uint8Array {
  const out = new Uint8Array(image.width * image.height);
  for (let i = 0; i < out.length; i++) {
    const [r, g, b] = image.rgb.subarray(i * 3, i * 3 + 3);
    if (r !== g || g !== b) throw new Error(`pixel ${i} is not grey: ${r}, ${g}, ${b}`);
    out[i] = r;
  }
  return out;
}

/** What /work/shared/microscopy/README.md promises per file (Zeiss: see calibration.test.ts). */
const EXPECTED = [
  {
    file: 'sem-tiff/fei-sem-rbc.tif',
    format: 'tiff',
    size: [1536, 1094],
    channels: 1,
    sourceType: 'uint8',
    source: 'fei-tiff',
    nm: '7.7083',
    imageArea: 1024,
  },
  {
    file: 'sem-tiff/FEI-Helios-Ebeam-16bits.tif',
    format: 'tiff',
    size: [512, 471],
    channels: 1,
    sourceType: 'uint16',
    source: 'fei-tiff',
    nm: '3372.4',
    imageArea: 442,
  },
  {
    file: 'sem-tiff/FEI-Helios-Ebeam-8bits.tif',
    format: 'tiff',
    size: [512, 471],
    channels: 1,
    sourceType: 'uint8',
    source: 'fei-tiff',
    nm: '3372.4',
    imageArea: 442,
  },
  {
    file: 'sem-tiff/test_tiff_Zeiss_SEM_512pix.tif',
    format: 'tiff',
    size: [512, 384],
    channels: 3,
    sourceType: 'palette8',
    source: 'zeiss-tiff',
    nm: '5.8250',
    imageArea: undefined,
  },
  {
    file: 'imagej-tiff/test_loading_image_saved_with_imageJ.tif',
    format: 'tiff',
    size: [68, 68],
    channels: 1,
    sourceType: 'float32',
    source: 'imagej',
    nm: '168.67',
    imageArea: undefined,
  },
  {
    file: 'dm3/test_STEM_image.dm3',
    format: 'dm3',
    size: [68, 68],
    channels: 1,
    sourceType: 'uint32',
    source: 'dm',
    nm: '0.24854',
    imageArea: undefined,
  },
  {
    file: 'dm3/test_dm_image_um_unit.dm3',
    format: 'dm3',
    size: [68, 68],
    channels: 1,
    sourceType: 'int32',
    source: 'dm',
    nm: '168.67',
    imageArea: undefined,
  },
  {
    file: 'ome-tiff/s_1_t_1_c_1_z_1.ome.tiff',
    format: 'ome-tiff',
    size: [475, 325],
    channels: 1,
    sourceType: 'uint16',
    source: 'ome-xml',
    nm: '1083.3',
    imageArea: undefined,
  },
] as const;

describe('readAnalysisImage on every instrument file', () => {
  for (const e of EXPECTED) {
    it(`${e.file}: ${e.size.join('×')} ${e.sourceType}, ${e.nm} nm per pixel from ${e.source}`, async () => {
      const image = await read(e.file);
      expect(image).toMatchObject({
        format: e.format,
        width: e.size[0],
        height: e.size[1],
        sourceType: e.sourceType,
      });
      expect(image.rgb).toHaveLength(e.size[0] * e.size[1] * 3);
      if (e.channels === 1) expect(grey(image)).toHaveLength(e.size[0] * e.size[1]);
      expect(image.imageArea?.height).toBe(e.imageArea);
      const calibration = resolveCalibration(image.calibrationCandidates);
      expect(calibration).toMatchObject({ source: e.source, unit: 'nm', warnings: [] });
      expect(calibration.pixelWidth.toPrecision(5)).toBe(e.nm);
      expect(calibration.pixelHeight.toPrecision(5)).toBe(e.nm);
      // Zeiss: Pixel Size and field width disagree for this 512-px export (see calibration.test.ts).
      expect(image.warnings).toHaveLength(e.format === 'tiff' && e.source === 'zeiss-tiff' ? 1 : 0);
    });
  }

  it('8-bit data reaches the model unchanged', async () => {
    const image = await read('sem-tiff/fei-sem-rbc.tif');
    expect(image.intensityMapping?.rule).toBe('none');
    expect(Array.from(grey(image).subarray(0, 4))).toEqual([150, 124, 161, 148]);
  });

  it('uint32 STEM data is stretched between its 0.1 and 99.9 % values', async () => {
    // numpy on the raw pixels: sorted[round(0.001 × 4623)] = 29910, sorted[round(0.999 × 4623)] = 35182;
    // pixel (0,0) = 33121 → (33121 − 29910) × 255 / 5272 = 155.3; (0,1) 33489 → 173.1; (34,34) 34319 → 213.3
    const image = await read('dm3/test_STEM_image.dm3');
    expect(image.intensityMapping).toEqual({
      rule: 'percentile',
      low: 0.1,
      high: 99.9,
      lowValue: 29910,
      highValue: 35182,
    });
    const data8 = grey(image);
    expect([data8[0], data8[1], data8[34 * 68 + 34]]).toEqual([155, 173, 213]);
  });

  it('the ImageJ float32 TIFF and the DM3 int32 file hold the same micrograph and map identically', async () => {
    const tiff = await read('imagej-tiff/test_loading_image_saved_with_imageJ.tif');
    const dm = await read('dm3/test_dm_image_um_unit.dm3');
    expect(tiff.intensityMapping).toEqual(dm.intensityMapping);
    expect(tiff.intensityMapping).toMatchObject({ lowValue: 2957, highValue: 3708 });
    expect(tiff.rgb.equals(dm.rgb)).toBe(true);
  });

  it('a custom stretch is honoured', async () => {
    const image = await readBytes(
      readMicroscopyFixture('ome-tiff/s_1_t_1_c_1_z_1.ome.tiff'),
      'a.ome.tiff',
      1e8,
      {
        low: 0,
        high: 100,
      },
    );
    expect(image.intensityMapping).toMatchObject({ low: 0, high: 100, lowValue: 3249, highValue: 4168 });
  });

  it('the FEI data bar is excluded by the file, or by a folder cropBottom when the file says nothing', async () => {
    const fei = await read('sem-tiff/fei-sem-rbc.tif');
    expect(fei.imageArea).toEqual({ height: 1024, source: '[Image] ResolutionY=1024 in tag 34682' });
    const zeiss = await read('sem-tiff/test_tiff_Zeiss_SEM_512pix.tif');
    const override = {
      source: 'folder-override',
      origin: 'scopehive.json',
      cropBottom: 34,
      override: false,
    } as const;
    expect(resolveImageArea(zeiss.height, zeiss.imageArea, [override]).imageArea).toEqual({
      height: 350,
      source: 'cropBottom=34 in scopehive.json',
    });
  });

  it('reads the bytes of a file on disk', async () => {
    const image = await readBytes(await fs.readFile(microscopyPath('dm3/test_STEM_image.dm3')), 'a.dm3');
    expect(image).toMatchObject({ format: 'dm3', width: 68 });
  });
});

describe('PNG, JPEG and WebP, decoded with sharp', () => {
  const ramp = Buffer.from(Uint8Array.from({ length: 32 * 16 }, (_, i) => i % 256));

  it('8-bit grey PNG: one channel, unchanged, no calibration', async () => {
    const png = await sharp(ramp, { raw: { width: 32, height: 16, channels: 1 } })
      .toColourspace('b-w')
      .png()
      .toBuffer();
    const image = await readBytes(png, 'a.png', 1e6);
    expect(image).toMatchObject({
      format: 'png',
      width: 32,
      height: 16,
      sourceType: 'uint8',
      calibrationCandidates: [],
    });
    expect(Buffer.from(grey(image)).equals(ramp)).toBe(true);
  });

  it('16-bit grey PNG is stretched like 16-bit TIFF', async () => {
    // libvips widens the 8-bit ramp to v × 257; the 0.1/99.9 % values are then 0 and 65535, so the
    // stretch gives the ramp back.
    const png = await sharp(ramp, { raw: { width: 32, height: 16, channels: 1 } })
      .toColourspace('grey16')
      .png()
      .toBuffer();
    const image = await readBytes(png, 'a.png', 1e6);
    expect(image).toMatchObject({ sourceType: 'uint16' });
    expect(image.intensityMapping).toEqual({
      rule: 'percentile',
      low: 0.1,
      high: 99.9,
      lowValue: 0,
      highValue: 65535,
    });
    expect(Buffer.from(grey(image)).equals(ramp)).toBe(true);
  });

  it('RGB JPEG: three channels; a folder pixel size fills in the missing calibration', async () => {
    const jpeg = await sharp({
      create: { width: 40, height: 30, channels: 3, background: { r: 200, g: 100, b: 50 } },
    })
      .jpeg({ quality: 95 })
      .toBuffer();
    const image = await readBytes(jpeg, 'a.jpg', 1e6);
    expect(image).toMatchObject({ format: 'jpeg', width: 40, height: 30, sourceType: 'rgb8' });
    expect(image.rgb).toHaveLength(40 * 30 * 3);
    expect(Math.abs(image.rgb[0] - 200)).toBeLessThan(4);
    const folder = {
      source: 'folder-override',
      origin: 'scopehive.json',
      override: false,
      calibration: {
        pixelWidth: 5,
        pixelHeight: 5,
        unit: 'nm',
        source: 'folder-override',
        detail: 'pixelSize=5 nm in scopehive.json',
      },
    } as const;
    expect(resolveCalibration(image.calibrationCandidates, [folder]).source).toBe('folder-override');
  });
});

describe('readAnalysisImage refuses bad input with a readable reason', () => {
  const reject = async (bytes: Uint8Array, fileName: string, maxPixels = 1e8) => {
    try {
      await readBytes(bytes, fileName, maxPixels);
    } catch (err) {
      expect(err).toBeInstanceOf(ImageRejection);
      return { reason: (err as ImageRejection).reason, message: (err as Error).message };
    }
    throw new Error('expected a rejection');
  };

  it('a 1×1 image', async () => {
    const bytes = buildTiff({ pages: [greyPage(1, 1, 8, Uint8Array.of(9))] });
    expect(await reject(bytes, 'dot.tif')).toEqual({
      reason: 'too_small',
      message: 'image is only 1×1 pixels',
    });
  });

  it('more pixels than maxPixels, for TIFF, DM3 and PNG', async () => {
    expect(await reject(readMicroscopyFixture('sem-tiff/fei-sem-rbc.tif'), 'a.tif', 1_000_000)).toEqual({
      reason: 'too_large',
      message: 'image is 1536×1094 pixels, above the limit of 1000000 pixels',
    });
    expect((await reject(readMicroscopyFixture('dm3/test_STEM_image.dm3'), 'a.dm3', 4000)).reason).toBe(
      'too_large',
    );
    const png = await sharp({ create: { width: 100, height: 100, channels: 3, background: 'white' } })
      .png()
      .toBuffer();
    expect(await reject(png, 'a.png', 5000)).toEqual({
      reason: 'too_large',
      message: 'image is above the limit of 5000 pixels',
    });
  });

  it('truncated TIFF, DM3 and PNG files', async () => {
    const imagej = readMicroscopyFixture('imagej-tiff/test_loading_image_saved_with_imageJ.tif');
    expect(await reject(imagej.subarray(0, 50_000), 'a.tif')).toEqual({
      reason: 'truncated',
      message:
        'TIFF file is truncated or corrupt: strip 0 needs 18496 bytes at offset 38289, but the file has 50000 bytes',
    });
    const ome = readMicroscopyFixture('ome-tiff/s_1_t_1_c_1_z_1.ome.tiff');
    expect((await reject(ome.subarray(0, 300_000), 'a.ome.tiff')).message).toBe(
      'TIFF file is truncated or corrupt: tag 270 value (289738 × ASCII) needs 289738 bytes at offset 271736, but the file has 300000 bytes',
    );
    const dm = readMicroscopyFixture('dm3/test_dm_image_um_unit.dm3');
    expect((await reject(dm.subarray(0, 160_000), 'a.dm3')).message).toBe(
      "DM3 file is truncated or corrupt: tag 'ImageList.1.ImageData.Data' needs 18496 bytes at offset 153389, but the file has 160000 bytes",
    );
    const png = await sharp({ create: { width: 64, height: 64, channels: 3, background: 'red' } })
      .png()
      .toBuffer();
    const cutPng = await reject(png.subarray(0, png.length - 30), 'a.png');
    expect(cutPng.message).toMatch(/^PNG could not be decoded/);
  });

  it('empty files, unknown formats, unknown TIFF compression', async () => {
    expect(await reject(new Uint8Array(0), 'a.tif')).toEqual({
      reason: 'empty',
      message: 'the file is empty (0 bytes)',
    });
    expect(await reject(new TextEncoder().encode('%PDF-1.7 not an image'), 'a.tif')).toEqual({
      reason: 'unsupported',
      message: `not an image in a supported format (${supportedFormatsText()})`,
    });
    const jp2k = buildTiff({
      pages: [greyPage(2, 2, 8, Uint8Array.of(1, 2, 3, 4), { 259: { type: 3, value: [34712] } })],
    });
    expect(await reject(jp2k, 'a.tif')).toEqual({
      reason: 'unsupported',
      message: 'unsupported TIFF compression 34712 (JPEG 2000)',
    });
  });
});

describe('format detection by content, not by name', () => {
  it('recognises each format from its first bytes and flags a misleading extension', async () => {
    // Which bytes are which format is registry.test.ts's; here, what the microscopist is told.
    const image = await readBytes(readMicroscopyFixture('sem-tiff/FEI-Helios-Ebeam-8bits.tif'), 'helios.dm3');
    expect(image.format).toBe('tiff');
    expect(image.warnings).toEqual(['the file name says DM3 but the content is TIFF']);
    const dm = await readBytes(readMicroscopyFixture('dm3/test_STEM_image.dm3'), 'STEM.DM3');
    expect(dm).toMatchObject({ format: 'dm3', warnings: [] });
  });

  it('a multi-page TIFF is read as its first page, and says so', async () => {
    const bytes = buildTiff({
      pages: [greyPage(2, 2, 8, Uint8Array.of(1, 2, 3, 4)), greyPage(3, 3, 8, new Uint8Array(9))],
    });
    const image = await readBytes(bytes, 'stack.tif', 100);
    expect(image).toMatchObject({ width: 2, height: 2 });
    expect(Array.from(grey(image))).toEqual([1, 2, 3, 4]);
    expect(image.warnings).toEqual(['multi-page TIFF: only the first page is analysed']);
  });
});

describe('JPEG and WebP: the photo fast path', () => {
  const photo = sharp({
    create: { width: 40, height: 30, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } },
  });

  it('WebP comes back as 8-bit RGB with transparency on the letterbox grey, and no intensity mapping', async () => {
    const image = await readBytes(await photo.clone().webp({ lossless: true }).toBuffer(), 'a.webp');
    expect(image).toMatchObject({ format: 'webp', width: 40, height: 30, sourceType: 'rgb8', warnings: [] });
    expect(Array.from(image.rgb.subarray(0, 3))).toEqual([114, 114, 114]);
    expect(image.intensityMapping).toBeUndefined();
  });

  it('a 1×1 JPEG is too small and a JPEG cut short is truncated, in the same words as any format', async () => {
    const dot = await sharp({ create: { width: 1, height: 1, channels: 3, background: 'red' } })
      .jpeg()
      .toBuffer();
    await expect(readBytes(dot, 'dot.jpg')).rejects.toMatchObject({
      reason: 'too_small',
      message: 'image is only 1×1 pixels',
    });
    const jpeg = await photo.clone().flatten().jpeg().toBuffer();
    const cut = readBytes(jpeg.subarray(0, jpeg.length / 2), 'cut.jpg');
    await expect(cut).rejects.toBeInstanceOf(ImageRejection);
    await expect(cut).rejects.toMatchObject({ reason: 'truncated' });
  });

  it('a GIF is refused as unsupported, naming every format scopehive reads', async () => {
    const gif = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');
    await expect(readBytes(gif, 'a.jpg')).rejects.toMatchObject({
      reason: 'unsupported',
      message: 'not an image in a supported format (JPEG, PNG, TIFF, WebP, DM3 or DM4)',
    });
  });

  it('a bad setting is not blamed on the image', async () => {
    const png16 = await sharp({ create: { width: 4, height: 4, channels: 3, background: 'red' } })
      .toColourspace('rgb16')
      .png()
      .toBuffer();
    await expect(readBytes(png16, 'a.png', 1e6, { low: 50, high: 10 })).rejects.toBeInstanceOf(RangeError);
  });
});
