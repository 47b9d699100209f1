import { describe, expect, it } from 'vitest';
import type { Candidates } from '../../src/core/decode.ts';
import { iou, nms, rankByScore } from '../../src/core/nms.ts';

function candidates(list: { box: number[]; score: number; classId?: number }[]): Candidates {
  return {
    boxes: Float32Array.from(list.flatMap((c) => c.box)),
    scores: Float32Array.from(list.map((c) => c.score)),
    classIds: Int32Array.from(list.map((c) => c.classId ?? 0)),
    count: list.length,
  };
}

describe('iou', () => {
  it('is 1 for identical boxes', () => {
    expect(iou([0, 0, 10, 10], 0, [0, 0, 10, 10], 0)).toBe(1);
  });

  it('is intersection over union for overlapping boxes', () => {
    // 50 shared of 150 covered.
    expect(iou([0, 0, 10, 10], 0, [5, 0, 15, 10], 0)).toBeCloseTo(1 / 3, 12);
    // A box inside another: 25 of 100.
    expect(iou([0, 0, 10, 10], 0, [0, 0, 5, 5], 0)).toBe(0.25);
  });

  it('is 0 for disjoint or edge-touching boxes', () => {
    expect(iou([0, 0, 10, 10], 0, [20, 20, 30, 30], 0)).toBe(0);
    expect(iou([0, 0, 10, 10], 0, [10, 0, 20, 10], 0)).toBe(0);
  });

  it('is 0 for empty boxes', () => {
    expect(iou([5, 5, 5, 5], 0, [5, 5, 5, 5], 0)).toBe(0);
  });

  it('reads boxes at offsets of flat arrays', () => {
    const flat = Float32Array.from([99, 99, 99, 99, 0, 0, 10, 10, 5, 0, 15, 10]);
    expect(iou(flat, 4, flat, 8)).toBeCloseTo(1 / 3, 6);
    expect(iou(flat, 8, [0, 0, 10, 10], 0)).toBeCloseTo(1 / 3, 6);
  });
});

describe('rankByScore', () => {
  it('orders by descending score and keeps ties in decode order', () => {
    const c = candidates([
      { box: [0, 0, 1, 1], score: 0.5 },
      { box: [0, 0, 1, 1], score: 0.9 },
      { box: [0, 0, 1, 1], score: 0.5 },
      { box: [0, 0, 1, 1], score: 0.7 },
    ]);
    expect(rankByScore(c)).toEqual([1, 3, 0, 2]);
  });
});

describe('nms', () => {
  // iou(A, B) = 90/110 ≈ 0.82.
  const overlapping = candidates([
    { box: [0, 0, 10, 10], score: 0.9, classId: 0 },
    { box: [1, 0, 11, 10], score: 0.8, classId: 0 },
    { box: [1, 0, 11, 10], score: 0.7, classId: 1 },
  ]);

  it('suppresses a weaker overlapping box of the same class', () => {
    expect(nms(overlapping, { iou: 0.45, maxDetections: 300 })).toEqual([0, 2]);
  });

  it('never lets one class suppress another unless agnostic', () => {
    expect(nms(overlapping, { iou: 0.45, maxDetections: 300, agnostic: false })).toEqual([0, 2]);
    expect(nms(overlapping, { iou: 0.45, maxDetections: 300, agnostic: true })).toEqual([0]);
  });

  it('keeps both boxes when the threshold is above their overlap', () => {
    expect(nms(overlapping, { iou: 0.85, maxDetections: 300 })).toEqual([0, 1, 2]);
  });

  it('suppresses only above the threshold, not at it', () => {
    const c = candidates([
      { box: [0, 0, 10, 10], score: 0.9 },
      { box: [5, 0, 15, 10], score: 0.8 },
    ]);
    expect(nms(c, { iou: 1 / 3, maxDetections: 300 })).toEqual([0, 1]);
    expect(nms(c, { iou: 0.33, maxDetections: 300 })).toEqual([0]);
  });

  it('lets a suppressed box suppress nothing', () => {
    // A suppresses B (0.25); B would suppress C (0.25) but C does not touch A.
    const chain = candidates([
      { box: [0, 0, 10, 10], score: 0.9 },
      { box: [6, 0, 16, 10], score: 0.8 },
      { box: [12, 0, 22, 10], score: 0.7 },
    ]);
    expect(nms(chain, { iou: 0.2, maxDetections: 300 })).toEqual([0, 2]);
  });

  it('returns indices by descending score whatever the decode order', () => {
    const c = candidates([
      { box: [0, 0, 10, 10], score: 0.3 },
      { box: [20, 0, 30, 10], score: 0.9 },
      { box: [40, 0, 50, 10], score: 0.6 },
      { box: [41, 0, 51, 10], score: 0.95 },
    ]);
    expect(nms(c, { iou: 0.45, maxDetections: 300 })).toEqual([3, 1, 0]);
  });

  it('stops at maxDetections, keeping the best', () => {
    const c = candidates(
      [0.2, 0.8, 0.5, 0.9, 0.1].map((score, i) => ({ box: [i * 20, 0, i * 20 + 10, 10], score })),
    );
    expect(nms(c, { iou: 0.45, maxDetections: 3 })).toEqual([3, 1, 2]);
    expect(nms(c, { iou: 0.45, maxDetections: 0 })).toEqual([]);
  });

  it('returns nothing for no candidates', () => {
    expect(nms(candidates([]), { iou: 0.45, maxDetections: 300 })).toEqual([]);
  });
});
