import { formatForExtension } from '@scopehive/shared';
import { formatOf } from '../formats/registry.ts';
import type { AnalysisImage } from '../formats/types.ts';
import type { IntensityStretch } from '../microscopy/intensity.ts';
import { classifyDecodeError, ImageRejection, unsupportedFormat } from './rejection.ts';

export type { AnalysisImage } from '../formats/types.ts';

/**
 * Reads any supported image, recognised by its bytes, through its format's reader (formats/registry.ts):
 * JPEG and WebP straight through sharp (the fast path), TIFF, OME-TIFF, DM3/DM4 and PNG through readers
 * that find the calibration and the data bar and stretch 16-bit and float data to 8 bits. Greyscale
 * becomes RGB for the model. Every problem with the bytes is an ImageRejection with a readable reason;
 * anything else (a bug) is thrown as it is.
 */
export async function readAnalysisImage(
  bytes: Uint8Array,
  options: { fileName: string; maxPixels: number; stretch: IntensityStretch },
): Promise<AnalysisImage> {
  if (bytes.length === 0) throw new ImageRejection('empty', 'the file is empty (0 bytes)');
  const format = formatOf(bytes);
  if (!format) throw unsupportedFormat();
  let image: AnalysisImage;
  try {
    image = await format.read(bytes, options);
  } catch (err) {
    throw classifyDecodeError(err) ?? err;
  }
  if (image.width < 2 || image.height < 2) {
    throw new ImageRejection('too_small', `image is only ${image.width}×${image.height} pixels`);
  }
  const claimed = formatForExtension(options.fileName);
  if (claimed && claimed.name !== format.name) {
    const warning = `the file name says ${claimed.displayName} but the content is ${format.displayName}`;
    return { ...image, warnings: [...image.warnings, warning] };
  }
  return image;
}
