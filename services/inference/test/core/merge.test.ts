import { describe, expect, it } from 'vitest';
import {
  intersectionOverSmaller,
  isCutByTile,
  type MergeOptions,
  mergeTileDetections,
  offsetBox,
  type TileDetection,
} from '../../src/core/merge.ts';
import { type Tile, tileGrid } from '../../src/core/tiling.ts';
import type { Box } from '../../src/core/types.ts';

const options: MergeOptions = { iou: 0.45, ios: 0.6, maxDetections: 300 };

const NAMES = ['particle', 'pore'];

function det(box: Box, score: number, cut = false, classId = 0): TileDetection {
  return { classId, className: NAMES[classId], score, box, cut };
}

// A 1152×640 area in two 640-pixel tiles at 20 % overlap: they share x 512..640.
const left: Tile = { x: 0, y: 0, width: 640, height: 640, index: 0 };
const right: Tile = { x: 512, y: 0, width: 640, height: 640, index: 1 };

describe('intersectionOverSmaller', () => {
  it('divides the shared area by the smaller box', () => {
    // 5×5 shared, smaller box 10×10.
    expect(intersectionOverSmaller([0, 0, 10, 10], [5, 5, 25, 25])).toBe(0.25);
    expect(intersectionOverSmaller([5, 5, 25, 25], [0, 0, 10, 10])).toBe(0.25);
  });

  it('is 1 for a box inside another, whatever their sizes', () => {
    expect(intersectionOverSmaller([0, 0, 100, 100], [10, 10, 20, 20])).toBe(1);
  });

  it('is 0 for disjoint, edge-touching or empty boxes', () => {
    expect(intersectionOverSmaller([0, 0, 10, 10], [20, 0, 30, 10])).toBe(0);
    expect(intersectionOverSmaller([0, 0, 10, 10], [10, 0, 20, 10])).toBe(0);
    expect(intersectionOverSmaller([5, 5, 5, 5], [0, 0, 10, 10])).toBe(0);
  });
});

describe('offsetBox', () => {
  it('moves a box from tile pixels to image pixels', () => {
    expect(offsetBox([10, 20, 30, 40], right)).toEqual([522, 20, 542, 40]);
    expect(offsetBox([10, 20, 30, 40], { x: 100, y: 200, width: 640, height: 640, index: 3 })).toEqual([
      110, 220, 130, 240,
    ]);
  });

  it('clips to the tile first, so a box never leaves the image', () => {
    expect(offsetBox([-3, 630, 645, 650], right)).toEqual([512, 630, 1152, 640]);
    expect(offsetBox([-5, -5, 10, 10], left)).toEqual([0, 0, 10, 10]);
  });
});

describe('isCutByTile', () => {
  it('flags a box touching an edge shared with a neighbour', () => {
    expect(isCutByTile([600, 100, 640, 150], left, 1152, 640)).toBe(true);
    expect(isCutByTile([600, 100, 638, 150], left, 1152, 640)).toBe(true);
    expect(isCutByTile([0, 100, 40, 150], right, 1152, 640)).toBe(true);
    expect(isCutByTile([2, 100, 40, 150], right, 1152, 640)).toBe(true);
  });

  it('does not flag a box clear of the seam by more than the margin', () => {
    expect(isCutByTile([600, 100, 637, 150], left, 1152, 640)).toBe(false);
    expect(isCutByTile([3, 100, 40, 150], right, 1152, 640)).toBe(false);
  });

  it('does not flag a box touching the image border', () => {
    // Left tile: its left, top and bottom edges are the image border.
    expect(isCutByTile([0, 0, 40, 640], left, 1152, 640)).toBe(false);
    // Right tile: its right edge is the image border.
    expect(isCutByTile([600, 100, 640, 150], right, 1152, 640)).toBe(false);
  });

  it('checks top and bottom edges of tiles inside a grid', () => {
    const middle: Tile = { x: 512, y: 512, width: 640, height: 640, index: 4 };
    expect(isCutByTile([100, 0, 140, 40], middle, 2000, 2000)).toBe(true);
    expect(isCutByTile([100, 600, 140, 640], middle, 2000, 2000)).toBe(true);
    expect(isCutByTile([100, 100, 140, 140], middle, 2000, 2000)).toBe(false);
    // The same bottom edge is the image border when the image ends there.
    expect(isCutByTile([100, 600, 140, 640], middle, 2000, 1152)).toBe(false);
  });

  it('honours a custom margin', () => {
    expect(isCutByTile([600, 100, 639, 150], left, 1152, 640, 0)).toBe(false);
    expect(isCutByTile([600, 100, 640, 150], left, 1152, 640, 0)).toBe(true);
    expect(isCutByTile([600, 100, 630, 150], left, 1152, 640, 10)).toBe(true);
  });

  it('never flags the single tile of an image no larger than the input', () => {
    const whole: Tile = { x: 0, y: 0, width: 300, height: 200, index: 0 };
    expect(isCutByTile([0, 0, 300, 200], whole, 300, 200)).toBe(false);
  });
});

