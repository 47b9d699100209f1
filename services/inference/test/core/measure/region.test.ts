import { describe, expect, it } from 'vitest';
import { measureLabel, measureLabels, measureMask } from '../../../src/core/measure/region.ts';
import { disc, ellipse, type Inside, maskOf, paint, rect, ring, rotatedRect, union } from './shapes.ts';

const W = 120;
const H = 100;
const SQRT_PI = Math.sqrt(Math.PI);

function measure(inside: Inside, options = {}) {
  const m = measureMask(maskOf(W, H, inside), W, H, options);
  if (!m) throw new Error('empty region');
  return m;
}

describe('a single pixel', () => {
  it('has ImageJ values: unit area, its centre, a diagonal Feret and a corner-corrected perimeter', () => {
    const m = measure(rect(10, 20, 1, 1));
    expect(m.pixelCount).toBe(1);
    expect(m.pixels).toMatchObject({
      area: 1,
      x: 10.5,
      y: 20.5,
      bx: 10,
      by: 20,
      width: 1,
      height: 1,
      minFeret: 1,
    });
    // Four unit edges, two of the four corners cut: 4 − 2·(2 − √2) = 2√2.
    expect(m.pixels.perim).toBeCloseTo(2 * Math.SQRT2, 12);
    expect(m.pixels.feret).toBeCloseTo(Math.SQRT2, 12);
    // One pixel wide: ImageJ's rectangle formula, 2·w/√π.
    expect(m.pixels.major).toBeCloseTo(2 / SQRT_PI, 8);
    expect(m.pixels.minor).toBeCloseTo(2 / SQRT_PI, 8);
    expect(m.circ).toBe(1); // 4π/8 > 1, capped as ImageJ caps it
    expect(m.solidity).toBe(1);
  });
});

describe('squares and rectangles', () => {
  it('a 10 × 10 square: Feret the diagonal, MinFeret the side, the ellipse of equal area', () => {
    const m = measure(rect(10, 20, 10, 10));
    expect(m.pixels).toMatchObject({
      area: 100,
      x: 15,
      y: 25,
      bx: 10,
      by: 20,
      width: 10,
      height: 10,
      minFeret: 10,
    });
    expect(m.pixels.perim).toBeCloseTo(40 - 4 * (2 - Math.SQRT2), 12);
    expect(m.pixels.feret).toBeCloseTo(10 * Math.SQRT2, 12);
    // A rectangle L × B has the moments of an ellipse with axes 2L/√π and 2B/√π.
    expect(m.pixels.major).toBeCloseTo(20 / SQRT_PI, 6);
    expect(m.pixels.minor).toBeCloseTo(20 / SQRT_PI, 6);
    expect(m.ar).toBeCloseTo(1, 9);
    expect(m.round).toBeCloseTo(1, 9);
    expect(m.solidity).toBe(1);
    // Both diagonals tie; ImageJ keeps the first in its hull order: top-left to bottom-right.
    expect(m.feretAngle).toBe(135);
    expect([m.feretX, m.feretY]).toEqual([10, 20]);
  });

  it('a 60 × 14 rectangle rotated by 30°: Angle, Feret, MinFeret, AR from its geometry', () => {
    const m = measure(rotatedRect(60, 50, 60, 14, 30));
    expect(m.pixels.area).toBeGreaterThan(840 * 0.98);
    expect(m.pixels.area).toBeLessThan(840 * 1.02);
    expect(m.pixels.x).toBeCloseTo(60, 0);
    expect(m.pixels.y).toBeCloseTo(50, 0);
    expect(m.angle).toBeCloseTo(30, 0);
    expect(m.pixels.feret).toBeCloseTo(Math.hypot(60, 14), -0.5);
    expect(m.pixels.minFeret).toBeGreaterThan(14);
    expect(m.pixels.minFeret).toBeLessThan(16);
    expect(m.pixels.major! / (120 / SQRT_PI)).toBeCloseTo(1, 1);
    expect(m.ar).toBeCloseTo(60 / 14, 0);
    // Pixelised edges leave notches: solid, but not quite 1.
    expect(m.solidity).toBeGreaterThan(0.88);
    expect(m.solidity).toBeLessThan(1);
  });

  it('an ellipse rotated by −55° has Angle 125° (0–180, counter-clockwise) and AR ≈ a/b', () => {
    const m = measure(ellipse(60, 50, 30, 12, -55));
    expect(m.angle).toBeCloseTo(125, 0);
    expect(m.ar).toBeCloseTo(2.5, 1);
    expect(m.pixels.area / (Math.PI * 30 * 12)).toBeCloseTo(1, 2);
  });

  it('a one-pixel-wide line uses the rectangle formula and an angle of 90° when vertical', () => {
    const m = measure(rect(5, 5, 1, 7));
    expect(m.pixels.major).toBeCloseTo(14 / SQRT_PI, 8);
    expect(m.pixels.minor).toBeCloseTo(2 / SQRT_PI, 8);
    expect(m.angle).toBe(90);
  });
});

