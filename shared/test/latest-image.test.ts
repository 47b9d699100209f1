import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sha256 } from '../src/fs/files.ts';
import { LATEST_IMAGE_POINTER, recordLatestImage } from '../src/result/latest-image.ts';

let resultsDir: string;
let elsewhere: string;
beforeEach(async () => {
  resultsDir = await fs.mkdtemp(path.join(os.tmpdir(), 'scopehive-results-'));
  elsewhere = await fs.mkdtemp(path.join(os.tmpdir(), 'scopehive-elsewhere-'));
});
afterEach(async () => {
  await fs.rm(resultsDir, { recursive: true, force: true });
  await fs.rm(elsewhere, { recursive: true, force: true });
});

const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xd9]);

describe('recordLatestImage', () => {
  it('records the image by its results-relative path, size and SHA-256', async () => {
    await recordLatestImage(resultsDir, path.join(resultsDir, 'day1', 'grid.tif.m.jpg'), JPEG);
    const pointer = JSON.parse(await fs.readFile(path.join(resultsDir, LATEST_IMAGE_POINTER), 'utf8'));
    expect(pointer).toEqual({ image: 'day1/grid.tif.m.jpg', bytes: 4, sha256: sha256(JPEG) });
  });

  it('refuses to write the pointer through a planted link', async () => {
    await fs.symlink(elsewhere, path.join(resultsDir, path.dirname(LATEST_IMAGE_POINTER)));
    await expect(recordLatestImage(resultsDir, path.join(resultsDir, 'a.jpg'), JPEG)).rejects.toMatchObject({
      code: 'EOUTSIDE',
    });
    expect(await fs.readdir(elsewhere)).toEqual([]);
  });
});
