import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { parseTiff } from '../../../src/formats/tiff/tiff.ts';
import { lzwDecode, packBitsDecode } from '../../../src/formats/tiff/tiff-compression.ts';
import { decodeTiffImage } from '../../../src/formats/tiff/tiff-pixels.ts';
import { readMicroscopyFixture } from '../../microscopy/shared-files.ts';
import { buildTiff, greyPage, long, type PageSpec, short } from '../../microscopy/tiff-writer.ts';

const decode = (bytes: Uint8Array, maxPixels = 1e8) =>
  decodeTiffImage(bytes, parseTiff(bytes), { maxPixels });

/** Byte-for-byte equality; deep equality over 150,000 elements is needlessly slow. */
function sameSamples(a: ArrayBufferView, b: ArrayBufferView): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(
    Buffer.from(b.buffer, b.byteOffset, b.byteLength),
  );
}

function extent(data: ArrayLike<number>): [number, number] {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < data.length; i++) {
    min = Math.min(min, data[i]);
    max = Math.max(max, data[i]);
  }
  return [min, max];
}

/** libtiff (inside sharp) decoding the same file: the independent reference for our decoders. */
async function sharpSamples(bytes: Uint8Array, depth: 'uchar' | 'ushort', colourspace: 'grey16' | 'srgb') {
  const { data } = await sharp(bytes)
    .toColourspace(colourspace)
    .raw({ depth })
    .toBuffer({ resolveWithObject: true });
  const copy = new Uint8Array(data);
  return depth === 'ushort' ? new Uint16Array(copy.buffer) : copy;
}

describe('decodeTiffImage on instrument files', () => {
  // Expected values come from numpy.frombuffer over the same files at the strip offsets that a
  // separate Python tag dump reported (uncompressed files have contiguous strips).
  it('FEI Teneo 8-bit: 1536×1094 grey, pixels as stored', () => {
    const px = decode(readMicroscopyFixture('sem-tiff/fei-sem-rbc.tif'));
    expect(px).toMatchObject({
      width: 1536,
      height: 1094,
      channels: 1,
      sampleType: 'uint8',
      sourceType: 'uint8',
    });
    expect(Array.from(px.data.subarray(0, 4))).toEqual([150, 124, 161, 148]);
    expect(px.data[500 * 1536 + 700]).toBe(87);
    expect(px.data[1094 * 1536 - 1]).toBe(46);
    expect(extent(px.data)).toEqual([3, 255]);
  });

  it('FEI Helios 16-bit: the image area is all zeros, only the 29-row data bar has content', () => {
    const px = decode(readMicroscopyFixture('sem-tiff/FEI-Helios-Ebeam-16bits.tif'));
    expect(px).toMatchObject({ width: 512, height: 471, sampleType: 'uint16' });
    expect(px.data.subarray(0, 442 * 512).every((v) => v === 0)).toBe(true);
    expect(Array.from(px.data.subarray(470 * 512, 470 * 512 + 4))).toEqual([64512, 64512, 64512, 64512]);
    expect(Array.from(px.data.subarray(450 * 512 + 100, 450 * 512 + 104))).toEqual([0, 65280, 0, 65280]);
    expect(extent(px.data)).toEqual([0, 65280]);
  });

  it('ImageJ big-endian float32: the same micrograph as the DM3 µm file, value for value', () => {
    const px = decode(readMicroscopyFixture('imagej-tiff/test_loading_image_saved_with_imageJ.tif'));
    expect(px).toMatchObject({ width: 68, height: 68, sampleType: 'float32', sourceType: 'float32' });
    expect([px.data[0], px.data[1], px.data[34 * 68 + 34], px.data[68 * 68 - 1]]).toEqual([
      3465, 3352, 3481, 3319,
    ]);
    expect(extent(px.data)).toEqual([2866, 3774]);
  });

  it('OME-TIFF LZW uint16: identical to libtiff’s decoding', async () => {
    const bytes = readMicroscopyFixture('ome-tiff/s_1_t_1_c_1_z_1.ome.tiff');
    const px = decode(bytes);
    expect(px).toMatchObject({ width: 475, height: 325, channels: 1, sampleType: 'uint16' });
    expect(Array.from(px.data.subarray(0, 6))).toEqual([3700, 3692, 3765, 3717, 3675, 3824]);
    expect(sameSamples(px.data, await sharpSamples(bytes, 'ushort', 'grey16'))).toBe(true);
  });

  it('Zeiss palette: RGB, because the data bar uses a green palette entry', () => {
    const px = decode(readMicroscopyFixture('sem-tiff/test_tiff_Zeiss_SEM_512pix.tif'));
    expect(px).toMatchObject({
      width: 512,
      height: 384,
      channels: 3,
      sampleType: 'uint8',
      sourceType: 'palette8',
    });
    // Index 148 is grey (148·257 in all three maps); index 18 at row 368, column 11 is pure green.
    expect(Array.from(px.data.subarray(0, 3))).toEqual([148, 148, 148]);
    const at = 3 * (368 * 512 + 11);
    expect(Array.from(px.data.subarray(at, at + 3))).toEqual([0, 255, 0]);
  });
});

