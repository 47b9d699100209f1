import { describe, expect, it } from 'vitest';
import {
  parseTiff,
  TAG,
  tagNumber,
  tagNumbers,
  tagText,
  tiffImageInfo,
} from '../../../src/formats/tiff/tiff.ts';
import { readMicroscopyFixture } from '../../microscopy/shared-files.ts';
import {
  ASCII,
  BYTE,
  buildTiff,
  DOUBLE,
  FLOAT,
  greyPage,
  LONG8,
  RATIONAL,
  SBYTE,
  SLONG,
  SLONG8,
  SRATIONAL,
  SSHORT,
  UNDEFINED,
} from '../../microscopy/tiff-writer.ts';

describe('parseTiff on instrument files', () => {
  it('reads the FEI Teneo IFD (little-endian): size, strips, the INI metadata tag', () => {
    const tiff = parseTiff(readMicroscopyFixture('sem-tiff/fei-sem-rbc.tif'));
    expect(tiff.littleEndian).toBe(true);
    expect(tiff.bigTiff).toBe(false);
    expect(tiff.ifds).toHaveLength(1);
    const ifd = tiff.ifds[0];
    expect(ifd.offset).toBe(1689374);
    expect(ifd.nextOffset).toBe(0);
    const info = tiffImageInfo(ifd);
    expect(info).toMatchObject({
      width: 1536,
      height: 1094,
      bitsPerSample: 8,
      samplesPerPixel: 1,
      sampleFormat: 1,
      photometric: 1,
      compression: 1,
      planarConfig: 1,
      predictor: 1,
    });
    expect(info.layout.kind).toBe('strips');
    if (info.layout.kind !== 'strips') return;
    expect(info.layout.rowsPerStrip).toBe(1);
    expect(info.layout.offsets).toHaveLength(1094);
    expect(info.layout.offsets.slice(0, 3)).toEqual([8, 1544, 3080]);
    expect(info.layout.byteCounts?.[0]).toBe(1536);
    // 96/1 dpi, inch: a screen default, not a calibration.
    expect(tagNumber(ifd, TAG.XResolution)).toBe(96);
    expect(tagNumber(ifd, TAG.ResolutionUnit)).toBe(2);
    expect(ifd.tags.get(TAG.FeiHelios)?.type).toBe('ASCII');
    expect(ifd.tags.get(TAG.FeiHelios)?.count).toBe(3355);
    expect(tagText(ifd, TAG.FeiHelios)).toMatch(/^\[User\]\r\nDate=10\/27\/2016/);
  });

  it('reads the big-endian ImageJ float32 file, with its BYTE-typed private tag as a view', () => {
    const bytes = readMicroscopyFixture('imagej-tiff/test_loading_image_saved_with_imageJ.tif');
    const ifd = parseTiff(bytes).ifds[0];
    expect(parseTiff(bytes).littleEndian).toBe(false);
    expect(tiffImageInfo(ifd)).toMatchObject({ width: 68, height: 68, bitsPerSample: 32, sampleFormat: 3 });
    expect(tagText(ifd, TAG.ImageDescription)).toBe(
      'ImageJ=1.51a\nunit=micron\nmin=86.0\nmax=5040.0927734375\n',
    );
    expect(tagNumber(ifd, TAG.XResolution)).toBeCloseTo(5.928571, 6);
    expect(tagNumbers(ifd, 50838)).toEqual([12, 37992]);
    const meta = ifd.tags.get(50839)!;
    expect(meta.type).toBe('BYTE');
    expect(meta.value).toBeInstanceOf(Uint8Array);
    expect(new TextDecoder().decode((meta.value as Uint8Array).subarray(0, 8))).toBe('IJIJinfo');
  });

  it('reads the Zeiss palette page: 2^32−1 rows per strip means one strip, and a 768-entry ColorMap', () => {
    const info = tiffImageInfo(
      parseTiff(readMicroscopyFixture('sem-tiff/test_tiff_Zeiss_SEM_512pix.tif')).ifds[0],
    );
    expect(info.photometric).toBe(3);
    expect(info.layout).toMatchObject({
      kind: 'strips',
      rowsPerStrip: 384,
      offsets: [4726],
      byteCounts: [196608],
    });
    expect(info.colormap).toHaveLength(768);
    expect(info.colormap?.slice(0, 3)).toEqual([0, 257, 514]);
  });

  it('reads the OME-TIFF: LZW, 325 strips, a 289,738-byte OME-XML description', () => {
    const ifd = parseTiff(readMicroscopyFixture('ome-tiff/s_1_t_1_c_1_z_1.ome.tiff')).ifds[0];
    const info = tiffImageInfo(ifd);
    expect(info).toMatchObject({ width: 475, height: 325, bitsPerSample: 16, compression: 5 });
    expect(info.layout.offsets).toHaveLength(325);
    expect(ifd.tags.get(TAG.ImageDescription)?.count).toBe(289738);
    expect(tagText(ifd, TAG.Software)).toBe('OME Bio-Formats 6.0.0-SNAPSHOT');
  });
});

