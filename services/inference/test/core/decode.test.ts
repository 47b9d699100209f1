import { describe, expect, it } from 'vitest';
import { decodeOutput } from '../../src/core/decode.ts';
import type { OutputShapeInfo } from '../../src/core/layout.ts';
import { yolov5Output, yolov8Output } from './tensors.ts';

const f32 = Math.fround;

describe('decodeOutput yolov8', () => {
  const info: OutputShapeInfo = { layout: 'yolov8', numClasses: 3, numCandidates: 4 };
  const dims = [1, 7, 4];
  const data = yolov8Output(
    [
      [
        { cx: 100, cy: 50, w: 20, h: 10, scores: [0.1, 0.9, 0.2] },
        { cx: 300, cy: 300, w: 40, h: 40, scores: [0.1, 0.1, 0.1] },
        { cx: 200, cy: 400, w: 60, h: 30, scores: [0.3, 0, 0.25] },
        { cx: 10, cy: 20, w: 4, h: 8, scores: [0, 0, 0.5] },
      ],
    ],
    3,
  );

  it('takes the best class score, keeps it at or above the threshold and converts to corners', () => {
    const c = decodeOutput(data, dims, info, { confidence: 0.25 });
    expect(c.count).toBe(3);
    expect(Array.from(c.boxes)).toEqual([90, 45, 110, 55, 170, 385, 230, 415, 8, 16, 12, 24]);
    expect(Array.from(c.scores)).toEqual([f32(0.9), f32(0.3), 0.5]);
    expect(Array.from(c.classIds)).toEqual([1, 0, 2]);
  });

  it('keeps a score exactly at the threshold', () => {
    const c = decodeOutput(data, dims, info, { confidence: 0.5 });
    expect(Array.from(c.classIds)).toEqual([1, 2]);
  });

  it('keeps every anchor at confidence 0', () => {
    expect(decodeOutput(data, dims, info, { confidence: 0 }).count).toBe(4);
  });

  it('filters classes after picking the best one, as Ultralytics does', () => {
    const person = decodeOutput(data, dims, info, { confidence: 0.25, classes: [0] });
    expect(Array.from(person.classIds)).toEqual([0]);
    expect(Array.from(person.boxes)).toEqual([170, 385, 230, 415]);
    // Anchor 2 scores 0.25 for class 2 but its best class is 0, so it is not a class-2 detection.
    const cls2 = decodeOutput(data, dims, info, { confidence: 0.25, classes: [2] });
    expect(Array.from(cls2.boxes)).toEqual([8, 16, 12, 24]);
    expect(decodeOutput(data, dims, info, { confidence: 0.25, classes: [] }).count).toBe(0);
  });

  it('returns empty arrays when nothing passes', () => {
    const c = decodeOutput(data, dims, info, { confidence: 0.95 });
    expect(c).toEqual({
      boxes: new Float32Array(0),
      scores: new Float32Array(0),
      classIds: new Int32Array(0),
      count: 0,
    });
  });

  it('decodes the requested image of a batch', () => {
    const batch = yolov8Output(
      [
        [
          { cx: 10, cy: 10, w: 2, h: 2, scores: [0.9, 0] },
          { cx: 20, cy: 20, w: 2, h: 2, scores: [0, 0] },
        ],
        [
          { cx: 30, cy: 30, w: 2, h: 2, scores: [0, 0] },
          { cx: 40, cy: 40, w: 4, h: 6, scores: [0.1, 0.75] },
        ],
      ],
      2,
    );
    const two: OutputShapeInfo = { layout: 'yolov8', numClasses: 2, numCandidates: 2 };
    const second = decodeOutput(batch, [2, 6, 2], two, { confidence: 0.25, batchIndex: 1 });
    expect(second.count).toBe(1);
    expect(Array.from(second.boxes)).toEqual([38, 37, 42, 43]);
    expect(Array.from(second.scores)).toEqual([0.75]);
    expect(Array.from(second.classIds)).toEqual([1]);
    const first = decodeOutput(batch, [2, 6, 2], two, { confidence: 0.25 });
    expect(Array.from(first.boxes)).toEqual([9, 9, 11, 11]);
  });

  it('finds the batch size from the data when the batch dimension is dynamic', () => {
    const batch = new Float32Array(2 * 7 * 4);
    batch.set(data, 7 * 4);
    expect(decodeOutput(batch, [-1, 7, 4], info, { confidence: 0.25, batchIndex: 1 }).count).toBe(3);
  });

  it('rejects a batch index outside the batch', () => {
    expect(() => decodeOutput(data, dims, info, { confidence: 0.25, batchIndex: 1 })).toThrow(
      /batchIndex 1 is outside a batch of 1/,
    );
    expect(() => decodeOutput(data, dims, info, { confidence: 0.25, batchIndex: -1 })).toThrow(RangeError);
  });

  it('rejects data that does not fill whole images', () => {
    expect(() => decodeOutput(data.subarray(1), dims, info, { confidence: 0.25 })).toThrow(/whole \[7, 4\]/);
  });

  it('rejects dims that do not match the layout', () => {
    expect(() => decodeOutput(data, [1, 4, 7], info, { confidence: 0.25 })).toThrow(
      /\[1, 4, 7\] does not match yolov8 with 3 classes/,
    );
    expect(() => decodeOutput(data, [28], info, { confidence: 0.25 })).toThrow(/3-dimensional/);
  });
});

