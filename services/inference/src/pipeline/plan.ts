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
  /** The stored sample type: a one-channel type (uint8, uint16, float32, …) is a greyscale image. */
  sourceType?: string;
  /** The 8-bit RGB pixels for the model: an RGB file whose pixels are all grey is a greyscale image. */
  rgb?: Uint8Array;
  /** The file's EXIF names a camera (Make or Model): a photograph. */
  camera?: boolean;
}

export interface PlanInputs {
  image: ImageFacts;
  model: { inputWidth: number; inputHeight: number };
  /** The service's tiling settings with the model sidecar's on top. */
  tiling: TilingSettings;
  /** The folder's `"tiling"` (scopehive.json): it decides over the service's and the sidecar's mode. */
  folderTiling?: TilingMode;
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
  const folderMode = input.folderTiling;
  const asked = folderMode ?? input.tiling.mode;
  const photo = asked === 'auto' && calibration.source === 'uncalibrated' && isPhotograph(image);
  const mode = photo ? 'never' : asked;
  const tiled = shouldTile(area.width, area.height, model.inputWidth, model.inputHeight, mode);
  const geometry = letterboxGeometry(area.width, area.height, model.inputWidth, model.inputHeight);
  const shrink = 1 / geometry.scale;
  const shrunk =
    !tiled && shrink > MAX_SHRINK_UNWARNED
      ? [
          `${area.width}×${area.height} image shrunk ${shrink.toFixed(1)}× into the ${model.inputWidth}×${model.inputHeight} model input without tiling (${
            photo
              ? 'tiling auto: analysed whole as a colour photograph'
              : folderMode
                ? `"tiling": "${folderMode}" in the folder's scopehive.json`
                : `tiling ${asked}`
          }): small features may be missed; "tiling": "always" in the folder's scopehive.json (or SCOPEHIVE_TILING=always) analyses it in tiles`,
        ]
      : [];
  return {
    calibration,
    area,
    tiling: { ...input.tiling, mode: asked },
    views: tiled
      ? {
          kind: 'tiles',
          tiles: tileGrid(area.width, area.height, {
            tileWidth: model.inputWidth,
            tileHeight: model.inputHeight,
            overlap: input.tiling.overlap,
          }),
        }
      : { kind: 'single', geometry },
    warnings: [
      ...image.warnings,
      ...(input.warnings ?? []),
      ...calibration.warnings,
      ...crop.warnings,
      ...shrunk,
    ],
  };
}

/** Above this shrink factor an untiled image's result says so (a 19 px particle becomes under 10 px). */
const MAX_SHRINK_UNWARNED = 2;
/** Pixels sampled to tell a grey image stored as RGB from a colour one. */
const GREY_SAMPLES = 65_536;
/** JPEG's chroma noise on a grey picture stays within a few levels; colour goes well past this. */
const GREY_TOLERANCE = 12;
/** Share of sampled pixels that may be coloured in a grey image (a coloured scale bar or label). */
const COLOURED_SHARE = 0.005;

/**
 * `auto` leaves only colour photographs whole (photo models were trained on whole scenes): an
 * uncalibrated colour JPEG or WebP, or a colour PNG whose EXIF names a camera. Greyscale images —
 * one channel, or RGB with grey pixels, as many microscopes save JPEGs — and every microscopy format
 * are micrographs, tiled when much larger than the model input.
 */
export function isPhotograph(image: ImageFacts): boolean {
  const raster = image.format === 'jpeg' || image.format === 'webp' || image.format === 'png';
  if (!raster || (image.format === 'png' && image.camera !== true)) return false;
  if (image.sourceType !== undefined && !image.sourceType.startsWith('rgb')) return false;
  return !(image.rgb && looksGrey(image.rgb));
}

/** Whether interleaved 8-bit RGB pixels are (almost) all grey, from an even sample of them. */
export function looksGrey(rgb: Uint8Array): boolean {
  const pixels = Math.floor(rgb.length / 3);
  if (pixels === 0) return true;
  const step = Math.max(1, Math.floor(pixels / GREY_SAMPLES));
  let sampled = 0;
  let coloured = 0;
  for (let p = 0; p < pixels; p += step) {
    const i = p * 3;
    const r = rgb[i];
    const g = rgb[i + 1];
    const b = rgb[i + 2];
    if (Math.max(r, g, b) - Math.min(r, g, b) > GREY_TOLERANCE) coloured++;
    sampled++;
  }
  return coloured <= sampled * COLOURED_SHARE;
}
