import { describe, expect, it } from 'vitest';
import { attachMergedMasks } from '../../src/core/mask-merge.ts';
import { type Mask, maskArea } from '../../src/core/masks.ts';
import { type MergeOptions, mergeTileDetections, type TileDetection } from '../../src/core/merge.ts';
import type { Box } from '../../src/core/types.ts';

const options: MergeOptions = { iou: 0.45, ios: 0.6, maxDetections: 300 };

/** A mask filling the box's pixels whole. */
function filled(box: Box): Mask {
  const [x1, y1, x2, y2] = box;
  const width = x2 - x1;
  const height = y2 - y1;
  return { x: x1, y: y1, width, height, data: new Uint8Array(width * height).fill(1) };
}

function det(box: Box, score: number, cut: boolean, classId = 0): TileDetection {
  return { classId, className: `c${classId}`, score, box, cut, mask: filled(box) };
}

function merge(pieces: TileDetection[]) {
  return attachMergedMasks(mergeTileDetections(pieces, options), pieces, options);
}

describe('attachMergedMasks', () => {
  it('gives a particle cut by a seam the union of its pieces, one feature and one mask', () => {
    // The particle spans x 600..700: one tile sees 600..660 of it, its neighbour 620..700.
    const left = det([600, 100, 660, 140], 0.7, true);
    const right = det([620, 100, 700, 140], 0.9, true);
    const merged = merge([left, right]);
    expect(merged).toHaveLength(1);
    expect(merged[0].box).toEqual([600, 100, 700, 140]);
    expect(maskArea(merged[0].mask!)).toBe(100 * 40);
  });

  it('joins pieces from four tiles meeting at a corner', () => {
    const pieces = [
      det([90, 90, 110, 100], 0.9, true),
      det([90, 100, 110, 110], 0.8, true),
      det([90, 95, 100, 110], 0.7, true),
      det([100, 90, 110, 105], 0.6, true),
    ];
    const merged = merge(pieces);
    expect(merged).toHaveLength(1);
    expect(merged[0].mask).toMatchObject({ x: 90, y: 90, width: 20, height: 20 });
    expect(maskArea(merged[0].mask!)).toBe(400);
  });

  it('keeps the stronger mask of an uncut object seen twice, as NMS does', () => {
    const strong = det([10, 10, 50, 50], 0.9, false);
    const weak = { ...det([12, 10, 52, 50], 0.8, false), mask: filled([12, 10, 52, 50]) };
    const merged = merge([weak, strong]);
    expect(merged).toHaveLength(1);
    expect(merged[0].mask).toBe(strong.mask);
  });

  it('leaves separate features, other classes and a small particle on a large one their own masks', () => {
    const large = det([0, 0, 100, 100], 0.9, false);
    const small = det([40, 40, 50, 50], 0.8, false);
    const other = det([600, 100, 640, 140], 0.7, true, 1);
    const far = det([300, 300, 320, 320], 0.6, false);
    const merged = merge([small, far, other, large]);
    expect(merged.map((d) => d.mask)).toEqual([large.mask, small.mask, other.mask, far.mask]);
  });
});
