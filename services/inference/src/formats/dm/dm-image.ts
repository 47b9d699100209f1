import { type Calibration, lengthCalibration } from '../../microscopy/calibration.ts';
import { MicroscopyError } from '../../microscopy/errors.ts';
import {
  type Raster,
  SAMPLE_BYTES,
  type SampleType,
  type SourceType,
  samplesFromBytes,
} from '../../microscopy/raster.ts';
import { byteReader } from '../bytes.ts';
import { type DmFile, type DmValue, dmGet, isDmArrayRef } from './dm.ts';

/** DM `ImageData.DataType` codes scopehive reads; 8 and 23 are 4-byte B,G,R,A pixels. */
const DM_SAMPLE_TYPES: Readonly<Record<number, SampleType | 'rgba'>> = {
  1: 'int16',
  2: 'float32',
  6: 'uint8',
  7: 'int32',
  8: 'rgba',
  9: 'int8',
  10: 'uint16',
  11: 'uint32',
  12: 'float64',
  23: 'rgba',
};

const DM_REFUSED_TYPES: Readonly<Record<number, string>> = {
  0: 'null',
  3: 'complex64',
  4: 'obsolete',
  5: 'packed complex',
  13: 'complex128',
  14: 'binary',
  27: 'packed complex64',
  28: 'packed complex128',
};

export interface DmImage extends Raster {
  sourceType: SourceType;
  /** Which ImageList entry was read. */
  index: number;
  /** Frames in a stack; only the first was read. */
  frames: number;
  calibration?: Calibration;
  warnings: string[];
}

export interface ExtractDmImageOptions {
  maxPixels: number;
}

/**
 * The micrograph in a DM file. DM keeps a small RGBA thumbnail in ImageList beside the data (entry 0
 * in the test files, and larger than the 68×68 image there), named by `Thumbnails[i].ImageIndex`.
 * Those entries are skipped (entry 0 when the list is missing), then the largest remaining image
 * is read, the last one on a tie. Stacks (3-D data) give their first frame, like a multi-page TIFF.
 */
export function extractDmImage(file: DmFile, options: ExtractDmImageOptions): DmImage {
  const list = dmGet(file.root, 'ImageList');
  if (!Array.isArray(list) || list.length === 0)
    throw new MicroscopyError('corrupt', 'DM file has no ImageList');
  const index = chooseImage(file, list as readonly DmValue[]);
  const data = dmGet(list, index, 'ImageData');
  const dims = dimensions(dmGet(data, 'Dimensions'));
  if (dims.length < 2) {
    throw new MicroscopyError(
      'unsupported',
      `DM file holds ${dims.length}-D data (a spectrum), not an image`,
    );
  }
  const [width, height] = dims;
  const frames = dims.slice(2).reduce((a, b) => a * b, 1);
  if (!(width > 0 && height > 0 && Number.isInteger(width) && Number.isInteger(height))) {
    throw new MicroscopyError('corrupt', `DM image size ${width}×${height} is invalid`);
  }
  if (width * height > options.maxPixels) {
    throw new MicroscopyError(
      'too_large',
      `image is ${width}×${height} pixels, above the limit of ${options.maxPixels} pixels`,
    );
  }
  const dataType = dmGet(data, 'DataType');
  const sampleType = typeof dataType === 'number' ? DM_SAMPLE_TYPES[dataType] : undefined;
  if (!sampleType) {
    const name = typeof dataType === 'number' ? (DM_REFUSED_TYPES[dataType] ?? 'unknown') : 'missing';
    throw new MicroscopyError(
      'unsupported',
      `DM image data type ${String(dataType)} (${name}) is not supported`,
    );
  }
  const ref = dmGet(data, 'Data');
  if (!isDmArrayRef(ref))
    throw new MicroscopyError('corrupt', `DM ImageList[${index}] has no ImageData.Data array`);
  const bytesPerPixel = sampleType === 'rgba' ? 4 : SAMPLE_BYTES[sampleType];
  const needed = width * height * frames * bytesPerPixel;
  if (ref.byteLength < needed) {
    throw new MicroscopyError(
      'corrupt',
      `DM ImageData.Data holds ${ref.byteLength} bytes, but a ${dims.join('×')} image of type ${dataType} needs ${needed}`,
    );
  }
  const pixels = width * height;
  const frame = byteReader(file.bytes, { littleEndian: file.littleEndian, format: `DM${file.version}` }).view(
    ref.offset,
    pixels * bytesPerPixel,
    'ImageData.Data',
  );
  const warnings = frames > 1 ? [`DM image is a stack of ${frames} frames; only the first is analysed`] : [];
  const calibration = dmCalibration(data, index, warnings);
  const base = { width, height, index, frames, warnings, ...(calibration ? { calibration } : {}) };
  if (sampleType === 'rgba') {
    return {
      ...base,
      channels: 3,
      sampleType: 'uint8',
      sourceType: 'rgb8',
      data: rgbaToRgb(frame, file.littleEndian),
    };
  }
  const samples = samplesFromBytes(frame, sampleType, pixels, {
    littleEndian: file.littleEndian,
    owned: false,
  });
  return { ...base, channels: 1, sampleType, sourceType: sampleType, data: samples };
}

