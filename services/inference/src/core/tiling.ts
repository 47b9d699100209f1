/** One tile of an analysed area, in pixels of that area. */
export interface Tile {
  x: number;
  y: number;
  width: number;
  height: number;
  /** index in row-major order */
  index: number;
}

export interface TilingOptions {
  tileWidth: number;
  tileHeight: number;
  /** fraction 0..0.9 of the tile size shared by neighbours, default 0.2 */
  overlap: number;
}

export type TilingMode = 'auto' | 'always' | 'never';

export const DEFAULT_TILE_OVERLAP = 0.2;
export const DEFAULT_AUTO_TILE_FACTOR = 1.5;

function assertPixels(name: string, value: number): void {
  if (!Number.isInteger(value) || value <= 0) {
    throw new RangeError(`${name} must be a positive whole number of pixels, got ${value}`);
  }
}

function assertOptions(options: TilingOptions): void {
  assertPixels('tileWidth', options.tileWidth);
  assertPixels('tileHeight', options.tileHeight);
  const { overlap } = options;
  // Above 0.9 the tile count explodes (overlap 0.99 on a 4k image: ~40,000 tiles) for no gain.
  if (!(overlap >= 0 && overlap <= 0.9)) {
    throw new RangeError(`overlap must be a fraction from 0 to 0.9, got ${overlap}`);
  }
}

/** Whole-pixel step between tile origins; at least 1 so a tiny tile with a large overlap still advances. */
function stride(tile: number, overlap: number): number {
  return Math.max(1, Math.round(tile * (1 - overlap)));
}

/** Tiles along one axis of length `length` for tiles of `tile` pixels. */
function axisCount(length: number, tile: number, overlap: number): number {
  return Math.max(1, Math.ceil((length - tile) / stride(tile, overlap)) + 1);
}

/** Tile origins along one axis: the first at 0, the last ending exactly at the edge, evenly spread between. */
function axisOrigins(length: number, tile: number, overlap: number): number[] {
  const n = axisCount(length, tile, overlap);
  if (n === 1) return [0];
  const span = length - tile;
  // Integer floor division: the steps differ by at most one pixel and never exceed the stride.
  return Array.from({ length: n }, (_, i) => Math.floor((i * span) / (n - 1)));
}

/**
 * Tiles covering every pixel of a width×height region (an image area, e.g. above a data bar), in
 * row-major order.
 *
 * Per axis of length L with tile size T: stride s = max(1, round(T·(1 − overlap))) and
 * n = max(1, ceil((L − T) / s) + 1) tiles. Tile i starts at floor(i·(L − T) / (n − 1)), so the first
 * starts at 0 and the last ends exactly at L: no padding, and the edge tiles are not squeezed into a
 * sliver. Because (L − T) / (n − 1) ≤ s, neighbours share at least T − s pixels, the requested
 * overlap rounded to whole pixels (exactly 128 px for 640-pixel tiles at 0.2). When L ≤ T there is one
 * tile of length L: the whole axis, which the caller letterboxes like an untiled image.
 */
export function tileGrid(width: number, height: number, options: TilingOptions): Tile[] {
  assertPixels('width', width);
  assertPixels('height', height);
  assertOptions(options);
  const { tileWidth, tileHeight, overlap } = options;
  const xs = axisOrigins(width, tileWidth, overlap);
  const ys = axisOrigins(height, tileHeight, overlap);
  const w = Math.min(tileWidth, width);
  const h = Math.min(tileHeight, height);
  const tiles: Tile[] = [];
  for (const y of ys) {
    for (const x of xs) tiles.push({ x, y, width: w, height: h, index: tiles.length });
  }
  return tiles;
}

/** Number of tiles `tileGrid` returns, in closed form (nx · ny, see `tileGrid`), without building them. */
export function tileCount(width: number, height: number, options: TilingOptions): number {
  assertPixels('width', width);
  assertPixels('height', height);
  assertOptions(options);
  const { tileWidth, tileHeight, overlap } = options;
  return axisCount(width, tileWidth, overlap) * axisCount(height, tileHeight, overlap);
}

/**
 * Whether to analyse an image in tiles. `auto` tiles when the image is much larger than the model
 * input: when the letterbox would shrink its longer side by more than `autoFactor`, i.e.
 * max(width / inputWidth, height / inputHeight) > autoFactor. Below that a single letterboxed pass
 * loses little detail and costs one inference instead of several.
 */
export function shouldTile(
  width: number,
  height: number,
  inputWidth: number,
  inputHeight: number,
  mode: TilingMode,
  autoFactor = DEFAULT_AUTO_TILE_FACTOR,
): boolean {
  if (mode === 'never') return false;
  if (mode === 'always') return true;
  assertPixels('width', width);
  assertPixels('height', height);
  assertPixels('inputWidth', inputWidth);
  assertPixels('inputHeight', inputHeight);
  if (!(Number.isFinite(autoFactor) && autoFactor > 0)) {
    throw new RangeError(`autoFactor must be a positive finite number, got ${autoFactor}`);
  }
  return Math.max(width / inputWidth, height / inputHeight) > autoFactor;
}
