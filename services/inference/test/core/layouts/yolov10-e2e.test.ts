import { describe, expect, it } from 'vitest';
import { yolov10EndToEnd } from '../../../src/core/layouts/yolov10-e2e.ts';
import { letterboxGeometry } from '../../../src/core/letterbox.ts';

const out = (...dims: (number | string)[]) => [{ name: 'output0', dims }];
const names = (n: number) => Array.from({ length: n }, (_, i) => `c${i}`);

describe('yolov10-e2e layout', () => {
  it('reads [b, K, 6], taking the class count from the names when there are any', () => {
    expect(yolov10EndToEnd.match(out(1, 300, 6), { names: names(80), end2end: true })).toEqual({
      numClasses: 80,
      numCandidates: 300,
    });
    expect(yolov10EndToEnd.match(out(1, 300, 6), {})).toEqual({ numClasses: 0, numCandidates: 300 });
    expect(yolov10EndToEnd.match(out(1, 300, 6), { names: names(1), end2end: true })).toEqual({
      numClasses: 1,
      numCandidates: 300,
    });
  });

  it('leaves a single-class [b, N, 6] without end2end to YOLOv5 and refuses other shapes', () => {
    expect(yolov10EndToEnd.match(out(1, 25200, 6), { names: names(1) })).toBeUndefined();
    expect(yolov10EndToEnd.match(out(1, 84, 8400), { end2end: true })).toBeUndefined();
    expect(yolov10EndToEnd.match(out(1, 25200, 85), {})).toBeUndefined();
  });

  it('decodes a tiny output as the model gave it: no NMS, ranked, maxDetections applied', () => {
    const data = Float32Array.from([
      ...[10, 10, 20, 20, 0.6, 0],
      ...[10, 10, 20, 20, 0.9, 0],
      ...[30, 30, 40, 44, 0.7, 1.9999],
      ...[0, 0, 5, 5, 0.1, 1],
    ]);
    const g = letterboxGeometry(64, 64, 64, 64);
    const shape = { numClasses: 2, numCandidates: 4 };
    const options = { confidence: 0.25, iou: 0.45, maxDetections: 10, names: ['pore', 'crack'] };
    expect(yolov10EndToEnd.decode(data, [1, 4, 6], shape, g, options)).toEqual([
      { classId: 0, className: 'pore', score: Math.fround(0.9), box: [10, 10, 20, 20] },
      { classId: 2, className: 'class2', score: Math.fround(0.7), box: [30, 30, 40, 44] },
      { classId: 0, className: 'pore', score: Math.fround(0.6), box: [10, 10, 20, 20] },
    ]);
    expect(yolov10EndToEnd.decode(data, [1, 4, 6], shape, g, { ...options, maxDetections: 1 })).toHaveLength(
      1,
    );
  });
});