describe('discs and rings', () => {
  it('a disc of radius 20: area πr², ECD, Feret and Major ≈ 2r, round and circular', () => {
    const m = measure(disc(60, 50, 20));
    // A digital disc of radius 20 has 1264 pixels: within 1 % of πr².
    expect(Math.abs(m.pixels.area / (Math.PI * 400) - 1)).toBeLessThan(0.01);
    expect(Math.abs(m.pixels.ecd / 40 - 1)).toBeLessThan(0.005);
    expect(m.pixels.ecd).toBeCloseTo(2 * Math.sqrt(m.pixels.area / Math.PI), 12);
    expect(m.pixels.feret / 40).toBeCloseTo(1, 1);
    expect(m.pixels.minFeret).toBe(40);
    expect(m.pixels.major! / 40).toBeCloseTo(1, 2);
    expect(m.ar).toBeCloseTo(1, 6);
    // ImageJ's traced perimeter of a digital disc is ~4 % over 2πr, so Circ. is ~0.92, not 1.
    expect(m.pixels.perim / (2 * Math.PI * 20)).toBeCloseTo(1.04, 1);
    expect(m.circ).toBeGreaterThan(0.9);
    expect(m.circ).toBeLessThan(0.95);
    expect([m.pixels.x, m.pixels.y]).toEqual([60, 50]);
  });

  it('a ring: the hole is left out of the area and the ellipse, not out of the outline', () => {
    const full = measure(disc(60, 50, 30));
    const m = measure(ring(60, 50, 30, 15));
    const hole = measure(disc(60, 50, 15));
    expect(m.pixelCount).toBe(full.pixelCount - hole.pixelCount);
    expect(m.pixels.perim).toBe(full.pixels.perim);
    expect(m.pixels.feret).toBe(full.pixels.feret);
    expect(m.pixels.minFeret).toBe(full.pixels.minFeret);
    expect(m.solidity).toBeCloseTo((full.solidity * m.pixelCount) / full.pixelCount, 12);
    expect([m.pixels.x, m.pixels.y]).toEqual([60, 50]);
    // A ring's second moment is larger than the disc of its area: a larger ellipse, still round.
    expect(m.ar).toBeCloseTo(1, 6);
    expect(m.components).toBe(1);
  });
});

describe('the image edge', () => {
  it('a region on the border measures as it would inside, and says it touches the edge', () => {
    const inside = measure(rect(40, 30, 8, 30));
    for (const [left, top] of [
      [0, 30],
      [W - 8, 30],
      [40, 0],
      [40, H - 30],
    ]) {
      const m = measure(rect(left, top, 8, 30));
      expect(m.touchesEdge).toBe(true);
      expect(m.pixels.perim).toBe(inside.pixels.perim);
      expect(m.pixels.feret).toBe(inside.pixels.feret);
      expect(m.pixels.major).toBe(inside.pixels.major);
      expect([m.pixels.bx, m.pixels.by]).toEqual([left, top]);
    }
    expect(inside.touchesEdge).toBe(false);
  });

  it('a disc cut by the corner of the image keeps only its pixels inside the image', () => {
    const m = measure(disc(0, 0, 20));
    expect(m.touchesEdge).toBe(true);
    expect(m.pixels.area / (Math.PI * 100)).toBeCloseTo(1, 1);
    expect([m.pixels.bx, m.pixels.by]).toEqual([0, 0]);
  });
});

describe('calibration', () => {
  it('scales lengths by the pixel size and areas by its square; unitless values do not change', () => {
    const plain = measure(rotatedRect(60, 50, 50, 20, 20));
    const m = measure(rotatedRect(60, 50, 50, 20, 20), { pixelSize: { x: 2.5, y: 2.5, unit: 'nm' } });
    const c = m.calibrated!;
    expect(c.unit).toBe('nm');
    for (const key of [
      'x',
      'y',
      'perim',
      'bx',
      'by',
      'width',
      'height',
      'major',
      'minor',
      'feret',
      'minFeret',
      'ecd',
    ] as const) {
      expect(c[key]! / plain.pixels[key]!).toBeCloseTo(2.5, 10);
    }
    expect(c.area / plain.pixels.area).toBeCloseTo(6.25, 10);
    expect(m.pixels).toEqual(plain.pixels);
    expect(m.circ).toBeCloseTo(plain.circ, 10);
    expect(m.feretAngle).toBeCloseTo(plain.feretAngle, 10);
    expect(plain.calibrated).toBeNull();
  });

  it('non-square pixels: no calibrated ellipse (ImageJ reports 0), AR and Round from pixels', () => {
    const m = measure(disc(60, 50, 10), { pixelSize: { x: 2, y: 3, unit: 'µm' } });
    expect(m.calibrated!.major).toBeNull();
    expect(m.calibrated!.minor).toBeNull();
    expect(m.calibrated!.area).toBe(m.pixelCount * 6);
    expect(m.calibrated!.width).toBe(m.pixels.width * 2);
    expect(m.calibrated!.height).toBe(m.pixels.height * 3);
    expect(m.ar).toBeCloseTo(1, 6);
  });
});

