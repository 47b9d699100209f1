import type { Raster, SampleArray, SampleType } from './raster.ts';

/** Percentiles (0–100) of the pixel values that map to 0 and 255. */
export interface IntensityStretch {
  low: number;
  high: number;
}

/** How the file's values became the model's 8-bit values; goes into every result. */
export interface IntensityMapping {
  rule: 'percentile' | 'none';
  /** Percentiles used. */
  low: number;
  high: number;
  /** The pixel values at those percentiles: lowValue → 0, highValue → 255. */
  lowValue: number;
  highValue: number;
}

export const DEFAULT_STRETCH: IntensityStretch = { low: 0.1, high: 99.9 };

/**
 * Float and 32-bit images are sorted to find percentiles: all values below twice this many pixels,
 * above that every k-th pixel (between this many and twice as many values). A regular grid rather
 * than random sampling keeps results reproducible; with 2^20 values a percentile is off by far less
 * than one 8-bit level on a micrograph.
 */
export const MAX_SORTED_VALUES = 1 << 20;

const NONE: IntensityMapping = { rule: 'none', low: 0, high: 100, lowValue: 0, highValue: 255 };

/**
 * Converts a raster to 8-bit for the model. 8-bit data passes unchanged. Everything else is stretched
 * linearly between two percentiles (default 0.1 % and 99.9 %) of its finite values, one mapping for
 * all channels so colours keep their balance; values outside clip to 0 and 255, NaN and ±Infinity
 * become 0. When both percentiles are the same value (a constant image) pixels at or below it are 0
 * and any above it 255, so nothing divides by zero.
 */
export function toEightBit(
  raster: Raster,
  stretch: IntensityStretch = DEFAULT_STRETCH,
): { data8: Uint8Array; mapping: IntensityMapping } {
  if (raster.sampleType === 'uint8') return { data8: raster.data as Uint8Array, mapping: NONE };
  const { low, high } = stretch;
  if (!(low >= 0 && high <= 100 && low < high)) {
    throw new RangeError(`stretch percentiles must satisfy 0 ≤ low < high ≤ 100, got ${low} and ${high}`);
  }
  const [lowValue, highValue] = percentiles(raster.data, raster.sampleType, [low, high]);
  return {
    data8: stretchTo8(raster.data, raster.sampleType, lowValue, highValue),
    mapping: { rule: 'percentile', low, high, lowValue, highValue },
  };
}

/**
 * Values at the given percentiles of the finite values, by nearest rank on the sorted values:
 * percentile p is the value at index round(p/100 × (n − 1)). Integer types of 16 bits or less use a
 * histogram (O(n), exact); wider types sort (see MAX_SORTED_VALUES). With no finite value at all,
 * every percentile is 0.
 */
export function percentiles(data: SampleArray, type: SampleType, ps: readonly number[]): number[] {
  const histogram = HISTOGRAM_TYPES[type];
  return histogram ? histogramPercentiles(data, histogram, ps) : sortedPercentiles(data, ps);
}

const HISTOGRAM_TYPES: Partial<Record<SampleType, { bins: number; offset: number }>> = {
  uint8: { bins: 256, offset: 0 },
  int8: { bins: 256, offset: 128 },
  uint16: { bins: 65536, offset: 0 },
  int16: { bins: 65536, offset: 32768 },
};

function rank(p: number, n: number): number {
  return Math.round((p / 100) * (n - 1));
}

function histogramPercentiles(
  data: SampleArray,
  h: { bins: number; offset: number },
  ps: readonly number[],
): number[] {
  const counts = new Uint32Array(h.bins);
  for (let i = 0; i < data.length; i++) counts[data[i] + h.offset]++;
  const n = data.length;
  if (n === 0) return ps.map(() => 0);
  return ps.map((p) => {
    const k = rank(p, n);
    let cumulative = 0;
    for (let bin = 0; bin < h.bins; bin++) {
      cumulative += counts[bin];
      if (cumulative > k) return bin - h.offset;
    }
    return h.bins - 1 - h.offset;
  });
}

function sortedPercentiles(data: SampleArray, ps: readonly number[]): number[] {
  const step = Math.max(1, Math.floor(data.length / MAX_SORTED_VALUES));
  const values = new Float64Array(Math.ceil(data.length / step));
  let n = 0;
  for (let i = 0; i < data.length; i += step) {
    const v = data[i];
    if (Number.isFinite(v)) values[n++] = v;
  }
  if (n === 0) return ps.map(() => 0);
  const sorted = values.subarray(0, n).sort();
  return ps.map((p) => sorted[rank(p, n)]);
}

/** Through a lookup table for 8/16-bit integers (one entry per possible value), else per pixel. */
function stretchTo8(data: SampleArray, type: SampleType, lowValue: number, highValue: number): Uint8Array {
  const h = HISTOGRAM_TYPES[type];
  if (!h) return mapLinear(data, lowValue, highValue);
  const lut = mapLinear(
    Float64Array.from({ length: h.bins }, (_, i) => i - h.offset),
    lowValue,
    highValue,
  );
  const out = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = lut[data[i] + h.offset];
  return out;
}

/** lowValue → 0, highValue → 255, linear and rounded between, clipped outside. */
export function mapLinear(data: SampleArray, lowValue: number, highValue: number): Uint8Array {
  const out = new Uint8Array(data.length);
  const range = highValue - lowValue;
  if (!(range > 0)) {
    for (let i = 0; i < data.length; i++) out[i] = data[i] > lowValue && Number.isFinite(data[i]) ? 255 : 0;
    return out;
  }
  const scale = 255 / range;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (!Number.isFinite(v)) continue;
    const t = (v - lowValue) * scale;
    out[i] = t <= 0 ? 0 : t >= 255 ? 255 : Math.round(t);
  }
  return out;
}