describe('parseTiff on built files', () => {
  const everyType = {
    300: { type: BYTE, value: Uint8Array.of(1, 2, 255) },
    301: { type: ASCII, value: 'µm text' },
    302: { type: SBYTE, value: [-5, 7] },
    303: { type: UNDEFINED, value: Uint8Array.of(9, 8, 7, 6, 5) },
    304: { type: SSHORT, value: [-300, 300] },
    305: { type: SLONG, value: [-70000] },
    306: { type: RATIONAL, value: [1, 3, 5, 2] },
    307: { type: SRATIONAL, value: [-1, 4] },
    308: { type: FLOAT, value: [1.5, -0.25] },
    309: { type: DOUBLE, value: [Math.PI] },
    310: { type: LONG8, value: [2 ** 40 + 3] },
    311: { type: SLONG8, value: [-(2 ** 35)] },
  };

  for (const [name, spec] of [
    ['classic little-endian', { littleEndian: true, bigTiff: false }],
    ['classic big-endian', { littleEndian: false, bigTiff: false }],
    ['BigTIFF little-endian', { littleEndian: true, bigTiff: true }],
    ['BigTIFF big-endian', { littleEndian: false, bigTiff: true }],
  ] as const) {
    it(`decodes every field type in ${name}`, () => {
      const bytes = buildTiff({ ...spec, pages: [greyPage(2, 2, 8, Uint8Array.of(1, 2, 3, 4), everyType)] });
      const tiff = parseTiff(bytes);
      expect(tiff.bigTiff).toBe(spec.bigTiff);
      expect(tiff.littleEndian).toBe(spec.littleEndian);
      const tags = tiff.ifds[0].tags;
      expect(Array.from(tags.get(300)?.value as Uint8Array)).toEqual([1, 2, 255]);
      expect(tags.get(301)?.value).toBe('µm text');
      expect(tags.get(302)?.value).toEqual([-5, 7]);
      expect(Array.from(tags.get(303)?.value as Uint8Array)).toEqual([9, 8, 7, 6, 5]);
      expect(tags.get(304)?.value).toEqual([-300, 300]);
      expect(tags.get(305)?.value).toEqual([-70000]);
      expect(tags.get(306)?.value).toEqual([1 / 3, 2.5]);
      expect(tags.get(307)?.value).toEqual([-0.25]);
      expect(tags.get(308)?.value).toEqual([1.5, -0.25]);
      expect(tags.get(309)?.value).toEqual([Math.PI]);
      expect(tags.get(310)?.value).toEqual([2 ** 40 + 3]);
      expect(tags.get(311)?.value).toEqual([-(2 ** 35)]);
      expect(tags.get(310)?.type).toBe('LONG8');
      expect(tiffImageInfo(tiff.ifds[0]).width).toBe(2);
    });
  }

  it('follows the IFD chain of a multi-page file, and stops at maxIfds', () => {
    const page = greyPage(2, 2, 8, Uint8Array.of(1, 2, 3, 4));
    const bytes = buildTiff({ pages: [page, greyPage(3, 1, 8, Uint8Array.of(5, 6, 7)), page] });
    expect(parseTiff(bytes).ifds.map((ifd) => tagNumber(ifd, TAG.ImageWidth))).toEqual([2, 3, 2]);
    const first = parseTiff(bytes, { maxIfds: 1 });
    expect(first.ifds).toHaveLength(1);
    expect(first.ifds[0].nextOffset).toBeGreaterThan(0);
  });

  it('skips a field of unknown type, as TIFF 6.0 asks', () => {
    const bytes = buildTiff({
      pages: [greyPage(2, 2, 8, Uint8Array.of(1, 2, 3, 4), { 400: { type: BYTE, value: Uint8Array.of(1) } })],
    });
    const at = Buffer.from(bytes).indexOf(Buffer.from([0x90, 0x01, 0x01, 0x00]));
    bytes[at + 2] = 99;
    const tags = parseTiff(bytes).ifds[0].tags;
    expect(tags.has(400)).toBe(false);
    expect(tags.has(TAG.ImageWidth)).toBe(true);
  });
});

