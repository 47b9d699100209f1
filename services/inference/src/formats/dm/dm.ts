// Over 300 lines on purpose: Gatan's undocumented tag-file layout (both versions, both byte orders,
// every type description) is one reverse-engineered specification, kept whole so it reads as one.
import { MicroscopyError } from '../../microscopy/errors.ts';
import {
  SAMPLE_BYTES,
  type SampleArray,
  type SampleType,
  samplesFromBytes,
} from '../../microscopy/raster.ts';
import { type ByteReader, byteReader, decodeText } from '../bytes.ts';

/**
 * Gatan DigitalMicrograph DM3/DM4 tag files. Gatan publishes no specification; the layout follows
 * Chris Boothroyd's notes (er-c.org/cbb/info/dmformat) and agrees with RosettaSciIO:
 *
 *   header     version u32 BE (3|4), root length (u32 DM3 | u64 DM4) BE, byte order u32 BE (1 = little)
 *   group      sorted u8, open u8, entry count (u32 | u64) BE, entries
 *   entry      kind u8 (20 group | 21 data), name length u16 BE, name, [DM4: entry size u64 BE]
 *   data       "%%%%", info count (u32 | u64) BE, info values (u32 | u64) BE, value bytes
 *
 * Only the values are in the header's byte order; every structural number is big-endian.
 */

/** DM simple types by their info-array code. Bool (8) is read as a boolean. */
const SIMPLE_TYPES: Readonly<Record<number, DmSimpleType>> = {
  2: 'int16',
  3: 'int32',
  4: 'uint16',
  5: 'uint32',
  6: 'float32',
  7: 'float64',
  8: 'bool',
  9: 'int8',
  10: 'uint8',
  11: 'int64',
  12: 'uint64',
};

export type DmSimpleType = SampleType | 'bool' | 'int64' | 'uint64';

const SIMPLE_BYTES: Readonly<Record<DmSimpleType, number>> = {
  ...SAMPLE_BYTES,
  bool: 1,
  int64: 8,
  uint64: 8,
};

/** The decoded info array of one data entry. */
export type DmType =
  | { kind: 'simple'; type: DmSimpleType }
  | { kind: 'string'; length: number }
  | { kind: 'struct'; fields: DmSimpleType[] }
  | { kind: 'array'; element: DmType; length: number };

/**
 * An array left in the file: pixel data and other large arrays are not copied until asked for
 * (`readDmArray`, `readDmText`).
 */
export interface DmArrayRef {
  readonly kind: 'dm-array';
  /** The element type: a simple type, or 'struct' / 'string' / 'array' for composite elements. */
  readonly type: DmSimpleType | 'struct' | 'string' | 'array';
  /** Byte offset of the first element in the file. */
  readonly offset: number;
  /** Number of elements. */
  readonly length: number;
  readonly byteLength: number;
  readonly element: DmType;
}

/**
 * A tag value. Groups whose entries are all unnamed (ImageList, Dimensions, …) become arrays; other
 * groups become objects keyed by tag name. Structs are arrays of numbers. Small uint16 arrays are
 * text: DM stores every string that way (Units, Name). 64-bit integers are numbers (exact to 2^53).
 */
export type DmValue = number | boolean | string | readonly DmValue[] | DmGroup | DmArrayRef;

export interface DmGroup {
  readonly [name: string]: DmValue;
}

export interface DmFile {
  version: 3 | 4;
  /** Size of the root tag group as the header states it. */
  rootLength: number;
  /** Byte order of the values (the header's flag). */
  littleEndian: boolean;
  root: DmGroup;
  /** The file itself, which array references point into. */
  bytes: Uint8Array;
}

export interface ParseDmOptions {
  /** Arrays larger than this stay references; `Data` arrays always do. */
  inlineArrayBytes?: number;
  /** Deeper nesting is refused as corrupt rather than risking the stack. */
  maxDepth?: number;
}

const MAX_INFO_VALUES = 4096;

