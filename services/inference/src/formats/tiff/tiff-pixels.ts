// Over 300 lines on purpose: every pixel layout TIFF allows (strips/tiles, planar, bit depths,
// predictors, palettes) converges on one Raster here; the cases check each other's bounds.
import { MicroscopyError } from '../../microscopy/errors.ts';
import {
  type Raster,
  SAMPLE_BYTES,
  type SampleArray,
  type SampleType,
  type SourceType,
  samplesFromBytes,
} from '../../microscopy/raster.ts';
import { byteReader } from '../bytes.ts';
import type { Tiff, TiffImageInfo } from './tiff.ts';
import { tiffImageInfo } from './tiff.ts';
import { assertSupportedCompression, decompressChunk } from './tiff-compression.ts';

export interface DecodeTiffOptions {
  /** Width × height above which the page is refused before any pixel memory is allocated. */
  maxPixels: number;
}

export interface TiffPixels extends Raster {
  sourceType: SourceType;
}

const PHOTOMETRIC_NAMES: Readonly<Record<number, string>> = {
  4: 'transparency mask',
  5: 'CMYK',
  6: 'YCbCr',
  8: 'CIE L*a*b*',
  9: 'ICC L*a*b*',
  10: 'ITU L*a*b*',
  32844: 'LogL',
  32845: 'LogLuv',
};

/**
 * A page may carry a few samples per pixel (RGB + alpha, two detector channels); more than this at
 * the pixel limit is not a micrograph and would only cost memory.
 */
const MAX_SAMPLES_PER_PIXEL = 4;

/**
 * Decodes the pixels of the first page (IFD 0) of a parsed TIFF. Multi-page files (stacks, OME
 * series, pyramids) are read as their first page only, as the design asks: that is the full-
 * resolution image an instrument writes first. Greyscale stays one channel, RGB keeps its first
 * three samples (alpha and extra samples are dropped), palette images become grey when every colour
 * the pixels use is grey and RGB otherwise.
 */
export function decodeTiffImage(bytes: Uint8Array, tiff: Tiff, options: DecodeTiffOptions): TiffPixels {
  const ifd = tiff.ifds[0];
  if (!ifd) throw new MicroscopyError('corrupt', 'TIFF file has no image');
  const info = tiffImageInfo(ifd);
  const { width, height, samplesPerPixel: spp } = info;
  if (!(width > 0 && height > 0))
    throw new MicroscopyError('corrupt', `TIFF image size ${width}×${height} is invalid`);
  if (width * height > options.maxPixels) {
    throw new MicroscopyError(
      'too_large',
      `image is ${width}×${height} pixels, above the limit of ${options.maxPixels} pixels`,
    );
  }
  if (spp < 1 || width * height * spp > options.maxPixels * MAX_SAMPLES_PER_PIXEL) {
    throw new MicroscopyError('unsupported', `TIFF with ${spp} samples per pixel is not supported`);
  }
  const sampleType = tiffSampleType(info);
  assertSupportedCompression(info.compression);
  checkPhotometric(info, sampleType);
  if (
    (info.predictor === 2 && sampleType.startsWith('float')) ||
    (info.predictor === 3 && !sampleType.startsWith('float'))
  ) {
    throw new MicroscopyError(
      'unsupported',
      `TIFF predictor ${info.predictor} with ${sampleType} samples is not supported`,
    );
  }
  if (info.predictor !== 1 && info.predictor !== 2 && info.predictor !== 3) {
    throw new MicroscopyError('unsupported', `TIFF predictor ${info.predictor} is not supported`);
  }

  const { layout } = info;
  if (layout.kind === 'tiles' && layout.tileWidth * layout.tileHeight > options.maxPixels) {
    // Every tile is decoded whole, so a tile may not be larger than an image may be.
    throw new MicroscopyError(
      'too_large',
      `TIFF tiles of ${layout.tileWidth}×${layout.tileHeight} pixels are above the limit of ${options.maxPixels} pixels`,
    );
  }
  const raw = readChunks(bytes, tiff.littleEndian, info, SAMPLE_BYTES[sampleType]);
  const samples = samplesFromBytes(raw, sampleType, width * height * spp, {
    littleEndian: tiff.littleEndian,
    owned: true,
  });
  if (info.predictor === 2) undoHorizontalDifferencing(samples, info);

  if (info.photometric === 3) return paletteToRaster(samples as Uint8Array, info);
  const channels = info.photometric === 2 ? 3 : 1;
  const data = keepSamples(samples, spp, channels);
  if (info.photometric === 0) invert(data, sampleType);
  const sourceType: SourceType = channels === 1 ? sampleType : sampleType === 'uint8' ? 'rgb8' : 'rgb16';
  return { width, height, channels, sampleType, data, sourceType };
}

