import { describe, expect, it } from 'vitest';
import { letterboxGeometry } from '../../src/core/letterbox.ts';
import {
  decodeMask,
  forEachOutlinePixel,
  type Mask,
  maskArea,
  prototypesOf,
  translateMask,
  unionMasks,
} from '../../src/core/masks.ts';

/**
 * Prototypes for a 32×32 input (8×8 grid, a quarter of it): channel 0 is +1 on the cells
 * rows × cols given and −1 elsewhere; channel 1 is noise that a zero coefficient must ignore.
 */
function squareProtos(rows: [number, number], cols: [number, number], size = 8) {
  const data = new Float32Array(2 * size * size);
  for (let r = 0; r < size; r++) {
    for (let c = 0; c < size; c++) {
      const inside = r >= rows[0] && r <= rows[1] && c >= cols[0] && c <= cols[1];
      data[r * size + c] = inside ? 1 : -1;
      data[size * size + r * size + c] = Math.sin(r * 7 + c * 3) * 50;
    }
  }
  return prototypesOf({ data, dims: [1, 2, size, size] });
}

/** The mask's pixels as "x,y" strings, in image pixels. */
function pixels(m: Mask): Set<string> {
  const out = new Set<string>();
  for (let r = 0; r < m.height; r++)
    for (let c = 0; c < m.width; c++) if (m.data[r * m.width + c]) out.add(`${m.x + c},${m.y + r}`);
  return out;
}

function square(x0: number, y0: number, x1: number, y1: number): Set<string> {
  const out = new Set<string>();
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) out.add(`${x},${y}`);
  return out;
}

describe('decodeMask', () => {
  // A 64×64 image in a 32×32 input: scale 0.5, no padding; prototype cell i spans image pixels 8i..8i+8.
  const g = letterboxGeometry(64, 64, 32, 32);

  it('thresholds the bilinearly upsampled logits at 0 (sigmoid 0.5): a stripe lands where it should', () => {
    // Columns 2..5 are +1: the logit crosses 0 halfway between cell centres 1|2 and 5|6, at image
    // pixels 16 and 48 (pixel 15 samples −0.125, pixel 16 +0.125).
    const m = decodeMask(squareProtos([0, 7], [2, 5]), [1, 0], [0, 0, 64, 64], g);
    expect([m.x, m.y, m.width, m.height]).toEqual([0, 0, 64, 64]);
    expect(pixels(m)).toEqual(square(16, 0, 48, 64));
    expect(maskArea(m)).toBe(32 * 64);
  });

  it('rounds the corners of a square as bilinear upsampling does, its sides stay put', () => {
    const m = pixels(decodeMask(squareProtos([2, 5], [2, 5]), [1, 0], [0, 0, 64, 64], g));
    const row = [...m].filter((p) => p.endsWith(',32'));
    expect(row).toEqual([...square(16, 32, 48, 33)]);
    expect(m.has('32,15')).toBe(false);
    expect(m.has('32,16') && m.has('32,47')).toBe(true);
    // At a corner two −1 cells and one −1 diagonal outweigh the +1 cell: −1 + 2·0.5625² < 0.
    expect(m.has('16,16')).toBe(false);
    expect(m.has('19,19')).toBe(true);
  });

  it('depends on the sign of coefficients · prototypes only, not on their scale', () => {
    const protos = squareProtos([0, 7], [2, 5]);
    const strong = decodeMask(protos, [7.5, 0], [0, 0, 64, 64], g);
    expect(pixels(strong)).toEqual(square(16, 0, 48, 64));
    const inverted = decodeMask(protos, [-1, 0], [0, 0, 64, 64], g);
    expect(maskArea(inverted)).toBe(64 * 64 - 32 * 64);
  });

  it('is cropped to the box: pixel indices x1 <= x < x2, as Ultralytics crop_mask keeps', () => {
    const m = decodeMask(squareProtos([2, 7], [0, 7]), [1, 0], [20.5, 0, 40, 30.2], g);
    expect([m.x, m.y, m.width, m.height]).toEqual([21, 0, 19, 31]);
    expect(pixels(m)).toEqual(square(21, 16, 40, 31));
  });

  it('undoes the letterbox padding: a 64×32 image sits in input rows 8..24', () => {
    const wide = letterboxGeometry(64, 32, 32, 32);
    expect([wide.padTop, wide.scale]).toEqual([8, 0.5]);
    // Cells 2..3 (input rows 8..16) are the top half of the image: image rows 0..16.
    const m = decodeMask(squareProtos([2, 3], [0, 7]), [1, 0], [0, 0, 64, 32], wide);
    expect(pixels(m)).toEqual(square(0, 0, 64, 16));
  });

  it('reads the prototype size from the shape: a 12×12 grid for a 48×48 input', () => {
    const protos = squareProtos([0, 11], [3, 8], 12);
    expect([protos.height, protos.width]).toEqual([12, 12]);
    // 48×48 image in a 48×48 input: cells 3..8 are pixels 12..36, where the logit crosses 0.
    const m = decodeMask(protos, [1, 0], [0, 0, 48, 48], letterboxGeometry(48, 48, 48, 48));
    expect(pixels(m)).toEqual(square(12, 0, 36, 48));
  });

  it('is empty for a box with no pixel, and refuses coefficients that do not fit the prototypes', () => {
    const protos = squareProtos([2, 5], [2, 5]);
    expect(maskArea(decodeMask(protos, [1, 0], [10.2, 10, 10.7, 20], g))).toBe(0);
    expect(() => decodeMask(protos, [1, 0, 0], [0, 0, 64, 64], g)).toThrow(/3 mask coefficients for 2/);
  });
});

describe('prototypesOf', () => {
  it('finds each image of a batch and refuses other shapes', () => {
    const data = new Float32Array(2 * 32 * 40 * 48);
    expect(prototypesOf({ data, dims: [2, 32, 40, 48] }, 1)).toMatchObject({
      offset: 32 * 40 * 48,
      channels: 32,
      height: 40,
      width: 48,
    });
    expect(() => prototypesOf({ data, dims: [2, 32, 40, 48] }, 2)).toThrow(RangeError);
    expect(() => prototypesOf({ data, dims: [2, 32, 3840] })).toThrow(/\[batch, channels, height, width\]/);
  });
});

describe('mask helpers', () => {
  const a: Mask = { x: 2, y: 1, width: 3, height: 2, data: Uint8Array.from([1, 1, 0, 0, 1, 1]) };
  const b: Mask = { x: 4, y: 2, width: 2, height: 2, data: Uint8Array.from([1, 1, 1, 0]) };

  it('moves a tile mask into the image', () => {
    expect(pixels(translateMask(a, 10, 20))).toEqual(new Set(['12,21', '13,21', '13,22', '14,22']));
  });

  it('joins masks into one over their bounding rectangle, a pixel in both counted once', () => {
    const u = unionMasks([a, b]);
    expect([u.x, u.y, u.width, u.height]).toEqual([2, 1, 4, 3]);
    expect(pixels(u)).toEqual(new Set(['2,1', '3,1', '3,2', '4,2', '5,2', '4,3']));
    expect(maskArea(u)).toBe(6);
    expect(unionMasks([a])).toBe(a);
  });

  it('walks the outline: pixels with a 4-neighbour outside', () => {
    const full: Mask = { x: 10, y: 10, width: 3, height: 3, data: new Uint8Array(9).fill(1) };
    const outline: string[] = [];
    forEachOutlinePixel(full, (x, y) => outline.push(`${x},${y}`));
    expect(outline).toHaveLength(8);
    expect(outline).not.toContain('11,11');
  });
});