interface Context {
  r: ByteReader;
  wide: boolean;
  format: string;
  inlineArrayBytes: number;
  maxDepth: number;
}

/** Parses a DM3 or DM4 tag tree. Reads no pixel data. */
export function parseDm(bytes: Uint8Array, options: ParseDmOptions = {}): DmFile {
  if (bytes.length < 16)
    throw new MicroscopyError('truncated', `DM file is truncated: only ${bytes.length} bytes`);
  const header = byteReader(bytes, { littleEndian: false, format: 'DM' });
  const version = header.u32(0);
  if (version !== 3 && version !== 4)
    throw new MicroscopyError('corrupt', `not a DM3/DM4 file (version ${version})`);
  const wide = version === 4;
  const format = `DM${version}`;
  const orderFlag = header.u32(wide ? 12 : 8);
  if (orderFlag !== 0 && orderFlag !== 1) {
    throw new MicroscopyError('corrupt', `${format} header is corrupt (byte order flag ${orderFlag})`);
  }
  const littleEndian = orderFlag === 1;
  const ctx: Context = {
    r: byteReader(bytes, { littleEndian, format }),
    wide,
    format,
    inlineArrayBytes: options.inlineArrayBytes ?? 4096,
    maxDepth: options.maxDepth ?? 64,
  };
  const rootLength = wide ? header.u64(4) : header.u32(4);
  const { group } = readGroup(ctx, wide ? 16 : 12, '', 0);
  return { version, rootLength, littleEndian, root: group as DmGroup, bytes };
}

/** Structural numbers: big-endian, 4 bytes in DM3 and 8 in DM4. */
function readCount(ctx: Context, at: number): number {
  return ctx.wide ? ctx.r.u64(at, false) : ctx.r.u32(at, false);
}

function readGroup(ctx: Context, at: number, path: string, depth: number): { group: DmValue; end: number } {
  if (depth > ctx.maxDepth)
    throw new MicroscopyError('corrupt', `${ctx.format} tags nest deeper than ${ctx.maxDepth} levels`);
  const countSize = ctx.wide ? 8 : 4;
  const count = readCount(ctx, at + 2);
  let pos = at + 2 + countSize;
  // Each entry takes at least 3 bytes; a larger count cannot be real and must not drive the loop.
  if (count * 3 > ctx.r.bytes.length - pos) {
    throw new MicroscopyError(
      'truncated',
      `${ctx.format} file is truncated or corrupt: group '${path}' claims ${count} tags`,
    );
  }
  const names: string[] = [];
  const values: DmValue[] = [];
  for (let i = 0; i < count; i++) {
    const kind = ctx.r.u8(pos);
    const nameLength = ctx.r.u16(pos + 1, false);
    const name = decodeText(ctx.r.view(pos + 3, nameLength, `tag name in '${path}'`));
    pos += 3 + nameLength + (ctx.wide ? 8 : 0);
    const childPath = path ? `${path}.${name || i}` : name || String(i);
    let read: { value: DmValue; end: number };
    if (kind === 20) {
      const child = readGroup(ctx, pos, childPath, depth + 1);
      read = { value: child.group, end: child.end };
    } else if (kind === 21) {
      read = readData(ctx, pos, childPath, name);
    } else {
      throw new MicroscopyError(
        'corrupt',
        `${ctx.format} file is corrupt: tag '${childPath}' has kind ${kind} (expected 20 or 21)`,
      );
    }
    names.push(name);
    values.push(read.value);
    pos = read.end;
  }
  return { group: toGroup(names, values), end: pos };
}

function toGroup(names: string[], values: DmValue[]): DmValue {
  if (names.length > 0 && names.every((n) => n === '')) return values;
  // No prototype: a tag called "__proto__" or "constructor" is just a tag.
  const group: Record<string, DmValue> = Object.create(null);
  names.forEach((name, i) => {
    let key = name === '' ? `#${i}` : name;
    for (let n = 2; key in group; n++) key = `${name}#${n}`;
    group[key] = values[i];
  });
  return group;
}

