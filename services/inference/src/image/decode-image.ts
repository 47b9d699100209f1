import sharp from 'sharp';
import { ImageRejection } from './rejection.ts';

/** An image ready for the model and for annotation: 8-bit RGB, interleaved, EXIF orientation applied. */
export interface RgbImage {
  width: number;
  height: number;
  rgb: Buffer;
  /** Container format as the decoder saw it (jpeg, png, tiff, …). */
  format: string;
}

/** Formats sharp decodes that scopehive accepts; others are rejected as unsupported. */
const FORMATS = new Set(['jpeg', 'png', 'tiff', 'webp']);

/** Transparent pixels become neutral grey, the letterbox padding colour, rather than black. */
const FLATTEN = { r: 114, g: 114, b: 114 };

/**
 * Decodes JPEG, PNG, TIFF or WebP bytes into 8-bit RGB with EXIF orientation applied; greyscale,
 * palette and alpha images become plain RGB. Images above `maxPixels` are refused before their
 * pixels are decoded, so a decompression bomb costs a header read.
 */
export async function decodeImage(bytes: Uint8Array, options: { maxPixels: number }): Promise<RgbImage> {
  if (bytes.length === 0) throw new ImageRejection('empty', 'the file is empty (0 bytes)');
  const input = sharp(bytes, {
    limitInputPixels: options.maxPixels,
    failOn: 'truncated',
    sequentialRead: true,
  });
  const meta = await input.metadata();
  if (!meta.format || !FORMATS.has(meta.format)) {
    throw new ImageRejection(
      'unsupported',
      `${meta.format ?? 'unknown'} images are not supported (JPEG, PNG, TIFF)`,
    );
  }
  const { data, info } = await input
    .rotate()
    .flatten({ background: FLATTEN })
    .toColourspace('srgb')
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3)
    throw new ImageRejection('unsupported', `unexpected ${info.channels}-channel image after conversion`);
  if (info.width < 2 || info.height < 2) {
    throw new ImageRejection('too_small', `image is only ${info.width}×${info.height} pixels`);
  }
  return { width: info.width, height: info.height, rgb: data, format: meta.format };
}
