import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { GLYPH_HEIGHT, GLYPH_WIDTH, glyph, textWidth } from '../../src/results/bitmap-font.ts';
import {
  type Canvas,
  drawLabel,
  drawText,
  fillRect,
  type Rgb,
  strokeRect,
  textColourOn,
} from '../../src/results/draw.ts';

const GREY: Rgb = [128, 128, 128];
const BLACK: Rgb = [0, 0, 0];
const WHITE: Rgb = [255, 255, 255];
const RED: Rgb = [255, 56, 56];
const YELLOW: Rgb = [255, 178, 29];

function canvas(width: number, height: number, fill: Rgb = GREY): Canvas {
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0; i < rgb.length; i += 3) rgb.set(fill, i);
  return { width, height, rgb };
}

const px = (c: Canvas, x: number, y: number) =>
  Array.from(c.rgb.subarray((y * c.width + x) * 3, (y * c.width + x) * 3 + 3));

/** The canvas as rows of characters: `#` for `ink`, `.` for anything else. */
function ascii(c: Canvas, ink: readonly number[], x0 = 0, y0 = 0, w = c.width, h = c.height): string[] {
  const rows: string[] = [];
  for (let y = y0; y < y0 + h; y++) {
    let row = '';
    for (let x = x0; x < x0 + w; x++) row += px(c, x, y).every((v, i) => v === ink[i]) ? '#' : '.';
    rows.push(row);
  }
  return rows;
}

describe('fillRect', () => {
  it('fills [x1, x2) × [y1, y2), rounding outwards and clipping to the canvas', () => {
    const c = canvas(6, 4);
    fillRect(c, 1.5, -3, 3.2, 2, [9, 8, 7]);
    fillRect(c, 5, 3, 99, 99, [9, 8, 7]);
    expect(ascii(c, [9, 8, 7])).toEqual(['.###..', '.###..', '......', '.....#']);
  });
});

describe('strokeRect', () => {
  it('draws the outline inside the box edges in the colour, with a one-pixel dark rim outside', () => {
    const c = canvas(20, 20);
    strokeRect(c, [5, 5, 15, 15], 2, RED);
    // Box edges, `thickness` pixels deep, in the class colour.
    for (const [x, y] of [
      [5, 5],
      [6, 10],
      [14, 10],
      [13, 14],
      [10, 5],
      [10, 6],
      [14, 14],
    ]) {
      expect(px(c, x, y), `(${x}, ${y})`).toEqual([...RED]);
    }
    // The rim just outside the box.
    for (const [x, y] of [
      [4, 4],
      [4, 10],
      [15, 10],
      [10, 4],
      [10, 15],
      [15, 15],
    ]) {
      expect(px(c, x, y), `(${x}, ${y})`).toEqual(BLACK);
    }
    // The inside and the outside are untouched.
    for (const [x, y] of [
      [7, 7],
      [12, 12],
      [3, 10],
      [16, 10],
      [10, 3],
      [10, 16],
    ]) {
      expect(px(c, x, y), `(${x}, ${y})`).toEqual([...GREY]);
    }
    expect(ascii(c, BLACK, 3, 3, 14, 14).join('\n')).toBe(
      [
        '..............',
        '.############.',
        '.#..........#.',
        '.#..........#.',
        '.#..........#.',
        '.#..........#.',
        '.#..........#.',
        '.#..........#.',
        '.#..........#.',
        '.#..........#.',
        '.#..........#.',
        '.#..........#.',
        '.############.',
        '..............',
      ].join('\n'),
    );
  });

  it('clips a box touching the image border', () => {
    const c = canvas(8, 8);
    strokeRect(c, [0, 0, 8, 8], 1, RED);
    expect(ascii(c, RED)).toEqual([
      '########',
      '#......#',
      '#......#',
      '#......#',
      '#......#',
      '#......#',
      '#......#',
      '########',
    ]);
  });
});

describe('drawText', () => {
  it('draws the 5×7 glyphs with one blank column between them', () => {
    const c = canvas(13, 9);
    drawText(c, 'I1', 1, 1, 1, WHITE);
    expect(ascii(c, WHITE)).toEqual([
      '.............',
      '..###....#...',
      '...#....##...',
      '...#.....#...',
      '...#.....#...',
      '...#.....#...',
      '...#.....#...',
      '..###...###..',
      '.............',
    ]);
  });

  it('scales each glyph pixel to a scale × scale block', () => {
    const c = canvas(10, 14);
    drawText(c, '-', 0, 0, 2, WHITE);
    const rows = ascii(c, WHITE);
    expect(rows.filter((r) => r.includes('#'))).toEqual(['##########', '##########']);
    expect(rows.indexOf('##########')).toBe(6);
  });

  it('draws characters it does not know as "?"', () => {
    const unknown = canvas(5, 7);
    const question = canvas(5, 7);
    drawText(unknown, '€', 0, 0, 1, WHITE);
    drawText(question, '?', 0, 0, 1, WHITE);
    expect(ascii(unknown, WHITE)).toEqual(ascii(question, WHITE));
    expect(ascii(question, WHITE)).toEqual(['.###.', '#...#', '....#', '...#.', '..#..', '.....', '..#..']);
  });
});

