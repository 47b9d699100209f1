import { MicroscopyError } from '../microscopy/errors.ts';

/**
 * Bounds-checked reads over a file held in memory. Every offset in a TIFF or DM file comes from the
 * file itself, so each read is checked: a truncated or hostile file throws a readable error instead
 * of reading garbage or allocating what a corrupt length asks for.
 */
export interface ByteReader {
  readonly bytes: Uint8Array;
  readonly littleEndian: boolean;
  /** Throws unless `length` bytes exist at `offset`; `what` names the field in the error. */
  check(offset: number, length: number, what: string): void;
  u8(offset: number): number;
  i8(offset: number): number;
  u16(offset: number, littleEndian?: boolean): number;
  i16(offset: number): number;
  u32(offset: number, littleEndian?: boolean): number;
  i32(offset: number): number;
  /** A 64-bit unsigned value; refuses values a JS number cannot hold exactly. */
  u64(offset: number, littleEndian?: boolean): number;
  i64(offset: number): number;
  f32(offset: number): number;
  f64(offset: number): number;
  /** A view (not a copy) of `length` bytes. */
  view(offset: number, length: number, what: string): Uint8Array;
}

export interface ByteReaderOptions {
  littleEndian: boolean;
  /** Names the format in error messages: "TIFF", "DM3", … */
  format: string;
}

export function byteReader(bytes: Uint8Array, options: ByteReaderOptions): ByteReader {
  const { littleEndian, format } = options;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const check = (offset: number, length: number, what: string): void => {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
      throw new MicroscopyError(
        'corrupt',
        `${format} file is corrupt: ${what} has an invalid offset or length`,
      );
    }
    if (offset + length > bytes.length) {
      throw new MicroscopyError(
        'truncated',
        `${format} file is truncated or corrupt: ${what} needs ${length} bytes at offset ${offset}, but the file has ${bytes.length} bytes`,
      );
    }
  };
  const at = (offset: number, length: number): number => {
    check(offset, length, 'a field');
    return offset;
  };
  const bigToNumber = (value: bigint, offset: number): number => {
    if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
      throw new MicroscopyError(
        'corrupt',
        `${format} file is corrupt: a 64-bit value at offset ${offset} is too large`,
      );
    }
    return Number(value);
  };
  return {
    bytes,
    littleEndian,
    check,
    u8: (o) => dv.getUint8(at(o, 1)),
    i8: (o) => dv.getInt8(at(o, 1)),
    u16: (o, le = littleEndian) => dv.getUint16(at(o, 2), le),
    i16: (o) => dv.getInt16(at(o, 2), littleEndian),
    u32: (o, le = littleEndian) => dv.getUint32(at(o, 4), le),
    i32: (o) => dv.getInt32(at(o, 4), littleEndian),
    u64: (o, le = littleEndian) => bigToNumber(dv.getBigUint64(at(o, 8), le), o),
    i64: (o) => bigToNumber(dv.getBigInt64(at(o, 8), littleEndian), o),
    f32: (o) => dv.getFloat32(at(o, 4), littleEndian),
    f64: (o) => dv.getFloat64(at(o, 8), littleEndian),
    view: (o, length, what) => {
      check(o, length, what);
      return bytes.subarray(o, o + length);
    },
  };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const latin1 = new TextDecoder('latin1');

/**
 * Text from instrument metadata. Files are meant to be ASCII but carry UTF-8 (OME-XML) or Latin-1
 * (FEI, Zeiss: a bare 0xB5 for µ); strict UTF-8 first, Latin-1 when that fails.
 */
export function decodeText(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch {
    return latin1.decode(bytes);
  }
}
