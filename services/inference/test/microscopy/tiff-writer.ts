/**
 * Writes small TIFF and BigTIFF files for tests, so every tag type, byte order, layout and broken
 * structure can be built on purpose. Pixel chunks go right after the header; the writer adds the
 * offset and byte-count tags itself.
 */

export const BYTE = 1;
export const ASCII = 2;
export const SHORT = 3;
export const LONG = 4;
export const RATIONAL = 5;
export const SBYTE = 6;
export const UNDEFINED = 7;
export const SSHORT = 8;
export const SLONG = 9;
export const SRATIONAL = 10;
export const FLOAT = 11;
export const DOUBLE = 12;
export const LONG8 = 16;
export const SLONG8 = 17;

const SIZES: Record<number, number> = {
  1: 1,
  2: 1,
  3: 2,
  4: 4,
  5: 8,
  6: 1,
  7: 1,
  8: 2,
  9: 4,
  10: 8,
  11: 4,
  12: 8,
  16: 8,
  17: 8,
};

/** A tag value: numbers (rationals as numerator, denominator pairs), text, or raw bytes. */
export interface TagSpec {
  type: number;
  value: readonly number[] | string | Uint8Array;
}

export interface PageSpec {
  tags: Record<number, TagSpec>;
  /** Strip (or tile) data in order; offsets and byte counts are written for them. */
  chunks: Uint8Array[];
  tiled?: boolean;
}

export interface TiffSpec {
  littleEndian?: boolean;
  bigTiff?: boolean;
  pages: PageSpec[];
}

export const short = (...value: number[]): TagSpec => ({ type: SHORT, value });
export const long = (...value: number[]): TagSpec => ({ type: LONG, value });
export const rational = (...value: number[]): TagSpec => ({ type: RATIONAL, value });
export const ascii = (value: string): TagSpec => ({ type: ASCII, value });

function count(spec: TagSpec): number {
  if (typeof spec.value === 'string') return new TextEncoder().encode(spec.value).length + 1;
  if (spec.value instanceof Uint8Array) return spec.value.length;
  return spec.type === RATIONAL || spec.type === SRATIONAL ? spec.value.length / 2 : spec.value.length;
}

function encodeValue(spec: TagSpec, le: boolean): Uint8Array {
  if (typeof spec.value === 'string') {
    const text = new TextEncoder().encode(spec.value);
    const out = new Uint8Array(text.length + 1);
    out.set(text);
    return out;
  }
  if (spec.value instanceof Uint8Array) return spec.value;
  const size = SIZES[spec.type];
  const values = spec.value;
  const per = spec.type === RATIONAL || spec.type === SRATIONAL ? 4 : size;
  const out = new Uint8Array(values.length * per);
  const dv = new DataView(out.buffer);
  values.forEach((v, i) => {
    const at = i * per;
    switch (spec.type) {
      case BYTE:
        dv.setUint8(at, v);
        break;
      case SBYTE:
        dv.setInt8(at, v);
        break;
      case SHORT:
        dv.setUint16(at, v, le);
        break;
      case SSHORT:
        dv.setInt16(at, v, le);
        break;
      case LONG:
      case RATIONAL:
        dv.setUint32(at, v, le);
        break;
      case SLONG:
      case SRATIONAL:
        dv.setInt32(at, v, le);
        break;
      case FLOAT:
        dv.setFloat32(at, v, le);
        break;
      case DOUBLE:
        dv.setFloat64(at, v, le);
        break;
      case LONG8:
        dv.setBigUint64(at, BigInt(v), le);
        break;
      case SLONG8:
        dv.setBigInt64(at, BigInt(v), le);
        break;
      default:
        throw new Error(`tiff-writer: type ${spec.type}`);
    }
  });
  return out;
}

