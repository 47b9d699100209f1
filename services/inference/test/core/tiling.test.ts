import { describe, expect, it } from 'vitest';
import { shouldTile, type Tile, type TilingOptions, tileCount, tileGrid } from '../../src/core/tiling.ts';

const yolo640: TilingOptions = { tileWidth: 640, tileHeight: 640, overlap: 0.2 };

function origins(tiles: Tile[], axis: 'x' | 'y'): number[] {
  return [...new Set(tiles.map((t) => t[axis]))].sort((a, b) => a - b);
}

/** Park–Miller minimal standard generator: the same 200 cases on every run. */
function lcg(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 48271) % 2147483647;
    return state / 2147483647;
  };
}

describe('tileGrid', () => {
  it('covers a 4096×4096 micrograph with 8×8 tiles of 640 at 20 % overlap', () => {
    // stride = round(640 · 0.8) = 512; n = ceil((4096 − 640) / 512) + 1 = ceil(6.75) + 1 = 8.
    const tiles = tileGrid(4096, 4096, yolo640);
    expect(tiles).toHaveLength(64);
    // floor(i · 3456 / 7): steps of 493 or 494 px, so neighbours share 146 px ≥ 128.
    const expected = [0, 493, 987, 1481, 1974, 2468, 2962, 3456];
    expect(origins(tiles, 'x')).toEqual(expected);
    expect(origins(tiles, 'y')).toEqual(expected);
    expect(tiles[0]).toEqual({ x: 0, y: 0, width: 640, height: 640, index: 0 });
    expect(tiles[63]).toEqual({ x: 3456, y: 3456, width: 640, height: 640, index: 63 });
  });

  it('returns tiles in row-major order with their index', () => {
    // x: ceil(640 / 512) + 1 = 3 tiles at 0, 320, 640; y: ceil(320 / 512) + 1 = 2 tiles at 0, 320.
    const tiles = tileGrid(1280, 960, yolo640);
    expect(tiles.map((t) => [t.index, t.x, t.y])).toEqual([
      [0, 0, 0],
      [1, 320, 0],
      [2, 640, 0],
      [3, 0, 320],
      [4, 320, 320],
      [5, 640, 320],
    ]);
  });

  it('keeps exactly the requested overlap when the length fits the stride', () => {
    // (1152 − 640) / 512 = 1: two tiles sharing 128 px.
    expect(origins(tileGrid(1152, 640, yolo640), 'x')).toEqual([0, 512]);
    // One pixel more needs a third tile; the three spread evenly (steps 256, 257).
    expect(origins(tileGrid(1153, 640, yolo640), 'x')).toEqual([0, 256, 513]);
  });

  it('abuts tiles without overlap at 0', () => {
    expect(origins(tileGrid(1280, 640, { ...yolo640, overlap: 0 }), 'x')).toEqual([0, 640]);
    expect(origins(tileGrid(1281, 640, { ...yolo640, overlap: 0 }), 'x')).toEqual([0, 320, 641]);
  });

  it('uses one tile, the whole image, when the image is no larger than a tile', () => {
    expect(tileGrid(640, 640, yolo640)).toEqual([{ x: 0, y: 0, width: 640, height: 640, index: 0 }]);
    expect(tileGrid(300, 200, yolo640)).toEqual([{ x: 0, y: 0, width: 300, height: 200, index: 0 }]);
    expect(tileGrid(1, 1, yolo640)).toEqual([{ x: 0, y: 0, width: 1, height: 1, index: 0 }]);
  });

  it('tiles only the long axis of a narrow strip', () => {
    // y: ceil(1360 / 512) + 1 = 4 tiles at floor(i · 1360 / 3).
    const tiles = tileGrid(300, 2000, yolo640);
    expect(tiles.map((t) => [t.x, t.y, t.width, t.height])).toEqual([
      [0, 0, 300, 640],
      [0, 453, 300, 640],
      [0, 906, 300, 640],
      [0, 1360, 300, 640],
    ]);
  });

  it('handles rectangular tiles', () => {
    // x: stride 512, ceil(360 / 512) + 1 = 2; y: stride round(480 · 0.8) = 384, ceil(520 / 384) + 1 = 3.
    const tiles = tileGrid(1000, 1000, { tileWidth: 640, tileHeight: 480, overlap: 0.2 });
    expect(origins(tiles, 'x')).toEqual([0, 360]);
    expect(origins(tiles, 'y')).toEqual([0, 260, 520]);
    expect(tiles.every((t) => t.width === 640 && t.height === 480)).toBe(true);
  });

  it('still advances when a tiny tile and a large overlap round the stride to 0', () => {
    // round(3 · 0.1) = 0 → stride 1: n = ceil(2 / 1) + 1 = 3.
    expect(origins(tileGrid(5, 3, { tileWidth: 3, tileHeight: 3, overlap: 0.9 }), 'x')).toEqual([0, 1, 2]);
  });

  it('rejects sizes that are not whole positive pixels and overlaps outside 0..0.9', () => {
    expect(() => tileGrid(0, 10, yolo640)).toThrow(/width/);
    expect(() => tileGrid(10, 10.5, yolo640)).toThrow(/height/);
    expect(() => tileGrid(10, 10, { ...yolo640, tileWidth: 0 })).toThrow(/tileWidth/);
    expect(() => tileGrid(10, 10, { ...yolo640, tileHeight: Number.NaN })).toThrow(/tileHeight/);
    expect(() => tileGrid(10, 10, { ...yolo640, overlap: 0.95 })).toThrow(/overlap/);
    expect(() => tileGrid(10, 10, { ...yolo640, overlap: -0.1 })).toThrow(/overlap/);
    expect(() => tileGrid(10, 10, { ...yolo640, overlap: Number.NaN })).toThrow(/overlap/);
    expect(() => tileCount(10, 10, { ...yolo640, overlap: 1 })).toThrow(/overlap/);
  });
});

