import { parseClassNames } from './python-literal.ts';

const utf8 = new TextDecoder();

/** What `readOnnxMetadata` finds at the top level of an ONNX ModelProto. */
export interface OnnxMetadata {
  producerName?: string;
  producerVersion?: string;
  props: Record<string, string>;
}

function malformed(reason: string): Error {
  return new Error(`not an ONNX model: ${reason}`);
}

/** A cursor over protobuf bytes; offsets are plain numbers so a 100 MB graph is skipped, never copied. */
interface Reader {
  bytes: Uint8Array;
  pos: number;
  end: number;
}

function readVarint(r: Reader): number {
  let value = 0;
  let factor = 1;
  for (let i = 0; i < 10; i++) {
    if (r.pos >= r.end) throw malformed(`truncated varint at byte ${r.pos}`);
    const byte = r.bytes[r.pos++];
    // Multiplication, not shifts: lengths and int64 fields go past JavaScript's 32-bit bitwise range.
    value += (byte & 0x7f) * factor;
    if (byte < 0x80) return value;
    factor *= 128;
  }
  throw malformed(`varint longer than 10 bytes at byte ${r.pos}`);
}

function readLength(r: Reader): number {
  const length = readVarint(r);
  if (length > r.end - r.pos) {
    throw malformed(`field of ${length} bytes at byte ${r.pos} runs past the end (${r.end})`);
  }
  return length;
}

interface Field {
  number: number;
  wireType: number;
  /** Varint value for wire type 0, otherwise unused. */
  value: number;
  /** Payload bounds for wire type 2. */
  start: number;
  end: number;
}

function readField(r: Reader): Field {
  const at = r.pos;
  const tag = readVarint(r);
  const number = Math.floor(tag / 8);
  const wireType = tag % 8;
  if (number === 0) throw malformed(`field number 0 at byte ${at}`);
  switch (wireType) {
    case 0:
      return { number, wireType, value: readVarint(r), start: 0, end: 0 };
    case 1:
    case 5: {
      const size = wireType === 1 ? 8 : 4;
      if (size > r.end - r.pos) throw malformed(`truncated fixed-size field at byte ${at}`);
      r.pos += size;
      return { number, wireType, value: 0, start: 0, end: 0 };
    }
    case 2: {
      const length = readLength(r);
      const start = r.pos;
      r.pos += length;
      return { number, wireType, value: 0, start, end: r.pos };
    }
    default:
      // Groups (3, 4) are gone from proto3 and 6, 7 were never defined: this is not protobuf we can read.
      throw malformed(`unsupported wire type ${wireType} at byte ${at}`);
  }
}

function text(r: Reader, f: Field, what: string): string {
  if (f.wireType !== 2) throw malformed(`${what} has wire type ${f.wireType}, expected a string`);
  return utf8.decode(r.bytes.subarray(f.start, f.end));
}

function readEntry(bytes: Uint8Array, start: number, end: number): [string, string] {
  const r: Reader = { bytes, pos: start, end };
  let key = '';
  let value = '';
  while (r.pos < r.end) {
    const f = readField(r);
    if (f.number === 1) key = text(r, f, 'metadata key');
    else if (f.number === 2) value = text(r, f, 'metadata value');
  }
  return [key, value];
}

/**
 * Reads ModelProto.metadata_props (field 14, repeated StringStringEntryProto{key=1,value=2}) from the raw
 * .onnx bytes by walking top-level protobuf fields, skipping everything else (the graph is skipped by
 * length without copying). onnxruntime-node exposes no model metadata, hence this.
 */
export function readOnnxMetadata(bytes: Uint8Array): OnnxMetadata {
  const r: Reader = { bytes, pos: 0, end: bytes.length };
  const result: OnnxMetadata = { props: {} };
  let irVersion = false;
  while (r.pos < r.end) {
    const f = readField(r);
    switch (f.number) {
      case 1:
        // ir_version is required; checking it turns a random file that happens to parse into a clear error.
        if (f.wireType !== 0) throw malformed(`ir_version has wire type ${f.wireType}`);
        irVersion = true;
        break;
      case 2:
        result.producerName = text(r, f, 'producer_name');
        break;
      case 3:
        result.producerVersion = text(r, f, 'producer_version');
        break;
      case 14: {
        if (f.wireType !== 2) throw malformed(`metadata_props has wire type ${f.wireType}`);
        const [key, value] = readEntry(bytes, f.start, f.end);
        // defineProperty, so a key like "__proto__" is stored as data rather than changing the prototype.
        Object.defineProperty(result.props, key, {
          value,
          enumerable: true,
          writable: true,
          configurable: true,
        });
        break;
      }
    }
  }
  if (!irVersion) throw malformed('no ir_version field');
  return result;
}

/** What Ultralytics writes into an exported detector, read into types. */
export interface YoloMetadata {
  names: string[];
  /** [height, width] as Ultralytics writes */
  imgsz?: [number, number];
  stride?: number;
  task?: string;
  end2end?: boolean;
  batch?: number;
  version?: string;
  description?: string;
}

function positiveInt(key: string, raw: string): number {
  const trimmed = raw.trim();
  if (!/^\d+$/.test(trimmed) || Number(trimmed) <= 0) {
    throw new Error(`model metadata ${key} is not a positive whole number: ${JSON.stringify(raw)}`);
  }
  return Number(trimmed);
}

function imageSize(raw: string): [number, number] {
  // A single number is a square input; Ultralytics normally writes `[h, w]`.
  const m = /^\s*(?:\[\s*(\d+)\s*,\s*(\d+)\s*,?\s*\]|(\d+))\s*$/.exec(raw);
  if (m === null) throw new Error(`model metadata imgsz is not [height, width]: ${JSON.stringify(raw)}`);
  const [h, w] = m[3] === undefined ? [Number(m[1]), Number(m[2])] : [Number(m[3]), Number(m[3])];
  if (h <= 0 || w <= 0) throw new Error(`model metadata imgsz has a zero side: ${JSON.stringify(raw)}`);
  return [h, w];
}

function pythonBool(key: string, raw: string): boolean {
  const v = raw.trim().toLowerCase();
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw new Error(`model metadata ${key} is not True or False: ${JSON.stringify(raw)}`);
}

/**
 * Interprets Ultralytics metadata_props: `names` `{0: 'person', …}`, `imgsz` `[640, 640]`, `stride` `32`,
 * `task` `detect`, `end2end` `True`, `batch` `1`. Missing keys stay undefined (names: []); a malformed value
 * throws, since a wrong input size or class list would silently produce wrong detections.
 */
export function parseYoloMetadata(props: Record<string, string>): YoloMetadata {
  const get = (key: string): string | undefined => (Object.hasOwn(props, key) ? props[key] : undefined);
  const names = get('names');
  const imgsz = get('imgsz');
  const stride = get('stride');
  const end2end = get('end2end');
  const batch = get('batch');
  const meta: YoloMetadata = { names: names === undefined ? [] : parseClassNames(names) };
  if (imgsz !== undefined) meta.imgsz = imageSize(imgsz);
  if (stride !== undefined) meta.stride = positiveInt('stride', stride);
  if (end2end !== undefined) meta.end2end = pythonBool('end2end', end2end);
  if (batch !== undefined) meta.batch = positiveInt('batch', batch);
  for (const key of ['task', 'version', 'description'] as const) {
    const value = get(key);
    if (value !== undefined) meta[key] = value;
  }
  return meta;
}
