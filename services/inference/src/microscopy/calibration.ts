import { canonicalLengthUnit, toNanometres } from './units.ts';

export type CalibrationSource =
  | 'fei-tiff'
  | 'zeiss-tiff'
  | 'ome-xml'
  | 'imagej'
  | 'dm'
  | 'tiff-resolution'
  | 'folder-override'
  | 'model-sidecar'
  | 'uncalibrated';

/**
 * The physical size of one pixel, always in nanometres. `source: 'uncalibrated'` means no pixel size
 * was found: the sizes are then 1 "nm" per pixel only so arithmetic still works, and results must
 * report pixels (originalUnit is 'px').
 */
export interface Calibration {
  pixelWidth: number;
  pixelHeight: number;
  unit: 'nm';
  source: CalibrationSource;
  /** The unit as the file or override wrote it (µm, micron, m, …). */
  originalUnit?: string;
  /** Where the value was found, e.g. "[Scan] PixelWidth=7.70833e-009 m in tag 34682". */
  detail: string;
}

export interface ResolvedCalibration extends Calibration {
  /** Candidates that were found but refused (zero, absurd, …), for the result and the log. */
  warnings: string[];
}

/** The rows above the instrument's data bar. */
export interface ImageArea {
  height: number;
  /** Where the height came from, e.g. "[Image] ResolutionY=1024 in tag 34682". */
  source: string;
}

/** A pixel size and/or data-bar crop from a folder's scopehive.json or a model sidecar. */
export interface CalibrationOverride {
  source: 'folder-override' | 'model-sidecar';
  /** The file it came from, quoted in `detail`. */
  origin: string;
  calibration?: Calibration;
  /** Rows of instrument data bar at the bottom of every image. */
  cropBottom?: number;
  /** true: wins over what the file says; false: only fills in when the file says nothing. */
  override: boolean;
}

/** File sources, most trusted first: instrument tags, then generic metadata, then bare TIFF tags. */
export const FILE_SOURCE_ORDER: readonly CalibrationSource[] = [
  'fei-tiff',
  'zeiss-tiff',
  'ome-xml',
  'imagej',
  'dm',
  'tiff-resolution',
];

/** 1 mm and 1 pm per pixel, in nm: outside this no microscope image is calibrated correctly. */
const MAX_PIXEL_NM = 1e6;
const MIN_PIXEL_NM = 1e-3;

export interface LengthCalibrationInput {
  source: CalibrationSource;
  width: number;
  height: number;
  unit: string;
  /** When the file gives the height in another unit than the width. */
  heightUnit?: string;
  detail: string;
}

/** A calibration from lengths in the file's unit; undefined when the unit is not a length unit. */
export function lengthCalibration(input: LengthCalibrationInput): Calibration | undefined {
  const pixelWidth = toNanometres(input.width, input.unit);
  const pixelHeight = toNanometres(input.height, input.heightUnit ?? input.unit);
  if (pixelWidth === undefined || pixelHeight === undefined) return undefined;
  // 12 digits drop the binary noise of unit conversion (7.70833e-9 m × 1e9 = 7.708329999999999).
  return {
    pixelWidth: Number(pixelWidth.toPrecision(12)),
    pixelHeight: Number(pixelHeight.toPrecision(12)),
    unit: 'nm',
    source: input.source,
    originalUnit: input.unit,
    detail: input.detail,
  };
}

/** Why a calibration cannot be trusted, or undefined when it can. */
export function calibrationProblem(calibration: Calibration): string | undefined {
  for (const [axis, nm] of [
    ['width', calibration.pixelWidth],
    ['height', calibration.pixelHeight],
  ] as const) {
    if (!Number.isFinite(nm)) return `pixel ${axis} is not a finite number (${nm})`;
    if (nm <= 0) return `pixel ${axis} is ${nm} nm, not positive`;
    if (nm > MAX_PIXEL_NM) return `pixel ${axis} ${nm} nm is more than 1 mm`;
    if (nm < MIN_PIXEL_NM) return `pixel ${axis} ${nm} nm is less than 1 pm`;
  }
  return undefined;
}

const UNCALIBRATED: Calibration = {
  pixelWidth: 1,
  pixelHeight: 1,
  unit: 'nm',
  source: 'uncalibrated',
  originalUnit: 'px',
  detail: 'no pixel size in the file, scopehive.json or the model sidecar; sizes are in pixels',
};

/**
 * Picks the calibration a result uses. The rule:
 *
 * 1. An override (folder scopehive.json or model sidecar) that says `"override": true` wins over
 *    the file: the lab knows the instrument writes a wrong value.
 * 2. Otherwise the file's own calibration, in FILE_SOURCE_ORDER (instrument tags before OME-XML,
 *    ImageJ, DM, then plain TIFF resolution), whatever order `candidates` come in.
 * 3. Otherwise an override fills in, as for PNG/JPEG or an uncalibrated TIFF.
 * 4. Otherwise 'uncalibrated'.
 *
 * `overrides` are listed most specific first (the caller passes the folder's before the model's).
 * A value that is zero, negative, not finite, above 1 mm or below 1 pm per pixel is skipped with a
 * warning and the next one is tried.
 */
