import fs from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import type { Calibration, ImageArea } from './calibration.ts';
import { parseDm } from './dm.ts';
import { extractDmImage } from './dm-image.ts';
import { MicroscopyError } from './errors.ts';
import { detectFormat, type FileFormat } from './format.ts';
import { type IntensityMapping, type IntensityStretch, toEightBit } from './intensity.ts';
import type { Raster, SourceType } from './raster.ts';
import { parseTiff, TAG, tagText } from './tiff.ts';
import { tiffCalibration } from './tiff-calibration.ts';
import { decodeTiffImage } from './tiff-pixels.ts';

export type MicroscopyFormat = 'tiff' | 'ome-tiff' | 'dm3' | 'dm4' | 'png' | 'jpeg';

/** A micrograph ready for the model, with everything the file says about its scale. */
export interface MicroscopyImage {
  width: number;
  height: number;
  channels: 1 | 3;
  /** 8-bit samples for the model, interleaved when RGB. */
  data8: Uint8Array;
  sourceType: SourceType;
  format: MicroscopyFormat;
  /** Pixel sizes found in the file; pass them to `resolveCalibration` with the overrides. */
  calibrationCandidates: Calibration[];
  /** The rows above the instrument's data bar, when the file says. */
  imageArea?: ImageArea;
  intensityMapping?: IntensityMapping;
  /** Things the microscopist should know: first page of a stack only, unusable metadata, … */
  warnings: string[];
}

export interface ReadMicroscopyImageOptions {
  /** The file's name, to point out an extension that contradicts the content. */
  fileName: string;
  /** Width × height above which the file is refused before pixel memory is allocated. */
  maxPixels: number;
  /** Percentiles for 16-bit, 32-bit and float data; default 0.1–99.9 %. */
  stretch?: IntensityStretch;
}

const EXTENSION_FORMATS: Readonly<Record<string, FileFormat>> = {
  '.tif': 'tiff',
  '.tiff': 'tiff',
  '.dm3': 'dm3',
  '.dm4': 'dm4',
  '.png': 'png',
  '.jpg': 'jpeg',
  '.jpeg': 'jpeg',
};

interface Decoded {
  raster: Raster;
  sourceType: SourceType;
  format: MicroscopyFormat;
  calibrationCandidates: Calibration[];
  imageArea?: ImageArea;
  warnings: string[];
}

/**
 * Reads a TIFF (multi-page: the first page), OME-TIFF, DM3, DM4, PNG or JPEG held in memory,
 * recognised by its bytes. TIFF and DM are decoded by scopehive's own parsers, which also find the
 * calibration. PNG and JPEG are decoded with sharp here too (EXIF orientation applied, alpha dropped,
 * 16-bit PNG stretched like 16-bit TIFF) so every format comes back the same way; they carry no
 * calibration a microscope writes. Unreadable files throw a MicroscopyError with a readable reason.
 */
export async function readMicroscopyImage(
  bytes: Uint8Array,
  options: ReadMicroscopyImageOptions,
): Promise<MicroscopyImage> {
  const fileFormat = detectFormat(bytes);
  const decoded =
    fileFormat === 'tiff'
      ? readTiff(bytes, options)
      : fileFormat === 'png' || fileFormat === 'jpeg'
        ? await readWithSharp(bytes, fileFormat, options)
        : readDm(bytes, options);
  const { raster } = decoded;
  if (raster.width < 2 || raster.height < 2) {
    throw new MicroscopyError('too_small', `image is only ${raster.width}×${raster.height} pixels`);
  }
  const warnings = [...decoded.warnings];
  const claimed = EXTENSION_FORMATS[path.extname(options.fileName).toLowerCase()];
  if (claimed && claimed !== fileFormat) {
    warnings.push(
      `the file name says ${claimed.toUpperCase()} but the content is ${fileFormat.toUpperCase()}`,
    );
  }
  const { data8, mapping } = toEightBit(raster, options.stretch);
  return {
    width: raster.width,
    height: raster.height,
    channels: raster.channels,
    data8,
    sourceType: decoded.sourceType,
    format: decoded.format,
    calibrationCandidates: decoded.calibrationCandidates,
    ...(decoded.imageArea ? { imageArea: decoded.imageArea } : {}),
    intensityMapping: mapping,
    warnings,
  };
}

