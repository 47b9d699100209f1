import { describe, expect, it } from 'vitest';
import { type DmGroup, dmGet, isDmArrayRef, parseDm, readDmArray } from '../../../src/formats/dm/dm.ts';
import { extractDmImage } from '../../../src/formats/dm/dm-image.ts';
import {
  array,
  buildDm,
  type DmSpec,
  float64Bytes,
  group,
  list,
  raw,
  scalar,
  struct,
  text,
  uint16Bytes,
} from '../../microscopy/dm-writer.ts';
import { readMicroscopyFixture } from '../../microscopy/shared-files.ts';

const STEM = 'dm3/test_STEM_image.dm3';
const UM = 'dm3/test_dm_image_um_unit.dm3';

function extent(data: ArrayLike<number>): [number, number] {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < data.length; i++) {
    min = Math.min(min, data[i]);
    max = Math.max(max, data[i]);
  }
  return [min, max];
}

describe('parseDm on the real DM3 files', () => {
  const dm = parseDm(readMicroscopyFixture(STEM));
  const image = dmGet(dm.root, 'ImageList', 1);

  it('reads the header: version 3, root group length, little-endian values', () => {
    expect(dm.version).toBe(3);
    // 12-byte header + 96380 bytes of tags + 8 zero bytes = the 96400-byte file
    expect(dm.rootLength).toBe(96380);
    expect(dm.littleEndian).toBe(true);
  });

  it('builds the tag tree: groups as objects, unnamed lists as arrays, structs as numbers, text from uint16 arrays', () => {
    expect(dmGet(dm.root, 'ApplicationBounds')).toEqual([0, 0, 768, 1596]);
    expect(dmGet(dm.root, 'ImageList')).toHaveLength(2);
    expect(dmGet(dm.root, 'Thumbnails', 0, 'ImageIndex')).toBe(0);
    expect(dmGet(image, 'ImageData', 'DataType')).toBe(11);
    expect(dmGet(image, 'ImageData', 'Dimensions')).toEqual([68, 68]);
    expect(dmGet(image, 'ImageData', 'Calibrations', 'DisplayCalibratedUnits')).toBe(true);
    expect(dmGet(image, 'ImageData', 'Calibrations', 'Dimension', 0)).toEqual({
      Origin: -207,
      Scale: 0.24853801727294922,
      Units: 'nm',
    });
    const microscope = dmGet(image, 'ImageTags', 'Microscope Info') as DmGroup;
    expect(microscope.Name).toBe('FEI Tecnai Remote');
    expect(microscope.Voltage).toBe(200000);
    // Tag names are Latin-1 in the file; the µ survives.
    expect(microscope['Emission Current (µA)']).toBe(0);
    expect(dmGet(image, 'ImageTags', 'DigiScan', 'TimeStamp')).toBe('Mon Aug 08 16:26:20 2016\u2028');
    const clut = dmGet(dm.root, 'DocumentObjectList', 0, 'ImageDisplayInfo', 'CLUT') as number[][];
    expect(clut).toHaveLength(256);
    expect(clut.slice(0, 2)).toEqual([
      [0, 0, 0],
      [257, 257, 257],
    ]);
  });

  it('leaves pixel data in the file as a reference', () => {
    const data = dmGet(image, 'ImageData', 'Data');
    expect(isDmArrayRef(data)).toBe(true);
    expect(data).toMatchObject({
      kind: 'dm-array',
      type: 'uint32',
      offset: 70718,
      length: 4624,
      byteLength: 18496,
    });
    expect(dmGet(dm.root, 'ImageList', 0, 'ImageData', 'Data')).toMatchObject({
      type: 'int32',
      offset: 4476,
      length: 16384,
    });
  });
});