describe('grey values', () => {
  it('Mean, Min, Max and IntDen of the original values under the region; NaN left out', () => {
    const grey = new Float64Array(W * H);
    for (let i = 0; i < grey.length; i++) grey[i] = i % W; // the value is the column
    grey[21 * W + 12] = Number.NaN;
    const m = measure(rect(10, 20, 4, 2), { grey, pixelSize: { x: 2, y: 2, unit: 'nm' } });
    // Columns 10..13 on two rows, one NaN at column 12: 10, 11, 12, 13, 10, 11, 13.
    expect(m.grey).toEqual({ mean: 80 / 7, min: 10, max: 13, rawIntDen: (8 * 80) / 7 });
    expect(m.pixels.intDen).toBeCloseTo((8 * 80) / 7, 10);
    expect(m.calibrated!.intDen).toBeCloseTo((32 * 80) / 7, 10);
    expect(measure(rect(10, 20, 4, 2)).grey).toBeNull();
  });

  it('takes raw 16-bit values as they are', () => {
    const grey = new Uint16Array(W * H).fill(65535);
    const m = measure(rect(0, 0, 3, 3), { grey });
    expect(m.grey).toEqual({ mean: 65535, min: 65535, max: 65535, rawIntDen: 9 * 65535 });
  });
});

describe('label images', () => {
  it('measures every label in one pass exactly as one at a time, and skips absent labels', () => {
    const labels = new Uint32Array(W * H);
    const shapes = [disc(20, 20, 12), rect(50, 5, 20, 10), ring(80, 60, 18, 6), rect(0, 90, 3, 3)];
    const paint32 = (inside: Inside, k: number) => {
      for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) if (inside(x, y)) labels[y * W + x] = k;
    };
    shapes.forEach((s, i) => {
      paint32(s, [1, 2, 4, 70000][i]);
    });
    const image = { labels, width: W, height: H };
    const all = measureLabels(image);
    expect(all.map((m) => m.label)).toEqual([1, 2, 4, 70000]);
    for (const m of all) expect(measureLabel(image, m.label)).toEqual(m);
    expect(measureLabel(image, 3)).toBeNull();
  });

  it('a label in two pieces is one region: areas and perimeters add, the hull spans both', () => {
    const labels = new Uint16Array(W * H);
    paint(labels, W, union(rect(10, 10, 10, 10), rect(40, 10, 10, 10)), 1);
    const [m] = measureLabels({ labels, width: W, height: H });
    const one = measure(rect(10, 10, 10, 10));
    expect(m.components).toBe(2);
    expect(m.pixelCount).toBe(200);
    expect(m.pixels.perim).toBeCloseTo(2 * one.pixels.perim, 12);
    expect(m.pixels.feret).toBeCloseTo(Math.hypot(40, 10), 12);
    expect(m.solidity).toBeCloseTo(200 / 400, 12);
  });

  it('a particle in the hole of a ring is its own region and not part of the ring', () => {
    const labels = new Uint16Array(W * H);
    paint(labels, W, ring(60, 50, 30, 15), 1);
    paint(labels, W, disc(60, 50, 8), 2);
    const [ringM, inner] = measureLabels({ labels, width: W, height: H });
    expect(ringM.pixelCount).toBe(measure(ring(60, 50, 30, 15)).pixelCount);
    expect(inner.pixelCount).toBe(measure(disc(60, 50, 8)).pixelCount);
  });

  it('refuses sizes that do not fit with one clear line', () => {
    const labels = new Uint16Array(10);
    expect(() => measureLabels({ labels, width: 4, height: 3 })).toThrow(
      'label image has 10 pixels, not 4×3',
    );
    expect(() => measureLabels({ labels, width: 5, height: 2 }, { grey: new Float32Array(9) })).toThrow(
      'grey values have 9 pixels, not 5×2',
    );
    expect(() =>
      measureLabels({ labels, width: 5, height: 2 }, { pixelSize: { x: 0, y: 1, unit: 'nm' } }),
    ).toThrow('pixel size must be positive and finite');
  });
});
