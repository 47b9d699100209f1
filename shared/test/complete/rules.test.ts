import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type ByteSource, memorySource, provenFormat } from '../../src/fs/complete/index.ts';
import {
  encodedPng,
  handMadeJpeg,
  jpegWithThumbnail,
  pngWithFakeEnd,
  progressiveJpeg,
  REAL_FILES,
  segment,
  sharedDir,
  smallDm,
  twoPageTiff,
} from './samples.ts';

/** Whether the rules prove these bytes complete (the format, or undefined). */
const proven = (bytes: Uint8Array, budget?: number) => provenFormat(memorySource(bytes), budget);

/** Every length short of the whole that the rules call complete: there must be none. */
async function completeWhenCut(bytes: Uint8Array, cuts: Iterable<number>): Promise<number[]> {
  const wrong: number[] = [];
  for (const cut of cuts) if (cut < bytes.length && (await proven(bytes.subarray(0, cut)))) wrong.push(cut);
  return wrong;
}

const everyLength = (bytes: Uint8Array) => Array.from({ length: bytes.length }, (_, i) => i);

/** Every length in the first and last 4 KiB, and every 61st in between. */
function cutsOf(bytes: Uint8Array): number[] {
  const cuts: number[] = [];
  for (let i = 0; i < bytes.length; i += i < 4096 || i > bytes.length - 4096 ? 1 : 61) cuts.push(i);
  return cuts;
}

describe('completeness by structure: real instrument files and photos', () => {
  it.each(REAL_FILES)('%s is complete whole (%s), never when cut short', async (name, format) => {
    const bytes = new Uint8Array(await fs.readFile(path.join(sharedDir, name)));
    expect(await proven(bytes)).toBe(format);
    expect(await completeWhenCut(bytes, cutsOf(bytes))).toEqual([]);
  });

  it('leaves an OME-TIFF padded with zeros after its XML to the stability window', async () => {
    // Its writer reserves 700 KB of zeros after the last structure: cut anywhere in them, the file
    // looks the same as whole, so whole it cannot be proven either.
    const bytes = await fs.readFile(path.join(sharedDir, 'microscopy/ome-tiff/s_1_t_1_c_1_z_1.ome.tiff'));
    expect(await proven(bytes)).toBeUndefined();
  });
});

describe('completeness by structure: files made on purpose, cut at every byte', () => {
  const cases: Array<[string, () => Uint8Array | Promise<Uint8Array>, string]> = [
    ['a JPEG with a thumbnail in its EXIF block', jpegWithThumbnail, 'jpeg'],
    ['a progressive JPEG', progressiveJpeg, 'jpeg'],
    ['a hand-made JPEG with restart markers, stuffing and fill bytes in its scan', handMadeJpeg, 'jpeg'],
    ['a PNG with "IEND" in a comment and three IDAT chunks', pngWithFakeEnd, 'png'],
    ['a PNG as libspng writes it', encodedPng, 'png'],
    ['a two-page TIFF, little-endian', () => twoPageTiff({ littleEndian: true, bigTiff: false }), 'tiff'],
    ['a two-page TIFF, big-endian', () => twoPageTiff({ littleEndian: false, bigTiff: false }), 'tiff'],
    ['a two-page BigTIFF, little-endian', () => twoPageTiff({ littleEndian: true, bigTiff: true }), 'tiff'],
    [
      'a two-page BigTIFF, big-endian, tiled',
      () => twoPageTiff({ littleEndian: false, bigTiff: true, tiled: true }),
      'tiff',
    ],
    ['a tiled TIFF', () => twoPageTiff({ littleEndian: true, bigTiff: false, tiled: true }), 'tiff'],
    ['a DM3, little-endian values', () => smallDm(3, true), 'dm3'],
    ['a DM3, big-endian values', () => smallDm(3, false), 'dm3'],
    ['a DM4, little-endian values', () => smallDm(4, true), 'dm4'],
    ['a DM4, big-endian values', () => smallDm(4, false), 'dm4'],
  ];

  it.each(cases)('%s', async (_name, make, format) => {
    const bytes = await make();
    expect(await proven(bytes)).toBe(format);
    expect(await completeWhenCut(bytes, everyLength(bytes))).toEqual([]);
  });

  it('does not take a JPEG paused right after its thumbnail: its end marker is inside APP1', async () => {
    const bytes = await jpegWithThumbnail();
    const thumbnailEnd = Buffer.from(bytes).indexOf(Buffer.from([0xff, 0xd9])) + 2;
    expect(thumbnailEnd).toBeLessThan(bytes.length);
    expect(await proven(bytes.subarray(0, thumbnailEnd))).toBeUndefined();
  });
});

