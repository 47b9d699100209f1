import { describe, expect, it } from 'vitest';
import type { OutputShapeInfo } from '../../src/core/layout.ts';
import { letterboxGeometry } from '../../src/core/letterbox.ts';
import { postprocess } from '../../src/core/postprocess.ts';
import { yolov8Output } from './tensors.ts';

const f32 = Math.fround;

// bus.jpg geometry: scale 16/27 and 80 px bars left and right, so input x = 80 + 16k maps to source 27k.
const bus = letterboxGeometry(810, 1080, 640, 640);
const names = ['person', 'bicycle', 'car'];
const options = { confidence: 0.25, iou: 0.45, maxDetections: 300, names };

describe('postprocess yolov8', () => {
  const numClasses = 6;
  const info: OutputShapeInfo = { layout: 'yolov8', numClasses, numCandidates: 6 };
  const dims = [1, 4 + numClasses, 6];
  const one = (c: number, s: number) => Array.from({ length: numClasses }, (_, i) => (i === c ? s : 0));
  const data = yolov8Output(
    [
      [
        // person, input [96, 32, 176, 192] → source [27, 54, 162, 324]
        { cx: 136, cy: 112, w: 80, h: 160, scores: one(0, 0.9) },
        // the same person a little to the right: suppressed
        { cx: 140, cy: 112, w: 80, h: 160, scores: one(0, 0.8) },
        // a car on the very same box: another class, kept
        { cx: 136, cy: 112, w: 80, h: 160, scores: one(2, 0.6) },
        // wholly in the left bar: nothing in the image
        { cx: 30, cy: 150, w: 60, h: 100, scores: one(1, 0.95) },
        // below the threshold
        { cx: 300, cy: 300, w: 50, h: 50, scores: one(0, 0.1) },
        // a class without a name, running off the bottom right corner: input [528, 560, 600, 660]
        { cx: 564, cy: 610, w: 72, h: 100, scores: one(5, 0.7) },
      ],
    ],
    numClasses,
  );

  it('decodes, suppresses, maps to source pixels and names the classes', () => {
    expect(postprocess(data, dims, info, bus, options)).toEqual([
      { classId: 0, className: 'person', score: f32(0.9), box: [27, 54, 162, 324] },
      { classId: 5, className: 'class5', score: f32(0.7), box: [756, 945, 810, 1080] },
      { classId: 2, className: 'car', score: f32(0.6), box: [27, 54, 162, 324] },
    ]);
  });

  it('does not let boxes in the padding use up maxDetections', () => {
    const top2 = postprocess(data, dims, info, bus, { ...options, maxDetections: 2 });
    expect(top2.map((d) => d.className)).toEqual(['person', 'class5']);
  });

  it('keeps only the requested classes', () => {
    const cars = postprocess(data, dims, info, bus, { ...options, classes: [2] });
    expect(cars).toEqual([{ classId: 2, className: 'car', score: f32(0.6), box: [27, 54, 162, 324] }]);
  });

  it('applies the confidence threshold', () => {
    const strong = postprocess(data, dims, info, bus, { ...options, confidence: 0.75 });
    expect(strong.map((d) => d.score)).toEqual([f32(0.9)]);
  });

  it('uses the IoU threshold', () => {
    // The shifted person overlaps by 76/84 ≈ 0.905.
    const loose = postprocess(data, dims, info, bus, { ...options, iou: 0.95 });
    expect(loose.map((d) => d.score)).toEqual([f32(0.9), f32(0.8), f32(0.7), f32(0.6)]);
    expect(loose[1].box).toEqual([33.75, 54, 168.75, 324]);
  });

  it('reads the requested image of a batch', () => {
    const batch = yolov8Output(
      [
        [
          { cx: 320, cy: 320, w: 10, h: 10, scores: one(0, 0) },
          { cx: 320, cy: 320, w: 10, h: 10, scores: one(0, 0) },
        ],
        [
          { cx: 320, cy: 320, w: 10, h: 10, scores: one(0, 0) },
          { cx: 336, cy: 336, w: 32, h: 64, scores: one(1, 0.5) },
        ],
      ],
      numClasses,
    );
    const second = postprocess(batch, [2, 4 + numClasses, 2], info, bus, { ...options, batchIndex: 1 });
    // input [320, 304, 352, 368] → source [(320-80)·27/16, 304·27/16, …]
    expect(second).toEqual([{ classId: 1, className: 'bicycle', score: 0.5, box: [405, 513, 459, 621] }]);
  });
});

describe('postprocess yolov10-e2e', () => {
  const info: OutputShapeInfo = { layout: 'yolov10-e2e', numClasses: 80, numCandidates: 5 };
  const zidane = letterboxGeometry(1280, 720, 640, 640);
  const data = Float32Array.from([
    ...[100, 190, 150, 240, 0.6, 0],
    ...[100, 190, 150, 240, 0.9, 0],
    ...[110, 190, 160, 240, 0.8, 0],
    ...[0, 0, 640, 100, 0.95, 2],
    ...[0, 0, 10, 10, 0.05, 1],
  ]);

  it('keeps overlapping boxes as the model gave them, by descending score, without NMS', () => {
    const detections = postprocess(data, [1, 5, 6], info, zidane, options);
    expect(detections).toEqual([
      { classId: 0, className: 'person', score: f32(0.9), box: [200, 100, 300, 200] },
      { classId: 0, className: 'person', score: f32(0.8), box: [220, 100, 320, 200] },
      { classId: 0, className: 'person', score: f32(0.6), box: [200, 100, 300, 200] },
    ]);
  });

  it('still applies maxDetections and the class filter', () => {
    expect(postprocess(data, [1, 5, 6], info, zidane, { ...options, maxDetections: 1 })).toHaveLength(1);
    expect(postprocess(data, [1, 5, 6], info, zidane, { ...options, classes: [1] })).toEqual([]);
  });
});
