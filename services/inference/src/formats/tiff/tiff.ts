// Over 300 lines on purpose: the TIFF/BigTIFF container (header, IFDs, every field type, tag access)
// is one format specification, and splitting it would scatter the byte-level rules it enforces.
import { MicroscopyError } from '../../microscopy/errors.ts';
import { type ByteReader, byteReader, decodeText } from '../bytes.ts';

export type TiffFieldType =
  | 'BYTE'
  | 'ASCII'
  | 'SHORT'
  | 'LONG'
  | 'RATIONAL'
  | 'SBYTE'
  | 'UNDEFINED'
  | 'SSHORT'
  | 'SLONG'
  | 'SRATIONAL'
  | 'FLOAT'
  | 'DOUBLE'
  | 'IFD'
  | 'LONG8'
  | 'SLONG8'
  | 'IFD8';

const FIELD_TYPES: Readonly<Record<number, { name: TiffFieldType; size: number }>> = {
  1: { name: 'BYTE', size: 1 },
  2: { name: 'ASCII', size: 1 },
  3: { name: 'SHORT', size: 2 },
  4: { name: 'LONG', size: 4 },
  5: { name: 'RATIONAL', size: 8 },
  6: { name: 'SBYTE', size: 1 },
  7: { name: 'UNDEFINED', size: 1 },
  8: { name: 'SSHORT', size: 2 },
  9: { name: 'SLONG', size: 4 },
  10: { name: 'SRATIONAL', size: 8 },
  11: { name: 'FLOAT', size: 4 },
  12: { name: 'DOUBLE', size: 8 },
  13: { name: 'IFD', size: 4 },
  16: { name: 'LONG8', size: 8 },
  17: { name: 'SLONG8', size: 8 },
  18: { name: 'IFD8', size: 8 },
};

/**
 * One tag's value: ASCII as text (trailing NULs dropped), BYTE and UNDEFINED as a view of the file's
 * bytes (private tags can be large; no copy), every other type as numbers. Rationals are divided out
 * (a zero denominator gives NaN or ±Infinity, which calibration rejects). 64-bit values beyond 2^53
 * are refused as corrupt: no real file has them, and a number could not hold them exactly.
 */
export type TiffValue = string | Uint8Array | readonly number[];

export interface TiffEntry {
  readonly tag: number;
  readonly type: TiffFieldType;
  readonly count: number;
  readonly value: TiffValue;
}

export interface TiffIfd {
  /** Where the IFD starts in the file. */
  readonly offset: number;
  readonly tags: ReadonlyMap<number, TiffEntry>;
  /** Offset of the next page's IFD; 0 on the last page. */
  readonly nextOffset: number;
}

export interface Tiff {
  readonly littleEndian: boolean;
  readonly bigTiff: boolean;
  readonly ifds: readonly TiffIfd[];
}

export interface ParseTiffOptions {
  /**
   * Stop after this many IFDs (pages). The reader only needs the first; a loop in the IFD chain is an
   * error whatever the limit.
   */
  maxIfds?: number;
}

export const TAG = {
  NewSubfileType: 254,
  ImageWidth: 256,
  ImageLength: 257,
  BitsPerSample: 258,
  Compression: 259,
  Photometric: 262,
  ImageDescription: 270,
  StripOffsets: 273,
  SamplesPerPixel: 277,
  RowsPerStrip: 278,
  StripByteCounts: 279,
  XResolution: 282,
  YResolution: 283,
  PlanarConfiguration: 284,
  ResolutionUnit: 296,
  Software: 305,
  Predictor: 317,
  ColorMap: 320,
  TileWidth: 322,
  TileLength: 323,
  TileOffsets: 324,
  TileByteCounts: 325,
  ExtraSamples: 338,
  SampleFormat: 339,
  ZeissSem: 34118,
  FeiSfeg: 34680,
  FeiHelios: 34682,
} as const;

/** Parses the header and the IFD chain of a TIFF or BigTIFF file, either byte order. Reads no pixels. */
export function parseTiff(bytes: Uint8Array, options: ParseTiffOptions = {}): Tiff {
  const maxIfds = options.maxIfds ?? Number.POSITIVE_INFINITY;
  if (bytes.length < 8)
    throw new MicroscopyError('truncated', `TIFF file is truncated: only ${bytes.length} bytes`);
  const order = String.fromCharCode(bytes[0], bytes[1]);
  if (order !== 'II' && order !== 'MM')
    throw new MicroscopyError('corrupt', 'not a TIFF file (no II/MM byte order mark)');
  const r = byteReader(bytes, { littleEndian: order === 'II', format: 'TIFF' });
  const magic = r.u16(2);
  if (magic !== 42 && magic !== 43)
    throw new MicroscopyError('corrupt', `not a TIFF file (version ${magic}, expected 42 or 43)`);
  const bigTiff = magic === 43;
  if (bigTiff && (r.u16(4) !== 8 || r.u16(6) !== 0)) {
    throw new MicroscopyError('corrupt', 'BigTIFF header is corrupt (offset size is not 8)');
  }
  const ifds: TiffIfd[] = [];
  const seen = new Set<number>();
  let offset = bigTiff ? r.u64(8) : r.u32(4);
  if (offset === 0) throw new MicroscopyError('corrupt', 'TIFF file has no image (first IFD offset is 0)');
  while (offset !== 0 && ifds.length < maxIfds) {
    if (seen.has(offset))
      throw new MicroscopyError('corrupt', `TIFF IFD chain loops back to offset ${offset}`);
    seen.add(offset);
    const ifd = readIfd(r, offset, bigTiff, ifds.length);
    ifds.push(ifd);
    offset = ifd.nextOffset;
  }
  return { littleEndian: r.littleEndian, bigTiff, ifds };
}