describe('textColourOn', () => {
  it('picks black text on light colours and white on dark ones (Rec. 709 luma, threshold 140)', () => {
    expect(textColourOn(YELLOW)).toEqual(BLACK);
    expect(textColourOn([0, 194, 255])).toEqual(BLACK);
    expect(textColourOn(WHITE)).toEqual(BLACK);
    expect(textColourOn(RED)).toEqual(WHITE);
    expect(textColourOn([140, 92, 255])).toEqual(WHITE);
    expect(textColourOn([140, 140, 140])).toEqual(WHITE);
    expect(textColourOn([141, 141, 141])).toEqual(BLACK);
  });
});

describe('drawLabel', () => {
  it('puts a tab in the colour above the point, with a dark rim and white text on a dark colour', () => {
    const c = canvas(40, 30);
    drawLabel(c, 'A', 10, 20, 1, RED);
    // 'A' is 5 px wide plus 1 px padding each side: a 7×9 tab from (10, 11) to (16, 19).
    expect(px(c, 10, 11)).toEqual([...RED]);
    expect(px(c, 16, 19)).toEqual([...RED]);
    expect(px(c, 11, 12)).toEqual([...RED]);
    expect(px(c, 12, 12)).toEqual(WHITE);
    expect(px(c, 9, 15)).toEqual(BLACK);
    expect(px(c, 17, 15)).toEqual(BLACK);
    expect(px(c, 13, 10)).toEqual(BLACK);
    expect(px(c, 13, 20)).toEqual(BLACK);
    expect(px(c, 13, 21)).toEqual([...GREY]);
    expect(ascii(c, WHITE, 11, 12, 5, 7)).toEqual([
      '.###.',
      '#...#',
      '#...#',
      '#####',
      '#...#',
      '#...#',
      '#...#',
    ]);
  });

  it('writes black text on a light colour', () => {
    const c = canvas(40, 30);
    drawLabel(c, 'A', 10, 20, 1, YELLOW);
    expect(px(c, 12, 12)).toEqual(BLACK);
    expect(px(c, 11, 12)).toEqual([...YELLOW]);
  });

  it('goes below the point when there is no room above, and stays inside the right edge', () => {
    const c = canvas(40, 30);
    drawLabel(c, 'A', 38, 5, 1, RED);
    // 40 - 7 = 33 is the last left edge that fits; the tab starts at y = 5.
    expect(px(c, 33, 5)).toEqual([...RED]);
    expect(px(c, 39, 13)).toEqual([...RED]);
    expect(px(c, 32, 8)).toEqual(BLACK);
    expect(px(c, 34, 6)).toEqual([...RED]);
    expect(px(c, 35, 6)).toEqual(WHITE);
    expect(px(c, 34, 7)).toEqual(WHITE);
  });
});

describe('bitmap font', () => {
  const CHARSET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,-_:%/() ?';

  it('has 7 rows of 5 bits for every glyph, written as such in the source', () => {
    expect([GLYPH_WIDTH, GLYPH_HEIGHT]).toEqual([5, 7]);
    for (const ch of CHARSET) {
      const rows = glyph(ch);
      expect(rows, ch).toHaveLength(7);
      for (const r of rows) expect(Number.isInteger(r) && r >= 0 && r < 32, `${ch}: ${r}`).toBe(true);
    }
    // A row typed with 4 or 6 digits would still parse; the table itself must have 7 × 5 digits.
    const source = readFileSync(
      path.resolve(import.meta.dirname, '../../src/results/bitmap-font.ts'),
      'utf8',
    );
    const table = source.slice(source.indexOf('const ROWS'), source.indexOf('};'));
    const entries = [...table.matchAll(/^\s+(?:'(.)'|(\w)): '([^']*)',$/gm)];
    expect(entries.map((m) => m[1] ?? m[2]).sort()).toEqual([...CHARSET].sort());
    for (const m of entries) expect(m[3], m[1] ?? m[2]).toMatch(/^[01]{5}( [01]{5}){6}$/);
  });

  it('has a distinct glyph for every character, and a blank space', () => {
    const shapes = new Set([...CHARSET].map((ch) => glyph(ch).join(',')));
    expect(shapes.size).toBe(CHARSET.length);
    expect(glyph(' ')).toEqual([0, 0, 0, 0, 0, 0, 0]);
  });

  it('draws lower case as capitals, µ as U and anything else as ?', () => {
    expect(glyph('a')).toEqual(glyph('A'));
    expect(glyph('z')).toEqual(glyph('Z'));
    expect(glyph('µ')).toEqual(glyph('U'));
    expect(glyph('§')).toEqual(glyph('?'));
    expect(glyph('²')).toEqual(glyph('?'));
    expect(glyph('A')).toEqual([0b01110, 0b10001, 0b10001, 0b11111, 0b10001, 0b10001, 0b10001]);
  });

  it('measures text with one blank column between characters', () => {
    expect(textWidth('', 3)).toBe(0);
    expect(textWidth('A', 1)).toBe(5);
    expect(textWidth('AB', 2)).toBe(22);
    expect(textWidth('pore 0.91', 1)).toBe(53);
  });
});
