import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import type { Detection } from '../../src/core/types.ts';
import type { RgbImage } from '../../src/image/decode-image.ts';
import { annotateImage, annotationScale, classColour, drawDetections } from '../../src/results/annotate.ts';
import type { Canvas } from '../../src/results/draw.ts';

function grey(width: number, height: number, value = 100): RgbImage {
  return { width, height, rgb: Buffer.alloc(width * height * 3, value), format: 'png' };
}

const px = (c: { width: number; rgb: Uint8Array }, x: number, y: number) =>
  Array.from(c.rgb.subarray((y * c.width + x) * 3, (y * c.width + x) * 3 + 3));

const detection = (classId: number, className: string, score: number, box: Detection['box']): Detection => ({
  classId,
  className,
  score,
  box,
});

describe('classColour', () => {
  it('cycles through a palette of ten colours', () => {
    expect(classColour(0)).toEqual([255, 56, 56]);
    expect(classColour(1)).toEqual([0, 194, 255]);
    expect(classColour(10)).toEqual(classColour(0));
    expect(classColour(23)).toEqual(classColour(3));
  });
});

describe('annotationScale', () => {
  it('keeps lines and labels at least 2 px, growing with the shorter side', () => {
    expect(annotationScale(640, 480)).toEqual({ line: 2, text: 2 });
    expect(annotationScale(3840, 2160)).toEqual({ line: 7, text: 6 });
    expect(annotationScale(100, 6144)).toEqual({ line: 2, text: 2 });
  });
});

describe('drawDetections', () => {
  it('draws each box in its class colour and labels it with name and score', () => {
    const image = grey(100, 100);
    const c: Canvas = { width: 100, height: 100, rgb: Buffer.from(image.rgb) };
    drawDetections(c, [detection(0, 'pore', 0.9, [20, 40, 60, 80])]);
    // Line 2 px inside the box, rim outside, inside untouched.
    expect(px(c, 40, 79)).toEqual([255, 56, 56]);
    expect(px(c, 40, 78)).toEqual([255, 56, 56]);
    expect(px(c, 40, 80)).toEqual([0, 0, 0]);
    expect(px(c, 40, 60)).toEqual([100, 100, 100]);
    // "pore 0.90" at scale 2: (9 × 6 − 1) × 2 + 2 × 2 = 110 px would not fit, so the tab starts at x 0;
    // it is (7 × 2) + 2 × 2 = 18 px high, above the box top at y 40.
    expect(px(c, 1, 23)).toEqual([255, 56, 56]);
    expect(px(c, 1, 21)).toEqual([0, 0, 0]);
  });

  it('draws the strongest detection last, so its label is on top', () => {
    const c: Canvas = { width: 100, height: 100, rgb: Buffer.alloc(100 * 100 * 3, 100) };
    drawDetections(c, [detection(0, 'a', 0.9, [20, 40, 60, 80]), detection(1, 'b', 0.5, [20, 40, 60, 80])]);
    // Top-left padding pixel of the shared label position.
    expect(px(c, 21, 23)).toEqual([255, 56, 56]);
    expect(px(c, 20, 79)).toEqual([255, 56, 56]);
  });
});

describe('annotateImage', () => {
  it('returns a JPEG of the same size with the boxes drawn, leaving the input untouched', async () => {
    const image = grey(160, 120);
    const before = Buffer.from(image.rgb);
    const jpeg = await annotateImage(image, [detection(0, 'pore', 0.75, [40, 50, 120, 110])]);
    expect(jpeg.subarray(0, 3)).toEqual(Buffer.from([0xff, 0xd8, 0xff]));
    expect(image.rgb.equals(before)).toBe(true);

    const { data, info } = await sharp(jpeg).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height, info.channels]).toEqual([160, 120, 3]);
    const decoded = { width: info.width, rgb: data };
    // JPEG is lossy: the box line is close to the class colour, the inside close to the grey.
    const near = (got: number[], want: number[], tolerance: number) =>
      got.every((v, i) => Math.abs(v - want[i]) <= tolerance);
    expect(px(decoded, 80, 80)).toSatisfy((p: number[]) => near(p, [100, 100, 100], 6));
    expect(px(decoded, 41, 80)).toSatisfy((p: number[]) => near(p, [255, 56, 56], 60));
    expect(px(decoded, 39, 80)).toSatisfy((p: number[]) => near(p, [0, 0, 0], 60));
  });

  it('encodes an image without detections unchanged but for JPEG loss', async () => {
    const jpeg = await annotateImage(grey(33, 17, 200), []);
    const { data, info } = await sharp(jpeg).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([33, 17]);
    expect(Math.max(...data.map((v) => Math.abs(v - 200)))).toBeLessThanOrEqual(2);
  });
});

describe('drawDetections with masks', () => {
  it('outlines a mask in its class colour over a dark rim, leaving its inside and a thin box', () => {
    const canvas: Canvas = { width: 200, height: 200, rgb: Buffer.alloc(200 * 200 * 3, 100) };
    // A 60×60 disc-ish square mask inside its box, which it does not touch.
    const mask = { x: 70, y: 70, width: 60, height: 60, data: new Uint8Array(3600).fill(1) };
    drawDetections(canvas, [{ ...detection(1, 'pore', 0.9, [50, 50, 150, 150]), mask }]);
    const colour = [...classColour(1)];
    // The outline (2 px, centred on the edge pixels) and its dark rim just outside it.
    expect(px(canvas, 100, 70)).toEqual(colour);
    expect(px(canvas, 70, 100)).toEqual(colour);
    expect(px(canvas, 100, 69)).toEqual([0, 0, 0]);
    expect(px(canvas, 100, 67)).toEqual([100, 100, 100]);
    // Inside the mask stays the image; the box is drawn one pixel wide.
    expect(px(canvas, 100, 100)).toEqual([100, 100, 100]);
    expect(px(canvas, 50, 100)).toEqual(colour);
    expect(px(canvas, 52, 100)).toEqual([100, 100, 100]);
  });
});
