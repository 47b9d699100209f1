import type { Candidates } from './decode.ts';

/** Intersection over union of two x1,y1,x2,y2 boxes stored at offsets of flat arrays; 0 when both are empty. */
export function iou(a: ArrayLike<number>, aOffset: number, b: ArrayLike<number>, bOffset: number): number {
  const ax1 = a[aOffset];
  const ay1 = a[aOffset + 1];
  const ax2 = a[aOffset + 2];
  const ay2 = a[aOffset + 3];
  const bx1 = b[bOffset];
  const by1 = b[bOffset + 1];
  const bx2 = b[bOffset + 2];
  const by2 = b[bOffset + 3];
  const iw = Math.min(ax2, bx2) - Math.max(ax1, bx1);
  const ih = Math.min(ay2, by2) - Math.max(ay1, by1);
  if (iw <= 0 || ih <= 0) return 0;
  const inter = iw * ih;
  const union = (ax2 - ax1) * (ay2 - ay1) + (bx2 - bx1) * (by2 - by1) - inter;
  return union > 0 ? inter / union : 0;
}

/** Candidate indices by descending score; ties keep decode order so results are reproducible. */
export function rankByScore(c: Candidates): number[] {
  const order = Array.from({ length: c.count }, (_, i) => i);
  const { scores } = c;
  return order.sort((i, j) => scores[j] - scores[i] || i - j);
}

/** Greedy NMS. Returns kept candidate indices sorted by descending score. Class-aware unless `agnostic`. Stops at maxDetections. */
export function nms(
  c: Candidates,
  options: { iou: number; maxDetections: number; agnostic?: boolean },
): number[] {
  const { boxes, classIds } = c;
  const threshold = options.iou;
  const agnostic = options.agnostic === true;
  const kept: number[] = [];
  if (options.maxDetections <= 0) return kept;
  // Comparing against kept boxes only (not all pairs) bounds the work by count × maxDetections.
  for (const i of rankByScore(c)) {
    let suppressed = false;
    for (const k of kept) {
      if ((agnostic || classIds[k] === classIds[i]) && iou(boxes, i * 4, boxes, k * 4) > threshold) {
        suppressed = true;
        break;
      }
    }
    if (suppressed) continue;
    kept.push(i);
    if (kept.length >= options.maxDetections) break;
  }
  return kept;
}
