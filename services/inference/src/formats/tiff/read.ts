import { fromRaster } from '../from-raster.ts';
import type { FormatReader } from '../types.ts';
import { parseTiff, TAG, tagText } from './tiff.ts';
import { tiffCalibration } from './tiff-calibration.ts';
import { decodeTiffImage } from './tiff-pixels.ts';

/**
 * TIFF, BigTIFF, OME-TIFF and ImageJ TIFF by scopehive's own parser (sharp drops 16-bit, float and the
 * instrument tags that hold the calibration). A stack is read as its first page, and says so.
 */
export const readTiff: FormatReader = async (bytes, options) => {
  const tiff = parseTiff(bytes, { maxIfds: 1 });
  const ifd = tiff.ifds[0];
  const pixels = decodeTiffImage(bytes, tiff, { maxPixels: options.maxPixels });
  const calibration = tiffCalibration(ifd, pixels);
  const ome = /<(?:\w+:)?OME[\s>]/.test(tagText(ifd, TAG.ImageDescription) ?? '');
  const warnings = [...calibration.warnings];
  if (ifd.nextOffset !== 0) warnings.push('multi-page TIFF: only the first page is analysed');
  return fromRaster(
    {
      raster: pixels,
      sourceType: pixels.sourceType,
      format: ome ? 'ome-tiff' : 'tiff',
      calibrationCandidates: calibration.candidates,
      ...(calibration.imageArea ? { imageArea: calibration.imageArea } : {}),
      warnings,
    },
    options.stretch,
  );
};
