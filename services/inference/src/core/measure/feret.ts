/**
 * Convex hull and Feret values as ImageJ's Roi.getFeretValues computes them from a traced outline.
 *
 * The hull is a gift-wrap that starts at the topmost-leftmost vertex and skips collinear vertices
 * (FloatPolygon.getConvexHull); the walking order matters because Feret ties (a square's two
 * diagonals) go to the first pair met in that order. Feret is the largest vertex distance, FeretAngle
 * its direction (0–180°, from its left end), FeretX/FeretY that left end; MinFeret is the smallest
 * caliper width over the hull's edges (rotating calipers). Distances use the pixel size (w, h).
 */

import type { Outline } from './outline.ts';

/** The convex hull of an outline's vertices, in ImageJ's order. */
export function convexHull(points: Outline): Outline {
  const { xs, ys } = points;
  const n = xs.length;
  const hx: number[] = [];
  const hy: number[] = [];
  if (n === 0) return { xs: hx, ys: hy };
  let smallestY = Number.POSITIVE_INFINITY;
  for (const y of ys) if (y < smallestY) smallestY = y;
  let first = 0;
  let smallestX = Number.POSITIVE_INFINITY;
  for (let i = 0; i < n; i++) {
    if (ys[i] === smallestY && xs[i] < smallestX) {
      smallestX = xs[i];
      first = i;
    }
  }
  let p1 = first;
  do {
    const x1 = xs[p1];
    const y1 = ys[p1];
    let p2 = p1;
    let x2 = 0;
    let y2 = 0;
    do {
      p2 = (p2 + 1) % n;
      if (p2 === p1) break;
      x2 = xs[p2];
      y2 = ys[p2];
    } while (x2 === x1 && y2 === y1);
    let p3 = (p2 + 1) % n;
    if (p2 !== p1) {
      do {
        const x3 = xs[p3];
        const y3 = ys[p3];
        // Positive when the path p1 → p2 → p3 bends clockwise at p2 (p2 is then inside the hull).
        const turn = x1 * (y2 - y3) - y1 * (x2 - x3) + (y3 * x2 - y2 * x3);
        let further = false;
        if (turn === 0 && p3 !== p2) {
          further = (x3 - x1) ** 2 + (y3 - y1) ** 2 > (x2 - x1) ** 2 + (y2 - y1) ** 2;
        }
        if (turn > 0 || further) {
          x2 = x3;
          y2 = y3;
          p2 = p3;
        }
        p3 = (p3 + 1) % n;
      } while (p3 !== p1);
    }
    hx.push(x1);
    hy.push(y1);
    if (p2 === p1) break;
    p1 = p2;
    if (hx.length > 1 && xs[p1] === hx[0] && ys[p1] === hy[0]) break;
  } while (p1 !== first);
  return { xs: hx, ys: hy };
}

/** The area of a polygon (shoelace), as ImageJ's Analyzer takes the convex hull's area for Solidity. */
export function polygonArea(polygon: Outline): number {
  const { xs, ys } = polygon;
  const n = xs.length;
  let twice = 0;
  for (let i = 0; i < n; i++) {
    const j = i === 0 ? n - 1 : i - 1;
    twice += (xs[i] + xs[j]) * (ys[i] - ys[j]);
  }
  return Math.abs(twice / 2);
}

export interface FeretValues {
  feret: number;
  /** degrees, 0 ≤ angle < 180, counter-clockwise from the x axis (y up, as ImageJ reports it) */
  feretAngle: number;
  minFeret: number;
  /** the Feret diameter's left end, pixel coordinates */
  feretX: number;
  feretY: number;
}

/** Feret values of a convex hull (from `convexHull`), with lengths scaled by the pixel size (w, h). */
export function feretValues(hull: Outline, w = 1, h = 1): FeretValues {
  const { xs, ys } = hull;
  const n = xs.length;
  let p1 = 0;
  let p2 = 0;
  let maxSquared = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const dx = (xs[i] - xs[j]) * w;
      const dy = (ys[i] - ys[j]) * h;
      const squared = dx * dx + dy * dy;
      if (squared > maxSquared) {
        maxSquared = squared;
        p1 = i;
        p2 = j;
      }
    }
  }
  if (xs[p1] > xs[p2]) [p1, p2] = [p2, p1];
  let feretAngle = (180 / Math.PI) * Math.atan2((ys[p1] - ys[p2]) * h, (xs[p2] - xs[p1]) * w);
  if (feretAngle < 0) feretAngle += 180;

  // Calipers: for each hull edge (i − 1, i), the farthest vertex from its line; the narrowest wins.
  let minFeret = Number.MAX_VALUE;
  let x0 = xs[n - 1];
  let y0 = ys[n - 1];
  for (let i = 0; i < n; i++) {
    const xPrev = x0;
    const yPrev = y0;
    x0 = xs[i];
    y0 = ys[i];
    let xNorm = (y0 - yPrev) * h;
    let yNorm = (xPrev - x0) * w;
    const scale = 1 / Math.sqrt(xNorm * xNorm + yNorm * yNorm);
    xNorm *= scale * w;
    yNorm *= scale * h;
    let widest = 0;
    for (let j = 0; j < n; j++) {
      const distance = (xs[j] - x0) * xNorm + (ys[j] - y0) * yNorm;
      if (distance > widest) widest = distance;
    }
    if (widest < minFeret) minFeret = widest;
  }
  return { feret: Math.sqrt(maxSquared), feretAngle, minFeret, feretX: xs[p1], feretY: ys[p1] };
}