describe('decodeTiffImage against libtiff-written files (via sharp)', () => {
  const width = 61;
  const height = 37;
  const rgb = Buffer.from(new Uint8Array(width * height * 3).map((_, i) => (i * 31 + (i >> 7)) % 256));
  const grey16 = new Uint16Array(width * height).map((_, i) => (i * 977) % 65536);
  const rgbInput = () => sharp(rgb, { raw: { width, height, channels: 3 } });
  // sharp takes the sample type of raw input from the typed array it is given.
  const grey16Input = () => sharp(grey16, { raw: { width, height, channels: 1 } }).toColourspace('grey16');

  for (const [name, options] of [
    ['uncompressed', { compression: 'none' }],
    ['LZW', { compression: 'lzw' }],
    ['LZW + horizontal predictor', { compression: 'lzw', predictor: 'horizontal' }],
    [
      'Deflate + predictor, 16×16 tiles',
      { compression: 'deflate', predictor: 'horizontal', tile: true, tileWidth: 16, tileHeight: 16 },
    ],
    ['PackBits', { compression: 'packbits' }],
  ] as const) {
    it(`8-bit RGB, ${name}: exactly the pixels that went in`, async () => {
      const bytes = await rgbInput().tiff(options).toBuffer();
      const px = decode(bytes);
      expect(px).toMatchObject({ width, height, channels: 3, sourceType: 'rgb8' });
      expect(Buffer.from(px.data.buffer, px.data.byteOffset, px.data.byteLength).equals(rgb)).toBe(true);
    });

    it(`16-bit grey, ${name}: the values that went in, as libtiff decodes them too`, async () => {
      const bytes = await grey16Input().tiff(options).toBuffer();
      const px = decode(bytes);
      expect(px).toMatchObject({ width, height, channels: 1, sourceType: 'uint16' });
      expect(sameSamples(px.data, grey16)).toBe(true);
      expect(sameSamples(px.data, await sharpSamples(bytes, 'ushort', 'grey16'))).toBe(true);
    });
  }

  for (const compression of ['lzw', 'deflate'] as const) {
    it(`float32 with the floating-point predictor (${compression}): the values that went in`, async () => {
      // Whole numbers: libvips' grey16 interpretation truncates fractions before writing float samples.
      const floats = new Float32Array(width * height).map((_, i) => (i * 977) % 60000);
      const bytes = await sharp(floats, { raw: { width, height, channels: 1 } })
        .toColourspace('grey16')
        .tiff({ compression, predictor: 'float' })
        .toBuffer();
      const px = decode(bytes);
      expect(px).toMatchObject({ sampleType: 'float32', sourceType: 'float32', channels: 1 });
      expect(sameSamples(px.data, floats)).toBe(true);
    });
  }
});

/** Adobe floating-point predictor, as a writer applies it: byte planes MSB first, then differences. */
function floatPredict(values: number[], width: number): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const be = new DataView(new ArrayBuffer(4));
  for (let row = 0; row < values.length / width; row++) {
    const start = row * width * 4;
    for (let j = 0; j < width; j++) {
      be.setFloat32(0, values[row * width + j], false);
      for (let b = 0; b < 4; b++) out[start + b * width + j] = be.getUint8(b);
    }
    for (let i = start + width * 4 - 1; i > start; i--) out[i] = (out[i] - out[i - 1]) & 0xff;
  }
  return out;
}

