/**
 * Files for the completeness rules: the real instrument files of `../shared`, and small ones built
 * on purpose (every byte of them a place to cut) with the writers of the inference tests.
 */

import path from 'node:path';
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import {
  array,
  buildDm,
  group,
  list,
  raw,
  scalar,
  text,
} from '../../../services/inference/test/microscopy/dm-writer.ts';
import {
  buildTiff,
  greyPage,
  long,
  type TiffSpec,
} from '../../../services/inference/test/microscopy/tiff-writer.ts';

const repoRoot = path.resolve(import.meta.dirname, '../../..');
export const sharedDir = process.env.SCOPEHIVE_SHARED_DIR ?? path.resolve(repoRoot, '../shared');

/** Real files and the format each proves itself as. */
export const REAL_FILES: ReadonlyArray<[file: string, format: string]> = [
  ['images/bus.jpg', 'jpeg'],
  ['images/zidane.jpg', 'jpeg'],
  ['microscopy/dm3/test_STEM_image.dm3', 'dm3'],
  ['microscopy/dm3/test_dm_image_um_unit.dm3', 'dm3'],
  ['microscopy/imagej-tiff/test_loading_image_saved_with_imageJ.tif', 'tiff'],
  ['microscopy/sem-tiff/FEI-Helios-Ebeam-16bits.tif', 'tiff'],
  ['microscopy/sem-tiff/FEI-Helios-Ebeam-8bits.tif', 'tiff'],
  ['microscopy/sem-tiff/fei-sem-rbc.tif', 'tiff'],
  ['microscopy/sem-tiff/test_tiff_Zeiss_SEM_512pix.tif', 'tiff'],
];

const u16be = (n: number) => [n >> 8, n & 0xff];

/** A JPEG segment: marker and its length-prefixed payload. */
export function segment(marker: number, payload: ArrayLike<number>): number[] {
  return [0xff, marker, ...u16be(payload.length + 2), ...Array.from(payload)];
}

/**
 * A JPEG whose EXIF block (APP1) holds a whole thumbnail JPEG, so the file has an end-of-image marker
 * long before its end: a writer paused right after it has written a plausible end.
 */
export async function jpegWithThumbnail(): Promise<Uint8Array> {
  const pixels = { create: { width: 64, height: 48, channels: 3 as const, background: '#6a8' } };
  const thumbnail = await sharp(pixels).resize(8, 6).jpeg().toBuffer();
  const main = await sharp(pixels).jpeg({ quality: 90 }).toBuffer();
  const exif = [...Buffer.from('Exif\0\0'), ...thumbnail];
  return Uint8Array.from([0xff, 0xd8, ...segment(0xe1, exif), ...main.subarray(2)]);
}

/** A progressive JPEG: several scans, with tables between them. */
export async function progressiveJpeg(): Promise<Uint8Array> {
  const noise = Buffer.alloc(40 * 30 * 3);
  for (let i = 0; i < noise.length; i++) noise[i] = (i * 7919) % 251;
  return sharp(noise, { raw: { width: 40, height: 30, channels: 3 } })
    .jpeg({ progressive: true })
    .toBuffer();
}

/**
 * A marker stream made by hand: restart markers, stuffed 0xFF00 and fill bytes inside the scan, none
 * of which ends it. The rule walks structure only, so the entropy bytes need not decode.
 */
export function handMadeJpeg(): Uint8Array {
  const sof = [8, ...u16be(2), ...u16be(2), 1, 1, 0x11, 0];
  const sos = [1, 1, 0, 0, 63, 0];
  const scan = [0x12, 0xff, 0x00, 0x34, 0xff, 0xd0, 0x56, 0xff, 0x00, 0xff, 0xd1, 0x78];
  return Uint8Array.from([
    0xff,
    0xd8,
    ...segment(0xdb, new Array(65).fill(1)),
    ...segment(0xc0, sof),
    ...segment(0xc4, [0, ...new Array(16).fill(0)]),
    ...segment(0xda, sos),
    ...scan,
    0xff,
    0xff,
    0xd9,
  ]);
}

