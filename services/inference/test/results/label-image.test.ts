import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Mask } from '../../src/core/masks.ts';
import { buildLabelImage, labelImagePath, writeLabelPng } from '../../src/results/label-image.ts';

function rect(x: number, y: number, width: number, height: number): Mask {
  return { x, y, width, height, data: new Uint8Array(width * height).fill(1) };
}

/** The label image as rows of digits, for small pictures. */
function picture(labels: Uint16Array, width: number): string[] {
  const rows: string[] = [];
  for (let i = 0; i < labels.length; i += width) rows.push([...labels.subarray(i, i + width)].join(''));
  return rows;
}

describe('buildLabelImage', () => {
  it('labels the k-th feature k, background 0, and gives an overlap to the higher score', () => {
    const features = [
      { score: 0.5, mask: rect(0, 0, 3, 3) },
      { score: 0.9, mask: rect(2, 1, 3, 2) },
      { score: 0.7 }, // a feature without a mask labels nothing
      { score: 0.6, mask: rect(5, 3, 1, 1) },
    ];
    expect(picture(buildLabelImage(6, 4, features), 6)).toEqual(['111000', '112220', '112220', '000004']);
  });

  it('gives a tie to the earlier row, and clips masks to the image', () => {
    const features = [
      { score: 0.8, mask: rect(-1, -1, 3, 3) },
      { score: 0.8, mask: rect(1, 1, 5, 5) },
    ];
    expect(picture(buildLabelImage(4, 3, features), 4)).toEqual(['1100', '1122', '0222']);
  });

  it('honours the mask bitmap, not only its rectangle', () => {
    const ring: Mask = {
      x: 0,
      y: 0,
      width: 3,
      height: 3,
      data: Uint8Array.from([1, 1, 1, 1, 0, 1, 1, 1, 1]),
    };
    const dot = { score: 0.1, mask: rect(1, 1, 1, 1) };
    expect(picture(buildLabelImage(3, 3, [{ score: 0.9, mask: ring }, dot]), 3)).toEqual([
      '111',
      '121',
      '111',
    ]);
  });

  it('refuses more features than 16 bits can label', () => {
    const many = Array.from({ length: 65536 }, () => ({ score: 1 }));
    expect(() => buildLabelImage(2, 2, many)).toThrow(/65536 features do not fit a 16-bit label image/);
  });
});

describe('writeLabelPng', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'labels-'));
  });
  afterAll(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('writes <image>.<model>.labels.png as 16-bit greyscale with every value kept', async () => {
    const labels = Uint16Array.from([0, 1, 2, 300, 65535, 7]);
    const file = await writeLabelPng({
      resultsDir: dir,
      image: 'run 1/a.tif',
      model: 'seg',
      width: 3,
      height: 2,
      labels,
    });
    expect(file).toBe(path.join(dir, 'run 1', 'a.tif.seg.labels.png'));
    expect(labelImagePath(dir, 'run 1/a.tif', 'seg')).toBe(file);
    const meta = await sharp(file).metadata();
    expect(meta).toMatchObject({
      format: 'png',
      width: 3,
      height: 2,
      channels: 1,
      depth: 'ushort',
      space: 'grey16',
    });
    const { data } = await sharp(file)
      .toColourspace('grey16')
      .raw({ depth: 'ushort' })
      .toBuffer({ resolveWithObject: true });
    expect([...new Uint16Array(data.buffer, data.byteOffset, data.length / 2)]).toEqual([...labels]);
  });

  it('refuses to write through a symbolic link out of the results folder', async () => {
    const outside = await fs.mkdtemp(path.join(os.tmpdir(), 'outside-'));
    await fs.symlink(outside, path.join(dir, 'linked'));
    const labels = new Uint16Array(4);
    await expect(
      writeLabelPng({ resultsDir: dir, image: 'linked/b.png', model: 'seg', width: 2, height: 2, labels }),
    ).rejects.toMatchObject({ code: 'EOUTSIDE' });
    expect(await fs.readdir(outside)).toEqual([]);
    await fs.rm(outside, { recursive: true });
  });
});
