// Over 300 lines on purpose: per-feature values and the summary rules built on them (edges, covered
// area, too-few statistics) are one definition of what a result says; the geometry is in covered-area.ts.
/**
 * Quantitation: per-feature measurements and per-image statistics.
 *
 * A feature's area is its mask's pixel count when it has a mask (or the measured ImageJ `Area` when
 * measurements are given), else its box's width × height; the row says which (`source`). A box
 * overstates a round particle: its area is 4/π ≈ 1.27 × the particle's and its ECD ≈ 1.13 × the
 * true diameter. Feret is ImageJ's "longest distance between any two points along the selection
 * boundary": the measured `Feret` when given, else the box's diagonal √(w² + h²), which is what
 * ImageJ reports for a rectangular selection (a disc's box diagonal is √2 × its diameter).
 */

import type { ResultSizeStats } from '@scopehive/shared';
import {
  maskPixelCount,
  maskTouchesEdge,
  type RegionMask,
  unionBoxArea,
  unionMaskArea,
} from './covered-area.ts';
import type { Box, Detection } from './types.ts';

export type { RegionMask } from './covered-area.ts';

export interface PixelSize {
  /** nm per pixel along x and y */
  x: number;
  y: number;
}

/** The analysed area in pixels (the image above its data bar). */
export interface AnalysedArea {
  width: number;
  height: number;
}

/** ImageJ Set Measurements values by ImageJ's column names (Area, Perim., Feret, Mean, …). */
export type Measurements = Partial<Record<string, number>>;

/** Per-feature ImageJ measurements, from a mask or a box; `calibrated` lengths in nm, areas in nm². */
export interface FeatureMeasurements {
  source: 'mask' | 'box';
  pixel: Measurements;
  calibrated?: Measurements;
}

/** A detection, optionally with its region (mask) and ImageJ measurements. */
export interface FeatureInput extends Detection {
  mask?: RegionMask;
  measurements?: FeatureMeasurements;
}

/** ImageJ's "exclude on edges" (the default) or not, for size statistics; features are always counted. */
export type EdgeFeatures = 'exclude' | 'include';

export interface Feature {
  classId: number;
  className: string;
  score: number;
  /** pixels */
  box: Box;
  centroidX: number;
  centroidY: number;
  widthPx: number;
  heightPx: number;
  /** Where area, Feret and edge contact come from. */
  source: 'mask' | 'box';
  areaPx: number;
  /** equivalent circular diameter from the area: 2·√(A/π) */
  ecdPx: number;
  /** maximum caliper: measured, else the box diagonal */
  feretPx: number;
  /** true when the feature touches the analysed area's border (cut: excluded from size statistics by default) */
  edgeTouching: boolean;
  /** physical values in nm (nm²) when calibrated, else absent */
  widthNm?: number;
  heightNm?: number;
  areaNm2?: number;
  ecdNm?: number;
  feretNm?: number;
  centroidXNm?: number;
  centroidYNm?: number;
  /** kept for the feature's region union (%Area) */
  mask?: RegionMask;
  measurements?: FeatureMeasurements;
}

/**
 * Size statistics: the same shape as the result document's. SD (n − 1) and the percentiles (median,
 * D10, D50, D90) are null, never 0, below 2 values.
 */
export type SizeStats = ResultSizeStats;

export interface ClassSummary {
  className: string;
  /** every feature, edge-touching ones included */
  count: number;
  edgeTouchingCount: number;
  /** features in the size statistics */
  measuredCount: number;
  /** covered area, overlaps counted once */
  totalAreaPx: number;
  totalAreaNm2?: number;
  /** mean area of the measured features, px² (nm² in meanAreaNm2); absent when none */
  meanAreaPx?: number;
  meanAreaNm2?: number;
  /** % area: covered area / analysed area × 100, never above 100 */
  areaFraction: number;
  densityPerUm2?: number;
  /** ECD and Feret statistics of the measured features, in nm when calibrated, else in px */
  ecd?: SizeStats;
  feret?: SizeStats;
  unit: 'nm' | 'px';
}

export interface ImageSummary extends Omit<ClassSummary, 'className'> {
  /** mask when every feature has a mask, else box */
  areaSource: 'mask' | 'box';
  edgeFeatures: EdgeFeatures;
  /** mean ECD in `unit`; absent when nothing was measured */
  meanEcd?: number;
  classes: ClassSummary[];
}

/** A feature touching the border within this many pixels may extend beyond the analysed area. */
const EDGE_MARGIN = 1;