describe('extractDmImage on the real DM3 files', () => {
  // Expected pixels: a separate Python walk of the tag tree found the Data arrays at offsets 70718
  // (STEM, uint32) and 153389 (µm file); numpy.frombuffer(dtype '<u4' / '<i4') there, reshaped 68×68.
  it('STEM image: skips the 128×128 RGBA thumbnail (entry 0) and reads 68×68 uint32', () => {
    const image = extractDmImage(parseDm(readMicroscopyFixture(STEM)), { maxPixels: 1e6 });
    expect(image).toMatchObject({
      index: 1,
      width: 68,
      height: 68,
      channels: 1,
      sampleType: 'uint32',
      frames: 1,
    });
    const at = (row: number, col: number) => image.data[row * 68 + col];
    expect([at(0, 0), at(0, 1), at(0, 67), at(67, 0), at(67, 67), at(34, 34), at(10, 20)]).toEqual([
      33121, 33489, 34255, 32259, 32683, 34319, 31732,
    ]);
    expect(extent(image.data)).toEqual([29407, 36106]);
    expect(image.calibration).toMatchObject({ source: 'dm', unit: 'nm', originalUnit: 'nm' });
    expect(image.calibration?.pixelWidth.toPrecision(5)).toBe('0.24854');
  });

  it('µm file: int32 pixels (DataType 7), not float64 as the README says; 192×192 thumbnail skipped', () => {
    const dm = parseDm(readMicroscopyFixture(UM));
    expect(dmGet(dm.root, 'ImageList', 1, 'ImageData', 'DataType')).toBe(7);
    expect(dmGet(dm.root, 'ImageList', 0, 'ImageData', 'Dimensions')).toEqual([192, 192]);
    const image = extractDmImage(dm, { maxPixels: 1e6 });
    expect(image).toMatchObject({
      index: 1,
      width: 68,
      height: 68,
      sampleType: 'int32',
      sourceType: 'int32',
    });
    const at = (row: number, col: number) => image.data[row * 68 + col];
    expect([at(0, 0), at(0, 1), at(0, 67), at(67, 0), at(67, 67), at(34, 34), at(10, 20)]).toEqual([
      3465, 3352, 3239, 3117, 3319, 3481, 3244,
    ]);
    expect(extent(image.data)).toEqual([2866, 3774]);
    expect(image.calibration).toMatchObject({ source: 'dm', originalUnit: 'µm' });
    expect(image.calibration?.pixelWidth.toPrecision(5)).toBe('168.67');
  });
});

/** An ImageList entry as DM writes it. */
function imageEntry(options: {
  dims: number[];
  dataType: number;
  info: number[];
  bytes: Uint8Array;
  units?: string;
  scale?: number;
}): DmSpec {
  const calibration = list(
    options.dims.map(() =>
      group([
        ['Origin', scalar(6, 0)],
        ['Scale', scalar(6, options.scale ?? 1)],
        ['Units', text(options.units ?? '')],
      ]),
    ),
  );
  return group([
    [
      'ImageData',
      group([
        ['Calibrations', group([['Dimension', calibration]])],
        ['Data', raw(options.info, options.bytes)],
        ['DataType', scalar(5, options.dataType)],
        ['Dimensions', list(options.dims.map((d) => scalar(5, d)))],
      ]),
    ],
  ]);
}

const thumbnail = imageEntry({ dims: [4, 4], dataType: 23, info: [20, 3, 16], bytes: new Uint8Array(64) });

