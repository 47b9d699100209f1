/**
 * The area covered by features, overlaps counted once: what %Area must be so that it never passes
 * 100 %. Boxes are exact rectangles (their union by a sweep over x with a segment tree over y,
 * O(n log n)); masks are pixels (a pixel in two masks counts once).
 */
import type { Box } from './types.ts';

/** A feature's region: a binary mask (non-zero = inside) of width×height placed at (x, y) in image pixels. */
export interface RegionMask {
  x: number;
  y: number;
  width: number;
  height: number;
  data: Uint8Array;
}

/** Area (px²) of the union of boxes, clipped to [0, width] × [0, height]. */
export function unionBoxArea(boxes: readonly Box[], width: number, height: number): number {
  const clipped: Box[] = [];
  for (const [x1, y1, x2, y2] of boxes) {
    const b: Box = [Math.max(0, x1), Math.max(0, y1), Math.min(width, x2), Math.min(height, y2)];
    if (b[2] > b[0] && b[3] > b[1]) clipped.push(b);
  }
  if (clipped.length === 0) return 0;
  const ys = [...new Set(clipped.flatMap((b) => [b[1], b[3]]))].sort((a, b) => a - b);
  const yIndex = new Map(ys.map((y, i) => [y, i]));
  const events = clipped
    .flatMap(([x1, y1, x2, y2]) => [
      { x: x1, lo: yIndex.get(y1)!, hi: yIndex.get(y2)!, delta: 1 },
      { x: x2, lo: yIndex.get(y1)!, hi: yIndex.get(y2)!, delta: -1 },
    ])
    .sort((a, b) => a.x - b.x);
  const segments = ys.length - 1;
  // Node i covers elementary y-intervals; cover[i] counts boxes spanning it whole, covered[i] is the
  // length covered below it.
  const cover = new Int32Array(4 * segments);
  const covered = new Float64Array(4 * segments);
  const update = (node: number, l: number, r: number, lo: number, hi: number, delta: number): void => {
    if (hi <= l || r <= lo) return;
    if (lo <= l && r <= hi) cover[node] += delta;
    else {
      const mid = (l + r) >> 1;
      update(2 * node, l, mid, lo, hi, delta);
      update(2 * node + 1, mid, r, lo, hi, delta);
    }
    covered[node] =
      cover[node] > 0 ? ys[r] - ys[l] : r - l === 1 ? 0 : covered[2 * node] + covered[2 * node + 1];
  };
  let area = 0;
  let lastX = events[0].x;
  for (const e of events) {
    area += covered[1] * (e.x - lastX);
    lastX = e.x;
    update(1, 0, segments, e.lo, e.hi, e.delta);
  }
  return area;
}

/** Pixels (px²) inside at least one mask, within the width×height area. */
export function unionMaskArea(masks: readonly RegionMask[], width: number, height: number): number {
  const painted = new Uint8Array(width * height);
  let count = 0;
  for (const m of masks) {
    const x0 = Math.max(0, m.x);
    const y0 = Math.max(0, m.y);
    const x1 = Math.min(width, m.x + m.width);
    const y1 = Math.min(height, m.y + m.height);
    for (let y = y0; y < y1; y++) {
      for (let x = x0; x < x1; x++) {
        if (m.data[(y - m.y) * m.width + (x - m.x)] === 0) continue;
        const i = y * width + x;
        if (painted[i] === 0) {
          painted[i] = 1;
          count++;
        }
      }
    }
  }
  return count;
}

/** Pixels of a mask inside the width×height area. */
export function maskPixelCount(m: RegionMask, width: number, height: number): number {
  let count = 0;
  for (let y = Math.max(0, m.y); y < Math.min(height, m.y + m.height); y++) {
    for (let x = Math.max(0, m.x); x < Math.min(width, m.x + m.width); x++) {
      if (m.data[(y - m.y) * m.width + (x - m.x)] !== 0) count++;
    }
  }
  return count;
}

/** Whether a mask has a pixel on the first or last row or column of the width×height area. */
export function maskTouchesEdge(m: RegionMask, width: number, height: number): boolean {
  for (let y = 0; y < m.height; y++) {
    for (let x = 0; x < m.width; x++) {
      if (m.data[y * m.width + x] === 0) continue;
      const ix = m.x + x;
      const iy = m.y + y;
      if (ix <= 0 || iy <= 0 || ix >= width - 1 || iy >= height - 1) return true;
    }
  }
  return false;
}