describe('mergeTileDetections', () => {
  it('counts a large object cut by the seam once, with the box of the whole object', () => {
    // The object spans x 430..730. The left tile sees 430..640 (210 px), the right one 512..730 (218 px):
    // IoU = 128 / 300 = 0.43 is below 0.45, but IoS = 128 / 210 = 0.61 is above 0.6.
    const a = det(
      offsetBox([430, 100, 640, 200], left),
      0.8,
      isCutByTile([430, 100, 640, 200], left, 1152, 640),
    );
    const b = det(
      offsetBox([0, 100, 218, 200], right),
      0.7,
      isCutByTile([0, 100, 218, 200], right, 1152, 640),
    );
    expect(a.cut && b.cut).toBe(true);
    expect(mergeTileDetections([a, b], options)).toEqual([
      { classId: 0, className: 'particle', score: 0.8, box: [430, 100, 730, 200] },
    ]);
  });

  it('keeps both halves when neither is marked cut (IoS only applies at seams)', () => {
    const merged = mergeTileDetections(
      [det([430, 100, 640, 200], 0.8), det([512, 100, 730, 200], 0.7)],
      options,
    );
    expect(merged.map((d) => d.box)).toEqual([
      [430, 100, 640, 200],
      [512, 100, 730, 200],
    ]);
  });

  it('restores a small particle from its cut part and its whole view, whichever scores higher', () => {
    // The particle is x 620..650: the left tile sees 620..640 (cut), the right one all of it.
    const part = (score: number) => det([620, 300, 640, 330], score, true);
    const whole = (score: number) => det([620, 300, 650, 330], score);
    const expected = [620, 300, 650, 330];
    expect(mergeTileDetections([part(0.9), whole(0.8)], options).map((d) => [d.box, d.score])).toEqual([
      [expected, 0.9],
    ]);
    expect(mergeTileDetections([part(0.8), whole(0.9)], options).map((d) => [d.box, d.score])).toEqual([
      [expected, 0.9],
    ]);
  });

  it('keeps the best box as it is for an uncut duplicate (plain NMS)', () => {
    // Seen whole by both tiles: IoU = 29 · 30 / (31 · 30) = 0.94.
    expect(
      mergeTileDetections([det([551, 50, 581, 80], 0.85), det([550, 50, 580, 80], 0.9)], options),
    ).toEqual([{ classId: 0, className: 'particle', score: 0.9, box: [550, 50, 580, 80] }]);
  });

  it('keeps touching objects of different classes', () => {
    const particle = det([600, 100, 640, 140], 0.9, true, 0);
    const pore = det([640, 100, 680, 140], 0.8, true, 1);
    expect(mergeTileDetections([particle, pore], options).map((d) => d.className)).toEqual([
      'particle',
      'pore',
    ]);
  });

  it('never merges different classes, however much they overlap', () => {
    const merged = mergeTileDetections(
      [det([0, 0, 10, 10], 0.9, true, 0), det([0, 0, 10, 10], 0.8, true, 1)],
      options,
    );
    expect(merged).toHaveLength(2);
  });

  it('keeps touching particles of the same class at a seam apart', () => {
    const merged = mergeTileDetections(
      [det([600, 100, 640, 140], 0.9, true), det([640, 100, 680, 140], 0.8, true)],
      options,
    );
    expect(merged.map((d) => d.box)).toEqual([
      [600, 100, 640, 140],
      [640, 100, 680, 140],
    ]);
  });

  it('keeps particles of the same class far apart', () => {
    const merged = mergeTileDetections(
      [det([10, 10, 40, 40], 0.7, true), det([900, 500, 930, 530], 0.9, true)],
      options,
    );
    expect(merged.map((d) => [d.box, d.score])).toEqual([
      [[900, 500, 930, 530], 0.9],
      [[10, 10, 40, 40], 0.7],
    ]);
  });

  it('keeps a small uncut particle lying on a large one, as a single pass would', () => {
    // IoU = 400 / 10000 = 0.04, IoS = 1.
    const merged = mergeTileDetections(
      [det([100, 100, 200, 200], 0.9), det([110, 110, 130, 130], 0.8)],
      options,
    );
    expect(merged).toHaveLength(2);
  });

  it('gathers pieces from four tiles meeting at a corner even when two pieces do not touch', () => {
    // Tiles of 640 at x, y ∈ {0, 512}; the particle is 630..650 on both axes. The top-left tile sees
    // only 630..640 (best score); the bottom-right tile sees 630..650 whole; the top-right piece
    // 640..650 × 630..640 shares no area with the top-left piece until the box has grown.
    const pieces = [
      det([630, 630, 640, 640], 0.9, true),
      det([640, 630, 650, 640], 0.85, true),
      det([630, 640, 640, 650], 0.84, true),
      det([630, 630, 650, 650], 0.8, false),
    ];
    expect(mergeTileDetections(pieces, options)).toEqual([
      { classId: 0, className: 'particle', score: 0.9, box: [630, 630, 650, 650] },
    ]);
  });

  it('stops at maxDetections, keeping the best', () => {
    const many = [0.5, 0.9, 0.7, 0.8, 0.6].map((score, i) => det([i * 100, 0, i * 100 + 20, 20], score));
    expect(mergeTileDetections(many, { ...options, maxDetections: 3 }).map((d) => d.score)).toEqual([
      0.9, 0.8, 0.7,
    ]);
    expect(mergeTileDetections(many, { ...options, maxDetections: 0 })).toEqual([]);
  });

  it('keeps equal scores in input order', () => {
    const merged = mergeTileDetections([det([0, 0, 10, 10], 0.5), det([50, 0, 60, 10], 0.5)], options);
    expect(merged.map((d) => d.box[0])).toEqual([0, 50]);
  });

  it('suppresses only above the thresholds, not at them', () => {
    // IoU = 50 / 150 = 1/3.
    const pair = [det([0, 0, 10, 10], 0.9), det([5, 0, 15, 10], 0.8)];
    expect(mergeTileDetections(pair, { ...options, iou: 1 / 3 })).toHaveLength(2);
    expect(mergeTileDetections(pair, { ...options, iou: 0.33 })).toHaveLength(1);
    // IoS = 50 / 100 = 0.5 for the same pair once one is cut.
    const cutPair = [det([0, 0, 10, 10], 0.9, true), det([5, 0, 15, 10], 0.8)];
    expect(mergeTileDetections(cutPair, { ...options, iou: 0.9, ios: 0.5 })).toHaveLength(2);
    expect(mergeTileDetections(cutPair, { ...options, iou: 0.9, ios: 0.49 })).toHaveLength(1);
  });

  it('does not change its input', () => {
    const input = [det([430, 100, 640, 200], 0.8, true), det([512, 100, 730, 200], 0.7, true)];
    const copy = structuredClone(input);
    mergeTileDetections(input, options);
    expect(input).toEqual(copy);
  });

  it('returns nothing for nothing and rejects thresholds outside 0..1', () => {
    expect(mergeTileDetections([], options)).toEqual([]);
    expect(() => mergeTileDetections([], { ...options, iou: 1.5 })).toThrow(/iou/);
    expect(() => mergeTileDetections([], { ...options, ios: Number.NaN })).toThrow(/ios/);
  });
});

