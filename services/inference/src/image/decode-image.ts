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

/** Transparent pixels become neutral grey, the letterbox padding colour, rather than black. */
const FLATTEN = { r: 114, g: 114, b: 114 };

/**
 * Decodes bytes sharp reads (the photo formats: JPEG, WebP) into 8-bit RGB with EXIF orientation
 * applied; greyscale, palette and alpha images become plain RGB. Images above `maxPixels` are refused
 * before their pixels are decoded, so a decompression bomb costs a header read. Which bytes get here,
 * and the empty and too-small checks, are `readAnalysisImage`'s.
 */
export async function decodeImage(bytes: Uint8Array, options: { maxPixels: number }): Promise<RgbImage> {
  const input = sharp(bytes, {
    limitInputPixels: options.maxPixels,
    failOn: 'truncated',
    sequentialRead: true,
  });
  const meta = await input.metadata();
  const { data, info } = await input
    .rotate()
    .flatten({ background: FLATTEN })
    .toColourspace('srgb')
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3)
    throw new ImageRejection('unsupported', `unexpected ${info.channels}-channel image after conversion`);
  return { width: info.width, height: info.height, rgb: data, format: meta.format ?? 'unknown' };
}
