import type { Calibration, ImageArea } from '../microscopy/calibration.ts';
import { MicroscopyError } from '../microscopy/errors.ts';
import type { IntensityMapping, IntensityStretch } from '../microscopy/intensity.ts';
import { readMicroscopyImage } from '../microscopy/read-image.ts';
import { decodeImage, type RgbImage } from './decode-image.ts';
import { ImageRejection } from './rejection.ts';

/** An image ready for analysis: 8-bit RGB for the model, plus what the file says about its scale. */
export interface AnalysisImage extends RgbImage {
  /** The stored sample type (uint8, uint16, float32, …, rgb8). */
  sourceType: string;
  calibrationCandidates: Calibration[];
  /** The rows above an instrument data bar, when the file says. */
  imageArea?: ImageArea;
  /** How 16-bit, 32-bit and float data were mapped to 8-bit. */
  intensityMapping?: IntensityMapping;
  warnings: string[];
}

const isJpeg = (b: Uint8Array) => b.length > 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff;
const isWebp = (b: Uint8Array) =>
  b.length > 12 &&
  String.fromCharCode(...b.subarray(0, 4)) === 'RIFF' &&
  String.fromCharCode(...b.subarray(8, 12)) === 'WEBP';

/**
 * Reads any supported image: JPEG and WebP photos straight through sharp (the fast path: they are
 * 8-bit and carry no microscope calibration); TIFF, OME-TIFF, DM3/DM4 and PNG through the microscopy
 * readers, which find the calibration and the data bar and stretch 16-bit and float data to 8 bits.
 * Greyscale becomes RGB for the model. Every failure is an ImageRejection with a readable reason.
 */
export async function readAnalysisImage(
  bytes: Uint8Array,
  options: { fileName: string; maxPixels: number; stretch: IntensityStretch },
): Promise<AnalysisImage> {
  if (bytes.length === 0) throw new ImageRejection('empty', 'the file is empty (0 bytes)');
  if (isJpeg(bytes) || isWebp(bytes)) {
    const image = await decodeImage(bytes, { maxPixels: options.maxPixels });
    return { ...image, sourceType: 'rgb8', calibrationCandidates: [], warnings: [] };
  }
  try {
    const m = await readMicroscopyImage(bytes, options);
    if (m.width < 2 || m.height < 2)
      throw new ImageRejection('too_small', `image is only ${m.width}×${m.height} pixels`);
    return {
      width: m.width,
      height: m.height,
      rgb:
        m.channels === 3
          ? Buffer.from(m.data8.buffer, m.data8.byteOffset, m.data8.length)
          : greyToRgb(m.data8),
      format: m.format,
      sourceType: m.sourceType,
      calibrationCandidates: m.calibrationCandidates,
      imageArea: m.imageArea,
      intensityMapping: m.intensityMapping,
      warnings: m.warnings,
    };
  } catch (err) {
    if (err instanceof MicroscopyError) throw new ImageRejection(err.reason, err.message);
    throw err;
  }
}

export function greyToRgb(grey: Uint8Array): Buffer {
  const rgb = Buffer.allocUnsafe(grey.length * 3);
  for (let i = 0, j = 0; i < grey.length; i++, j += 3) {
    const v = grey[i];
    rgb[j] = v;
    rgb[j + 1] = v;
    rgb[j + 2] = v;
  }
  return rgb;
}
