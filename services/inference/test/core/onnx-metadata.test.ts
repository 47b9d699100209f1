import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseYoloMetadata, readOnnxMetadata } from '../../src/core/onnx-metadata.ts';

const sharedDir =
  process.env.SCOPEHIVE_SHARED_DIR ?? path.resolve(import.meta.dirname, '../../../../../shared');
const modelPath = (name: string) => path.join(sharedDir, 'models', `${name}.onnx`);

// Minimal protobuf writer for hand-built ModelProto bytes.
function varint(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return out;
}
const tag = (field: number, wireType: number) => varint(field * 8 + wireType);
const bytesField = (field: number, payload: number[]) => [
  ...tag(field, 2),
  ...varint(payload.length),
  ...payload,
];
const utf8 = (s: string) => Array.from(new TextEncoder().encode(s));
const stringField = (field: number, s: string) => bytesField(field, utf8(s));
const entry = (key: string, value: string) =>
  bytesField(14, [...stringField(1, key), ...stringField(2, value)]);
const irVersion = [...tag(1, 0), ...varint(8)];
const model = (...parts: number[][]) => Uint8Array.from(parts.flat());

describe('readOnnxMetadata', () => {
  it('reads producer and metadata_props and skips every other field', () => {
    const bytes = model(
      irVersion,
      stringField(2, 'pytorch'),
      stringField(3, '2.3.0'),
      entry('names', "{0: 'cell'}"),
      // graph: 300 opaque bytes, so its length needs a two-byte varint
      bytesField(7, new Array(300).fill(0xff)),
      // opset_import { domain: "", version: 17 }
      bytesField(8, [...tag(2, 0), ...varint(17)]),
      // model_version as a large int64 varint
      [...tag(5, 0), ...varint(2 ** 40)],
      // fixed64 and fixed32 fields of a future ONNX version
      [...tag(30, 1), 1, 2, 3, 4, 5, 6, 7, 8],
      [...tag(31, 5), 1, 2, 3, 4],
      entry('stride', '32'),
    );
    expect(readOnnxMetadata(bytes)).toEqual({
      producerName: 'pytorch',
      producerVersion: '2.3.0',
      props: { names: "{0: 'cell'}", stride: '32' },
    });
  });

  it('leaves producer fields undefined and props empty when absent', () => {
    expect(readOnnxMetadata(model(irVersion))).toEqual({ props: {} });
  });

  it('keeps the last value of a repeated key and reads missing entry parts as empty', () => {
    const bytes = model(
      irVersion,
      entry('task', 'segment'),
      entry('task', 'detect'),
      bytesField(14, stringField(1, 'empty')),
      bytesField(14, [...stringField(1, 'extra'), ...stringField(2, 'v'), ...tag(3, 0), 1]),
    );
    expect(readOnnxMetadata(bytes).props).toEqual({ task: 'detect', empty: '', extra: 'v' });
  });

  it('stores a "__proto__" key as data', () => {
    const { props } = readOnnxMetadata(model(irVersion, entry('__proto__', 'x')));
    expect(Object.keys(props)).toEqual(['__proto__']);
    expect(Object.getOwnPropertyDescriptor(props, '__proto__')?.value).toBe('x');
    expect(Object.getPrototypeOf(props)).toBe(Object.prototype);
  });

  it.each([
    ['an empty file', [], /no ir_version/],
    ['a JPEG', [0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46], /not an ONNX model/],
    ['a truncated varint', [...irVersion, 0x80], /truncated varint/],
    ['a varint of 11 bytes', [...irVersion, ...new Array(10).fill(0x80), 0], /longer than 10 bytes/],
    ['a length past the end', [...irVersion, ...tag(7, 2), ...varint(1000), 1, 2, 3], /runs past the end/],
    ['a truncated fixed64', [...irVersion, ...tag(30, 1), 1, 2, 3], /truncated fixed-size/],
    ['a truncated fixed32', [...irVersion, ...tag(30, 5), 1], /truncated fixed-size/],
    ['wire type 3 (start group)', [...irVersion, ...tag(7, 3)], /wire type 3/],
    ['wire type 4 (end group)', [...irVersion, ...tag(7, 4)], /wire type 4/],
    ['wire type 6', [...irVersion, ...tag(7, 6)], /wire type 6/],
    ['wire type 7', [...irVersion, ...tag(7, 7)], /wire type 7/],
    ['field number 0', [0x02, 0x00, ...irVersion], /field number 0/],
    ['metadata_props as a number', [...irVersion, ...tag(14, 0), 1], /metadata_props has wire type 0/],
    ['producer_name as a number', [...irVersion, ...tag(2, 0), 1], /producer_name has wire type 0/],
    ['ir_version as a string', [...stringField(1, 'x')], /ir_version has wire type 2/],
    ['a truncated metadata entry', [...irVersion, ...bytesField(14, [...tag(1, 2), 5, 0x61])], /runs past/],
  ])('rejects %s', (_what, bytes, reason) => {
    const input = Uint8Array.from(bytes);
    expect(() => readOnnxMetadata(input)).toThrow(/^not an ONNX model: /);
    expect(() => readOnnxMetadata(input)).toThrow(reason);
  });
});

