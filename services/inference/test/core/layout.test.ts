import { describe, expect, it } from 'vitest';
import { detectLayout } from '../../src/core/layout.ts';

/** The detector's one output with these dims, and metadata naming `numClasses` classes. */
function detect(
  dims: readonly (number | string)[],
  options: { numClasses?: number; end2end?: boolean } = {},
) {
  const names = Array.from({ length: options.numClasses ?? 0 }, (_, i) => `class${i}`);
  return detectLayout([{ name: 'output0', dims }], { names, end2end: options.end2end });
}

describe('detectLayout', () => {
  describe('real model outputs', () => {
    it('reads yolov8n [1,84,8400] as YOLOv8 with 80 classes', () => {
      const expected = { layout: 'yolov8', numClasses: 80, numCandidates: 8400 };
      expect(detect([1, 84, 8400], { numClasses: 80 })).toEqual(expected);
      expect(detect([1, 84, 8400])).toEqual(expected);
    });

    it('reads yolo11n at 320 [1,84,2100] as YOLOv8 layout', () => {
      expect(detect([1, 84, 2100], { numClasses: 80, end2end: false })).toEqual({
        layout: 'yolov8',
        numClasses: 80,
        numCandidates: 2100,
      });
    });

    it('reads yolov10n [1,300,6] as end-to-end', () => {
      expect(detect([1, 300, 6], { numClasses: 80, end2end: true })).toEqual({
        layout: 'yolov10-e2e',
        numClasses: 80,
        numCandidates: 300,
      });
    });

    it('reads [1,300,6] as end-to-end even without metadata, with an unknown class count', () => {
      expect(detect([1, 300, 6])).toEqual({ layout: 'yolov10-e2e', numClasses: 0, numCandidates: 300 });
    });

    it('reads a YOLOv5 [1,25200,85] as YOLOv5 with 80 classes', () => {
      const expected = { layout: 'yolov5', numClasses: 80, numCandidates: 25200 };
      expect(detect([1, 25200, 85], { numClasses: 80 })).toEqual(expected);
      expect(detect([1, 25200, 85])).toEqual(expected);
    });
  });

  describe('class counts', () => {
    it('reads single-class YOLOv8 [1,5,8400] and two-class [1,6,8400]', () => {
      expect(detect([1, 5, 8400])).toEqual({ layout: 'yolov8', numClasses: 1, numCandidates: 8400 });
      expect(detect([1, 6, 8400], { numClasses: 2 })).toEqual({
        layout: 'yolov8',
        numClasses: 2,
        numCandidates: 8400,
      });
    });

    it('tells a single-class YOLOv5 [1,25200,6] from end-to-end by the class names', () => {
      expect(detect([1, 25200, 6], { numClasses: 1 })).toEqual({
        layout: 'yolov5',
        numClasses: 1,
        numCandidates: 25200,
      });
      expect(detect([1, 300, 6], { numClasses: 1, end2end: true })).toEqual({
        layout: 'yolov10-e2e',
        numClasses: 1,
        numCandidates: 300,
      });
    });

    it('treats 0 classes (no names in the metadata) as unknown', () => {
      expect(detect([1, 84, 8400], { numClasses: 0 })).toMatchObject({
        layout: 'yolov8',
        numClasses: 80,
      });
    });

    it('uses the class count when the shape alone points the other way', () => {
      // 85 columns would be YOLOv5 by shape alone, but 84 rows = 4 + 80 classes says YOLOv8.
      expect(detect([1, 84, 60], { numClasses: 80 })).toEqual({
        layout: 'yolov8',
        numClasses: 80,
        numCandidates: 60,
      });
      expect(detect([1, 60, 85], { numClasses: 80 })).toEqual({
        layout: 'yolov5',
        numClasses: 80,
        numCandidates: 60,
      });
    });

    it('prefers more candidates than channels when both layouts fit the class count', () => {
      expect(detect([1, 84, 85], { numClasses: 80 })).toEqual({
        layout: 'yolov8',
        numClasses: 80,
        numCandidates: 85,
      });
    });

    it('ignores end2end when the output is not [b,K,6]', () => {
      expect(detect([1, 84, 8400], { numClasses: 80, end2end: true })).toMatchObject({
        layout: 'yolov8',
      });
    });
  });

  describe('dynamic batch', () => {
    it.each([[-1], ['batch'], [4]])('accepts %s as the batch dimension', (batch) => {
      expect(detect([batch, 84, 8400] as number[])).toMatchObject({
        layout: 'yolov8',
        numCandidates: 8400,
      });
    });

    it('rejects dynamic or odd sizes outside the batch position', () => {
      expect(() => detect([1, -1, 8400])).toThrow(/only the batch dimension may be dynamic/);
      expect(() => detect([1, 84, 'anchors'] as unknown as number[])).toThrow(/only the batch/);
      expect(() => detect([1, 84.5, 8400])).toThrow(/only the batch/);
      expect(() => detect([0, 84, 8400])).toThrow(/only the batch/);
    });
  });

  describe('unknown layouts', () => {
    it.each([[[84, 8400]], [[1, 3, 640, 640]], [[]]])('rejects %j for its dimension count', (dims) => {
      expect(() => detect(dims)).toThrow(/expected 3 dimensions/);
    });

    it('rejects a square output it cannot orient', () => {
      expect(() => detect([1, 84, 84])).toThrow(/unknown detection output \[1, 84, 84\]/);
    });

    it('rejects outputs too narrow to hold a box and a class', () => {
      expect(() => detect([1, 4, 8400])).toThrow(/unknown detection output/);
      expect(() => detect([1, 8400, 5])).toThrow(/unknown detection output/);
    });

    it('rejects a shape that contradicts the class names', () => {
      expect(() => detect([1, 84, 8400], { numClasses: 3 })).toThrow(
        /\[1, 84, 8400\] fits neither YOLOv8 .* for the 3 class names/,
      );
    });

    it('rejects a segmentation output0 (4 + 80 classes + 32 mask coefficients)', () => {
      expect(() => detect([1, 116, 8400], { numClasses: 80 })).toThrow(/fits neither/);
    });
  });
});