function readIfd(r: ByteReader, offset: number, bigTiff: boolean, index: number): TiffIfd {
  const countSize = bigTiff ? 8 : 2;
  const entrySize = bigTiff ? 20 : 12;
  const count = bigTiff ? r.u64(offset) : r.u16(offset);
  const entriesStart = offset + countSize;
  r.check(entriesStart, count * entrySize + (bigTiff ? 8 : 4), `IFD ${index} (${count} entries)`);
  const tags = new Map<number, TiffEntry>();
  for (let i = 0; i < count; i++) {
    const entry = readEntry(r, entriesStart + i * entrySize, bigTiff);
    // The first of duplicate tags wins, as libtiff does.
    if (entry && !tags.has(entry.tag)) tags.set(entry.tag, entry);
  }
  const next = entriesStart + count * entrySize;
  return { offset, tags, nextOffset: bigTiff ? r.u64(next) : r.u32(next) };
}

function readEntry(r: ByteReader, at: number, bigTiff: boolean): TiffEntry | undefined {
  const tag = r.u16(at);
  const typeCode = r.u16(at + 2);
  const type = FIELD_TYPES[typeCode];
  // TIFF 6.0: readers skip fields of an unknown type (their size is unknown).
  if (!type) return undefined;
  const count = bigTiff ? r.u64(at + 4) : r.u32(at + 4);
  const byteLength = count * type.size;
  const inline = bigTiff ? 8 : 4;
  const fieldAt = at + (bigTiff ? 12 : 8);
  const valueAt = byteLength <= inline ? fieldAt : bigTiff ? r.u64(fieldAt) : r.u32(fieldAt);
  r.check(valueAt, byteLength, `tag ${tag} value (${count} × ${type.name})`);
  return { tag, type: type.name, count, value: readValue(r, valueAt, type.name, count) };
}

function readValue(r: ByteReader, at: number, type: TiffFieldType, count: number): TiffValue {
  switch (type) {
    case 'ASCII':
      return decodeText(r.view(at, count, 'ASCII value')).replace(/\0+$/, '');
    case 'BYTE':
    case 'UNDEFINED':
      return r.view(at, count, 'byte value');
    default: {
      const values = new Array<number>(count);
      for (let i = 0; i < count; i++) values[i] = readNumber(r, at, type, i);
      return values;
    }
  }
}

function readNumber(r: ByteReader, at: number, type: TiffFieldType, i: number): number {
  switch (type) {
    case 'SBYTE':
      return r.i8(at + i);
    case 'SHORT':
      return r.u16(at + 2 * i);
    case 'SSHORT':
      return r.i16(at + 2 * i);
    case 'LONG':
    case 'IFD':
      return r.u32(at + 4 * i);
    case 'SLONG':
      return r.i32(at + 4 * i);
    case 'RATIONAL':
      return r.u32(at + 8 * i) / r.u32(at + 8 * i + 4);
    case 'SRATIONAL':
      return r.i32(at + 8 * i) / r.i32(at + 8 * i + 4);
    case 'FLOAT':
      return r.f32(at + 4 * i);
    case 'DOUBLE':
      return r.f64(at + 8 * i);
    case 'LONG8':
    case 'IFD8':
      return r.u64(at + 8 * i);
    case 'SLONG8':
      return r.i64(at + 8 * i);
    default:
      return r.u8(at + i);
  }
}

/** A tag's values as numbers (BYTE/UNDEFINED included); undefined when absent or text. */
export function tagNumbers(ifd: TiffIfd, tag: number): readonly number[] | undefined {
  const value = ifd.tags.get(tag)?.value;
  if (value === undefined || typeof value === 'string') return undefined;
  return value instanceof Uint8Array ? Array.from(value) : value;
}

/** A tag's first value as a number; undefined when absent or text. */
export function tagNumber(ifd: TiffIfd, tag: number): number | undefined {
  const value = ifd.tags.get(tag)?.value;
  if (value === undefined || typeof value === 'string' || value.length === 0) return undefined;
  return value[0];
}

