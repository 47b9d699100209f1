/**
 * Parity with the real ImageJ on synthetic shapes: ImageJ 1.53t's "Analyze Particles" on a 16-bit
 * label image we wrote, against our measurements of the same labels. Every ImageJ column is compared:
 * Area, the bounding box and the grey values to ImageJ's printed precision, the rest within 1e-6
 * (the issue allows 0.5 %; we reproduce ImageJ's algorithms, so a looser bound would hide a slip).
 */

import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { measureLabels, type PixelSize } from '../../services/inference/src/core/measure/region.ts';
import {
  disc,
  ellipse,
  type Inside,
  paint,
  rect,
  ring,
  rotatedRect,
  union,
} from '../../services/inference/test/core/measure/shapes.ts';
import { compareRows } from './compare.ts';
import { type ImageJRow, runImageJ, writeGrey16Png } from './imagej.ts';

const W = 240;
const H = 180;

/** Every kind of region the measurements must get right, one label each. */
const SHAPES: Array<[string, Inside]> = [
  ['disc r=20', disc(30, 30, 20)],
  ['square 25', rect(70, 8, 25, 25)],
  ['rectangle 60×14 at 30°', rotatedRect(140, 35, 60, 14, 30)],
  ['rectangle 40×9 at 100°', rotatedRect(200, 40, 40, 9, 100)],
  ['ring 25/10', ring(40, 115, 25, 10)],
  ['disc in the ring hole', disc(40, 115, 5)],
  ['ellipse 30×12 at −55°', ellipse(120, 110, 30, 12, -55)],
  ['L shape', union(rect(165, 85, 30, 6), rect(165, 85, 6, 40))],
  ['on the left edge', rect(0, 65, 8, 30)],
  ['cut by the bottom right corner', disc(W, H, 15)],
  ['single pixel', rect(100, 150, 1, 1)],
  ['vertical line', rect(110, 145, 1, 9)],
  ['horizontal line', rect(60, 170, 12, 1)],
  ['diagonal staircase', (x, y) => x >= 205 && x < 230 && (y - 140 === x - 205 || y - 141 === x - 205)],
  ['small disc r=3', disc(90, 60, 3)],
];

describe('parity with ImageJ 1.53 "Analyze Particles" (xvfb-run, ij.jar)', () => {
  const labels = new Uint16Array(W * H);
  const grey = new Uint16Array(W * H);
  let dir: string;
  let labelPng: string;
  let greyPng: string;

  beforeAll(async () => {
    // npm test installs them (scripts/setup-test-deps.sh); without them this test must fail, not skip.
    const missing =
      spawnSync('sh', ['-c', 'command -v xvfb-run && test -f /usr/share/java/ij.jar']).status !== 0;
    if (missing)
      throw new Error(
        'ImageJ parity needs xvfb-run and /usr/share/java/ij.jar: run scripts/setup-test-deps.sh',
      );
    SHAPES.forEach(([, inside], i) => {
      paint(labels, W, inside, i + 1);
    });
    // Values over the whole 16-bit range, different for every pixel of a row.
    for (let i = 0; i < grey.length; i++) grey[i] = (i * 7919) % 65536;
    dir = await mkdtemp(join(tmpdir(), 'scopehive-parity-'));
    labelPng = join(dir, 'shapes.labels.png');
    greyPng = join(dir, 'shapes.grey.png');
    await writeGrey16Png(labelPng, labels, W, H);
    await writeGrey16Png(greyPng, grey, W, H);
  });

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  function check(rows: ImageJRow[], pixelSize?: PixelSize) {
    const ours = measureLabels({ labels, width: W, height: H }, { grey, pixelSize });
    expect(rows.map((r) => r.k)).toEqual(SHAPES.map((_, i) => i + 1));
    const { failures } = compareRows(ours, rows, 1e-6);
    expect(failures.map((f) => ({ ...f, shape: SHAPES[f.label - 1][0] }))).toEqual([]);
  }

  it('every column on every shape, in pixels', async () => {
    check(await runImageJ(labelPng, greyPng));
  });

  it('every column on every shape, at 2.5 nm per pixel', async () => {
    const size = { x: 2.5, y: 2.5, unit: 'nm' };
    check(await runImageJ(labelPng, greyPng, size), size);
  });
});
