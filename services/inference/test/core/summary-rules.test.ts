/**
 * Issue 10's summary rules: %Area never above 100 % (overlaps counted once, from masks when every
 * feature has one), edge-touching features counted but left out of size statistics by default,
 * SD and percentiles blank (null) for too few features, Feret statistics.
 */
import { describe, expect, it } from 'vitest';
import { type RegionMask, unionBoxArea, unionMaskArea } from '../../src/core/covered-area.ts';
import { type FeatureInput, measureFeatures, summarise } from '../../src/core/quantify.ts';
import type { Box } from '../../src/core/types.ts';

const area = { width: 100, height: 80 };
const det = (box: Box, classId = 0, extra: Partial<FeatureInput> = {}): FeatureInput => ({
  classId,
  className: ['particle', 'pore'][classId],
  score: 0.9,
  box,
  ...extra,
});

/** A filled disc of radius r centred at (cx, cy), as a mask over its bounding square. */
function disc(cx: number, cy: number, r: number): RegionMask {
  const x = cx - r;
  const y = cy - r;
  const size = 2 * r + 1;
  const data = new Uint8Array(size * size);
  for (let j = 0; j < size; j++)
    for (let i = 0; i < size; i++) if ((x + i - cx) ** 2 + (y + j - cy) ** 2 <= r * r) data[j * size + i] = 1;
  return { x, y, width: size, height: size, data };
}

/** Pixels covered by integer boxes, counted one by one: the slow, obvious answer. */
function bruteForce(boxes: Box[], width: number, height: number): number {
  let n = 0;
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      if (boxes.some(([x1, y1, x2, y2]) => x >= x1 && x < x2 && y >= y1 && y < y2)) n++;
  return n;
}

describe('%Area counts overlaps once', () => {
  it('stays at 100 % for two boxes over the whole area (the sum of box areas gave 200 %)', () => {
    const whole: Box = [0, 0, 100, 80];
    const s = summarise(measureFeatures([det(whole), det(whole)], area), area);
    expect(s.areaFraction).toBe(100);
    expect(s.totalAreaPx).toBe(8000);
  });

  it('counts the shared part of overlapping boxes once', () => {
    // 20×20 and 20×20 sharing a 10×10 corner: 400 + 400 − 100.
    const s = summarise(measureFeatures([det([10, 10, 30, 30]), det([20, 20, 40, 40])], area), area);
    expect(s.totalAreaPx).toBe(700);
    expect(s.areaFraction).toBe(8.75);
  });

  it('matches a pixel-by-pixel count on many random boxes, clipped to the area', () => {
    let seed = 7;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let round = 0; round < 20; round++) {
      const boxes: Box[] = Array.from({ length: 25 }, () => {
        const x = rand(110) - 5;
        const y = rand(90) - 5;
        return [x, y, x + 1 + rand(40), y + 1 + rand(30)];
      });
      expect(unionBoxArea(boxes, 100, 80)).toBe(bruteForce(boxes, 100, 80));
    }
  });

  it('takes masks when every feature has one: overlapping pixels count once', () => {
    const a = disc(30, 40, 10);
    const b = disc(40, 40, 10);
    const features = measureFeatures(
      [det([20, 30, 41, 51], 0, { mask: a }), det([30, 30, 51, 51], 0, { mask: b })],
      area,
    );
    const each = unionMaskArea([a], 100, 80);
    expect(features[0]).toMatchObject({ source: 'mask', areaPx: each });
    const s = summarise(features, area);
    expect(s.areaSource).toBe('mask');
    expect(s.totalAreaPx).toBe(unionMaskArea([a, b], 100, 80));
    expect(s.totalAreaPx).toBeLessThan(2 * each);
    expect(s.areaFraction).toBeCloseTo((s.totalAreaPx * 100) / 8000, 12);
  });

  it('per class too, each class on its own', () => {
    const s = summarise(measureFeatures([det([0, 0, 60, 80]), det([40, 0, 100, 80], 1)], area), area);
    expect(s.areaFraction).toBe(100);
    expect(s.classes.map((c) => c.areaFraction)).toEqual([60, 60]);
  });
});

