import { fromRaster } from '../from-raster.ts';
import type { FormatReader } from '../types.ts';
import { parseDm } from './dm.ts';
import { extractDmImage } from './dm-image.ts';

/** Gatan DM3 and DM4 by scopehive's own parser, with the calibration the file holds. */
export const readDm: FormatReader = async (bytes, options) => {
  const file = parseDm(bytes);
  const image = extractDmImage(file, { maxPixels: options.maxPixels });
  return fromRaster(
    {
      raster: image,
      sourceType: image.sourceType,
      format: file.version === 3 ? 'dm3' : 'dm4',
      calibrationCandidates: image.calibration ? [image.calibration] : [],
      warnings: image.warnings,
    },
    options.stretch,
  );
};
