/**
 * Merging detections from overlapping tiles into one set for the whole analysed area.
 *
 * The rule (greedy non-maximum merging, NMM):
 * 1. Rank all detections by descending score (ties keep input order, so results are reproducible).
 * 2. Keep the best detection not yet absorbed. It absorbs every lower-ranked detection of the same
 *    class that overlaps it by IoU > `iou` (one object seen whole by two tiles), or by
 *    intersection-over-smaller (IoS) > `ios` when either of the two touches a tile seam (`cut`): the
 *    part of an object a tile edge cut off lies largely inside another view of it, so its IoS is high
 *    even though its IoU is low.
 * 3. When the kept detection or an absorbed one is cut, the kept box grows to the union of both, so
 *    an object cut by a seam is reported once with its full extent, and from then on the group counts
 *    as cut. Otherwise the kept box stays as it is: plain NMS, because two uncut views of one object
 *    differ only by noise.
 * 4. Overlap is measured against the box as it grows, and the scan repeats after it grew, so pieces
 *    from up to four tiles meeting at a corner are gathered even when two of them do not touch.
 * 5. The merged detection keeps the kept one's class and score, the highest of its group.
 * 6. Repeat until every detection is kept or absorbed, or `maxDetections` are kept.
 *
 * IoS is not applied between two uncut boxes: the model's own NMS kept such pairs within a tile (a
 * small particle on a large one), and merging them would make tiled results differ from a single
 * pass. Objects wider than the tile overlap can be cut into parts that share too little to match; the
 * optional whole-image pass is for those.
 */
import type { Tile } from './tiling.ts';
import type { Box, Detection } from './types.ts';

export interface MergeOptions {
  /** IoU above which same-class boxes are duplicates (default 0.45) */
  iou: number;
  /** intersection-over-smaller above which two same-class boxes are one object cut by a seam (default 0.6) */
  ios: number;
  maxDetections: number;
}

export interface TileDetection extends Detection {
  /** true when the box touches an inner edge of its tile (an edge that is not the image border), i.e. it may be cut */
  cut: boolean;
}

export const DEFAULT_MERGE_IOU = 0.45;
export const DEFAULT_MERGE_IOS = 0.6;
export const DEFAULT_CUT_MARGIN = 2;

function area(b: Box): number {
  return Math.max(0, b[2] - b[0]) * Math.max(0, b[3] - b[1]);
}

function intersection(a: Box, b: Box): number {
  const iw = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  const ih = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  return iw > 0 && ih > 0 ? iw * ih : 0;
}

function boxIou(a: Box, b: Box): number {
  const inter = intersection(a, b);
  if (inter === 0) return 0;
  return inter / (area(a) + area(b) - inter);
}

/** Intersection area over the smaller box's area; 0 when they do not overlap or either is empty. */
export function intersectionOverSmaller(a: Box, b: Box): number {
  const inter = intersection(a, b);
  if (inter === 0) return 0;
  return inter / Math.min(area(a), area(b));
}

function clamp(v: number, max: number): number {
  return Math.min(Math.max(v, 0), max);
}

/** Maps a box from tile pixels to image pixels, clipped to the tile first so it stays inside the image. */
export function offsetBox(box: Box, tile: Tile): Box {
  return [
    clamp(box[0], tile.width) + tile.x,
    clamp(box[1], tile.height) + tile.y,
    clamp(box[2], tile.width) + tile.x,
    clamp(box[3], tile.height) + tile.y,
  ];
}

/**
 * Whether a box (in tile pixels) touches an inner edge of its tile within `margin` pixels: an edge
 * shared with a neighbour, not the image border. Such a box may be part of an object the tile cut.
 */
export function isCutByTile(
  box: Box,
  tile: Tile,
  imageWidth: number,
  imageHeight: number,
  margin = DEFAULT_CUT_MARGIN,
): boolean {
  return (
    (tile.x > 0 && box[0] <= margin) ||
    (tile.y > 0 && box[1] <= margin) ||
    (tile.x + tile.width < imageWidth && box[2] >= tile.width - margin) ||
    (tile.y + tile.height < imageHeight && box[3] >= tile.height - margin)
  );
}

function assertFraction(name: string, value: number): void {
  if (!(value >= 0 && value <= 1))
    throw new RangeError(`${name} must be a fraction from 0 to 1, got ${value}`);
}

/** Greedy NMM across tile seams; see the rule at the top of this module. Detections come out by descending score. */
export function mergeTileDetections(dets: readonly TileDetection[], options: MergeOptions): Detection[] {
  assertFraction('iou', options.iou);
  assertFraction('ios', options.ios);
  const order = Array.from({ length: dets.length }, (_, i) => i).sort(
    (i, j) => dets[j].score - dets[i].score || i - j,
  );
  const absorbed = new Uint8Array(dets.length);
  const merged: Detection[] = [];
  for (let r = 0; r < order.length && merged.length < options.maxDetections; r++) {
    const k = order[r];
    if (absorbed[k]) continue;
    const kept = dets[k];
    const box: Box = [...kept.box];
    let cut = kept.cut;
    let grown = true;
    // A grown box can reach pieces it did not overlap before (four tiles meeting at a corner), so scan again.
    while (grown) {
      grown = false;
      for (let s = r + 1; s < order.length; s++) {
        const o = order[s];
        const other = dets[o];
        if (absorbed[o] || other.classId !== kept.classId) continue;
        const seam = cut || other.cut;
        const same =
          boxIou(box, other.box) > options.iou ||
          (seam && intersectionOverSmaller(box, other.box) > options.ios);
        if (!same) continue;
        absorbed[o] = 1;
        if (!seam) continue;
        cut = true;
        for (let i = 0; i < 4; i++) {
          const wider = i < 2 ? other.box[i] < box[i] : other.box[i] > box[i];
          if (wider) {
            box[i] = other.box[i];
            grown = true;
          }
        }
      }
    }
    merged.push({ classId: kept.classId, className: kept.className, score: kept.score, box });
  }
  return merged;
}
