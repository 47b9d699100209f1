import { describe, expect, it } from 'vitest';
import { displayUnit, type Feature, measureFeatures, sizeStats, summarise } from '../../src/core/quantify.ts';
import type { Box, Detection } from '../../src/core/types.ts';

const NAMES = ['particle', 'pore'];

function det(box: Box, classId = 0, score = 0.9): Detection {
  return { classId, className: NAMES[classId], score, box };
}

/** ECD = 2·√(A/π) = C·√A. */
const C = 2 / Math.sqrt(Math.PI);

// A 100×80 analysed area at 2 nm per pixel: 8000 px² = 32,000 nm² = 0.032 µm².
const area = { width: 100, height: 80 };
const px2nm = { x: 2, y: 2 };
// 10×20 px (200 px², 800 nm²), 10×10 px on the left border (100 px², 400 nm²), 30×30 px (900 px², 3600 nm²).
const dets = [det([10, 10, 20, 30]), det([0, 40, 10, 50], 1), det([60, 40, 90, 70])];

describe('measureFeatures', () => {
  it('measures boxes in pixels and nanometres', () => {
    const [a, b, c] = measureFeatures(dets, area, px2nm);
    expect(a).toEqual({
      classId: 0,
      className: 'particle',
      score: 0.9,
      box: [10, 10, 20, 30],
      centroidX: 15,
      centroidY: 20,
      widthPx: 10,
      heightPx: 20,
      source: 'box',
      areaPx: 200,
      ecdPx: expect.closeTo(15.957691216057308, 12),
      // A box's Feret is its diagonal, as ImageJ measures a rectangular selection: √(10² + 20²).
      feretPx: expect.closeTo(Math.sqrt(500), 12),
      edgeTouching: false,
      widthNm: 20,
      heightNm: 40,
      areaNm2: 800,
      // 2·√(800/π) = 2 · ECD in pixels at 2 nm/px.
      ecdNm: expect.closeTo(31.915382432114615, 12),
      feretNm: expect.closeTo(Math.sqrt(2000), 12),
      centroidXNm: 30,
      centroidYNm: 40,
    });
    expect(b).toMatchObject({ className: 'pore', areaPx: 100, areaNm2: 400, edgeTouching: true });
    expect(b.ecdPx).toBeCloseTo(11.283791670955125, 12);
    expect(c).toMatchObject({
      centroidX: 75,
      centroidY: 55,
      areaPx: 900,
      areaNm2: 3600,
      edgeTouching: false,
    });
    expect(c.ecdNm).toBeCloseTo(C * 60, 12);
  });

  it('scales x and y by their own pixel sizes', () => {
    const [f] = measureFeatures([det([10, 10, 20, 30])], area, { x: 2, y: 3 });
    expect(f).toMatchObject({ widthNm: 20, heightNm: 60, areaNm2: 1200, centroidXNm: 30, centroidYNm: 60 });
    expect(f.ecdNm).toBeCloseTo(C * Math.sqrt(1200), 12);
  });

  it('leaves the physical fields out when uncalibrated', () => {
    const [f] = measureFeatures([det([10, 10, 20, 30])], area);
    expect(f.ecdPx).toBeCloseTo(C * Math.sqrt(200), 12);
    for (const key of ['widthNm', 'heightNm', 'areaNm2', 'ecdNm', 'centroidXNm', 'centroidYNm']) {
      expect(f).not.toHaveProperty(key);
    }
  });

  it('flags boxes within 1 px of any border of the analysed area', () => {
    const touching = (box: Box) => measureFeatures([det(box)], area)[0].edgeTouching;
    expect(touching([1, 10, 20, 20])).toBe(true);
    expect(touching([1.01, 10, 20, 20])).toBe(false);
    expect(touching([10, 1, 20, 20])).toBe(true);
    expect(touching([10, 10, 99, 20])).toBe(true);
    expect(touching([10, 10, 98.9, 20])).toBe(false);
    expect(touching([10, 10, 20, 79])).toBe(true);
    expect(touching([10, 10, 20, 78.5])).toBe(false);
  });

  it('copies the box, so later changes to a detection do not move the feature', () => {
    const d = det([10, 10, 20, 30]);
    const [f] = measureFeatures([d], area);
    d.box[0] = 0;
    expect(f.box).toEqual([10, 10, 20, 30]);
  });

  it('rejects an empty area and an absurd pixel size', () => {
    expect(() => measureFeatures(dets, { width: 0, height: 80 })).toThrow(/width/);
    expect(() => measureFeatures(dets, area, { x: 0, y: 2 })).toThrow(/pixel size x/);
    expect(() => measureFeatures(dets, area, { x: 2, y: -1 })).toThrow(/pixel size y/);
    expect(() => measureFeatures(dets, area, { x: Number.NaN, y: 2 })).toThrow(/pixel size/);
    expect(() => measureFeatures(dets, area, { x: Number.POSITIVE_INFINITY, y: 2 })).toThrow(/pixel size/);
  });
});