describe('features touching the edge', () => {
  // Inside: 10×10 and 20×20; touching the left edge: 30×30.
  const dets = [det([10, 10, 20, 20]), det([40, 40, 60, 60]), det([0, 20, 30, 50])];

  it('are counted but left out of size statistics by default, and the summary says both counts', () => {
    const s = summarise(measureFeatures(dets, area), area);
    expect(s).toMatchObject({ count: 3, edgeTouchingCount: 1, measuredCount: 2, edgeFeatures: 'exclude' });
    expect(s.ecd!.count).toBe(2);
    expect(s.ecd!.max).toBeCloseTo(2 * Math.sqrt(400 / Math.PI), 12);
    expect(s.meanAreaPx).toBe(250);
    // Density and %Area still count the edge feature.
    expect(s.totalAreaPx).toBe(100 + 400 + 900);
  });

  it('are in the statistics with edgeFeatures include', () => {
    const s = summarise(measureFeatures(dets, area), area, undefined, { edgeFeatures: 'include' });
    expect(s).toMatchObject({ count: 3, edgeTouchingCount: 1, measuredCount: 3, edgeFeatures: 'include' });
    expect(s.ecd!.count).toBe(3);
    expect(s.meanAreaPx).toBeCloseTo(1400 / 3, 12);
  });

  it('are found from the mask when there is one: a box at the edge around a mask that is not', () => {
    const mask = disc(10, 40, 8); // pixels from x = 2: inside
    const [f] = measureFeatures([det([0, 30, 20, 50], 0, { mask })], area);
    expect(f.edgeTouching).toBe(false);
    const [g] = measureFeatures([det([0, 30, 20, 50], 0, { mask: disc(8, 40, 8) })], area);
    expect(g.edgeTouching).toBe(true);
  });
});

describe('too few features', () => {
  it('leaves SD and percentiles blank (null), not 0, for a single feature', () => {
    const s = summarise(measureFeatures([det([10, 10, 20, 20])], area), area);
    for (const stats of [s.ecd!, s.feret!, s.classes[0].ecd!]) {
      expect(stats).toMatchObject({ count: 1, sd: null, median: null, d10: null, d50: null, d90: null });
      expect(stats.mean).toBeGreaterThan(0);
    }
  });

  it('gives no statistics at all when every feature touches the edge', () => {
    const s = summarise(measureFeatures([det([0, 0, 10, 10])], area), area);
    expect(s).toMatchObject({ count: 1, measuredCount: 0 });
    expect(s.ecd).toBeUndefined();
    expect(s.meanAreaPx).toBeUndefined();
  });
});

describe('Feret', () => {
  it('of a box is its diagonal, calibrated with each axis its own pixel size', () => {
    const [f] = measureFeatures([det([10, 10, 40, 50])], area, { x: 2, y: 3 });
    expect(f.feretPx).toBe(50);
    expect(f.feretNm).toBeCloseTo(Math.hypot(60, 120), 12);
  });

  it('comes from the measurements when given, and so do area and centroid', () => {
    const [f] = measureFeatures(
      [
        det([10, 10, 40, 50], 0, {
          measurements: {
            source: 'mask',
            pixel: { Area: 700, Feret: 42, X: 24, Y: 31 },
            calibrated: { Area: 2800, Feret: 84 },
          },
        }),
      ],
      area,
      { x: 2, y: 2 },
    );
    expect(f).toMatchObject({
      source: 'mask',
      areaPx: 700,
      feretPx: 42,
      centroidX: 24,
      areaNm2: 2800,
      feretNm: 84,
    });
  });

  it('has its own statistics in the summary', () => {
    const s = summarise(measureFeatures([det([10, 10, 13, 14]), det([30, 30, 36, 38])], area), area);
    expect(s.feret).toMatchObject({ count: 2, mean: 7.5, min: 5, max: 10 });
  });
});

describe('density', () => {
  it('is every feature per µm² of the analysed area', () => {
    // 100×80 px at 10 nm: 0.8 µm²; 2 features (one on the edge, still counted).
    const px = { x: 10, y: 10 };
    const s = summarise(measureFeatures([det([10, 10, 20, 20]), det([0, 0, 5, 5])], area, px), area, px);
    expect(s.densityPerUm2).toBeCloseTo(2.5, 12);
  });
});