describe('tileCount', () => {
  it('gives the count without building tiles', () => {
    expect(tileCount(4096, 4096, yolo640)).toBe(64);
    expect(tileCount(1280, 960, yolo640)).toBe(6);
    expect(tileCount(640, 640, yolo640)).toBe(1);
    expect(tileCount(100, 100, yolo640)).toBe(1);
    // 6144 × 4096 at 25 %: stride 480, x ceil(5504 / 480) + 1 = 13, y ceil(3456 / 480) + 1 = 9.
    expect(tileCount(6144, 4096, { ...yolo640, overlap: 0.25 })).toBe(117);
  });
});

describe('tiling properties over 200 random cases', () => {
  const random = lcg(20240611);
  const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
  const cases = Array.from({ length: 200 }, () => ({
    width: int(1, 1200),
    height: int(1, 1200),
    tileWidth: int(32, 1024),
    tileHeight: int(32, 1024),
    overlap: int(0, 90) / 100,
  }));

  /** The documented formula, written out independently of the module. */
  function perAxis(length: number, tile: number, overlap: number): number {
    const stride = Math.max(1, Math.round(tile * (1 - overlap)));
    return Math.max(1, Math.ceil((length - tile) / stride) + 1);
  }

  it('covers every pixel, stays inside the image and matches the closed-form count', () => {
    for (const { width, height, ...options } of cases) {
      const tiles = tileGrid(width, height, options);
      const expected =
        perAxis(width, options.tileWidth, options.overlap) *
        perAxis(height, options.tileHeight, options.overlap);
      expect(tiles.length).toBe(expected);
      expect(tileCount(width, height, options)).toBe(expected);

      // 2-D difference array: +1 inside each tile, then prefix sums give the cover count of each pixel.
      const diff = new Int32Array((width + 1) * (height + 1));
      const w1 = width + 1;
      const misplaced = tiles.filter(
        (t, i) =>
          t.index !== i ||
          t.width !== Math.min(options.tileWidth, width) ||
          t.height !== Math.min(options.tileHeight, height) ||
          t.x < 0 ||
          t.y < 0 ||
          t.x + t.width > width ||
          t.y + t.height > height,
      );
      expect(misplaced).toEqual([]);
      for (const t of tiles) {
        diff[t.y * w1 + t.x] += 1;
        diff[t.y * w1 + t.x + t.width] -= 1;
        diff[(t.y + t.height) * w1 + t.x] -= 1;
        diff[(t.y + t.height) * w1 + t.x + t.width] += 1;
      }
      let uncovered = 0;
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
          const i = y * w1 + x;
          diff[i] +=
            (x > 0 ? diff[i - 1] : 0) + (y > 0 ? diff[i - w1] : 0) - (x > 0 && y > 0 ? diff[i - w1 - 1] : 0);
          if (diff[i] < 1) uncovered++;
        }
      }
      expect(uncovered, `${width}×${height} ${JSON.stringify(options)}`).toBe(0);
    }
  });

  it('is row-major, ends the last row and column at the edge, and spreads tiles evenly', () => {
    for (const { width, height, ...options } of cases) {
      const tiles = tileGrid(width, height, options);
      const xs = origins(tiles, 'x');
      const ys = origins(tiles, 'y');
      expect(tiles.map((t) => [t.x, t.y])).toEqual(ys.flatMap((y) => xs.map((x) => [x, y])));
      expect(xs[0]).toBe(0);
      expect(ys[0]).toBe(0);
      expect(xs.at(-1)! + tiles[0].width).toBe(width);
      expect(ys.at(-1)! + tiles[0].height).toBe(height);
      for (const axis of [xs, ys]) {
        const steps = axis.slice(1).map((v, i) => v - axis[i]);
        if (steps.length > 0) expect(Math.max(...steps) - Math.min(...steps)).toBeLessThanOrEqual(1);
      }
    }
  });

  it('overlaps neighbours by at least the requested fraction, to the whole pixel', () => {
    let checked = 0;
    for (const { width, height, ...options } of cases) {
      const tiles = tileGrid(width, height, options);
      for (const [axis, tile] of [
        ['x', options.tileWidth],
        ['y', options.tileHeight],
      ] as const) {
        const starts = origins(tiles, axis);
        const stride = Math.max(1, Math.round(tile * (1 - options.overlap)));
        for (let i = 1; i < starts.length; i++) {
          const shared = starts[i - 1] + tile - starts[i];
          expect(shared).toBeGreaterThanOrEqual(tile - stride);
          // Rounding the stride may give back at most half a pixel of the requested overlap.
          expect(shared).toBeGreaterThanOrEqual(tile * options.overlap - 0.5);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(100);
  });
});

describe('shouldTile', () => {
  it('tiles in auto mode only when the image is more than 1.5× the input on its longer side', () => {
    expect(shouldTile(4096, 4096, 640, 640, 'auto')).toBe(true);
    // 960 / 640 = 1.5 exactly: a single pass is still good enough.
    expect(shouldTile(960, 960, 640, 640, 'auto')).toBe(false);
    expect(shouldTile(961, 100, 640, 640, 'auto')).toBe(true);
    expect(shouldTile(100, 961, 640, 640, 'auto')).toBe(true);
    expect(shouldTile(640, 480, 640, 640, 'auto')).toBe(false);
  });

  it('compares each side with its own input side', () => {
    // 900 / 640 = 1.41 but 721 / 480 = 1.502.
    expect(shouldTile(900, 721, 640, 480, 'auto')).toBe(true);
    expect(shouldTile(900, 720, 640, 480, 'auto')).toBe(false);
  });

  it('honours a custom factor', () => {
    expect(shouldTile(641, 641, 640, 640, 'auto', 1)).toBe(true);
    expect(shouldTile(640, 640, 640, 640, 'auto', 1)).toBe(false);
    expect(shouldTile(4096, 4096, 640, 640, 'auto', 8)).toBe(false);
  });

  it('always or never tiles when told, whatever the size', () => {
    expect(shouldTile(100, 100, 640, 640, 'always')).toBe(true);
    expect(shouldTile(8192, 8192, 640, 640, 'never')).toBe(false);
  });

  it('rejects a bad size or factor in auto mode', () => {
    expect(() => shouldTile(0, 100, 640, 640, 'auto')).toThrow(/width/);
    expect(() => shouldTile(100, 100, 640, 0, 'auto')).toThrow(/inputHeight/);
    expect(() => shouldTile(100, 100, 640, 640, 'auto', 0)).toThrow(/autoFactor/);
    expect(() => shouldTile(100, 100, 640, 640, 'auto', Number.NaN)).toThrow(/autoFactor/);
  });
});
