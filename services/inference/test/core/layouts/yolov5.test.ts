import { describe, expect, it } from 'vitest';
import { yolov5 } from '../../../src/core/layouts/yolov5.ts';
import { letterboxGeometry } from '../../../src/core/letterbox.ts';
import { yolov5Output } from '../tensors.ts';

const out = (...dims: (number | string)[]) => [{ name: 'output0', dims }];
const names = (n: number) => Array.from({ length: n }, (_, i) => `c${i}`);

describe('yolov5 layout', () => {
  it('reads [b, N, 5+C] with or without class names, a single class by its name', () => {
    expect(yolov5.match(out(1, 25200, 85), {})).toEqual({ numClasses: 80, numCandidates: 25200 });
    expect(yolov5.match(out(-1, 25200, 85), { names: names(80) })).toEqual({
      numClasses: 80,
      numCandidates: 25200,
    });
    expect(yolov5.match(out(1, 25200, 6), { names: names(1) })).toEqual({
      numClasses: 1,
      numCandidates: 25200,
    });
  });

  it('refuses the YOLOv8 shapes and a dynamic candidate axis', () => {
    expect(yolov5.match(out(1, 84, 8400), {})).toBeUndefined();
    expect(yolov5.match(out(1, 84, 8400), { names: names(80) })).toBeUndefined();
    expect(yolov5.match(out(1, -1, 85), {})).toBeUndefined();
    expect(yolov5.match(out(1, 8400, 5), {})).toBeUndefined();
  });

  it('decodes a tiny output to detections scored objectness × class probability', () => {
    const data = yolov5Output(
      [
        [
          [20, 20, 10, 10, 0.9, 0.2, 0.8],
          [21, 20, 10, 10, 0.7, 0.1, 0.9],
          [40, 40, 8, 8, 0.5, 0.4, 0.1],
        ],
      ],
      2,
    );
    const g = letterboxGeometry(64, 64, 64, 64);
    const shape = { numClasses: 2, numCandidates: 3 };
    const options = { confidence: 0.25, iou: 0.45, maxDetections: 10, names: ['pore', 'crack'] };
    const detections = yolov5.decode(data, [1, 3, 7], shape, g, options);
    // The second row (0.7 × 0.9 = 0.63) overlaps the first (0.9 × 0.8 = 0.72) by 9/11 and is suppressed;
    // the third scores 0.5 × 0.4 = 0.2, below the threshold.
    expect(detections).toHaveLength(1);
    expect(detections[0]).toMatchObject({ classId: 1, className: 'crack', box: [15, 15, 25, 25] });
    expect(detections[0].score).toBeCloseTo(0.72, 6);
  });
});
