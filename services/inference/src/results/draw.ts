import { forEachOutlinePixel, type Mask } from '../core/masks.ts';
import { GLYPH_HEIGHT, GLYPH_WIDTH, glyph, textWidth } from './bitmap-font.ts';

export type Rgb = readonly [number, number, number];

/** An interleaved 8-bit RGB image that drawing functions write into. */
export interface Canvas {
  width: number;
  height: number;
  rgb: Uint8Array;
}

/** Fills a rectangle (clipped to the canvas); x2 and y2 are exclusive. */
export function fillRect(c: Canvas, x1: number, y1: number, x2: number, y2: number, colour: Rgb): void {
  const left = Math.max(0, Math.floor(x1));
  const top = Math.max(0, Math.floor(y1));
  const right = Math.min(c.width, Math.ceil(x2));
  const bottom = Math.min(c.height, Math.ceil(y2));
  const [r, g, b] = colour;
  for (let y = top; y < bottom; y++) {
    let i = (y * c.width + left) * 3;
    for (let x = left; x < right; x++) {
      c.rgb[i] = r;
      c.rgb[i + 1] = g;
      c.rgb[i + 2] = b;
      i += 3;
    }
  }
}

/** A box outline `thickness` pixels wide drawn inside the box edges, with a one-pixel dark rim for contrast. */
export function strokeRect(c: Canvas, box: readonly number[], thickness: number, colour: Rgb): void {
  const [x1, y1, x2, y2] = box;
  const dark: Rgb = [0, 0, 0];
  const t = thickness;
  for (const [k, col] of [
    [t + 1, dark],
    [t, colour],
  ] as const) {
    const o = k === t + 1 ? 1 : 0;
    fillRect(c, x1 - o, y1 - o, x2 + o, y1 - o + k, col);
    fillRect(c, x1 - o, y2 + o - k, x2 + o, y2 + o, col);
    fillRect(c, x1 - o, y1 - o, x1 - o + k, y2 + o, col);
    fillRect(c, x2 + o - k, y1 - o, x2 + o, y2 + o, col);
  }
}

/**
 * A mask's outline `thickness` pixels wide, centred on its edge pixels, over a dark rim one pixel wider
 * on each side so it reads on bright and dark backgrounds alike.
 */
export function strokeMask(c: Canvas, mask: Mask, thickness: number, colour: Rgb): void {
  const edge: number[] = [];
  forEachOutlinePixel(mask, (x, y) => edge.push(x, y));
  const before = Math.floor((thickness - 1) / 2);
  for (const [k, col] of [
    [1, [0, 0, 0] as Rgb],
    [0, colour],
  ] as const) {
    const size = thickness + 2 * k;
    for (let i = 0; i < edge.length; i += 2) {
      const x = edge[i] - before - k;
      const y = edge[i + 1] - before - k;
      fillRect(c, x, y, x + size, y + size, col);
    }
  }
}

/** Text drawn with the bitmap font at an integer `scale`, top-left at (x, y). */
export function drawText(c: Canvas, text: string, x: number, y: number, scale: number, colour: Rgb): void {
  let cx = Math.round(x);
  const cy = Math.round(y);
  for (const ch of text) {
    const rows = glyph(ch);
    for (let row = 0; row < GLYPH_HEIGHT; row++) {
      for (let col = 0; col < GLYPH_WIDTH; col++) {
        if (rows[row] & (1 << (GLYPH_WIDTH - 1 - col))) {
          fillRect(
            c,
            cx + col * scale,
            cy + row * scale,
            cx + (col + 1) * scale,
            cy + (row + 1) * scale,
            colour,
          );
        }
      }
    }
    cx += (GLYPH_WIDTH + 1) * scale;
  }
}

/** Black or white, whichever reads better on `background` (Rec. 709 luma). */
export function textColourOn(background: Rgb): Rgb {
  const [r, g, b] = background;
  return 0.2126 * r + 0.7152 * g + 0.0722 * b > 140 ? [0, 0, 0] : [255, 255, 255];
}

/** A label tab: text on a filled box in `colour`, placed above (x, y) when it fits, else below it. */
export function drawLabel(c: Canvas, text: string, x: number, y: number, scale: number, colour: Rgb): void {
  const pad = scale;
  const w = textWidth(text, scale) + 2 * pad;
  const h = GLYPH_HEIGHT * scale + 2 * pad;
  const left = Math.min(Math.max(0, Math.round(x)), Math.max(0, c.width - w));
  const top = y - h >= 0 ? Math.round(y - h) : Math.round(y);
  fillRect(c, left - 1, top - 1, left + w + 1, top + h + 1, [0, 0, 0]);
  fillRect(c, left, top, left + w, top + h, colour);
  drawText(c, text, left + pad, top + pad, scale, textColourOn(colour));
}
