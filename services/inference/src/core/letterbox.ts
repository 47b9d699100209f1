import type { Box } from './types.ts';

/** Where a source image sits inside the model input after an aspect-preserving resize and padding. */
export interface Letterbox {
  srcWidth: number;
  srcHeight: number;
  inputWidth: number;
  inputHeight: number;
  /** Source-to-input gain, the same on both axes. */
  scale: number;
  /** Size of the resized image inside the input. */
  newWidth: number;
  newHeight: number;
  padLeft: number;
  padTop: number;
  padRight: number;
  padBottom: number;
}

/**
 * Python's `round()`: ties go to the even neighbour. Ultralytics computes the letterbox with it, and
 * `Math.round` (ties up) would put the image one pixel off for sizes like 1280×641.
 */
export function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const frac = x - floor;
  if (frac < 0.5) return floor;
  if (frac > 0.5) return floor + 1;
  return floor % 2 === 0 ? floor : floor + 1;
}

function assertSize(name: string, value: number): void {
  if (!Number.isFinite(value) || value <= 0) {
    throw new RangeError(`${name} must be a positive finite number, got ${value}`);
  }
}

/** Ultralytics `LetterBox(auto=False, scaleup=True, center=True)` geometry, rounding included. */
export function letterboxGeometry(
  srcWidth: number,
  srcHeight: number,
  inputWidth: number,
  inputHeight: number,
): Letterbox {
  assertSize('srcWidth', srcWidth);
  assertSize('srcHeight', srcHeight);
  assertSize('inputWidth', inputWidth);
  assertSize('inputHeight', inputHeight);
  const scale = Math.min(inputHeight / srcHeight, inputWidth / srcWidth);
  // Ultralytics would resize a 1×5000 line scan to zero pixels and fail; keep at least one.
  const newWidth = Math.max(1, roundHalfEven(srcWidth * scale));
  const newHeight = Math.max(1, roundHalfEven(srcHeight * scale));
  const dw = (inputWidth - newWidth) / 2;
  const dh = (inputHeight - newHeight) / 2;
  // The ±0.1 sends an odd leftover pixel to the right/bottom, as Ultralytics does.
  return {
    srcWidth,
    srcHeight,
    inputWidth,
    inputHeight,
    scale,
    newWidth,
    newHeight,
    padLeft: roundHalfEven(dw - 0.1),
    padTop: roundHalfEven(dh - 0.1),
    padRight: roundHalfEven(dw + 0.1),
    padBottom: roundHalfEven(dh + 0.1),
  };
}

function clamp(v: number, max: number): number {
  return Math.min(Math.max(v, 0), max);
}

/** Maps a box from model-input pixels back to source pixels, clipped to the source image. */
export function unletterboxBox(box: Box, g: Letterbox): Box {
  // One gain for both axes, like Ultralytics `scale_boxes`, so results match its reference boxes.
  return [
    clamp((box[0] - g.padLeft) / g.scale, g.srcWidth),
    clamp((box[1] - g.padTop) / g.scale, g.srcHeight),
    clamp((box[2] - g.padLeft) / g.scale, g.srcWidth),
    clamp((box[3] - g.padTop) / g.scale, g.srcHeight),
  ];
}