describe('tiling and merging together', () => {
  /** Park–Miller minimal standard generator, so every run places the same particles. */
  function lcg(seed: number): () => number {
    let state = seed;
    return () => {
      state = (state * 48271) % 2147483647;
      return state / 2147483647;
    };
  }

  it('counts every particle once with its full box, near seams, corners and image edges', () => {
    const random = lcg(7);
    const width = 2000;
    const height = 1450;
    const tiles = tileGrid(width, height, { tileWidth: 640, tileHeight: 640, overlap: 0.2 });
    for (let round = 0; round < 20; round++) {
      // Particles up to 100 px (smaller than the 128-pixel overlap) on a grid of 160-pixel cells, so
      // they never overlap one another; a third of them hug a cell edge (so the image border too).
      const particles: Box[] = [];
      for (let cy = 0; cy < height; cy += 150) {
        for (let cx = 0; cx < width; cx += 160) {
          if (random() < 0.3) continue;
          const w = 5 + Math.floor(random() * 95);
          const h = 5 + Math.floor(random() * 95);
          const x = random() < 0.3 ? cx : cx + Math.floor(random() * (150 - w));
          const y = random() < 0.3 ? cy : cy + Math.floor(random() * (140 - h));
          // Clipped by the right and bottom borders, as a detector clips them.
          if (x + 3 < width && y + 3 < height)
            particles.push([x, y, Math.min(x + w, width), Math.min(y + h, height)]);
        }
      }
      // A perfect detector: what each tile sees of each particle, in tile pixels, then mapped back.
      const seen: TileDetection[] = [];
      for (const tile of tiles) {
        for (const p of particles) {
          const local: Box = [p[0] - tile.x, p[1] - tile.y, p[2] - tile.x, p[3] - tile.y];
          const visible = offsetBox(local, tile);
          if (visible[2] <= visible[0] || visible[3] <= visible[1]) continue;
          const inTile: Box = [
            visible[0] - tile.x,
            visible[1] - tile.y,
            visible[2] - tile.x,
            visible[3] - tile.y,
          ];
          seen.push({
            ...det(visible, 0.3 + 0.7 * random()),
            cut: isCutByTile(inTile, tile, width, height),
          });
        }
      }
      const merged = mergeTileDetections(seen, { ...options, maxDetections: 10_000 });
      const sortBoxes = (boxes: Box[]) => [...boxes].sort((a, b) => a[1] - b[1] || a[0] - b[0]);
      expect(sortBoxes(merged.map((d) => d.box))).toEqual(sortBoxes(particles));
      expect(seen.length).toBeGreaterThan(particles.length);
      for (const d of merged) {
        expect(d.box[0]).toBeGreaterThanOrEqual(0);
        expect(d.box[1]).toBeGreaterThanOrEqual(0);
        expect(d.box[2]).toBeLessThanOrEqual(width);
        expect(d.box[3]).toBeLessThanOrEqual(height);
      }
    }
  });
});
