import sharp from 'sharp';
import { decodeImage } from '../image/decode-image.ts';
import { decoderReason } from '../image/rejection.ts';
import { MicroscopyError } from '../microscopy/errors.ts';
import type { Raster, SourceType } from '../microscopy/raster.ts';
import { exifNamesCamera } from './exif-camera.ts';
import { type DecodedRaster, fromRaster } from './from-raster.ts';
import type { FormatReader } from './types.ts';

/**
 * JPEG and WebP: straight through sharp to 8-bit RGB, the fast path. They are photos: 8-bit, no
 * calibration a microscope writes, nothing to stretch; sharp's errors are sorted by the caller.
 */
export const readPhoto: FormatReader = async (bytes, options) => ({
  ...(await decodeImage(bytes, { maxPixels: options.maxPixels })),
  sourceType: 'rgb8',
  calibrationCandidates: [],
  warnings: [],
});

/**
 * PNG through sharp, but kept as the microscopy readers keep their samples: 16-bit PNG is stretched
 * like 16-bit TIFF, greyscale stays one channel until the end, alpha is dropped (EXIF orientation
 * applied). It carries no calibration a microscope writes; its EXIF may name a camera (a photograph).
 */
export const readPng: FormatReader = async (bytes, options) => {
  const { camera, ...decoded } = await decodePng(bytes, options.maxPixels);
  const image = fromRaster(decoded, options.stretch);
  return camera ? { ...image, camera } : image;
};

async function decodePng(bytes: Uint8Array, maxPixels: number): Promise<DecodedRaster & { camera: boolean }> {
  try {
    const input = sharp(bytes, { limitInputPixels: maxPixels, failOn: 'truncated' });
    const meta = await input.metadata();
    const grey = (meta.channels ?? 3) <= 2 && !meta.isPalette;
    const sixteen = meta.depth === 'ushort';
    const colourspace = grey ? (sixteen ? 'grey16' : 'b-w') : sixteen ? 'rgb16' : 'srgb';
    const { data, info } = await input
      .rotate()
      .removeAlpha()
      .toColourspace(colourspace)
      .raw({ depth: sixteen ? 'ushort' : 'uchar' })
      .toBuffer({ resolveWithObject: true });
    const channels = grey ? 1 : 3;
    if (info.channels !== channels)
      throw new Error(`sharp returned ${info.channels} channels, expected ${channels}`);
    // sharp's raw output is in machine byte order; copy into an aligned buffer of our own.
    const copy = new Uint8Array(data);
    const raster: Raster = sixteen
      ? {
          width: info.width,
          height: info.height,
          channels,
          sampleType: 'uint16',
          data: new Uint16Array(copy.buffer),
        }
      : { width: info.width, height: info.height, channels, sampleType: 'uint8', data: copy };
    const sourceType: SourceType = grey ? raster.sampleType : sixteen ? 'rgb16' : 'rgb8';
    const camera = exifNamesCamera(meta.exif);
    return { raster, sourceType, format: 'png', calibrationCandidates: [], warnings: [], camera };
  } catch (err) {
    const message = String((err as Error).message).split('\n')[0];
    const reason = decoderReason(message);
    if (reason === 'too_large') {
      throw new MicroscopyError('too_large', `image is above the limit of ${maxPixels} pixels`);
    }
    throw new MicroscopyError(reason, `PNG could not be decoded (${message})`);
  }
}
