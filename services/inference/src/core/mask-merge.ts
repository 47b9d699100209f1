/**
 * Masks across tile seams, pure: after `mergeTileDetections` (core/merge.ts) has made one detection of
 * an object's pieces, that detection gets the union of its pieces' masks, so one feature has one mask.
 *
 * The seam merge returns boxes, not the groups it formed, so the groups are recovered here by its own
 * rule: each merged detection's kept piece is the highest-ranked piece of its class and score whose box
 * lies inside the merged box; every other piece belongs to the first merged detection, by rank, of its
 * class ranked above it that it overlaps by IoS > min(iou, ios) (a piece absorbed across a seam lies
 * inside the grown box; one absorbed as a duplicate overlaps it by more than `iou`). Only pieces of a
 * seam group (a cut piece, or a box that grew) add their mask: a duplicate of an uncut object is
 * dropped whole, as NMS drops it.
 */

import { type Mask, unionMasks } from './masks.ts';
import { intersectionOverSmaller, type TileDetection } from './merge.ts';
import type { Box, Detection } from './types.ts';

function inside(a: Box, b: Box): boolean {
  return a[0] >= b[0] && a[1] >= b[1] && a[2] <= b[2] && a[3] <= b[3];
}

function sameBox(a: Box, b: Box): boolean {
  return a.every((v, i) => v === b[i]);
}

/** The merged detections (in the order `mergeTileDetections` gave them) with their pieces' masks joined. */
export function attachMergedMasks(
  merged: readonly Detection[],
  pieces: readonly TileDetection[],
  options: { iou: number; ios: number },
): Detection[] {
  const order = Array.from({ length: pieces.length }, (_, i) => i).sort(
    (i, j) => pieces[j].score - pieces[i].score || i - j,
  );
  const rank = new Int32Array(pieces.length);
  order.forEach((p, r) => {
    rank[p] = r;
  });
  const claimed = new Uint8Array(pieces.length);
  const kept = merged.map((m) => {
    const p = order.find(
      (i) =>
        !claimed[i] &&
        pieces[i].classId === m.classId &&
        pieces[i].score === m.score &&
        inside(pieces[i].box, m.box),
    );
    if (p !== undefined) claimed[p] = 1;
    return p;
  });
  const groups: Mask[][] = merged.map((_, j) => {
    const k = kept[j];
    return k !== undefined && pieces[k].mask ? [pieces[k].mask] : [];
  });
  const overlap = Math.min(options.iou, options.ios);
  for (const p of order) {
    if (claimed[p]) continue;
    const piece = pieces[p];
    const j = merged.findIndex((m, j) => {
      const k = kept[j];
      return (
        k !== undefined &&
        rank[k] < rank[p] &&
        m.classId === piece.classId &&
        intersectionOverSmaller(piece.box, m.box) > overlap
      );
    });
    if (j < 0) continue;
    const k = kept[j]!;
    const seam = piece.cut || pieces[k].cut || !sameBox(merged[j].box, pieces[k].box);
    if (seam && piece.mask) groups[j].push(piece.mask);
  }
  return merged.map((m, j) => (groups[j].length > 0 ? { ...m, mask: unionMasks(groups[j]) } : m));
}
