import { describe, expect, it } from 'vitest';
import { yolov8 } from '../../../src/core/layouts/yolov8.ts';
import { letterboxGeometry } from '../../../src/core/letterbox.ts';
import { yolov8Output } from '../tensors.ts';

const out = (...dims: (number | string)[]) => [{ name: 'output0', dims }];
const names = (n: number) => Array.from({ length: n }, (_, i) => `c${i}`);

describe('yolov8 layout', () => {
  it('reads [b, 4+C, N] with or without class names', () => {
    expect(yolov8.match(out(1, 84, 8400), { names: names(80) })).toEqual({
      numClasses: 80,
      numCandidates: 8400,
    });
    expect(yolov8.match(out('batch', 84, 2100), {})).toEqual({ numClasses: 80, numCandidates: 2100 });
  });

  it('refuses the YOLOv5, end-to-end and segmentation shapes', () => {
    expect(yolov8.match(out(1, 25200, 85), {})).toBeUndefined();
    expect(yolov8.match(out(1, 25200, 85), { names: names(80) })).toBeUndefined();
    expect(yolov8.match(out(1, 300, 6), { end2end: true })).toBeUndefined();
    expect(yolov8.match(out(1, 116, 8400), { names: names(80) })).toBeUndefined();
    expect(yolov8.match(out(1, 84), {})).toBeUndefined();
    expect(yolov8.match([], {})).toBeUndefined();
  });

  it('decodes a tiny output to detections after NMS, in source pixels', () => {
    const data = yolov8Output(
      [
        [
          { cx: 20, cy: 20, w: 10, h: 10, scores: [0.9, 0.1] },
          { cx: 21, cy: 20, w: 10, h: 10, scores: [0.8, 0] },
          { cx: 50, cy: 50, w: 4, h: 8, scores: [0, 0.6] },
        ],
      ],
      2,
    );
    // A 128×128 image in a 64×64 input: scale 0.5, no padding.
    const g = letterboxGeometry(128, 128, 64, 64);
    const shape = { numClasses: 2, numCandidates: 3 };
    const options = { confidence: 0.25, iou: 0.45, maxDetections: 10, names: ['pore', 'crack'] };
    expect(yolov8.decode(data, [1, 6, 3], shape, g, options)).toEqual([
      { classId: 0, className: 'pore', score: Math.fround(0.9), box: [30, 30, 50, 50] },
      { classId: 1, className: 'crack', score: Math.fround(0.6), box: [96, 92, 104, 108] },
    ]);
  });
});