describe('DM files in every variant', () => {
  it('DM3 big-endian float64 with a thumbnail list and µm calibration', () => {
    const values = [0.5, -1.25, 3e10, Number.NaN, 7, 1 / 3];
    const bytes = buildDm({
      version: 3,
      littleEndian: false,
      root: [
        [
          'ImageList',
          list([
            thumbnail,
            imageEntry({
              dims: [3, 2],
              dataType: 12,
              info: [20, 7, 6],
              bytes: float64Bytes(values, false),
              units: '\u00b5m',
              scale: 0.5,
            }),
          ]),
        ],
        ['Thumbnails', list([group([['ImageIndex', scalar(5, 0)]])])],
      ],
    });
    const dm = parseDm(bytes);
    expect(dm.littleEndian).toBe(false);
    const image = extractDmImage(dm, { maxPixels: 100 });
    expect(image).toMatchObject({
      index: 1,
      width: 3,
      height: 2,
      sampleType: 'float64',
      sourceType: 'float64',
    });
    expect(Array.from(image.data)).toEqual(values);
    expect(image.calibration).toMatchObject({ pixelWidth: 500, pixelHeight: 500, originalUnit: 'µm' });
  });

  it('DM4 little-endian uint16 stack: first frame, 8-byte counts, entry 0 skipped without a thumbnail list', () => {
    const frames = [1, 2, 3, 4, 5, 6, 60000, 60001, 60002, 60003, 60004, 60005];
    const bytes = buildDm({
      version: 4,
      littleEndian: true,
      root: [
        [
          'ImageList',
          list([
            thumbnail,
            imageEntry({
              dims: [3, 2, 2],
              dataType: 10,
              info: [20, 4, 12],
              bytes: uint16Bytes(frames, true),
              units: 'nm',
              scale: 2,
            }),
          ]),
        ],
      ],
    });
    const dm = parseDm(bytes);
    expect(dm.version).toBe(4);
    const image = extractDmImage(dm, { maxPixels: 100 });
    expect(image).toMatchObject({ index: 1, frames: 2, sampleType: 'uint16' });
    expect(Array.from(image.data)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(image.warnings).toEqual(['DM image is a stack of 2 frames; only the first is analysed']);
    expect(image.calibration?.pixelWidth).toBe(2);
  });

  it('DM4 big-endian RGB (DataType 23): 0xAARRGGBB words become R,G,B', () => {
    const argb = Uint8Array.of(255, 10, 20, 30, 255, 40, 50, 60, 0, 1, 2, 3, 0, 4, 5, 6);
    const bytes = buildDm({
      version: 4,
      littleEndian: false,
      root: [
        ['ImageList', list([imageEntry({ dims: [2, 2], dataType: 23, info: [20, 3, 4], bytes: argb })])],
      ],
    });
    const image = extractDmImage(parseDm(bytes), { maxPixels: 100 });
    expect(image).toMatchObject({ channels: 3, sourceType: 'rgb8', index: 0 });
    expect(Array.from(image.data)).toEqual([10, 20, 30, 40, 50, 60, 1, 2, 3, 4, 5, 6]);
  });

  it('chooses the largest non-thumbnail image, the last one on a tie', () => {
    const small = imageEntry({
      dims: [2, 2],
      dataType: 6,
      info: [20, 10, 4],
      bytes: Uint8Array.of(1, 1, 1, 1),
    });
    const big = (v: number) =>
      imageEntry({ dims: [3, 3], dataType: 6, info: [20, 10, 9], bytes: new Uint8Array(9).fill(v) });
    const bytes = buildDm({
      version: 3,
      littleEndian: true,
      root: [
        ['ImageList', list([thumbnail, big(7), small, big(9)])],
        ['Thumbnails', list([group([['ImageIndex', scalar(5, 0)]])])],
      ],
    });
    const image = extractDmImage(parseDm(bytes), { maxPixels: 100 });
    expect(image.index).toBe(3);
    expect(image.data[0]).toBe(9);
  });

  it('every simple type, structs, strings, and hostile tag names', () => {
    const types: [string, DmSpec][] = [
      ['int16', scalar(2, -2)],
      ['int32', scalar(3, -70000)],
      ['uint16', scalar(4, 65535)],
      ['uint32', scalar(5, 4e9)],
      ['float32', scalar(6, 0.5)],
      ['float64', scalar(7, Math.E)],
      ['bool', scalar(8, 1)],
      ['int8', scalar(9, -3)],
      ['uint8', scalar(10, 200)],
      ['int64', scalar(11, -(2 ** 40))],
      ['uint64', scalar(12, 2 ** 50)],
      [
        'struct',
        struct([
          [2, -1],
          [7, 2.5],
          [8, 0],
        ]),
      ],
      ['floats', array(6, [1.5, 2.5])],
      ['text', text('Å nm')],
      ['__proto__', scalar(5, 1)],
      ['', scalar(5, 2)],
    ];
    for (const littleEndian of [true, false]) {
      for (const version of [3, 4] as const) {
        const root = parseDm(buildDm({ version, littleEndian, root: [['Tags', group(types)]] })).root;
        const tags = dmGet(root, 'Tags') as DmGroup;
        expect({ ...tags }).toEqual({
          int16: -2,
          int32: -70000,
          uint16: 65535,
          uint32: 4e9,
          float32: 0.5,
          float64: Math.E,
          bool: true,
          int8: -3,
          uint8: 200,
          int64: -(2 ** 40),
          uint64: 2 ** 50,
          struct: [-1, 2.5, 0],
          floats: [1.5, 2.5],
          text: 'Å nm',
          ['__proto__']: 1,
          '#15': 2,
        });
        expect(Object.getPrototypeOf(tags)).toBe(null);
      }
    }
  });

  it('large arrays stay references until read, in the file byte order', () => {
    const values = Array.from({ length: 3000 }, (_, i) => i * 7);
    const dm = parseDm(buildDm({ version: 4, littleEndian: false, root: [['Big', array(4, values)]] }));
    const ref = dmGet(dm.root, 'Big');
    expect(ref).toMatchObject({ kind: 'dm-array', type: 'uint16', length: 3000, byteLength: 6000 });
    if (!isDmArrayRef(ref)) throw new Error('expected a reference');
    expect(Array.from(readDmArray(dm, ref))).toEqual(values);
  });
});

describe('DM files that cannot be read give a readable error', () => {
  // A copy: Buffer#slice would hand out views, and the tests below patch bytes.
  const valid = new Uint8Array(readMicroscopyFixture(STEM));

  it('truncated inside the thumbnail or the image data', () => {
    expect(() => parseDm(valid.subarray(0, 50000))).toThrow(
      "DM3 file is truncated or corrupt: tag 'ImageList.0.ImageData.Data' needs 65536 bytes at offset 4476, but the file has 50000 bytes",
    );
    expect(() => parseDm(valid.subarray(0, 80000))).toThrow(
      "DM3 file is truncated or corrupt: tag 'ImageList.1.ImageData.Data' needs 18496 bytes at offset 70718, but the file has 80000 bytes",
    );
    expect(() => parseDm(valid.subarray(0, 10))).toThrow('DM file is truncated: only 10 bytes');
  });

  it('an unknown tag data type, or an unknown struct field type, named with its tag', () => {
    const unknown = buildDm({
      version: 3,
      littleEndian: true,
      root: [['Foo', group([['Bar', raw([13], new Uint8Array(4))]])]],
    });
    expect(() => parseDm(unknown)).toThrow("unknown DM tag data type 13 in tag 'Foo.Bar'");
    const field = buildDm({
      version: 4,
      littleEndian: true,
      root: [['S', raw([15, 0, 1, 0, 33], new Uint8Array(4))]],
    });
    expect(() => parseDm(field)).toThrow("unknown DM struct field type 33 in tag 'S'");
  });

  it('image data types that are not micrographs, or shapes that are not images', () => {
    const complex = buildDm({
      version: 3,
      littleEndian: true,
      root: [
        [
          'ImageList',
          list([imageEntry({ dims: [2, 2], dataType: 3, info: [20, 6, 8], bytes: new Uint8Array(32) })]),
        ],
      ],
    });
    expect(() => extractDmImage(parseDm(complex), { maxPixels: 100 })).toThrow(
      'DM image data type 3 (complex64) is not supported',
    );
    const spectrum = buildDm({
      version: 3,
      littleEndian: true,
      root: [
        [
          'ImageList',
          list([imageEntry({ dims: [8], dataType: 2, info: [20, 6, 8], bytes: new Uint8Array(32) })]),
        ],
      ],
    });
    expect(() => extractDmImage(parseDm(spectrum), { maxPixels: 100 })).toThrow(
      'DM file holds 1-D data (a spectrum), not an image',
    );
    const short = buildDm({
      version: 3,
      littleEndian: true,
      root: [
        [
          'ImageList',
          list([imageEntry({ dims: [4, 4], dataType: 2, info: [20, 6, 8], bytes: new Uint8Array(32) })]),
        ],
      ],
    });
    expect(() => extractDmImage(parseDm(short), { maxPixels: 100 })).toThrow(
      'DM ImageData.Data holds 32 bytes, but a 4×4 image of type 2 needs 64',
    );
  });

  it('only a thumbnail, no ImageList, or more pixels than allowed', () => {
    const thumbOnly = buildDm({
      version: 3,
      littleEndian: true,
      root: [
        ['ImageList', list([thumbnail])],
        ['Thumbnails', list([group([['ImageIndex', scalar(5, 0)]])])],
      ],
    });
    expect(() => extractDmImage(parseDm(thumbOnly), { maxPixels: 100 })).toThrow(
      'DM file holds no image besides its thumbnail',
    );
    expect(() =>
      extractDmImage(parseDm(buildDm({ version: 3, littleEndian: true, root: [] })), { maxPixels: 100 }),
    ).toThrow('DM file has no ImageList');
    expect(() => extractDmImage(parseDm(valid), { maxPixels: 1000 })).toThrow(
      'image is 68×68 pixels, above the limit of 1000 pixels',
    );
  });

  it('structural nonsense: wrong version, absurd tag counts, missing %%%% marker, endless nesting', () => {
    const v5 = valid.slice();
    v5[3] = 5;
    expect(() => parseDm(v5)).toThrow('not a DM3/DM4 file (version 5)');
    const counts = valid.slice();
    new DataView(counts.buffer, counts.byteOffset).setUint32(14, 0x7fffffff, false);
    expect(() => parseDm(counts)).toThrow(
      "DM3 file is truncated or corrupt: group '' claims 2147483647 tags",
    );
    const marker = valid.slice();
    marker[Buffer.from(marker).indexOf('%%%%')] = 0x41;
    expect(() => parseDm(marker)).toThrow("DM3 file is corrupt: tag 'ApplicationBounds' has no %%%% marker");
    const huge = buildDm({
      version: 3,
      littleEndian: true,
      root: [['T', raw(new Array(5000).fill(20), new Uint8Array(4))]],
    });
    expect(() => parseDm(huge)).toThrow("DM3 file is corrupt: tag 'T' has a type description of 5000 values");
    let deep: DmSpec = scalar(5, 1);
    for (let i = 0; i < 100; i++) deep = group([['g', deep]]);
    expect(() => parseDm(buildDm({ version: 3, littleEndian: true, root: [['g', deep]] }))).toThrow(
      'DM3 tags nest deeper than 64 levels',
    );
  });
});