describe('decodeTiffImage on built files', () => {
  it('big-endian int16 and little-endian float64', () => {
    const int16 = new Uint8Array(8);
    for (const [i, v] of [-32768, -1, 0, 32767].entries())
      new DataView(int16.buffer).setInt16(2 * i, v, false);
    const be = decode(
      buildTiff({ littleEndian: false, pages: [greyPage(2, 2, 16, int16, { 339: short(2) })] }),
    );
    expect(be).toMatchObject({ sampleType: 'int16', sourceType: 'int16' });
    expect(Array.from(be.data)).toEqual([-32768, -1, 0, 32767]);

    const f64 = new Uint8Array(new Float64Array([0.5, -2.25, Number.NaN, 1e300]).buffer);
    const le = decode(buildTiff({ pages: [greyPage(2, 2, 64, f64, { 339: short(3) })] }));
    expect(le.sampleType).toBe('float64');
    expect(Array.from(le.data)).toEqual([0.5, -2.25, Number.NaN, 1e300]);
  });

  it('the floating-point predictor on big-endian float32, by a hand-written encoder', () => {
    const values = [1.5, -2, 1e-3, 65504, -0.0625, 3.25];
    const page = greyPage(3, 2, 32, floatPredict(values, 3), { 339: short(3), 317: short(3), 278: long(1) });
    page.chunks = [floatPredict(values.slice(0, 3), 3), floatPredict(values.slice(3), 3)];
    const px = decode(buildTiff({ littleEndian: false, pages: [page] }));
    expect(Array.from(px.data)).toEqual(values.map((v) => Math.fround(v)));
  });

  it('planar RGB (PlanarConfiguration 2): three strips, one per colour, interleaved on read', () => {
    const page: PageSpec = {
      tags: {
        256: long(2),
        257: long(2),
        258: short(8, 8, 8),
        259: short(1),
        262: short(2),
        277: short(3),
        278: long(2),
        284: short(2),
      },
      chunks: [Uint8Array.of(1, 2, 3, 4), Uint8Array.of(10, 20, 30, 40), Uint8Array.of(100, 101, 102, 103)],
    };
    const px = decode(buildTiff({ pages: [page] }));
    expect(px.channels).toBe(3);
    expect(Array.from(px.data)).toEqual([1, 10, 100, 2, 20, 101, 3, 30, 102, 4, 40, 103]);
  });

  it('RGBA keeps RGB; WhiteIsZero is inverted; a grey palette gives one channel', () => {
    const rgba: PageSpec = {
      tags: {
        256: long(2),
        257: long(1),
        258: short(8, 8, 8, 8),
        262: short(2),
        277: short(4),
        338: short(2),
      },
      chunks: [Uint8Array.of(1, 2, 3, 255, 4, 5, 6, 128)],
    };
    expect(Array.from(decode(buildTiff({ pages: [rgba] })).data)).toEqual([1, 2, 3, 4, 5, 6]);

    const white = decode(
      buildTiff({
        pages: [greyPage(2, 1, 16, new Uint8Array(new Uint16Array([0, 1000]).buffer), { 262: short(0) })],
      }),
    );
    expect(Array.from(white.data)).toEqual([65535, 64535]);

    const map = [...Array.from({ length: 256 }, (_, k) => k * 257)];
    const palette = greyPage(2, 2, 8, Uint8Array.of(0, 7, 200, 255), {
      262: short(3),
      320: short(...map, ...map, ...map),
    });
    const grey = decode(buildTiff({ pages: [palette] }));
    expect(grey).toMatchObject({ channels: 1, sourceType: 'palette8' });
    expect(Array.from(grey.data)).toEqual([0, 7, 200, 255]);
  });

  it('PackBits and LZW decoders on known streams', () => {
    // The worked example of the TIFF 6.0 specification, section 9.
    const packed = Uint8Array.of(
      0xfe,
      0xaa,
      0x02,
      0x80,
      0x00,
      0x2a,
      0xfd,
      0xaa,
      0x03,
      0x80,
      0x00,
      0x2a,
      0x22,
      0xf7,
      0xaa,
    );
    const unpacked = [
      0xaa,
      0xaa,
      0xaa,
      0x80,
      0x00,
      0x2a,
      0xaa,
      0xaa,
      0xaa,
      0xaa,
      0x80,
      0x00,
      0x2a,
      0x22,
      ...Array(10).fill(0xaa),
    ];
    expect(Array.from(packBitsDecode(packed, 24))).toEqual(unpacked);
    // Codes 256 (clear), 7, 7, 258 ("7,7"), 257 (end), 9 bits each, MSB first.
    const codes = [256, 7, 7, 258, 257].map((c) => c.toString(2).padStart(9, '0')).join('');
    const lzw = Uint8Array.from(
      codes
        .padEnd(48, '0')
        .match(/.{8}/g)!
        .map((b) => Number.parseInt(b, 2)),
    );
    expect(Array.from(lzwDecode(lzw, 4))).toEqual([7, 7, 7, 7]);
  });
});