function tiffSampleType(info: TiffImageInfo): SampleType {
  const { bitsPerSample: bits, sampleFormat } = info;
  const type =
    sampleFormat === 3
      ? ({ 32: 'float32', 64: 'float64' } as const)[bits]
      : sampleFormat === 2
        ? ({ 8: 'int8', 16: 'int16', 32: 'int32' } as const)[bits]
        : ({ 8: 'uint8', 16: 'uint16', 32: 'uint32' } as const)[bits];
  if (!type) {
    const kind = sampleFormat === 3 ? 'floating-point' : sampleFormat === 2 ? 'signed' : 'unsigned';
    throw new MicroscopyError('unsupported', `TIFF with ${bits}-bit ${kind} samples is not supported`);
  }
  return type;
}

function checkPhotometric(info: TiffImageInfo, type: SampleType): void {
  const { photometric, samplesPerPixel: spp } = info;
  if (photometric === 0 && !type.startsWith('uint')) {
    throw new MicroscopyError('unsupported', `TIFF WhiteIsZero with ${type} samples is not supported`);
  }
  if (photometric === 0 || photometric === 1) return;
  if (photometric === 2) {
    if (spp < 3) throw new MicroscopyError('corrupt', `TIFF RGB image has only ${spp} samples per pixel`);
    if (type !== 'uint8' && type !== 'uint16') {
      throw new MicroscopyError('unsupported', `TIFF RGB with ${type} samples is not supported`);
    }
    return;
  }
  if (photometric === 3) {
    if (type !== 'uint8' || spp !== 1) {
      throw new MicroscopyError(
        'unsupported',
        `TIFF palette image with ${info.bitsPerSample}-bit indices is not supported`,
      );
    }
    if (info.colormap?.length !== 3 * 256)
      throw new MicroscopyError('corrupt', 'TIFF palette image has no valid ColorMap');
    return;
  }
  const name = PHOTOMETRIC_NAMES[photometric] ?? 'unknown';
  throw new MicroscopyError(
    'unsupported',
    `TIFF photometric interpretation ${photometric} (${name}) is not supported`,
  );
}

/** Decodes every strip or tile into one buffer of whole-image samples in file byte order. */
function readChunks(
  bytes: Uint8Array,
  littleEndian: boolean,
  info: TiffImageInfo,
  bytesPerSample: number,
): Uint8Array {
  const { width, height, samplesPerPixel: spp, layout, compression } = info;
  const r = byteReader(bytes, { littleEndian, format: 'TIFF' });
  const planes = info.planarConfig === 2 ? spp : 1;
  const chunkSpp = info.planarConfig === 2 ? 1 : spp;
  const chunkWidth = layout.kind === 'tiles' ? layout.tileWidth : width;
  const chunkHeight = layout.kind === 'tiles' ? layout.tileHeight : layout.rowsPerStrip;
  const across = Math.ceil(width / chunkWidth);
  const down = Math.ceil(height / chunkHeight);
  const perPlane = across * down;
  const noun = layout.kind === 'tiles' ? 'tile' : 'strip';
  if (layout.offsets.length < perPlane * planes) {
    throw new MicroscopyError(
      'corrupt',
      `TIFF has ${layout.offsets.length} ${noun}s, expected ${perPlane * planes}`,
    );
  }
  const raw = new Uint8Array(width * height * spp * bytesPerSample);
  for (let plane = 0; plane < planes; plane++) {
    for (let k = 0; k < perPlane; k++) {
      const index = plane * perPlane + k;
      const x0 = (k % across) * chunkWidth;
      const y0 = Math.floor(k / across) * chunkHeight;
      // Strips hold only the rows that remain; tiles are always full size, padded at the edges.
      const rows = layout.kind === 'tiles' ? chunkHeight : Math.min(chunkHeight, height - y0);
      const expected = chunkWidth * rows * chunkSpp * bytesPerSample;
      const what = `${noun} ${index}`;
      const byteCount = layout.byteCounts?.[index];
      if (byteCount === undefined && compression !== 1) {
        throw new MicroscopyError('corrupt', `TIFF ${what} has no byte count`);
      }
      const input = r.view(layout.offsets[index], byteCount ?? expected, what);
      const decoded = decompressChunk(compression, input, expected, what);
      // Uncompressed chunks are views of the file; the float predictor works in place on a copy.
      const chunk = info.predictor === 3 && compression === 1 ? new Uint8Array(decoded) : decoded;
      if (info.predictor === 3)
        undoFloatPredictor(chunk, chunkWidth, rows, chunkSpp, bytesPerSample, littleEndian);
      copyChunk(raw, chunk, {
        width,
        height,
        spp,
        bytesPerSample,
        chunkWidth,
        rows,
        chunkSpp,
        x0,
        y0,
        plane,
      });
    }
  }
  return raw;
}

