import { describe, expect, it } from 'vitest';
import { letterboxGeometry, roundHalfEven, unletterboxBox } from '../../src/core/letterbox.ts';
import type { Box } from '../../src/core/types.ts';

describe('roundHalfEven', () => {
  it('rounds ties to the even neighbour like Python round()', () => {
    expect([0.5, 1.5, 2.5, 3.5, 320.5, 321.5].map(roundHalfEven)).toEqual([0, 2, 2, 4, 320, 322]);
    expect([-0.5, -1.5, -2.5].map(roundHalfEven)).toEqual([0, -2, -2]);
  });

  it('rounds non-ties to the nearest integer', () => {
    expect([2.4, 2.6, 79.9, 80.1, 150.4, 150.6, -2.4, -2.6].map(roundHalfEven)).toEqual([
      2, 3, 80, 80, 150, 151, -2, -3,
    ]);
  });

  it('leaves integers alone', () => {
    expect([0, 7, 640, -3].map(roundHalfEven)).toEqual([0, 7, 640, -3]);
  });
});

describe('letterboxGeometry', () => {
  it('fits a portrait 810×1080 photo into 640×640 with side bars (bus.jpg)', () => {
    const g = letterboxGeometry(810, 1080, 640, 640);
    expect(g.scale).toBeCloseTo(0.5926, 4);
    expect(g).toMatchObject({
      srcWidth: 810,
      srcHeight: 1080,
      inputWidth: 640,
      inputHeight: 640,
      newWidth: 480,
      newHeight: 640,
      padLeft: 80,
      padRight: 80,
      padTop: 0,
      padBottom: 0,
    });
  });

  it('fits the same photo into a 320 input (yolo11n_int8)', () => {
    const g = letterboxGeometry(810, 1080, 320, 320);
    expect(g.scale).toBeCloseTo(0.2963, 4);
    expect(g).toMatchObject({
      newWidth: 240,
      newHeight: 320,
      padLeft: 40,
      padRight: 40,
      padTop: 0,
      padBottom: 0,
    });
  });

  it('fits a landscape 1280×720 frame with bars top and bottom (zidane.jpg)', () => {
    const g = letterboxGeometry(1280, 720, 640, 640);
    expect(g).toMatchObject({
      scale: 0.5,
      newWidth: 640,
      newHeight: 360,
      padLeft: 0,
      padRight: 0,
      padTop: 140,
      padBottom: 140,
    });
  });

  it('fits into a non-square input given as width, height', () => {
    const g = letterboxGeometry(1280, 720, 640, 384);
    expect(g).toMatchObject({ scale: 0.5, newWidth: 640, newHeight: 360, padTop: 12, padBottom: 12 });
  });

  it('scales a square image without padding', () => {
    const g = letterboxGeometry(1000, 1000, 640, 640);
    expect(g).toMatchObject({
      scale: 0.64,
      newWidth: 640,
      newHeight: 640,
      padLeft: 0,
      padTop: 0,
      padRight: 0,
      padBottom: 0,
    });
  });

  it('scales a tiny image up', () => {
    const g = letterboxGeometry(10, 5, 640, 640);
    expect(g).toMatchObject({ scale: 64, newWidth: 640, newHeight: 320, padTop: 160, padBottom: 160 });
  });

  it('puts the odd leftover pixel at the bottom', () => {
    // 53 × 6.4 = 339.2 → 339 rows, 301 rows of padding: 150 above, 151 below.
    const g = letterboxGeometry(100, 53, 640, 640);
    expect(g).toMatchObject({ newWidth: 640, newHeight: 339, padTop: 150, padBottom: 151 });
  });

  it('rounds a half-pixel size to even as Ultralytics does', () => {
    // 641 × 0.5 = 320.5: Python gives 320, Math.round would give 321.
    const g = letterboxGeometry(1280, 641, 640, 640);
    expect(g).toMatchObject({ scale: 0.5, newWidth: 640, newHeight: 320, padTop: 160, padBottom: 160 });
  });

  it('keeps at least one pixel of an extreme line scan', () => {
    const g = letterboxGeometry(10_000, 1, 640, 640);
    expect(g).toMatchObject({ newWidth: 640, newHeight: 1, padTop: 319, padBottom: 320 });
  });

  it.each([
    [0, 100, 640, 640],
    [100, -1, 640, 640],
    [100, 100, Number.NaN, 640],
    [100, 100, 640, Number.POSITIVE_INFINITY],
  ])('rejects the size %s×%s → %s×%s', (sw, sh, iw, ih) => {
    expect(() => letterboxGeometry(sw, sh, iw, ih)).toThrow(RangeError);
  });
});

describe('unletterboxBox', () => {
  // scale 16/27, so one input pixel is 27/16 = 1.6875 source pixels.
  const bus = letterboxGeometry(810, 1080, 640, 640);

  it('maps the resized image area back onto the whole source', () => {
    expect(unletterboxBox([80, 0, 560, 640], bus)).toEqual([0, 0, 810, 1080]);
  });

  it('removes the padding and undoes the scale', () => {
    expect(unletterboxBox([200, 100, 300, 200], bus)).toEqual([202.5, 168.75, 371.25, 337.5]);
  });

  it('removes top padding of a landscape image', () => {
    const zidane = letterboxGeometry(1280, 720, 640, 640);
    expect(unletterboxBox([0, 140, 640, 500], zidane)).toEqual([0, 0, 1280, 720]);
    expect(unletterboxBox([100, 190, 150, 240], zidane)).toEqual([200, 100, 300, 200]);
  });

  it('clips boxes that reach into the padding or past the input', () => {
    expect(unletterboxBox([40, -10, 100, 700], bus)).toEqual([0, 0, 33.75, 1080]);
    expect(unletterboxBox([0, 10, 60, 20], bus)).toEqual([0, 16.875, 0, 33.75]);
  });

  it('round-trips source boxes through the letterbox', () => {
    for (const [w, h, iw, ih] of [
      [810, 1080, 640, 640],
      [1280, 720, 640, 640],
      [1280, 641, 320, 320],
      [37, 23, 640, 384],
    ]) {
      const g = letterboxGeometry(w, h, iw, ih);
      const src: Box = [w * 0.1, h * 0.2, w * 0.7, h * 0.9];
      const input = src.map((v, i) => v * g.scale + (i % 2 === 0 ? g.padLeft : g.padTop)) as Box;
      const back = unletterboxBox(input, g);
      back.forEach((v, i) => {
        expect(v).toBeCloseTo(src[i], 9);
      });
    }
  });
});