function chunk(type: string, data: ArrayLike<number>): number[] {
  const body = Buffer.from([...Buffer.from(type, 'latin1'), ...Array.from(data)]);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlibCrc32(body));
  return [...length, ...body, ...crc];
}

function zlibCrc32(bytes: Uint8Array): number {
  let crc = ~0;
  for (const b of bytes) {
    crc ^= b;
    for (let k = 0; k < 8; k++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1));
  }
  return ~crc >>> 0;
}

/**
 * A PNG whose comment ends with the bytes of an IEND chunk, and whose image data is in three IDAT
 * chunks: cut after the comment, its last twelve bytes look like a PNG's end.
 */
export function pngWithFakeEnd(): Uint8Array {
  const ihdr = [0, 0, 0, 4, 0, 0, 0, 2, 8, 0, 0, 0, 0];
  const fakeEnd = [0, 0, 0, 0, ...Buffer.from('IEND'), 0xae, 0x42, 0x60, 0x82];
  const idat = deflateSync(Buffer.from([0, 1, 2, 3, 4, 0, 5, 6, 7, 8]));
  const third = Math.ceil(idat.length / 3);
  return Uint8Array.from([
    0x89,
    0x50,
    0x4e,
    0x47,
    0x0d,
    0x0a,
    0x1a,
    0x0a,
    ...chunk('IHDR', ihdr),
    ...chunk('tEXt', [...Buffer.from('Comment\0'), ...fakeEnd]),
    ...chunk('IDAT', idat.subarray(0, third)),
    ...chunk('IDAT', idat.subarray(third, 2 * third)),
    ...chunk('IDAT', idat.subarray(2 * third)),
    ...chunk('IEND', []),
  ]);
}

/** A PNG as libspng writes it (through sharp). */
export function encodedPng(): Promise<Uint8Array> {
  return sharp({ create: { width: 30, height: 20, channels: 3, background: '#345' } })
    .png()
    .toBuffer();
}

/** Two greyscale pages, optionally tiled, in either byte order, classic or BigTIFF. */
export function twoPageTiff(options: {
  littleEndian: boolean;
  bigTiff: boolean;
  tiled?: boolean;
}): Uint8Array {
  const page = (seed: number) => {
    const data = Uint8Array.from({ length: 48 }, (_, i) => (i * seed) & 0xff);
    const grey = greyPage(8, 6, 8, data, { 305: { type: 2, value: 'scopehive test' } });
    if (!options.tiled) return { ...grey, chunks: [data.subarray(0, 24), data.subarray(24)] };
    return {
      tags: { ...grey.tags, 322: long(16), 323: long(16) },
      chunks: [new Uint8Array(256).fill(seed)],
      tiled: true,
    };
  };
  const spec: TiffSpec = {
    littleEndian: options.littleEndian,
    bigTiff: options.bigTiff,
    pages: [page(3), page(5)],
  };
  return buildTiff(spec);
}

/** A small DM image: a tag tree with calibrations and pixel data, as DigitalMicrograph lays it out. */
export function smallDm(version: 3 | 4, littleEndian: boolean): Uint8Array {
  const pixels = new Uint8Array(16 * 4);
  const view = new DataView(pixels.buffer);
  for (let i = 0; i < 16; i++) view.setFloat32(i * 4, i / 3, littleEndian);
  const image = group([
    ['Data', raw([20, 6, 16], pixels)],
    ['DataType', scalar(3, 2)],
    ['Dimensions', list([scalar(5, 4), scalar(5, 4)])],
    [
      'Calibrations',
      group([
        ['Units', text('nm')],
        ['Scale', scalar(6, 0.25)],
      ]),
    ],
  ]);
  return buildDm({
    version,
    littleEndian,
    root: [
      [
        'ImageList',
        list([
          group([
            ['ImageData', image],
            ['Name', text('test')],
          ]),
        ]),
      ],
      ['Thumbnails', array(3, [1, 2, 3])],
    ],
  });
}
