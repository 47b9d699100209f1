/**
 * Puts scopehive's measurement of a region beside ImageJ's row for it, column by column, with the
 * tolerances the issue sets: Area, the bounding box and the grey values exactly (to ImageJ's nine
 * printed decimals), everything else within `relative` (the issue allows 0.5 %).
 */

import { IMAGEJ_HEADINGS, type RegionMeasurement } from '../../services/inference/src/core/measure/region.ts';
import type { ImageJRow } from './imagej.ts';

/** Columns ImageJ prints that must agree to its printed precision. */
export const EXACT_COLUMNS = [
  'Area',
  'BX',
  'BY',
  'Width',
  'Height',
  'Mean',
  'Min',
  'Max',
  'IntDen',
  'RawIntDen',
];

/** Our measurement under ImageJ's headings, in the calibrated unit when there is one (as ImageJ's). */
export function asImageJRow(m: RegionMeasurement): Record<string, number | null> {
  const v = m.calibrated ?? m.pixels;
  const values: Record<Exclude<keyof typeof IMAGEJ_HEADINGS, 'ecd'>, number | null> = {
    area: v.area,
    mean: m.grey?.mean ?? null,
    min: m.grey?.min ?? null,
    max: m.grey?.max ?? null,
    x: v.x,
    y: v.y,
    perim: v.perim,
    bx: v.bx,
    by: v.by,
    width: v.width,
    height: v.height,
    major: v.major,
    minor: v.minor,
    angle: m.angle,
    circ: m.circ,
    feret: v.feret,
    intDen: v.intDen,
    rawIntDen: m.grey?.rawIntDen ?? null,
    feretX: m.feretX,
    feretY: m.feretY,
    feretAngle: m.feretAngle,
    minFeret: v.minFeret,
    ar: m.ar,
    round: m.round,
    solidity: m.solidity,
  };
  return Object.fromEntries(
    Object.entries(values).map(([key, value]) => [IMAGEJ_HEADINGS[key as keyof typeof values], value]),
  );
}

export interface Difference {
  label: number;
  column: string;
  imagej: number;
  ours: number | null;
  relative: number;
}

/** The largest relative difference per column over all rows, and every value out of tolerance. */
export function compareRows(
  ours: RegionMeasurement[],
  imagej: ImageJRow[],
  relative: number,
  columns?: string[],
): { worst: Record<string, number>; failures: Difference[] } {
  const worst: Record<string, number> = {};
  const failures: Difference[] = [];
  for (const row of imagej) {
    const m = ours.find((o) => o.label === row.k);
    if (!m) {
      failures.push({ label: row.k, column: 'label', imagej: row.k, ours: null, relative: Number.NaN });
      continue;
    }
    const mine = asImageJRow(m);
    for (const column of columns ?? Object.keys(mine)) {
      const theirs = row[column];
      const value = mine[column] ?? null;
      const scale = Math.max(1, Math.abs(theirs));
      const difference = value === null || theirs === undefined ? Number.NaN : Math.abs(value - theirs);
      // ImageJ prints nine decimals: "exact" is within half a unit of the last one (and of a double's precision).
      const allowed = EXACT_COLUMNS.includes(column) ? 5e-10 + Math.abs(theirs) * 1e-14 : relative * scale;
      worst[column] = Math.max(worst[column] ?? 0, difference / scale);
      if (!(difference <= allowed)) {
        failures.push({ label: row.k, column, imagej: theirs, ours: value, relative: difference / scale });
      }
    }
  }
  return { worst, failures };
}