describe('decodeOutput yolov5', () => {
  const info: OutputShapeInfo = { layout: 'yolov5', numClasses: 2, numCandidates: 5 };
  const rows = [
    // cx, cy, w, h, objectness, class 0, class 1
    [100, 100, 20, 40, 0.9, 0.2, 0.8],
    [200, 200, 10, 10, 0.2, 1, 0],
    [300, 300, 10, 10, 0.5, 0.4, 0.1],
    [50, 60, 10, 20, 0.6, 0.5, 0.45],
    [0, 0, 10, 10, 0.25, 1, 0],
  ];
  const data = yolov5Output([rows], 2);

  it('scores objectness × best class probability', () => {
    const c = decodeOutput(data, [1, 5, 7], info, { confidence: 0.25 });
    // Row 1: objectness 0.2 is below the threshold. Row 2: 0.5 × 0.4 = 0.2 is too. Row 4: 0.25 × 1 passes.
    expect(c.count).toBe(3);
    expect(Array.from(c.classIds)).toEqual([1, 0, 0]);
    expect(c.scores[0]).toBeCloseTo(0.72, 6);
    expect(c.scores[1]).toBeCloseTo(0.3, 6);
    expect(c.scores[2]).toBe(0.25);
    expect(Array.from(c.boxes)).toEqual([90, 80, 110, 120, 45, 50, 55, 70, -5, -5, 5, 5]);
  });

  it('lets the product decide even when the class probability alone is high', () => {
    const c = decodeOutput(data, [1, 5, 7], info, { confidence: 0.5 });
    expect(c.count).toBe(1);
    expect(Array.from(c.boxes)).toEqual([90, 80, 110, 120]);
  });

  it('filters classes', () => {
    const c = decodeOutput(data, [1, 5, 7], info, { confidence: 0.25, classes: [1] });
    expect(Array.from(c.classIds)).toEqual([1]);
  });

  it('decodes the second image of a batch of 2', () => {
    const second = [
      [0, 0, 1, 1, 0, 0, 0],
      [0, 0, 1, 1, 0, 0, 0],
      [0, 0, 1, 1, 0, 0, 0],
      [0, 0, 1, 1, 0, 0, 0],
      [400, 500, 8, 6, 1, 0, 0.6],
    ];
    const batch = yolov5Output([rows, second], 2);
    const c = decodeOutput(batch, [2, 5, 7], info, { confidence: 0.25, batchIndex: 1 });
    expect(c.count).toBe(1);
    expect(Array.from(c.boxes)).toEqual([396, 497, 404, 503]);
    expect(c.scores[0]).toBeCloseTo(0.6, 6);
    expect(Array.from(c.classIds)).toEqual([1]);
  });

  it('rejects dims that do not match the class count', () => {
    expect(() => decodeOutput(data, [1, 7, 5], info, { confidence: 0.25 })).toThrow(/does not match yolov5/);
  });
});

describe('decodeOutput yolov10-e2e', () => {
  const info: OutputShapeInfo = { layout: 'yolov10-e2e', numClasses: 80, numCandidates: 4 };
  const data = Float32Array.from([
    ...[10, 20, 30, 40, 0.9, 2],
    ...[0, 0, 5, 5, 0.1, 1],
    ...[50, 60, 70, 80, 0.5, 0],
    ...[1, 2, 3, 4, 0.3, 4.9999],
  ]);

  it('keeps rows at or above the threshold with their corners and class as given', () => {
    const c = decodeOutput(data, [1, 4, 6], info, { confidence: 0.25 });
    expect(c.count).toBe(3);
    expect(Array.from(c.boxes)).toEqual([10, 20, 30, 40, 50, 60, 70, 80, 1, 2, 3, 4]);
    expect(Array.from(c.scores)).toEqual([f32(0.9), 0.5, f32(0.3)]);
    // The quantized 4.9999 is class 5.
    expect(Array.from(c.classIds)).toEqual([2, 0, 5]);
  });

  it('filters classes', () => {
    const c = decodeOutput(data, [1, 4, 6], info, { confidence: 0.25, classes: [0, 5] });
    expect(Array.from(c.classIds)).toEqual([0, 5]);
  });

  it('decodes the second image of a batch of 2', () => {
    const batch = new Float32Array(48);
    batch.set([5, 6, 7, 8, 0.8, 3], 24);
    const c = decodeOutput(batch, [2, 4, 6], info, { confidence: 0.25, batchIndex: 1 });
    expect(Array.from(c.boxes)).toEqual([5, 6, 7, 8]);
    expect(Array.from(c.classIds)).toEqual([3]);
    expect(decodeOutput(batch, [2, 4, 6], info, { confidence: 0.25, batchIndex: 0 }).count).toBe(0);
  });
});