/**
 * A tag's value as text. Byte-typed tags are decoded too: instruments store their text blocks as
 * ASCII, BYTE or UNDEFINED depending on the software version.
 */
export function tagText(ifd: TiffIfd, tag: number): string | undefined {
  const value = ifd.tags.get(tag)?.value;
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) return decodeText(value).replace(/\0+$/, '');
  return undefined;
}

/** Where the pixel data of one page lies: strips of whole rows, or tiles. */
export type TiffLayout =
  | { kind: 'strips'; rowsPerStrip: number; offsets: readonly number[]; byteCounts?: readonly number[] }
  | {
      kind: 'tiles';
      tileWidth: number;
      tileHeight: number;
      offsets: readonly number[];
      byteCounts?: readonly number[];
    };

/** The image-structure tags of one page, with the TIFF 6.0 defaults filled in. */
export interface TiffImageInfo {
  width: number;
  height: number;
  /** Bits per sample, the same for every sample (mixed sizes are refused). */
  bitsPerSample: number;
  samplesPerPixel: number;
  /** 1 unsigned integer, 2 signed integer, 3 IEEE float (4 "undefined" is read as unsigned). */
  sampleFormat: 1 | 2 | 3;
  /** 0 WhiteIsZero, 1 BlackIsZero, 2 RGB, 3 palette, … */
  photometric: number;
  compression: number;
  /** 1 chunky (RGBRGB), 2 planar (RRR…GGG…BBB). */
  planarConfig: 1 | 2;
  /** 1 none, 2 horizontal differencing, 3 floating-point. */
  predictor: number;
  layout: TiffLayout;
  /** 3 × 2^bitsPerSample 16-bit values (all reds, all greens, all blues) for palette images. */
  colormap?: readonly number[];
}

export function tiffImageInfo(ifd: TiffIfd): TiffImageInfo {
  const width = tagNumber(ifd, TAG.ImageWidth);
  const height = tagNumber(ifd, TAG.ImageLength);
  if (width === undefined || height === undefined) {
    throw new MicroscopyError('corrupt', 'TIFF page has no ImageWidth/ImageLength');
  }
  const samplesPerPixel = tagNumber(ifd, TAG.SamplesPerPixel) ?? 1;
  const bits = tagNumbers(ifd, TAG.BitsPerSample) ?? [1];
  if (bits.some((b) => b !== bits[0])) {
    throw new MicroscopyError(
      'unsupported',
      `TIFF samples of different sizes (${bits.join(', ')} bits) are not supported`,
    );
  }
  const formats = tagNumbers(ifd, TAG.SampleFormat) ?? [1];
  const format = formats[0] === 4 ? 1 : formats[0];
  if (format !== 1 && format !== 2 && format !== 3) {
    throw new MicroscopyError('unsupported', `TIFF sample format ${formats[0]} (complex) is not supported`);
  }
  const planar = tagNumber(ifd, TAG.PlanarConfiguration) ?? 1;
  const photometric = tagNumber(ifd, TAG.Photometric);
  if (photometric === undefined)
    throw new MicroscopyError('corrupt', 'TIFF page has no PhotometricInterpretation');
  return {
    width,
    height,
    bitsPerSample: bits[0],
    samplesPerPixel,
    sampleFormat: format,
    photometric,
    compression: tagNumber(ifd, TAG.Compression) ?? 1,
    planarConfig: planar === 2 ? 2 : 1,
    predictor: tagNumber(ifd, TAG.Predictor) ?? 1,
    layout: tiffLayout(ifd, height),
    colormap: tagNumbers(ifd, TAG.ColorMap),
  };
}

function tiffLayout(ifd: TiffIfd, height: number): TiffLayout {
  const tileOffsets = tagNumbers(ifd, TAG.TileOffsets);
  if (tileOffsets) {
    const tileWidth = tagNumber(ifd, TAG.TileWidth);
    const tileHeight = tagNumber(ifd, TAG.TileLength);
    if (!tileWidth || !tileHeight)
      throw new MicroscopyError('corrupt', 'TIFF tiles have no TileWidth/TileLength');
    return {
      kind: 'tiles',
      tileWidth,
      tileHeight,
      offsets: tileOffsets,
      byteCounts: tagNumbers(ifd, TAG.TileByteCounts),
    };
  }
  const offsets = tagNumbers(ifd, TAG.StripOffsets);
  if (!offsets) throw new MicroscopyError('corrupt', 'TIFF page has neither StripOffsets nor TileOffsets');
  // RowsPerStrip defaults to 2^32−1 ("one strip"); writers also use it that way (Zeiss does).
  const rowsPerStrip = Math.min(tagNumber(ifd, TAG.RowsPerStrip) ?? height, height) || height;
  return { kind: 'strips', rowsPerStrip, offsets, byteCounts: tagNumbers(ifd, TAG.StripByteCounts) };
}