function readData(ctx: Context, at: number, path: string, name: string): { value: DmValue; end: number } {
  const marker = ctx.r.view(at, 4, `tag '${path}'`);
  if (String.fromCharCode(...marker) !== '%%%%') {
    throw new MicroscopyError('corrupt', `${ctx.format} file is corrupt: tag '${path}' has no %%%% marker`);
  }
  const countSize = ctx.wide ? 8 : 4;
  const infoCount = readCount(ctx, at + 4);
  const infoAt = at + 4 + countSize;
  // Real type descriptions are a few dozen values; the cap also bounds parseDmType's recursion.
  if (infoCount === 0 || infoCount > MAX_INFO_VALUES || infoCount * countSize > ctx.r.bytes.length - infoAt) {
    throw new MicroscopyError(
      'corrupt',
      `${ctx.format} file is corrupt: tag '${path}' has a type description of ${infoCount} values`,
    );
  }
  const info: number[] = [];
  for (let i = 0; i < infoCount; i++) info.push(readCount(ctx, infoAt + i * countSize));
  const [type, used] = parseDmType(info, 0, path);
  if (used !== info.length) {
    throw new MicroscopyError(
      'corrupt',
      `${ctx.format} file is corrupt: tag '${path}' has a malformed type description`,
    );
  }
  const valueAt = infoAt + infoCount * countSize;
  const size = byteSize(type);
  ctx.r.check(valueAt, size, `tag '${path}'`);
  const keepInFile = type.kind === 'array' && (name === 'Data' || size > ctx.inlineArrayBytes);
  const value = keepInFile ? arrayRef(type, valueAt, size) : decodeValue(ctx, type, valueAt);
  return { value, end: valueAt + size };
}

/** Reads one type description from an info array; returns it and the index after it. */
export function parseDmType(info: readonly number[], i: number, path: string): [DmType, number] {
  const code = info[i];
  const simple = SIMPLE_TYPES[code];
  if (simple) return [{ kind: 'simple', type: simple }, i + 1];
  const need = (n: number): void => {
    if (i + n > info.length)
      throw new MicroscopyError('corrupt', `DM tag '${path}' has a truncated type description`);
  };
  if (code === 18) {
    need(2);
    return [{ kind: 'string', length: info[i + 1] }, i + 2];
  }
  if (code === 15) {
    // [15, struct name length, field count, (field name length, field type) × count]
    need(3);
    const count = info[i + 2];
    need(3 + 2 * count);
    const fields: DmSimpleType[] = [];
    for (let f = 0; f < count; f++) {
      const fieldCode = info[i + 4 + 2 * f];
      const field = SIMPLE_TYPES[fieldCode];
      if (!field)
        throw new MicroscopyError(
          'unsupported',
          `unknown DM struct field type ${fieldCode} in tag '${path}'`,
        );
      fields.push(field);
    }
    return [{ kind: 'struct', fields }, i + 3 + 2 * count];
  }
  if (code === 20) {
    // [20, element type…, length]
    need(2);
    const [element, next] = parseDmType(info, i + 1, path);
    if (next >= info.length)
      throw new MicroscopyError('corrupt', `DM tag '${path}' has a truncated type description`);
    return [{ kind: 'array', element, length: info[next] }, next + 1];
  }
  throw new MicroscopyError('unsupported', `unknown DM tag data type ${code} in tag '${path}'`);
}

export function byteSize(type: DmType): number {
  switch (type.kind) {
    case 'simple':
      return SIMPLE_BYTES[type.type];
    case 'string':
      return type.length;
    case 'struct':
      return type.fields.reduce((sum, f) => sum + SIMPLE_BYTES[f], 0);
    case 'array':
      return byteSize(type.element) * type.length;
  }
}

function arrayRef(type: Extract<DmType, { kind: 'array' }>, offset: number, byteLength: number): DmArrayRef {
  const element = type.element;
  return {
    kind: 'dm-array',
    type: element.kind === 'simple' ? element.type : element.kind,
    offset,
    length: type.length,
    byteLength,
    element,
  };
}