describe('parseYoloMetadata', () => {
  it('reads a full set of Ultralytics props', () => {
    expect(
      parseYoloMetadata({
        names: "{0: 'nucleus', 1: \"cell's edge\"}",
        imgsz: '[480, 640]',
        stride: '32',
        task: 'detect',
        end2end: 'True',
        batch: '4',
        version: '8.4.21',
        description: 'Ultralytics YOLO11n model',
        author: 'Ultralytics',
      }),
    ).toEqual({
      names: ['nucleus', "cell's edge"],
      imgsz: [480, 640],
      stride: 32,
      task: 'detect',
      end2end: true,
      batch: 4,
      version: '8.4.21',
      description: 'Ultralytics YOLO11n model',
    });
  });

  it('leaves missing keys undefined and names empty', () => {
    expect(parseYoloMetadata({})).toEqual({ names: [] });
    expect(parseYoloMetadata({ end2end: 'False' })).toEqual({ names: [], end2end: false });
  });

  it('reads a single imgsz number as a square input', () => {
    expect(parseYoloMetadata({ imgsz: '320' }).imgsz).toEqual([320, 320]);
  });

  it.each([
    [{ names: "{0: 'person'" }, /class names are not a Python dict/],
    [{ imgsz: '[640]' }, /imgsz is not \[height, width\]: "\[640\]"/],
    [{ imgsz: '[0, 640]' }, /imgsz has a zero side/],
    [{ stride: 'thirty-two' }, /stride is not a positive whole number/],
    [{ stride: '0' }, /stride is not a positive whole number/],
    [{ batch: '-1' }, /batch is not a positive whole number/],
    [{ end2end: 'yes' }, /end2end is not True or False/],
  ])('rejects %j', (props, reason) => {
    expect(() => parseYoloMetadata(props)).toThrow(reason);
  });
});

describe('metadata of the real models', () => {
  it.each([
    ['yolov8n-fp32', [640, 640], undefined, '8.2.79'],
    ['yolov8n-uint8', [640, 640], undefined, '8.2.79'],
    ['yolo11n_int8', [320, 320], false, '8.4.21'],
    ['yolov10n_int8', [640, 640], true, '8.4.89'],
  ])('reads %s', (name, imgsz, end2end, version) => {
    const meta = parseYoloMetadata(readOnnxMetadata(readFileSync(modelPath(name))).props);
    expect(meta.names).toHaveLength(80);
    expect(meta.names[0]).toBe('person');
    expect(meta.names[1]).toBe('bicycle');
    expect(meta.names[9]).toBe('traffic light');
    expect(meta.names[79]).toBe('toothbrush');
    expect(meta.imgsz).toEqual(imgsz);
    expect(meta.stride).toBe(32);
    expect(meta.task).toBe('detect');
    expect(meta.batch).toBe(1);
    expect(meta.end2end).toBe(end2end);
    expect(meta.version).toBe(version);
  });
});