function assertArea(area: AnalysedArea): void {
  for (const [name, v] of [
    ['width', area.width],
    ['height', area.height],
  ] as const) {
    if (!(Number.isFinite(v) && v > 0)) throw new RangeError(`area ${name} must be positive, got ${v}`);
  }
}

function assertPixelSize(p: PixelSize | undefined): void {
  if (p === undefined) return;
  for (const [name, v] of [
    ['x', p.x],
    ['y', p.y],
  ] as const) {
    if (!(Number.isFinite(v) && v > 0))
      throw new RangeError(`pixel size ${name} must be positive nm, got ${v}`);
  }
}

function ecd(area: number): number {
  return 2 * Math.sqrt(area / Math.PI);
}

/** Measures each feature (same order) in pixels, and in nm when the pixel size is known. */
export function measureFeatures(
  dets: readonly FeatureInput[],
  area: AnalysedArea,
  pixelSize?: PixelSize,
): Feature[] {
  assertArea(area);
  assertPixelSize(pixelSize);
  return dets.map((d) => {
    const [x1, y1, x2, y2] = d.box;
    const widthPx = x2 - x1;
    const heightPx = y2 - y1;
    const measured = d.measurements;
    const source = measured?.source ?? (d.mask ? 'mask' : 'box');
    const areaPx =
      measured?.pixel.Area ?? (d.mask ? maskPixelCount(d.mask, area.width, area.height) : widthPx * heightPx);
    const centroidX = measured?.pixel.X ?? (x1 + x2) / 2;
    const centroidY = measured?.pixel.Y ?? (y1 + y2) / 2;
    const feature: Feature = {
      classId: d.classId,
      className: d.className,
      score: d.score,
      box: [x1, y1, x2, y2],
      centroidX,
      centroidY,
      widthPx,
      heightPx,
      source,
      areaPx,
      ecdPx: ecd(areaPx),
      feretPx: measured?.pixel.Feret ?? Math.hypot(widthPx, heightPx),
      edgeTouching: d.mask
        ? maskTouchesEdge(d.mask, area.width, area.height)
        : x1 <= EDGE_MARGIN ||
          y1 <= EDGE_MARGIN ||
          x2 >= area.width - EDGE_MARGIN ||
          y2 >= area.height - EDGE_MARGIN,
    };
    if (d.mask) feature.mask = d.mask;
    if (measured) feature.measurements = measured;
    if (pixelSize) {
      const calibrated = measured?.calibrated;
      const areaNm2 = calibrated?.Area ?? areaPx * pixelSize.x * pixelSize.y;
      feature.widthNm = widthPx * pixelSize.x;
      feature.heightNm = heightPx * pixelSize.y;
      feature.areaNm2 = areaNm2;
      feature.ecdNm = ecd(areaNm2);
      feature.feretNm = calibrated?.Feret ?? Math.hypot(feature.widthNm, feature.heightNm);
      feature.centroidXNm = centroidX * pixelSize.x;
      feature.centroidYNm = centroidY * pixelSize.y;
    }
    return feature;
  });
}