export function buildTiff(spec: TiffSpec): Uint8Array {
  const le = spec.littleEndian ?? true;
  const big = spec.bigTiff ?? false;
  const parts: Uint8Array[] = [];
  let length = 0;
  const append = (bytes: Uint8Array): number => {
    const at = length;
    parts.push(bytes);
    length += bytes.length;
    // Keep every structure on a word boundary, as TIFF asks.
    if (length % 2) {
      parts.push(new Uint8Array(1));
      length += 1;
    }
    return at;
  };
  const header = new Uint8Array(big ? 16 : 8);
  const hv = new DataView(header.buffer);
  header[0] = header[1] = le ? 0x49 : 0x4d;
  hv.setUint16(2, big ? 43 : 42, le);
  if (big) hv.setUint16(4, 8, le);
  append(header);

  const pages = spec.pages.map((page) => {
    const offsets = page.chunks.map((c) => append(c));
    const offsetType = big ? LONG8 : LONG;
    return {
      ...page.tags,
      [page.tiled ? 324 : 273]: { type: offsetType, value: offsets },
      [page.tiled ? 325 : 279]: { type: offsetType, value: page.chunks.map((c) => c.length) },
      ...Object.fromEntries(
        Object.entries(page.tags).filter(([k]) => ['273', '279', '324', '325'].includes(k)),
      ),
    } as Record<number, TagSpec>;
  });

  const entrySize = big ? 20 : 12;
  const inline = big ? 8 : 4;
  const ifdOffsets: number[] = [];
  const ifdLengths: number[] = [];
  const patches: { at: number; value: number }[] = [];
  pages.forEach((tags, index) => {
    const numbers = Object.keys(tags)
      .map(Number)
      .sort((a, b) => a - b);
    const values = numbers.map((n) => encodeValue(tags[n], le));
    const outOfLine = values.map((v) => (v.length > inline ? append(v) : -1));
    const ifd = new Uint8Array((big ? 8 : 2) + numbers.length * entrySize + (big ? 8 : 4));
    const dv = new DataView(ifd.buffer);
    if (big) dv.setBigUint64(0, BigInt(numbers.length), le);
    else dv.setUint16(0, numbers.length, le);
    numbers.forEach((tag, i) => {
      const at = (big ? 8 : 2) + i * entrySize;
      dv.setUint16(at, tag, le);
      dv.setUint16(at + 2, tags[tag].type, le);
      if (big) dv.setBigUint64(at + 4, BigInt(count(tags[tag])), le);
      else dv.setUint32(at + 4, count(tags[tag]), le);
      const fieldAt = at + (big ? 12 : 8);
      if (outOfLine[i] === -1) ifd.set(values[i], fieldAt);
      else if (big) dv.setBigUint64(fieldAt, BigInt(outOfLine[i]), le);
      else dv.setUint32(fieldAt, outOfLine[i], le);
    });
    const ifdAt = append(ifd);
    ifdOffsets.push(ifdAt);
    ifdLengths.push(ifd.length);
    if (index > 0)
      patches.push({ at: ifdOffsets[index - 1] + ifdLengths[index - 1] - (big ? 8 : 4), value: ifdAt });
  });

  const out = new Uint8Array(length);
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  const dv = new DataView(out.buffer);
  if (big) dv.setBigUint64(8, BigInt(ifdOffsets[0]), le);
  else dv.setUint32(4, ifdOffsets[0], le);
  for (const p of patches) {
    if (big) dv.setBigUint64(p.at, BigInt(p.value), le);
    else dv.setUint32(p.at, p.value, le);
  }
  return out;
}

/** A one-strip greyscale page around the given sample bytes. */
export function greyPage(
  width: number,
  height: number,
  bits: number,
  data: Uint8Array,
  extra: Record<number, TagSpec> = {},
): PageSpec {
  return {
    tags: {
      256: long(width),
      257: long(height),
      258: short(bits),
      259: short(1),
      262: short(1),
      277: short(1),
      278: long(height),
      ...extra,
    },
    chunks: [data],
  };
}