function readSimple(r: ByteReader, type: DmSimpleType, at: number): number | boolean {
  switch (type) {
    case 'bool':
      return r.u8(at) !== 0;
    case 'int8':
      return r.i8(at);
    case 'uint8':
      return r.u8(at);
    case 'int16':
      return r.i16(at);
    case 'uint16':
      return r.u16(at);
    case 'int32':
      return r.i32(at);
    case 'uint32':
      return r.u32(at);
    case 'float32':
      return r.f32(at);
    case 'float64':
      return r.f64(at);
    case 'int64':
      return r.i64(at);
    case 'uint64':
      return r.u64(at);
  }
}

function decodeValue(ctx: Context, type: DmType, at: number): DmValue {
  switch (type.kind) {
    case 'simple':
      return readSimple(ctx.r, type.type, at);
    case 'string':
      // Type 18 is rare (DM writes text as uint16 arrays); one byte per character, as RosettaSciIO reads it.
      return decodeText(ctx.r.view(at, type.length, 'string'));
    case 'struct': {
      const out: number[] = [];
      let pos = at;
      for (const field of type.fields) {
        out.push(Number(readSimple(ctx.r, field, pos)));
        pos += SIMPLE_BYTES[field];
      }
      return out;
    }
    case 'array': {
      const { element, length } = type;
      // Counted in elements too: zero-size elements (empty structs) would otherwise loop for free.
      if (length > ctx.inlineArrayBytes) return arrayRef(type, at, byteSize(type));
      if (element.kind === 'simple' && element.type === 'uint16') return utf16(ctx.r, at, length);
      const size = byteSize(element);
      const out: DmValue[] = [];
      for (let i = 0; i < length; i++) out.push(decodeValue(ctx, element, at + i * size));
      return out;
    }
  }
}

function utf16(r: ByteReader, at: number, length: number): string {
  r.check(at, 2 * length, 'text');
  let text = '';
  // In slices: spreading a long array into fromCharCode would overflow the call stack.
  for (let start = 0; start < length; start += 4096) {
    const units: number[] = [];
    for (let i = start; i < Math.min(start + 4096, length); i++) units.push(r.u16(at + 2 * i));
    text += String.fromCharCode(...units);
  }
  return text;
}

/** The value at a path of group names and list indices, e.g. `dmGet(root, 'ImageList', 1, 'ImageData')`. */
export function dmGet(value: DmValue | undefined, ...path: (string | number)[]): DmValue | undefined {
  let node = value;
  for (const key of path) {
    if (node === undefined || typeof node !== 'object' || isDmArrayRef(node)) return undefined;
    node = Array.isArray(node) ? (node as readonly DmValue[])[key as number] : (node as DmGroup)[key];
  }
  return node;
}

export function isDmArrayRef(value: DmValue | undefined): value is DmArrayRef {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    (value as DmArrayRef).kind === 'dm-array'
  );
}

/** Copies an array of a simple numeric type out of the file, in native byte order. */
export function readDmArray(file: DmFile, ref: DmArrayRef): SampleArray {
  const type = ref.type;
  if (!(type in SAMPLE_BYTES))
    throw new MicroscopyError('unsupported', `DM array of ${type} cannot be read as samples`);
  const r = byteReader(file.bytes, { littleEndian: file.littleEndian, format: `DM${file.version}` });
  const view = r.view(ref.offset, ref.byteLength, 'array data');
  return samplesFromBytes(view, type as SampleType, ref.length, {
    littleEndian: file.littleEndian,
    owned: false,
  });
}

/** Decodes a referenced uint16 array as text (how DM stores strings). */
export function readDmText(file: DmFile, ref: DmArrayRef): string {
  if (ref.type !== 'uint16') throw new MicroscopyError('unsupported', `DM array of ${ref.type} is not text`);
  return utf16(
    byteReader(file.bytes, { littleEndian: file.littleEndian, format: 'DM' }),
    ref.offset,
    ref.length,
  );
}