describe('sizeStats', () => {
  it('matches NumPy for five values', () => {
    // mean 20/5 = 4; squared deviations 9+4+1+0+36 = 50, SD = √(50/4) = 3.5355.
    // NumPy 'linear': h = 4p. D10: h = 0.4 → 1 + 0.4·1 = 1.4; D50: h = 2 → 3; D90: h = 3.6 → 4 + 0.6·6 = 7.6.
    const s = sizeStats([1, 2, 3, 4, 10])!;
    expect(s).toEqual({
      count: 5,
      mean: 4,
      sd: expect.closeTo(Math.sqrt(12.5), 12),
      median: 3,
      d10: expect.closeTo(1.4, 12),
      d50: 3,
      d90: expect.closeTo(7.6, 12),
      min: 1,
      max: 10,
    });
  });

  it('sorts its input and interpolates between the middle pair for an even count', () => {
    // Sorted 1, 2, 4, 7: mean 3.5; squared deviations 6.25+2.25+0.25+12.25 = 21, SD = √7.
    // h = 3p. D10: h = 0.3 → 1.3; D50: h = 1.5 → 2 + 0.5·2 = 3; D90: h = 2.7 → 4 + 0.7·3 = 6.1.
    const s = sizeStats([7, 1, 4, 2])!;
    expect(s.mean).toBe(3.5);
    expect(s.sd).toBeCloseTo(Math.sqrt(7), 12);
    expect(s.median).toBe(3);
    expect(s.d50).toBe(3);
    expect(s.d10).toBeCloseTo(1.3, 12);
    expect(s.d90).toBeCloseTo(6.1, 12);
    expect([s.min, s.max]).toEqual([1, 7]);
  });

  it('gives the textbook deciles of 1..10', () => {
    // h = 9p: D10 = 1 + 0.9 = 1.9, D50 = 5 + 0.5 = 5.5, D90 = 9 + 0.1 = 9.1 (np.percentile agrees).
    const s = sizeStats([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])!;
    expect(s.d10).toBeCloseTo(1.9, 12);
    expect(s.median).toBeCloseTo(5.5, 12);
    expect(s.d90).toBeCloseTo(9.1, 12);
    // Σ(x − 5.5)² = 82.5, SD = √(82.5 / 9).
    expect(s.sd).toBeCloseTo(Math.sqrt(82.5 / 9), 12);
  });

  it('handles two values and one value', () => {
    // Two: h = p. D10 = 2 + 0.1·2 = 2.2, D90 = 3.8; SD = √((1 + 1) / 1).
    expect(sizeStats([2, 4])).toEqual({
      count: 2,
      mean: 3,
      sd: expect.closeTo(Math.SQRT2, 12),
      median: 3,
      d10: expect.closeTo(2.2, 12),
      d50: 3,
      d90: expect.closeTo(3.8, 12),
      min: 2,
      max: 4,
    });
    // Issue 10: one value has no spread; SD and percentiles are blank (null), never 0.
    expect(sizeStats([5])).toEqual({
      count: 1,
      mean: 5,
      sd: null,
      median: null,
      d10: null,
      d50: null,
      d90: null,
      min: 5,
      max: 5,
    });
  });

  it('keeps the SD accurate for tightly clustered large values', () => {
    // A naive Σx² − n·mean² loses every digit here.
    const s = sizeStats([1e9 + 1, 1e9 + 2, 1e9 + 3])!;
    expect(s.sd).toBeCloseTo(1, 9);
  });

  it('returns undefined for no values and rejects non-finite ones', () => {
    expect(sizeStats([])).toBeUndefined();
    expect(() => sizeStats([1, Number.NaN])).toThrow(/finite/);
    expect(() => sizeStats([Number.POSITIVE_INFINITY])).toThrow(/finite/);
  });

  it('does not reorder its input', () => {
    const values = [3, 1, 2];
    sizeStats(values);
    expect(values).toEqual([3, 1, 2]);
  });
});