describe('parseTiff refuses broken files with a readable error', () => {
  const valid = buildTiff({
    pages: [greyPage(2, 2, 8, Uint8Array.of(1, 2, 3, 4), { 270: { type: ASCII, value: 'x'.repeat(40) } })],
  });

  it('a file cut in the middle of its IFD', () => {
    expect(() => parseTiff(valid.subarray(0, valid.length - 20))).toThrow(
      /TIFF file is truncated or corrupt: IFD 0/,
    );
  });

  it('the real FEI file cut to half (its IFD is at the end)', () => {
    const bytes = readMicroscopyFixture('sem-tiff/fei-sem-rbc.tif');
    expect(() => parseTiff(bytes.subarray(0, bytes.length / 2))).toThrow(
      'TIFF file is truncated or corrupt: a field needs 2 bytes at offset 1689374, but the file has 850841 bytes',
    );
  });

  it('a tag whose value points past the end of the file', () => {
    const bytes = valid.slice();
    const view = new DataView(bytes.buffer);
    const ifd = view.getUint32(4, true);
    // Entry for tag 270 (ImageDescription): the value offset is at +8 in its 12-byte entry.
    for (let i = 0; i < view.getUint16(ifd, true); i++) {
      const at = ifd + 2 + 12 * i;
      if (view.getUint16(at, true) === 270) view.setUint32(at + 8, 0x7fffff00, true);
    }
    expect(() => parseTiff(bytes)).toThrow(
      /tag 270 value \(41 × ASCII\) needs 41 bytes at offset 2147483392/,
    );
  });

  it('an IFD chain that loops', () => {
    const bytes = valid.slice();
    const view = new DataView(bytes.buffer);
    const ifd = view.getUint32(4, true);
    const entries = view.getUint16(ifd, true);
    view.setUint32(ifd + 2 + 12 * entries, ifd, true);
    expect(() => parseTiff(bytes)).toThrow(`TIFF IFD chain loops back to offset ${ifd}`);
  });

  it('an IFD claiming 65535 entries in a small file', () => {
    const bytes = valid.slice();
    const view = new DataView(bytes.buffer);
    view.setUint16(view.getUint32(4, true), 0xffff, true);
    expect(() => parseTiff(bytes)).toThrow(/IFD 0 \(65535 entries\)/);
  });

  it('files that are not TIFF, or only its first bytes', () => {
    expect(() => parseTiff(new TextEncoder().encode('hello, world'))).toThrow(
      'not a TIFF file (no II/MM byte order mark)',
    );
    expect(() => parseTiff(Uint8Array.of(0x49, 0x49, 7, 0, 8, 0, 0, 0))).toThrow(
      'not a TIFF file (version 7, expected 42 or 43)',
    );
    expect(() => parseTiff(Uint8Array.of(0x49, 0x49, 42))).toThrow('TIFF file is truncated: only 3 bytes');
    expect(() => parseTiff(Uint8Array.of(0x49, 0x49, 42, 0, 0, 0, 0, 0))).toThrow('TIFF file has no image');
  });

  it('a page with no size or no pixel offsets', () => {
    const noSize = parseTiff(buildTiff({ pages: [{ tags: {}, chunks: [Uint8Array.of(1)] }] })).ifds[0];
    expect(() => tiffImageInfo(noSize)).toThrow('TIFF page has no ImageWidth/ImageLength');
  });
});