describe('completeness by structure: what is not provable waits', () => {
  it('a JPEG with bytes after its end marker', async () => {
    const bytes = await progressiveJpeg();
    expect(await proven(Uint8Array.from([...bytes, 0, 0]))).toBeUndefined();
  });

  it('a JPEG without a frame, or scan data before its frame', async () => {
    const noFrame = Uint8Array.from([0xff, 0xd8, ...segment(0xdb, [1, 2, 3]), 0xff, 0xd9]);
    expect(await proven(noFrame)).toBeUndefined();
    const scanFirst = Uint8Array.from([0xff, 0xd8, ...segment(0xda, [1, 1, 0, 0, 63, 0]), 1, 0xff, 0xd9]);
    expect(await proven(scanFirst)).toBeUndefined();
  });

  it('a PNG whose last chunk is not an empty IEND with its CRC', async () => {
    const bytes = pngWithFakeEnd();
    const badCrc = Uint8Array.from(bytes);
    badCrc[badCrc.length - 1] ^= 1;
    expect(await proven(badCrc)).toBeUndefined();
  });

  it('a DM file without its eight-byte trailer of zeros', async () => {
    const bytes = smallDm(3, true);
    const trailer = Uint8Array.from(bytes);
    trailer[trailer.length - 3] = 7;
    expect(await proven(trailer)).toBeUndefined();
  });

  it('a TIFF with bytes after its last structure, or an IFD without pixel data', async () => {
    const bytes = twoPageTiff({ littleEndian: true, bigTiff: false });
    expect(await proven(Uint8Array.from([...bytes, 0, 0, 0, 0]))).toBeUndefined();
    const noStrips = Uint8Array.from([
      0x49, 0x49, 42, 0, 8, 0, 0, 0, 1, 0, 0, 1, 4, 0, 1, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0,
    ]);
    expect(await proven(noStrips)).toBeUndefined();
  });
});

describe('completeness by structure on hostile bytes', () => {
  const tiffHeader = (ifd: number) => [0x49, 0x49, 42, 0, ifd & 0xff, ifd >> 8, 0, 0];
  /** A classic little-endian IFD at 8 with one strip (offset 8, 26 bytes) and `next`. */
  const loopingTiff = (next: number) =>
    Uint8Array.from([
      ...tiffHeader(8),
      2,
      0,
      ...[0x11, 1, 4, 0, 1, 0, 0, 0, 8, 0, 0, 0],
      ...[0x17, 1, 4, 0, 1, 0, 0, 0, 30, 0, 0, 0],
      next & 0xff,
      next >> 8,
      0,
      0,
    ]);

  it('stops at an IFD chain that loops back on itself', async () => {
    expect(await proven(loopingTiff(0))).toBe('tiff');
    expect(await proven(loopingTiff(8))).toBeUndefined();
  });

  it('refuses counts and offsets past the end, and lengths that cannot be', async () => {
    const hugeCount = loopingTiff(0);
    hugeCount.set([0xff, 0xff, 0xff, 0xff], 14); // StripOffsets claims 4 billion values
    expect(await proven(hugeCount)).toBeUndefined();
    const pastEnd = loopingTiff(0);
    pastEnd.set([0xff, 0xff, 0xff, 0x7f], 30); // the strip's byte count
    expect(await proven(pastEnd)).toBeUndefined();
    const hugeGroup = smallDm(4, true);
    hugeGroup.set([0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 18); // root group count
    expect(await proven(hugeGroup)).toBeUndefined();
    const shortSegment = Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 0, 1, 0xff, 0xd9]);
    expect(await proven(shortSegment)).toBeUndefined();
    const hugeChunk = pngWithFakeEnd();
    hugeChunk.set([0xff, 0xff, 0xff, 0xff], 33); // the comment's length
    expect(await proven(hugeChunk)).toBeUndefined();
  });

  it('never throws on random damage to valid files of each format', async () => {
    const originals = [
      await jpegWithThumbnail(),
      pngWithFakeEnd(),
      twoPageTiff({ littleEndian: false, bigTiff: true }),
      smallDm(4, false),
      smallDm(3, true),
    ];
    let seed = 12345;
    const random = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed;
    };
    for (const original of originals) {
      for (let round = 0; round < 300; round++) {
        const bytes = Uint8Array.from(original);
        for (let k = 0; k < 1 + (round % 6); k++)
          bytes[16 + (random() % (bytes.length - 16))] = random() & 0xff;
        expect([undefined, 'jpeg', 'png', 'tiff', 'dm3', 'dm4']).toContain(await proven(bytes));
      }
    }
  });

  it('reads a 2 GB file no further than its budget', async () => {
    // A JPEG whose scan runs on for 2 GB: the bytes are made as they are read, never held.
    const size = 2 * 1024 ** 3;
    const head = Uint8Array.from([
      0xff,
      0xd8,
      ...segment(0xc0, [8, 0, 1, 0, 1, 1, 1, 0x11, 0]),
      ...segment(0xda, [1, 1, 0, 0, 63, 0]),
    ]);
    let read = 0;
    const source: ByteSource = {
      size,
      async read(at, length) {
        read += length;
        const out = new Uint8Array(length);
        out.set(head.subarray(at, at + length));
        if (at + length === size) out.set([0xff, 0xd9], length - 2);
        return out;
      },
    };
    const budget = 8 * 1024 * 1024;
    expect(await provenFormat(source, budget)).toBeUndefined();
    expect(read).toBeLessThanOrEqual(budget);
  });
});
