import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  formatForExtension,
  IMAGE_EXTENSIONS,
  isImageFile,
  sniffFormat,
  supportedFormatsText,
} from '@scopehive/shared';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { FORMATS, formatOf } from '../../src/formats/registry.ts';
import { unsupportedFormat } from '../../src/image/rejection.ts';
import { buildDm, group, list, raw, scalar, uint16Bytes } from '../microscopy/dm-writer.ts';
import { readMicroscopyFixture, SHARED_DIR } from '../microscopy/shared-files.ts';
import { buildTiff, greyPage } from '../microscopy/tiff-writer.ts';

/** A 2×2 uint16 DM4 image: no DM4 file is among the shared instrument files. */
function dm4(): Uint8Array {
  const image = group([
    [
      'ImageData',
      group([
        ['Data', raw([20, 4, 4], uint16Bytes([1, 2, 3, 4], true))],
        ['DataType', scalar(5, 10)],
        ['Dimensions', list([scalar(5, 2), scalar(5, 2)])],
      ]),
    ],
  ]);
  return buildDm({ version: 4, littleEndian: true, root: [['ImageList', list([image])]] });
}

/** Real files where the shared folder has them, files sharp or the test writers make otherwise. */
const samples: Record<string, Uint8Array> = {};

beforeAll(async () => {
  const colour = sharp({ create: { width: 8, height: 6, channels: 3, background: { r: 9, g: 99, b: 199 } } });
  Object.assign(samples, {
    'jpeg: bus.jpg': readFileSync(path.join(SHARED_DIR, 'images', 'bus.jpg')),
    'png: made by sharp': await colour.clone().png().toBuffer(),
    'tiff: FEI SEM': readMicroscopyFixture('sem-tiff/fei-sem-rbc.tif'),
    'tiff: ImageJ float32, big-endian': readMicroscopyFixture(
      'imagej-tiff/test_loading_image_saved_with_imageJ.tif',
    ),
    'tiff: OME-TIFF': readMicroscopyFixture('ome-tiff/s_1_t_1_c_1_z_1.ome.tiff'),
    'tiff: BigTIFF': buildTiff({ bigTiff: true, pages: [greyPage(2, 2, 8, Uint8Array.of(1, 2, 3, 4))] }),
    'webp: made by sharp': await colour.clone().webp().toBuffer(),
    'dm3: STEM image': readMicroscopyFixture('dm3/test_STEM_image.dm3'),
    'dm4: made by the DM writer': dm4(),
  });
});

describe('the format registry', () => {
  it('holds JPEG, PNG, TIFF, WebP, DM3 and DM4 under the names results carry, each with a reader', () => {
    expect(FORMATS.map((f) => f.name)).toEqual(['jpeg', 'png', 'tiff', 'webp', 'dm3', 'dm4']);
    for (const f of FORMATS) expect(typeof f.read, f.name).toBe('function');
  });

  it('every format sniffs its own samples and no other format does', () => {
    for (const [sample, bytes] of Object.entries(samples)) {
      const owner = sample.split(':')[0];
      const matching = FORMATS.filter((f) => f.sniff(bytes)).map((f) => f.name);
      expect(matching, sample).toEqual([owner]);
      expect(sniffFormat(bytes)?.name, sample).toBe(owner);
    }
  });

  it("each format's reader reads its samples, whatever the file is called", async () => {
    for (const [sample, bytes] of Object.entries(samples)) {
      const format = formatOf(bytes);
      const image = await format!.read(bytes, { maxPixels: 1e8 });
      const expected = sample.includes('OME') ? 'ome-tiff' : sample.split(':')[0];
      expect(image.format, sample).toBe(expected);
      expect(image.rgb, sample).toHaveLength(image.width * image.height * 3);
    }
  });

  it('tells DM4 from DM3 by the version word and the byte-order flag after the root length', () => {
    expect(sniffFormat(Uint8Array.of(0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 1))?.name).toBe('dm4');
    expect(sniffFormat(Uint8Array.of(0, 0, 0, 3, 0, 0, 0, 9, 0, 0, 0, 1))?.name).toBe('dm3');
  });

  it('sniffs nothing in empty, short or foreign bytes', () => {
    const foreign = {
      empty: new Uint8Array(0),
      'three JPEG bytes': Uint8Array.of(0xff, 0xd8, 0xff),
      GIF: Buffer.from('GIF89a\x01\x00\x01\x00'),
      PDF: Buffer.from('%PDF-1.7 not an image'),
      'TIFF byte order, version 7': Uint8Array.of(0x49, 0x49, 7, 0, 8, 0, 0, 0),
      'RIFF that is WAVE': Buffer.from('RIFF\x24\x00\x00\x00WAVEfmt '),
      'DM version word without a byte-order flag': Uint8Array.of(0, 0, 0, 3, 0, 0, 0, 9, 0, 0, 0, 7),
    };
    for (const [what, bytes] of Object.entries(foreign)) {
      expect(formatOf(bytes), what).toBeUndefined();
      expect(sniffFormat(bytes), what).toBeUndefined();
    }
  });
});

describe('extensions', () => {
  it('looks a file name up whatever the case of its extension', () => {
    const cases: [string, string | undefined][] = [
      ['bus.jpg', 'jpeg'],
      ['BUS.JPG', 'jpeg'],
      ['scan.Jpeg', 'jpeg'],
      ['cells.PNG', 'png'],
      ['sample.ome.TIFF', 'tiff'],
      ['stack.Tif', 'tiff'],
      ['photo.WebP', 'webp'],
      ['/data/inbox/STEM.DM3', 'dm3'],
      ['eels.dm4', 'dm4'],
      ['notes.txt', undefined],
      ['animation.gif', undefined],
      ['.jpg', undefined],
      ['jpg', undefined],
    ];
    for (const [file, name] of cases) {
      expect(formatForExtension(file)?.name, file).toBe(name);
      expect(isImageFile(file), file).toBe(name !== undefined);
    }
  });

  it('the inbox takes every extension of every format and nothing else', () => {
    expect(IMAGE_EXTENSIONS).toEqual(['.jpg', '.jpeg', '.png', '.tif', '.tiff', '.webp', '.dm3', '.dm4']);
    expect(IMAGE_EXTENSIONS).toEqual(FORMATS.flatMap((f) => f.extensions));
  });
});

describe('messages', () => {
  it('name every format, from the registry', () => {
    expect(supportedFormatsText()).toBe('JPEG, PNG, TIFF, WebP, DM3 or DM4');
    for (const f of FORMATS) {
      expect(supportedFormatsText()).toContain(f.displayName);
      expect(unsupportedFormat().message).toContain(f.displayName);
    }
    expect(unsupportedFormat()).toMatchObject({
      reason: 'unsupported',
      message: 'not an image in a supported format (JPEG, PNG, TIFF, WebP, DM3 or DM4)',
    });
  });
});