interface ChunkPlacement {
  width: number;
  height: number;
  spp: number;
  bytesPerSample: number;
  chunkWidth: number;
  rows: number;
  chunkSpp: number;
  x0: number;
  y0: number;
  plane: number;
}

function copyChunk(raw: Uint8Array, chunk: Uint8Array, p: ChunkPlacement): void {
  const validWidth = Math.min(p.chunkWidth, p.width - p.x0);
  const validRows = Math.min(p.rows, p.height - p.y0);
  const pixelBytes = p.spp * p.bytesPerSample;
  const chunkPixelBytes = p.chunkSpp * p.bytesPerSample;
  for (let row = 0; row < validRows; row++) {
    const src = row * p.chunkWidth * chunkPixelBytes;
    const dst = ((p.y0 + row) * p.width + p.x0) * pixelBytes;
    if (p.chunkSpp === p.spp) {
      raw.set(chunk.subarray(src, src + validWidth * pixelBytes), dst);
      continue;
    }
    // Planar data: scatter this plane's sample into every pixel.
    for (let x = 0; x < validWidth; x++) {
      const s = src + x * p.bytesPerSample;
      const d = dst + x * pixelBytes + p.plane * p.bytesPerSample;
      for (let b = 0; b < p.bytesPerSample; b++) raw[d + b] = chunk[s + b];
    }
  }
}

/**
 * Predictor 2 differences each sample from the same sample one pixel to the left, restarting at the
 * left edge of every strip or tile. Typed arrays wrap modulo 2^n on store, as the predictor requires.
 */
function undoHorizontalDifferencing(samples: SampleArray, info: TiffImageInfo): void {
  const { width, height, samplesPerPixel: spp, layout } = info;
  const segment = layout.kind === 'tiles' ? layout.tileWidth : width;
  for (let y = 0; y < height; y++) {
    const row = y * width * spp;
    for (let x0 = 0; x0 < width; x0 += segment) {
      const end = row + Math.min(x0 + segment, width) * spp;
      for (let i = row + x0 * spp + spp; i < end; i++) samples[i] += samples[i - spp];
    }
  }
}

/**
 * Predictor 3 (Adobe floating point): each row stores byte planes, most significant first, then
 * differences bytes across the row. Undo both and write the samples back in the file's byte order.
 */
function undoFloatPredictor(
  chunk: Uint8Array,
  chunkWidth: number,
  rows: number,
  spp: number,
  bytesPerSample: number,
  littleEndian: boolean,
): void {
  const count = chunkWidth * spp;
  const rowBytes = count * bytesPerSample;
  const planes = new Uint8Array(rowBytes);
  for (let row = 0; row < rows; row++) {
    const start = row * rowBytes;
    for (let i = start + spp; i < start + rowBytes; i++) chunk[i] = (chunk[i] + chunk[i - spp]) & 0xff;
    planes.set(chunk.subarray(start, start + rowBytes));
    for (let j = 0; j < count; j++) {
      for (let b = 0; b < bytesPerSample; b++) {
        const target = littleEndian ? bytesPerSample - 1 - b : b;
        chunk[start + j * bytesPerSample + target] = planes[b * count + j];
      }
    }
  }
}

function keepSamples(samples: SampleArray, spp: number, keep: 1 | 3): SampleArray {
  if (spp === keep) return samples;
  const pixels = samples.length / spp;
  const out = new (samples.constructor as new (n: number) => SampleArray)(pixels * keep);
  for (let p = 0; p < pixels; p++) {
    for (let c = 0; c < keep; c++) out[p * keep + c] = samples[p * spp + c];
  }
  return out;
}

function invert(data: SampleArray, type: SampleType): void {
  const max = type === 'uint8' ? 0xff : type === 'uint16' ? 0xffff : 0xffffffff;
  for (let i = 0; i < data.length; i++) data[i] = max - data[i];
}

function paletteToRaster(indices: Uint8Array, info: TiffImageInfo): TiffPixels {
  const map = info.colormap!;
  const { width, height } = info;
  const used = new Uint8Array(256);
  for (let i = 0; i < indices.length; i++) used[indices[i]] = 1;
  let grey = true;
  for (let k = 0; k < 256 && grey; k++)
    grey = !used[k] || (map[k] === map[256 + k] && map[k] === map[512 + k]);
  // ColorMap entries are 16-bit; 257 maps 0…65535 exactly onto 0…255.
  const to8 = (v: number): number => Math.round(v / 257);
  const channels = grey ? 1 : 3;
  const data = new Uint8Array(indices.length * channels);
  for (let i = 0; i < indices.length; i++) {
    const k = indices[i];
    if (grey) data[i] = to8(map[k]);
    else {
      data[3 * i] = to8(map[k]);
      data[3 * i + 1] = to8(map[256 + k]);
      data[3 * i + 2] = to8(map[512 + k]);
    }
  }
  return { width, height, channels, sampleType: 'uint8', data, sourceType: 'palette8' };
}