export function resolveCalibration(
  candidates: readonly Calibration[],
  overrides: readonly CalibrationOverride[] = [],
): ResolvedCalibration {
  const warnings: string[] = [];
  const usable = (c: Calibration | undefined): c is Calibration => {
    if (!c) return false;
    const problem = calibrationProblem(c);
    if (problem) warnings.push(`${c.source} calibration ignored: ${problem} (${c.detail})`);
    return !problem;
  };
  const rank = (c: Calibration): number => {
    const i = FILE_SOURCE_ORDER.indexOf(c.source);
    return i === -1 ? FILE_SOURCE_ORDER.length : i;
  };
  const ordered = [
    ...overrides.filter((o) => o.override).map((o) => o.calibration),
    ...[...candidates].sort((a, b) => rank(a) - rank(b)),
    ...overrides.filter((o) => !o.override).map((o) => o.calibration),
  ];
  const chosen = ordered.find(usable) ?? UNCALIBRATED;
  return { ...chosen, warnings };
}

/**
 * The image area above the data bar, by the same rule as the calibration: a forced override's
 * `cropBottom`, else the file's own value, else an override's `cropBottom`, else none (the whole
 * image is analysed).
 */
export function resolveImageArea(
  imageHeight: number,
  fileArea: ImageArea | undefined,
  overrides: readonly CalibrationOverride[] = [],
): { imageArea?: ImageArea; warnings: string[] } {
  const warnings: string[] = [];
  const fromOverride = (o: CalibrationOverride): ImageArea | undefined =>
    o.cropBottom === undefined
      ? undefined
      : { height: imageHeight - o.cropBottom, source: `cropBottom=${o.cropBottom} in ${o.origin}` };
  const ordered = [
    ...overrides.filter((o) => o.override).map(fromOverride),
    fileArea,
    ...overrides.filter((o) => !o.override).map(fromOverride),
  ];
  const imageArea = ordered.find((area): area is ImageArea => {
    if (!area) return false;
    const ok = Number.isInteger(area.height) && area.height > 0 && area.height <= imageHeight;
    if (!ok) warnings.push(`image area ignored: ${area.source} leaves ${area.height} of ${imageHeight} rows`);
    return ok;
  });
  return imageArea ? { imageArea, warnings } : { warnings };
}

export interface ParseOverrideOptions {
  source: 'folder-override' | 'model-sidecar';
  /** The file the settings came from, for error messages and `detail`. */
  origin: string;
}

/**
 * Reads the calibration keys of a scopehive.json or model sidecar object:
 * `pixelSize` (or `pixelWidth`/`pixelHeight`), `unit` (required with a size: a wrong guess between
 * nm and µm would be a silent factor of 1000), `cropBottom` (rows) and `override`. Other keys are
 * left to their own readers. Returns undefined when none of these keys is present; a bad value
 * throws one line naming the file and the key.
 */
export function parseCalibrationOverride(
  raw: unknown,
  options: ParseOverrideOptions,
): CalibrationOverride | undefined {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return undefined;
  const { pixelSize, pixelWidth, pixelHeight, unit, cropBottom, override } = raw as Record<string, unknown>;
  const { origin, source } = options;
  const fail = (key: string, expected: string): never => {
    throw new Error(`${origin}: "${key}" must be ${expected}`);
  };
  const size = (key: string, v: unknown): number | undefined =>
    v === undefined
      ? undefined
      : typeof v === 'number' && Number.isFinite(v) && v > 0
        ? v
        : fail(key, 'a positive number');
  const both = size('pixelSize', pixelSize);
  const width = size('pixelWidth', pixelWidth) ?? both;
  const height = size('pixelHeight', pixelHeight) ?? both ?? width;
  if (cropBottom !== undefined && !(Number.isInteger(cropBottom) && (cropBottom as number) >= 0)) {
    fail('cropBottom', 'a whole number of rows, 0 or more');
  }
  if (override !== undefined && typeof override !== 'boolean') fail('override', 'true or false');
  if (width === undefined && cropBottom === undefined) return undefined;
  const result: CalibrationOverride = { source, origin, override: override === true };
  if (cropBottom !== undefined) result.cropBottom = cropBottom as number;
  if (width !== undefined && height !== undefined) {
    if (typeof unit !== 'string' || canonicalLengthUnit(unit) === undefined) {
      fail('unit', 'a length unit such as "nm" or "µm" when a pixel size is given');
    }
    const sizeText = width === height ? `pixelSize=${width}` : `pixelWidth=${width}, pixelHeight=${height}`;
    result.calibration = lengthCalibration({
      source,
      width,
      height,
      unit: unit as string,
      detail: `${sizeText} ${unit} in ${origin}${result.override ? ' (override: true)' : ''}`,
    });
  }
  return result;
}