describe('decodeTiffImage refuses what it cannot read, in words', () => {
  const pixels = Uint8Array.of(1, 2, 3, 4);

  it('JPEG 2000 and other compressions it does not decode', () => {
    expect(() => decode(buildTiff({ pages: [greyPage(2, 2, 8, pixels, { 259: short(34712) })] }))).toThrow(
      'unsupported TIFF compression 34712 (JPEG 2000)',
    );
    expect(() => decode(buildTiff({ pages: [greyPage(2, 2, 8, pixels, { 259: short(7) })] }))).toThrow(
      'unsupported TIFF compression 7 (JPEG)',
    );
    expect(() => decode(buildTiff({ pages: [greyPage(2, 2, 8, pixels, { 259: short(12345) })] }))).toThrow(
      'unsupported TIFF compression 12345 (unknown)',
    );
  });

  it('more pixels than maxPixels, before allocating them', () => {
    const huge = greyPage(100000, 100000, 16, pixels);
    expect(() => decode(buildTiff({ pages: [huge] }), 50_000_000)).toThrow(
      'image is 100000×100000 pixels, above the limit of 50000000 pixels',
    );
  });

  it('tiles larger than maxPixels, however small the image', () => {
    const page: PageSpec = {
      tags: {
        256: long(2),
        257: long(2),
        258: short(8),
        259: short(5),
        262: short(1),
        322: long(65536),
        323: long(65536),
      },
      chunks: [Uint8Array.of(0x80, 0)],
      tiled: true,
    };
    expect(() => decode(buildTiff({ pages: [page] }), 1e8)).toThrow(
      'TIFF tiles of 65536×65536 pixels are above the limit of 100000000 pixels',
    );
  });

  it('pixel data cut short, in an uncompressed and in an LZW file', async () => {
    const fei = readMicroscopyFixture('sem-tiff/fei-sem-rbc.tif');
    // Keep the IFD (at the end) but zero-length the file's last strip by moving it past the end.
    const cut = buildTiff({ pages: [greyPage(4, 4, 8, new Uint8Array(10))] });
    expect(() => decode(cut)).toThrow(
      'TIFF strip 0 holds 10 of 16 bytes (none): the file is truncated or corrupt',
    );
    expect(() => decode(fei.subarray(0, 1_000_000))).toThrow(/TIFF file is truncated or corrupt/);
    const lzw = await sharp(Buffer.alloc(64 * 64, 7), { raw: { width: 64, height: 64, channels: 1 } })
      .tiff({ compression: 'lzw' })
      .toBuffer();
    const info = parseTiff(lzw).ifds[0];
    const offset = (info.tags.get(273)!.value as number[])[0];
    lzw.fill(0xff, offset, offset + 4);
    expect(() => decode(lzw)).toThrow(/TIFF strip 0: corrupt LZW data/);
  });

  it('layouts and sample types it does not handle', () => {
    expect(() => decode(buildTiff({ pages: [greyPage(2, 2, 12, pixels)] }))).toThrow(
      'TIFF with 12-bit unsigned samples is not supported',
    );
    expect(() => decode(buildTiff({ pages: [greyPage(2, 2, 8, pixels, { 262: short(6) })] }))).toThrow(
      'TIFF photometric interpretation 6 (YCbCr) is not supported',
    );
    expect(() => decode(buildTiff({ pages: [greyPage(2, 2, 8, pixels, { 278: long(1) })] }))).toThrow(
      'TIFF has 1 strips, expected 2',
    );
    expect(() => decode(buildTiff({ pages: [greyPage(2, 2, 8, pixels, { 262: short(3) })] }))).toThrow(
      'TIFF palette image has no valid ColorMap',
    );
  });
});