function chooseImage(file: DmFile, list: readonly DmValue[]): number {
  const thumbnails = dmGet(file.root, 'Thumbnails');
  const skip = new Set<number>();
  if (Array.isArray(thumbnails)) {
    for (const t of thumbnails as readonly DmValue[]) {
      const i = dmGet(t, 'ImageIndex');
      if (typeof i === 'number') skip.add(i);
    }
  } else if (list.length > 1) {
    skip.add(0);
  }
  let best = -1;
  let bestPixels = -1;
  list.forEach((entry, i) => {
    if (skip.has(i) || !isDmArrayRef(dmGet(entry, 'ImageData', 'Data'))) return;
    const dims = dimensions(dmGet(entry, 'ImageData', 'Dimensions'));
    const pixels = (dims[0] ?? 0) * (dims[1] ?? 1);
    if (pixels >= bestPixels) {
      best = i;
      bestPixels = pixels;
    }
  });
  if (best === -1) throw new MicroscopyError('corrupt', 'DM file holds no image besides its thumbnail');
  return best;
}

function dimensions(value: DmValue | undefined): number[] {
  if (!Array.isArray(value)) return [];
  return (value as readonly DmValue[]).map((d) => (typeof d === 'number' ? d : Number.NaN));
}

/** DM stores RGB as 32-bit 0xAARRGGBB: B,G,R,A in a little-endian file, A,R,G,B in a big-endian one. */
function rgbaToRgb(frame: Uint8Array, littleEndian: boolean): Uint8Array {
  const pixels = frame.length / 4;
  const out = new Uint8Array(pixels * 3);
  const [r, g, b] = littleEndian ? [2, 1, 0] : [1, 2, 3];
  for (let p = 0; p < pixels; p++) {
    out[3 * p] = frame[4 * p + r];
    out[3 * p + 1] = frame[4 * p + g];
    out[3 * p + 2] = frame[4 * p + b];
  }
  return out;
}

/**
 * `ImageData.Calibrations.Dimension[0]` (x) and `[1]` (y): Scale in Units per pixel. An empty unit
 * is DM's "not calibrated"; a non-length unit (1/nm in diffraction) is reported, not used.
 */
export function dmCalibration(
  imageData: DmValue | undefined,
  index: number,
  warnings: string[],
): Calibration | undefined {
  const dimension = dmGet(imageData, 'Calibrations', 'Dimension');
  const x = dmGet(dimension, 0);
  const y = dmGet(dimension, 1) ?? x;
  const scale = dmGet(x, 'Scale');
  const units = dmGet(x, 'Units');
  if (typeof scale !== 'number' || typeof units !== 'string' || units.trim() === '') return undefined;
  const yScale = dmGet(y, 'Scale');
  const yUnits = dmGet(y, 'Units');
  const shown = Number(scale.toPrecision(7));
  const calibration = lengthCalibration({
    source: 'dm',
    width: scale,
    height: typeof yScale === 'number' ? yScale : scale,
    unit: units,
    heightUnit: typeof yUnits === 'string' && yUnits.trim() !== '' ? yUnits : units,
    detail: `ImageList[${index}] ImageData.Calibrations.Dimension[0] Scale=${shown} ${units}`,
  });
  if (!calibration)
    warnings.push(`DM calibration unit "${units}" is not a length; the image is treated as uncalibrated`);
  return calibration;
}
