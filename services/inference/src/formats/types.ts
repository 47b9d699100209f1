import type { RgbImage } from '../image/decode-image.ts';
import type { Calibration, ImageArea } from '../microscopy/calibration.ts';
import type { IntensityMapping, IntensityStretch } from '../microscopy/intensity.ts';

/** An image ready for analysis: 8-bit RGB for the model, plus what the file says about its scale. */
export interface AnalysisImage extends RgbImage {
  /** The stored sample type (uint8, uint16, float32, …, rgb8). */
  sourceType: string;
  calibrationCandidates: Calibration[];
  /** The rows above an instrument data bar, when the file says. */
  imageArea?: ImageArea;
  /** How 16-bit, 32-bit and float data were mapped to 8-bit; absent for photos, which are 8-bit. */
  intensityMapping?: IntensityMapping;
  /**
   * The file's own grey samples (raw 8/16/32-bit or float), row-major, for the grey-value
   * measurements (Mean, Min, Max, IntDen) that must not come from the 8-bit copy fed to the model.
   * Absent for colour images, measured as ImageJ measures RGB: (R + G + B) / 3.
   */
  grey?: ArrayLike<number>;
  /** The file's EXIF names a camera (Make or Model): the auto tiling rule's sign of a photograph. */
  camera?: boolean;
  warnings: string[];
}

export interface ReadOptions {
  /** Width × height above which the file is refused before pixel memory is allocated. */
  maxPixels: number;
  /** Percentiles for 16-bit, 32-bit and float data; default 0.1–99.9 %. */
  stretch?: IntensityStretch;
}

/**
 * Decodes one format's bytes (already sniffed as that format). Throws a MicroscopyError, an
 * ImageRejection or a decoder's own error when the bytes are bad; the caller sorts them.
 */
export type FormatReader = (bytes: Uint8Array, options: ReadOptions) => Promise<AnalysisImage>;
