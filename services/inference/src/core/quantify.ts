/**
 * Quantitation: per-feature measurements and per-image statistics from detection boxes.
 *
 * Every size here comes from the bounding box, not from a segmented outline: area is width × height
 * and the equivalent circular diameter (ECD) is that of a circle with the box's area, 2·√(w·h/π).
 * For a round particle the box area is 4/π ≈ 1.27 times the particle's, so box ECD is ≈ 1.13 times
 * the true diameter; results state this rather than hide it.
 */

import type { ResultSizeStats } from '@scopehive/shared';
import type { Box, Detection } from './types.ts';

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
  areaPx: number;
  /** equivalent circular diameter from the box area: 2·√(w·h/π), box-based */
  ecdPx: number;
  /** true when the box touches the analysed area's border within 1 px (feature may be cut: scientists exclude these) */
  edgeTouching: boolean;
  /** physical values in nm (nm²) when calibrated, else absent */
  widthNm?: number;
  heightNm?: number;
  areaNm2?: number;
  ecdNm?: number;
  centroidXNm?: number;
  centroidYNm?: number;
}

/**
 * Size statistics (sample SD, n − 1; 0 when n < 2): the same shape as the result document's, so
 * there is one definition of what a summary holds.
 */
export type SizeStats = ResultSizeStats;

export interface ClassSummary {
  className: string;
  count: number;
  totalAreaPx: number;
  totalAreaNm2?: number;
  /** % area: sum of box areas / analysed area × 100 */
  areaFraction: number;
  densityPerUm2?: number;
  /** ECD statistics in nm when calibrated, else in px */
  ecd: SizeStats;
  unit: 'nm' | 'px';
}

export interface ImageSummary {
  count: number;
  totalAreaPx: number;
  totalAreaNm2?: number;
  areaFraction: number;
  densityPerUm2?: number;
  /** mean ECD in `unit`; absent when nothing was found */
  meanEcd?: number;
  unit: 'nm' | 'px';
  classes: ClassSummary[];
  /** ECD statistics in `unit`; absent when nothing was found */
  ecd?: SizeStats;
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

/** Measures each detection (same order) in pixels, and in nm when the pixel size is known. */
export function measureFeatures(
  dets: readonly Detection[],
  area: AnalysedArea,
  pixelSize?: PixelSize,
): Feature[] {
  assertArea(area);
  assertPixelSize(pixelSize);
  return dets.map((d) => {
    const [x1, y1, x2, y2] = d.box;
    const widthPx = x2 - x1;
    const heightPx = y2 - y1;
    const areaPx = widthPx * heightPx;
    const centroidX = (x1 + x2) / 2;
    const centroidY = (y1 + y2) / 2;
    const feature: Feature = {
      classId: d.classId,
      className: d.className,
      score: d.score,
      box: [x1, y1, x2, y2],
      centroidX,
      centroidY,
      widthPx,
      heightPx,
      areaPx,
      ecdPx: ecd(areaPx),
      edgeTouching:
        x1 <= EDGE_MARGIN ||
        y1 <= EDGE_MARGIN ||
        x2 >= area.width - EDGE_MARGIN ||
        y2 >= area.height - EDGE_MARGIN,
    };
    if (pixelSize) {
      const areaNm2 = areaPx * pixelSize.x * pixelSize.y;
      feature.widthNm = widthPx * pixelSize.x;
      feature.heightNm = heightPx * pixelSize.y;
      feature.areaNm2 = areaNm2;
      feature.ecdNm = ecd(areaNm2);
      feature.centroidXNm = centroidX * pixelSize.x;
      feature.centroidYNm = centroidY * pixelSize.y;
    }
    return feature;
  });
}

/** Percentile p (0..1) of ascending values by linear interpolation between order statistics. */
function percentile(sorted: readonly number[], p: number): number {
  const h = (sorted.length - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

/**
 * Size statistics; undefined for no values. Percentiles (median = D50, D10, D90) interpolate
 * linearly between order statistics, NumPy's default `method='linear'` (Hyndman & Fan type 7): for
 * n ascending values x₀…xₙ₋₁ the p-quantile is x_⌊h⌋ + (h − ⌊h⌋)·(x_⌊h⌋₊₁ − x_⌊h⌋) with h = (n − 1)·p.
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
    sd: count < 2 ? 0 : Math.sqrt(squares / (count - 1)),
    median,
    d10: percentile(sorted, 0.1),
    d50: median,
    d90: percentile(sorted, 0.9),
    min: sorted[0],
    max: sorted[count - 1],
  };
}

interface Totals {
  count: number;
  totalAreaPx: number;
  totalAreaNm2?: number;
  areaFraction: number;
  densityPerUm2?: number;
  ecd?: SizeStats;
}

function totals(features: readonly Feature[], area: AnalysedArea, pixelSize?: PixelSize): Totals {
  const areaPx = area.width * area.height;
  let totalAreaPx = 0;
  for (const f of features) totalAreaPx += f.areaPx;
  const nm2PerPx = pixelSize ? pixelSize.x * pixelSize.y : 1;
  const result: Totals = {
    count: features.length,
    totalAreaPx,
    areaFraction: (totalAreaPx * 100) / areaPx,
    ecd: sizeStats(features.map((f) => ecd(f.areaPx * nm2PerPx))),
  };
  if (pixelSize) {
    result.totalAreaNm2 = totalAreaPx * nm2PerPx;
    // nm² to µm²: 1 µm² = 10⁶ nm².
    result.densityPerUm2 = (features.length * 1e6) / (areaPx * nm2PerPx);
  }
  return result;
}

/**
 * Per-image and per-class statistics over the analysed area. Sizes (ECD) are in nm when the pixel
 * size is known, else in pixels, as `unit` says; areas are given in px² always and nm² when
 * calibrated. % area sums box areas, so overlapping boxes count twice and it can exceed the covered
 * fraction. Every feature is counted: to follow ImageJ's "Exclude on edges", pass only the features
 * that are not `edgeTouching`. Classes come in class-id order.
 */
export function summarise(
  features: readonly Feature[],
  area: AnalysedArea,
  pixelSize?: PixelSize,
): ImageSummary {
  assertArea(area);
  assertPixelSize(pixelSize);
  const unit = pixelSize ? 'nm' : 'px';
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
    .map(([className, group]): ClassSummary => {
      const { ecd: stats, ...rest } = totals(group.features, area, pixelSize);
      return { className, ...rest, ecd: stats!, unit };
    });
  const { ecd: stats, ...all } = totals(features, area, pixelSize);
  const summary: ImageSummary = { ...all, unit, classes };
  if (stats) {
    summary.meanEcd = stats.mean;
    summary.ecd = stats;
  }
  return summary;
}

/** A display unit for lengths given in nm: nm below 1000 nm, µm below 1 mm, else mm; divide by `perNm`. */
export function displayUnit(maxNm: number): { unit: 'nm' | 'µm' | 'mm'; perNm: number } {
  if (!(maxNm >= 1000)) return { unit: 'nm', perNm: 1 };
  if (maxNm < 1e6) return { unit: 'µm', perNm: 1e3 };
  return { unit: 'mm', perNm: 1e6 };
}