/** Percentile p (0..1) of ascending values by linear interpolation between order statistics. */
function percentile(sorted: readonly number[], p: number): number | null {
  // One value has no spread: a percentile would only repeat it, read as a measured distribution.
  if (sorted.length < 2) return null;
  const h = (sorted.length - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

/**
 * Size statistics; undefined for no values. Percentiles (median = D50, D10, D90) interpolate
 * linearly between order statistics, NumPy's default `method='linear'` (Hyndman & Fan type 7): for
 * n ascending values x₀…xₙ₋₁ the p-quantile is x_⌊h⌋ + (h − ⌊h⌋)·(x_⌊h⌋₊₁ − x_⌊h⌋) with h = (n − 1)·p.
 * SD and percentiles are null, never 0, when there are too few values (see SizeStats).
 */
export function sizeStats(values: readonly number[]): SizeStats | undefined {
  const count = values.length;
  if (count === 0) return undefined;
  for (const v of values) {
    if (!Number.isFinite(v)) throw new RangeError(`sizes must be finite numbers, got ${v}`);
  }
  const sorted = [...values].sort((a, b) => a - b);
  let sum = 0;
  for (const v of sorted) sum += v;
  const mean = sum / count;
  // Two passes (mean, then squared deviations) keep the SD accurate for tightly clustered sizes.
  let squares = 0;
  for (const v of sorted) squares += (v - mean) ** 2;
  const median = percentile(sorted, 0.5);
  return {
    count,
    mean,
    sd: count < 2 ? null : Math.sqrt(squares / (count - 1)),
    median,
    d10: percentile(sorted, 0.1),
    d50: median,
    d90: percentile(sorted, 0.9),
    min: sorted[0],
    max: sorted[count - 1],
  };
}

type Totals = Omit<ClassSummary, 'className' | 'unit'>;

function totals(
  features: readonly Feature[],
  area: AnalysedArea,
  options: { pixelSize?: PixelSize; edgeFeatures: EdgeFeatures; masks: boolean },
): Totals {
  const { pixelSize } = options;
  const areaPx = area.width * area.height;
  const totalAreaPx = options.masks
    ? unionMaskArea(
        features.map((f) => f.mask!),
        area.width,
        area.height,
      )
    : unionBoxArea(
        features.map((f) => f.box),
        area.width,
        area.height,
      );
  const measured = features.filter((f) => options.edgeFeatures === 'include' || !f.edgeTouching);
  const nm2PerPx = pixelSize ? pixelSize.x * pixelSize.y : 1;
  const result: Totals = {
    count: features.length,
    edgeTouchingCount: features.filter((f) => f.edgeTouching).length,
    measuredCount: measured.length,
    totalAreaPx,
    // Rounding in a mask paste can never push it past the whole: clamp, the union is ≤ the area.
    areaFraction: Math.min(100, (totalAreaPx * 100) / areaPx),
    ecd: sizeStats(measured.map((f) => (pixelSize ? f.ecdNm! : f.ecdPx))),
    feret: sizeStats(measured.map((f) => (pixelSize ? f.feretNm! : f.feretPx))),
  };
  if (measured.length > 0) {
    result.meanAreaPx = measured.reduce((sum, f) => sum + f.areaPx, 0) / measured.length;
    if (pixelSize) result.meanAreaNm2 = measured.reduce((sum, f) => sum + f.areaNm2!, 0) / measured.length;
  }
  if (pixelSize) {
    result.totalAreaNm2 = totalAreaPx * nm2PerPx;
    // nm² to µm²: 1 µm² = 10⁶ nm².
    result.densityPerUm2 = (features.length * 1e6) / (areaPx * nm2PerPx);
  }
  return result;
}

/**
 * Per-image and per-class statistics over the analysed area. Sizes (ECD, Feret) are in nm when the
 * pixel size is known, else in pixels, as `unit` says. Every feature is counted (count, density,
 * %Area); features touching the edge are left out of the size statistics and the mean area unless
 * `edgeFeatures` is `include` (ImageJ's "exclude on edges"). %Area is the covered area (the union
 * of the masks when every feature has one, else of the boxes) over the analysed area, so overlaps
 * count once. Classes come in class-id order.
 */
export function summarise(
  features: readonly Feature[],
  area: AnalysedArea,
  pixelSize?: PixelSize,
  options: { edgeFeatures?: EdgeFeatures } = {},
): ImageSummary {
  assertArea(area);
  assertPixelSize(pixelSize);
  const unit = pixelSize ? 'nm' : 'px';
  const edgeFeatures = options.edgeFeatures ?? 'exclude';
  const masks = features.length > 0 && features.every((f) => f.mask !== undefined);
  const settings = { pixelSize, edgeFeatures, masks };
  const byClass = new Map<string, { classId: number; features: Feature[] }>();
  for (const f of features) {
    const group = byClass.get(f.className);
    if (group) {
      group.classId = Math.min(group.classId, f.classId);
      group.features.push(f);
    } else {
      byClass.set(f.className, { classId: f.classId, features: [f] });
    }
  }
  const classes = [...byClass]
    .sort(([nameA, a], [nameB, b]) => a.classId - b.classId || (nameA < nameB ? -1 : nameA > nameB ? 1 : 0))
    .map(
      ([className, group]): ClassSummary => ({
        className,
        ...totals(group.features, area, settings),
        unit,
      }),
    );
  const all = totals(features, area, settings);
  const summary: ImageSummary = {
    ...all,
    unit,
    areaSource: masks ? 'mask' : 'box',
    edgeFeatures,
    classes,
  };
  if (all.ecd) summary.meanEcd = all.ecd.mean;
  return summary;
}

/** A display unit for lengths given in nm: nm below 1000 nm, µm below 1 mm, else mm; divide by `perNm`. */
export function displayUnit(maxNm: number): { unit: 'nm' | 'µm' | 'mm'; perNm: number } {
  if (!(maxNm >= 1000)) return { unit: 'nm', perNm: 1 };
  if (maxNm < 1e6) return { unit: 'µm', perNm: 1e3 };
  return { unit: 'mm', perNm: 1e6 };
}
