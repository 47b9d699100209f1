import type { Calibration, ImageArea } from '../microscopy/calibration.ts';
import { type IntensityStretch, toEightBit } from '../microscopy/intensity.ts';
import type { Raster, SourceType } from '../microscopy/raster.ts';
import type { AnalysisImage } from './types.ts';

/** What the TIFF, DM and PNG readers decode: the file's own samples and what the file says about them. */
export interface DecodedRaster {
  raster: Raster;
  sourceType: SourceType;
  format: string;
  calibrationCandidates: Calibration[];
  imageArea?: ImageArea;
  warnings: string[];
}

/** The model's view of a decoded raster: 16-bit, 32-bit and float data stretched to 8 bits, grey as RGB. */
export function fromRaster(decoded: DecodedRaster, stretch?: IntensityStretch): AnalysisImage {
  const { raster } = decoded;
  const { data8, mapping } = toEightBit(raster, stretch);
  return {
    width: raster.width,
    height: raster.height,
    rgb: raster.channels === 3 ? Buffer.from(data8.buffer, data8.byteOffset, data8.length) : greyToRgb(data8),
    format: decoded.format,
    sourceType: decoded.sourceType,
    calibrationCandidates: decoded.calibrationCandidates,
    ...(decoded.imageArea ? { imageArea: decoded.imageArea } : {}),
    intensityMapping: mapping,
    ...(raster.channels === 1 ? { grey: raster.data } : {}),
    warnings: decoded.warnings,
  };
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
