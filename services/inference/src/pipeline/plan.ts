import { type Letterbox, letterboxGeometry } from '../core/letterbox.ts';
import { shouldTile, type Tile, type TilingMode, tileGrid } from '../core/tiling.ts';
import {
  type Calibration,
  type CalibrationOverride,
  type ImageArea,
  type ResolvedCalibration,
  resolveCalibration,
  resolveImageArea,
} from '../microscopy/calibration.ts';

export interface TilingSettings {
  mode: TilingMode;
  overlap: number;
  wholeImagePass: boolean;
}

/** What the plan needs to know of an image: its size and what its file says, not its pixels. */
export interface ImageFacts {
  format: string;
  width: number;
  height: number;
  calibrationCandidates: readonly Calibration[];
  /** The rows above an instrument data bar, when the file says. */
  imageArea?: ImageArea;
  warnings: readonly string[];
}

export interface PlanInputs {
  image: ImageFacts;
  model: { inputWidth: number; inputHeight: number };
  /** The service's tiling settings with the model sidecar's on top. */
  tiling: TilingSettings;
  /** Overrides in rising precedence: the folder's `scopehive.json`, then the model's sidecar. */
  overrides: readonly CalibrationOverride[];
  /** Problems with the folder's settings file, reported with the result. */
  warnings?: readonly string[];
}

/** How one image is analysed by one model: decided before any pixel is touched. */
export interface AnalysisPlan {
  calibration: ResolvedCalibration;
  /** The analysed part: the whole image, or the rows above a data bar. */
  area: { width: number; height: number; source: string };
  tiling: TilingSettings;
  /** Overlapping tiles for a large image, or one letterboxed pass over the area. */
  views: { kind: 'tiles'; tiles: Tile[] } | { kind: 'single'; geometry: Letterbox };
  warnings: string[];
}

/**
 * The analysis plan: pixel size (file, folder and model overrides), the area above a data bar, and
 * whether to tile. Pure: the same inputs always give the same plan, whichever front door asked.
 */
export function planAnalysis(input: PlanInputs): AnalysisPlan {
  const { image, model } = input;
  const calibration = resolveCalibration([...image.calibrationCandidates], [...input.overrides]);
  const crop = resolveImageArea(image.height, image.imageArea, [...input.overrides]);
  const area = {
    width: image.width,
    height: crop.imageArea?.height ?? image.height,
    source: crop.imageArea?.source ?? 'whole image',
  };
  // `auto` leaves uncalibrated photos (JPEG, WebP) whole: scenes are what photo models were trained
  // on; micrographs, and anything with a pixel size, are tiled when much larger than the input.
  const photo = (image.format === 'jpeg' || image.format === 'webp') && calibration.source === 'uncalibrated';
  const mode = input.tiling.mode === 'auto' && photo ? 'never' : input.tiling.mode;
  const tiled = shouldTile(area.width, area.height, model.inputWidth, model.inputHeight, mode);
  return {
    calibration,
    area,
    tiling: input.tiling,
    views: tiled
      ? {
          kind: 'tiles',
          tiles: tileGrid(area.width, area.height, {
            tileWidth: model.inputWidth,
            tileHeight: model.inputHeight,
            overlap: input.tiling.overlap,
          }),
        }
      : {
          kind: 'single',
          geometry: letterboxGeometry(area.width, area.height, model.inputWidth, model.inputHeight),
        },
    warnings: [...image.warnings, ...(input.warnings ?? []), ...calibration.warnings, ...crop.warnings],
  };
}
