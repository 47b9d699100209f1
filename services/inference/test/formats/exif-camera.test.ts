import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { exifNamesCamera } from '../../src/formats/exif-camera.ts';
import { readAnalysisImage } from '../../src/image/read-analysis-image.ts';
import { DEFAULT_STRETCH } from '../../src/microscopy/intensity.ts';
import { isPhotograph } from '../../src/pipeline/plan.ts';

/** A 64×48 colour PNG, with EXIF IFD0 entries when given. */
async function colourPng(ifd0?: Record<string, string>): Promise<Buffer> {
  const image = sharp({ create: { width: 64, height: 48, channels: 3, background: '#c04020' } });
  return (ifd0 ? image.withExif({ IFD0: ifd0 }) : image).png().toBuffer();
}

describe('exifNamesCamera', () => {
  it('finds a Make or a Model in the EXIF sharp reads, in either byte order', async () => {
    const names: Array<Record<string, string>> = [
      { Make: 'Canon' },
      { Model: 'Pixel 8' },
      { Make: 'NIKON', Model: 'D850' },
    ];
    for (const ifd0 of names) {
      const { exif } = await sharp(await colourPng(ifd0)).metadata();
      expect(exifNamesCamera(exif), JSON.stringify(ifd0)).toBe(true);
    }
    // A hand-made big-endian block: "MM", 42, IFD at 8 with one Model entry of 3 bytes ("X5\0").
    const be = Buffer.from([
      0x4d, 0x4d, 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x10, 0, 2, 0, 0, 0, 3, 0x58, 0x35, 0, 0,
    ]);
    expect(exifNamesCamera(be)).toBe(true);
  });

  it('is false without EXIF, for software-only EXIF, empty names and malformed blocks', async () => {
    expect(exifNamesCamera(undefined)).toBe(false);
    const { exif } = await sharp(await colourPng({ Software: 'ImageJ' })).metadata();
    expect(exifNamesCamera(exif)).toBe(false);
    const blank = Buffer.from([
      0x49, 0x49, 42, 0, 8, 0, 0, 0, 1, 0, 0x0f, 0x01, 2, 0, 2, 0, 0, 0, 0x20, 0, 0, 0,
    ]);
    expect(exifNamesCamera(blank)).toBe(false);
    for (const bad of [
      Buffer.from('Exif\0\0'),
      Buffer.from('Exif\0\0II*\0\xff\xff\0\0', 'latin1'),
      Buffer.alloc(3),
    ])
      expect(exifNamesCamera(bad)).toBe(false);
    // An entry pointing past the block.
    const past = Buffer.from([
      0x49, 0x49, 42, 0, 8, 0, 0, 0, 1, 0, 0x0f, 0x01, 2, 0, 50, 0, 0, 0, 200, 0, 0, 0,
    ]);
    expect(exifNamesCamera(past)).toBe(false);
  });
});

describe('a colour PNG and the auto tiling rule', () => {
  it('is a photograph when its EXIF names a camera, a micrograph otherwise', async () => {
    const read = async (png: Buffer) =>
      readAnalysisImage(png, { maxPixels: 1e7, fileName: 'x.png', stretch: DEFAULT_STRETCH });
    const camera = await read(await colourPng({ Make: 'Canon', Model: 'EOS R5' }));
    expect(camera.camera).toBe(true);
    expect(isPhotograph(camera)).toBe(true);
    const plain = await read(await colourPng());
    expect(plain.camera).toBeUndefined();
    expect(isPhotograph(plain)).toBe(false);
  });
});