describe('summarise', () => {
  it('summarises a calibrated image per image and per class', () => {
    const s = summarise(measureFeatures(dets, area, px2nm), area, px2nm, { edgeFeatures: 'include' });
    // ECDs in nm: C·√800 = C·20√2, C·√400 = C·20, C·√3600 = C·60; sorted C·(20, 28.284, 60).
    // mean C·36.095; h = 2p: D10 = C·(20 + 0.2·8.284) = C·21.657, D50 = C·28.284, D90 = C·(28.284 + 0.8·31.716).
    const ecds = [20, 20 * Math.SQRT2, 60];
    expect(s).toMatchObject({
      count: 3,
      totalAreaPx: 1200,
      totalAreaNm2: 4800,
      // 1200 / 8000 · 100.
      areaFraction: 15,
      // 3 / 0.032 µm².
      densityPerUm2: 93.75,
      unit: 'nm',
    });
    expect(s.meanEcd).toBeCloseTo((C * (20 + 20 * Math.SQRT2 + 60)) / 3, 12);
    expect(s.meanEcd).toBeCloseTo(40.72857193325187, 12);
    expect(s.ecd).toMatchObject({
      count: 3,
      min: expect.closeTo(C * 20, 12),
      max: expect.closeTo(C * 60, 12),
    });
    expect(s.ecd!.median).toBeCloseTo(C * ecds[1], 12);
    expect(s.ecd!.d10).toBeCloseTo(C * (20 + 0.2 * (ecds[1] - 20)), 12);
    expect(s.ecd!.d90).toBeCloseTo(C * (ecds[1] + 0.8 * (60 - ecds[1])), 12);
    // np.std(ddof=1) of the three ECDs.
    expect(s.ecd!.sd).toBeCloseTo(23.823308959531253, 12);
  });

  it('lists classes in class-id order with their own totals', () => {
    const features = measureFeatures([dets[1], dets[0], dets[2]], area, px2nm);
    const { classes } = summarise(features, area, px2nm, { edgeFeatures: 'include' });
    expect(classes.map((c) => c.className)).toEqual(['particle', 'pore']);
    const [particle, pore] = classes;
    expect(particle).toMatchObject({
      className: 'particle',
      count: 2,
      totalAreaPx: 1100,
      totalAreaNm2: 4400,
      areaFraction: 13.75,
      // 2 / 0.032 µm².
      densityPerUm2: 62.5,
      unit: 'nm',
    });
    // Two values, h = p: D10 = x₀ + 0.1·(x₁ − x₀).
    expect(particle.ecd!.mean).toBeCloseTo((C * (20 * Math.SQRT2 + 60)) / 2, 12);
    expect(particle.ecd!.d10).toBeCloseTo(C * (20 * Math.SQRT2 + 0.1 * (60 - 20 * Math.SQRT2)), 12);
    expect(particle.ecd!.sd).toBeCloseTo(25.305490306261667, 12);
    expect(pore).toMatchObject({ count: 1, totalAreaPx: 100, totalAreaNm2: 400, areaFraction: 1.25 });
    expect(pore.densityPerUm2).toBe(31.25);
    expect(pore.ecd).toMatchObject({
      count: 1,
      sd: null,
      min: expect.closeTo(C * 20, 12),
      max: expect.closeTo(C * 20, 12),
    });
  });

  it('reports sizes in pixels, plainly, when uncalibrated', () => {
    const s = summarise(measureFeatures(dets, area), area, undefined, { edgeFeatures: 'include' });
    expect(s).toMatchObject({ count: 3, totalAreaPx: 1200, areaFraction: 15, unit: 'px' });
    expect(s).not.toHaveProperty('totalAreaNm2');
    expect(s).not.toHaveProperty('densityPerUm2');
    // ECDs in px: C·(√200, √100, √900) = C·(14.142, 10, 30).
    expect(s.meanEcd).toBeCloseTo(20.364285966625935, 12);
    expect(s.ecd!.median).toBeCloseTo(C * Math.sqrt(200), 12);
    expect(s.classes.every((c) => c.unit === 'px' && !('densityPerUm2' in c))).toBe(true);
  });

  it('uses anisotropic pixels for areas, sizes and density', () => {
    const px = { x: 2, y: 4 };
    const s = summarise(measureFeatures([dets[0]], area, px), area, px);
    // 200 px² · 8 nm² = 1600 nm²; area 8000 · 8 = 64,000 nm² = 0.064 µm²; 1 / 0.064 = 15.625.
    expect(s.totalAreaNm2).toBe(1600);
    expect(s.densityPerUm2).toBeCloseTo(15.625, 12);
    expect(s.meanEcd).toBeCloseTo(C * 40, 12);
  });

  it('lets the caller exclude edge-touching features, as ImageJ does on request', () => {
    const features = measureFeatures(dets, area, px2nm);
    const s = summarise(
      features.filter((f: Feature) => !f.edgeTouching),
      area,
      px2nm,
    );
    expect(s.count).toBe(2);
    expect(s.classes.map((c) => c.className)).toEqual(['particle']);
  });

  it('summarises an image with nothing found', () => {
    const nothing = {
      count: 0,
      edgeTouchingCount: 0,
      measuredCount: 0,
      totalAreaPx: 0,
      areaFraction: 0,
      areaSource: 'box',
      edgeFeatures: 'exclude',
      classes: [],
    };
    expect(summarise([], area, px2nm)).toEqual({
      ...nothing,
      totalAreaNm2: 0,
      densityPerUm2: 0,
      unit: 'nm',
    });
    expect(summarise([], area)).toEqual({ ...nothing, unit: 'px' });
  });

  it('rejects an empty area and an absurd pixel size', () => {
    expect(() => summarise([], { width: 100, height: 0 })).toThrow(/height/);
    expect(() => summarise([], area, { x: 2, y: 0 })).toThrow(/pixel size y/);
  });
});

describe('displayUnit', () => {
  it('picks nm below 1 µm, µm below 1 mm, else mm', () => {
    expect(displayUnit(0)).toEqual({ unit: 'nm', perNm: 1 });
    expect(displayUnit(999.9)).toEqual({ unit: 'nm', perNm: 1 });
    expect(displayUnit(1000)).toEqual({ unit: 'µm', perNm: 1000 });
    expect(displayUnit(250_000)).toEqual({ unit: 'µm', perNm: 1000 });
    expect(displayUnit(999_999)).toEqual({ unit: 'µm', perNm: 1000 });
    expect(displayUnit(1e6)).toEqual({ unit: 'mm', perNm: 1e6 });
    expect(displayUnit(3.5e7)).toEqual({ unit: 'mm', perNm: 1e6 });
  });

  it('falls back to nm for a meaningless maximum', () => {
    expect(displayUnit(Number.NaN)).toEqual({ unit: 'nm', perNm: 1 });
    expect(displayUnit(-5)).toEqual({ unit: 'nm', perNm: 1 });
  });
});
