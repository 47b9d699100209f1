import { describe, expect, it } from 'vitest';
import { detectLayout } from '../../../src/core/layout.ts';
import { yolov8 } from '../../../src/core/layouts/yolov8.ts';
import { decodeSegments, yolov8Seg } from '../../../src/core/layouts/yolov8-seg.ts';
import { letterboxGeometry } from '../../../src/core/letterbox.ts';
import { maskArea } from '../../../src/core/masks.ts';
import { yolov8Output } from '../tensors.ts';

const names = (n: number) => Array.from({ length: n }, (_, i) => `c${i}`);
const seg = (rows: number, cols: number, protos: (number | string)[] = [1, 32, 80, 80]) => [
  { name: 'output0', dims: [1, rows, cols] },
  { name: 'output1', dims: protos },
];

describe('yolov8-seg layout', () => {
  it('reads [b, 4+C+M, N] with [b, M, H, W] prototypes, with or without class names', () => {
    expect(yolov8Seg.match(seg(116, 2100), { names: names(80) })).toEqual({
      numClasses: 80,
      numCandidates: 2100,
    });
    expect(yolov8Seg.match(seg(116, 8400, ['batch', 32, 160, 160]), {})).toEqual({
      numClasses: 80,
      numCandidates: 8400,
    });
    expect(detectLayout(seg(116, 2100), { task: 'segment', names: names(80) }).layout).toBe('yolov8-seg');
  });

  it('refuses shapes that are not a segmentation output pair', () => {
    expect(yolov8Seg.match([{ name: 'output0', dims: [1, 116, 2100] }], {})).toBeUndefined();
    expect(yolov8Seg.match(seg(116, 2100), { names: names(3) })).toBeUndefined();
    expect(yolov8Seg.match(seg(116, 2100, [1, 32, 6400]), {})).toBeUndefined();
    expect(yolov8Seg.match(seg(36, 2100), {})).toBeUndefined();
    expect(() => detectLayout(seg(116, 2100), { task: 'segment', names: names(3) })).toThrow(
      /fits none of YOLOv8-seg \[b, 4\+3\+M, N\]/,
    );
  });

  // A 64×64 image in a 32×32 input (scale 0.5), 2 classes, 2 mask channels on an 8×8 prototype grid.
  const g = letterboxGeometry(64, 64, 32, 32);
  const anchors = [
    { cx: 16, cy: 16, w: 16, h: 16, scores: [0.9, 0.1], coefficients: [1, 0] },
    // The same object a pixel to the right, weaker: NMS drops it, and its coefficients with it.
    { cx: 17, cy: 16, w: 16, h: 16, scores: [0.8, 0], coefficients: [-1, 0] },
    { cx: 8, cy: 8, w: 8, h: 8, scores: [0, 0.6], coefficients: [0, 1] },
  ];
  const boxesAndScores = yolov8Output([anchors], 2);
  const data = new Float32Array(8 * 3);
  data.set(boxesAndScores);
  anchors.forEach((a, i) => {
    a.coefficients.forEach((k, c) => {
      data[(6 + c) * 3 + i] = k;
    });
  });
  // Channel 0: +1 on prototype columns 3..4 (image x 24..40), −1 elsewhere; channel 1: +1 everywhere.
  const protos = new Float32Array(2 * 64);
  for (let i = 0; i < 64; i++) {
    protos[i] = i % 8 === 3 || i % 8 === 4 ? 1 : -1;
    protos[64 + i] = 1;
  }
  const shape = { numClasses: 2, numCandidates: 3 };
  const options = { confidence: 0.25, iou: 0.45, maxDetections: 10, names: ['pore', 'crack'] };

  it('gives the boxes, classes and scores of the detection path, each with its own mask', () => {
    const detections = decodeSegments(data, [1, 8, 3], shape, g, options, {
      data: protos,
      dims: [1, 2, 8, 8],
    });
    const detector = yolov8.decode(boxesAndScores, [1, 6, 3], shape, g, options);
    expect(detections.map(({ mask, ...d }) => d)).toEqual(detector);
    expect(detector.map((d) => d.box)).toEqual([
      [16, 16, 48, 48],
      [8, 8, 24, 24],
    ]);
    const [pore, crack] = detections;
    // The kept anchor's coefficients (+1 on channel 0): the stripe inside its box, 16 × 32 pixels.
    expect(pore.mask).toMatchObject({ x: 16, y: 16, width: 32, height: 32 });
    expect(maskArea(pore.mask!)).toBe(16 * 32);
    expect(pore.mask!.data[8]).toBe(1);
    expect(pore.mask!.data[7]).toBe(0);
    expect(maskArea(crack.mask!)).toBe(16 * 16);
  });

  it('decodes boxes without masks when given no prototypes, and refuses prototypes that do not fit', () => {
    expect(yolov8Seg.decode(data, [1, 8, 3], shape, g, options).every((d) => d.mask === undefined)).toBe(
      true,
    );
    expect(() =>
      decodeSegments(data, [1, 8, 3], shape, g, options, {
        data: new Float32Array(3 * 64),
        dims: [1, 3, 8, 8],
      }),
    ).toThrow(/does not match yolov8-seg with 2 classes and 3 mask channels/);
  });

  it('takes the prototypes of the same image of a batch', () => {
    const batch = new Float32Array(2 * 24);
    batch.set(data, 24);
    const twoProtos = new Float32Array(2 * 128);
    twoProtos.set(protos, 128);
    const [pore] = decodeSegments(
      batch,
      [2, 8, 3],
      shape,
      g,
      { ...options, batchIndex: 1 },
      {
        data: twoProtos,
        dims: [2, 2, 8, 8],
      },
    );
    expect(maskArea(pore.mask!)).toBe(16 * 32);
  });
});