/** The I/O adapter: reads a file and hands its bytes to `readMicroscopyImage`. */
export async function readMicroscopyFile(
  file: string,
  options: Omit<ReadMicroscopyImageOptions, 'fileName'>,
): Promise<MicroscopyImage> {
  return readMicroscopyImage(await fs.readFile(file), { ...options, fileName: path.basename(file) });
}

function readTiff(bytes: Uint8Array, options: ReadMicroscopyImageOptions): Decoded {
  const tiff = parseTiff(bytes, { maxIfds: 1 });
  const ifd = tiff.ifds[0];
  const pixels = decodeTiffImage(bytes, tiff, { maxPixels: options.maxPixels });
  const calibration = tiffCalibration(ifd, pixels);
  const ome = /<(?:\w+:)?OME[\s>]/.test(tagText(ifd, TAG.ImageDescription) ?? '');
  const warnings = [...calibration.warnings];
  if (ifd.nextOffset !== 0) warnings.push('multi-page TIFF: only the first page is analysed');
  return {
    raster: pixels,
    sourceType: pixels.sourceType,
    format: ome ? 'ome-tiff' : 'tiff',
    calibrationCandidates: calibration.candidates,
    ...(calibration.imageArea ? { imageArea: calibration.imageArea } : {}),
    warnings,
  };
}

function readDm(bytes: Uint8Array, options: ReadMicroscopyImageOptions): Decoded {
  const file = parseDm(bytes);
  const image = extractDmImage(file, { maxPixels: options.maxPixels });
  return {
    raster: image,
    sourceType: image.sourceType,
    format: file.version === 3 ? 'dm3' : 'dm4',
    calibrationCandidates: image.calibration ? [image.calibration] : [],
    warnings: image.warnings,
  };
}

async function readWithSharp(
  bytes: Uint8Array,
  format: 'png' | 'jpeg',
  options: ReadMicroscopyImageOptions,
): Promise<Decoded> {
  try {
    const input = sharp(bytes, { limitInputPixels: options.maxPixels, failOn: 'truncated' });
    const meta = await input.metadata();
    const grey = (meta.channels ?? 3) <= 2 && !meta.isPalette;
    const sixteen = meta.depth === 'ushort';
    const colourspace = grey ? (sixteen ? 'grey16' : 'b-w') : sixteen ? 'rgb16' : 'srgb';
    const { data, info } = await input
      .rotate()
      .removeAlpha()
      .toColourspace(colourspace)
      .raw({ depth: sixteen ? 'ushort' : 'uchar' })
      .toBuffer({ resolveWithObject: true });
    const channels = grey ? 1 : 3;
    if (info.channels !== channels)
      throw new Error(`sharp returned ${info.channels} channels, expected ${channels}`);
    // sharp's raw output is in machine byte order; copy into an aligned buffer of our own.
    const copy = new Uint8Array(data);
    const raster: Raster = sixteen
      ? {
          width: info.width,
          height: info.height,
          channels,
          sampleType: 'uint16',
          data: new Uint16Array(copy.buffer),
        }
      : { width: info.width, height: info.height, channels, sampleType: 'uint8', data: copy };
    const sourceType: SourceType = grey ? raster.sampleType : sixteen ? 'rgb16' : 'rgb8';
    return { raster, sourceType, format, calibrationCandidates: [], warnings: [] };
  } catch (err) {
    if (err instanceof MicroscopyError) throw err;
    const message = String((err as Error).message).split('\n')[0];
    if (/pixel limit/i.test(message)) {
      throw new MicroscopyError('too_large', `image is above the limit of ${options.maxPixels} pixels`);
    }
    const reason = /truncated|premature end|unexpected end|end of (file|stream)/i.test(message)
      ? 'truncated'
      : 'corrupt';
    throw new MicroscopyError(reason, `${format.toUpperCase()} could not be decoded (${message})`);
  }
}
