import { describe, expect, it } from 'vitest';
import { MAX_SORTED_VALUES, mapLinear, percentiles, toEightBit } from '../../src/microscopy/intensity.ts';
import type { Raster, SampleArray, SampleType } from '../../src/microscopy/raster.ts';

const raster = (sampleType: SampleType, data: SampleArray, channels: 1 | 3 = 1): Raster => ({
  width: data.length / channels,
  height: 1,
  channels,
  sampleType,
  data,
});

describe('toEightBit', () => {
  it('passes 8-bit data through untouched', () => {
    const data = Uint8Array.of(0, 17, 255);
    const { data8, mapping } = toEightBit(raster('uint8', data));
    expect(data8).toBe(data);
    expect(mapping).toEqual({ rule: 'none', low: 0, high: 100, lowValue: 0, highValue: 255 });
  });

  it('stretches uint16 between nearest-rank percentiles: 0…999 at 10–90 % maps 100→0 and 899→255', () => {
    const data = Uint16Array.from({ length: 1000 }, (_, i) => i);
    const { data8, mapping } = toEightBit(raster('uint16', data), { low: 10, high: 90 });
    // ranks round(0.10 × 999) = 100 and round(0.90 × 999) = 899
    expect(mapping).toEqual({ rule: 'percentile', low: 10, high: 90, lowValue: 100, highValue: 899 });
    expect([data8[0], data8[100], data8[101], data8[500], data8[899], data8[999]]).toEqual([
      0, 0, 0, 128, 255, 255,
    ]);
    // 500 → (500 − 100) × 255 / 799 = 127.66 → 128; 101 → 0.32 → 0
  });

  it('uses the 0.1–99.9 % default', () => {
    const data = Uint16Array.from({ length: 10000 }, (_, i) => i);
    // ranks round(0.001 × 9999) = 10 and round(0.999 × 9999) = 9989
    expect(toEightBit(raster('uint16', data)).mapping).toMatchObject({
      low: 0.1,
      high: 99.9,
      lowValue: 10,
      highValue: 9989,
    });
  });

  it('handles signed 16-bit through the histogram offset', () => {
    const { data8, mapping } = toEightBit(raster('int16', Int16Array.of(-300, -100, 0, 100, 300)), {
      low: 0,
      high: 100,
    });
    expect(mapping).toMatchObject({ lowValue: -300, highValue: 300 });
    // (v + 300) × 255 / 600: 85, 127.5 → 128, 170
    expect(Array.from(data8)).toEqual([0, 85, 128, 170, 255]);
  });

  it('maps NaN and ±Infinity to 0 and leaves them out of the percentiles', () => {
    const data = Float32Array.of(Number.NaN, Number.NEGATIVE_INFINITY, 1, 2, 3, Number.POSITIVE_INFINITY);
    const { data8, mapping } = toEightBit(raster('float32', data), { low: 0, high: 100 });
    expect(mapping).toMatchObject({ lowValue: 1, highValue: 3 });
    expect(Array.from(data8)).toEqual([0, 0, 0, 128, 255, 0]);
  });

  it('a constant image becomes all 0; a near-constant one keeps its outliers at 255', () => {
    const constant = toEightBit(raster('float64', Float64Array.of(5, 5, 5, 5)));
    expect(Array.from(constant.data8)).toEqual([0, 0, 0, 0]);
    expect(constant.mapping).toMatchObject({ lowValue: 5, highValue: 5 });
    const near = Uint16Array.from({ length: 2000 }, (_, i) => (i === 1999 ? 9 : 7));
    const { data8, mapping } = toEightBit(raster('uint16', near));
    expect(mapping).toMatchObject({ lowValue: 7, highValue: 7 });
    expect(data8[0]).toBe(0);
    expect(data8[1999]).toBe(255);
    expect(Array.from(toEightBit(raster('float32', Float32Array.of(Number.NaN, Number.NaN))).data8)).toEqual([
      0, 0,
    ]);
  });

  it('uses one mapping for all channels of RGB 16-bit, keeping the colour balance', () => {
    const { data8, mapping } = toEightBit(raster('uint16', Uint16Array.of(0, 500, 1000, 1000, 500, 0), 3), {
      low: 0,
      high: 100,
    });
    expect(mapping).toMatchObject({ lowValue: 0, highValue: 1000 });
    expect(Array.from(data8)).toEqual([0, 128, 255, 255, 128, 0]);
  });

  it('refuses percentiles out of order or range', () => {
    const r = raster('uint16', Uint16Array.of(1, 2));
    expect(() => toEightBit(r, { low: 50, high: 50 })).toThrow(
      'stretch percentiles must satisfy 0 ≤ low < high ≤ 100, got 50 and 50',
    );
    expect(() => toEightBit(r, { low: -1, high: 90 })).toThrow(RangeError);
    expect(() => toEightBit(r, { low: 1, high: 101 })).toThrow(RangeError);
  });
});

describe('percentiles', () => {
  it('the histogram (uint16) and the sort (float64) agree on the same values', () => {
    let seed = 12345;
    const data = Uint16Array.from({ length: 50000 }, () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % 65536;
    });
    const ps = [0, 0.1, 1, 50, 99, 99.9, 100];
    expect(percentiles(data, 'uint16', ps)).toEqual(percentiles(Float64Array.from(data), 'float64', ps));
  });

  it('above 2 × 2^20 float values, samples a regular grid and stays within a grid step of exact', () => {
    const n = 2 * MAX_SORTED_VALUES + 6;
    const data = Float32Array.from({ length: n }, (_, i) => (i * 7919) % n);
    const [low, median, high] = percentiles(data, 'float32', [0.1, 50, 99.9]);
    // The values are a permutation of 0…n−1, so exact nearest-rank percentiles are 2097, 1048579 and
    // 2095060; sampling every other value may land a step or two away.
    expect(Math.abs(low - 0.001 * (n - 1))).toBeLessThan(8);
    expect(Math.abs(median - 0.5 * (n - 1))).toBeLessThan(8);
    expect(Math.abs(high - 0.999 * (n - 1))).toBeLessThan(8);
  });

  it('mapLinear clips outside the range and rounds inside', () => {
    expect(Array.from(mapLinear(Float64Array.of(-10, 0, 0.5, 1, 2), 0, 1))).toEqual([0, 0, 128, 255, 255]);
  });
});
