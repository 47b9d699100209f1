/**
 * A folder's scopehive.json also chooses tiling, the unit of new tables and edge features (issue 10):
 * read with the calibration, nearest file wins, a bad value reported with the result.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FolderOverrides, parseFolderChoices } from '../../src/pipeline/folder-settings.ts';

let inbox: string;
beforeEach(async () => {
  inbox = await fs.mkdtemp(path.join(os.tmpdir(), 'scopehive-folder-'));
  await fs.mkdir(path.join(inbox, 'day1', 'grid'), { recursive: true });
});
afterEach(async () => {
  await fs.rm(inbox, { recursive: true, force: true });
});

const settings = (folder: string, value: unknown) =>
  fs.writeFile(path.join(inbox, folder, 'scopehive.json'), JSON.stringify(value));

describe('folder choices', () => {
  it('reads tiling, sizeUnit and edgeFeatures beside a pixel size', async () => {
    await settings('day1', {
      pixelSize: 5,
      unit: 'nm',
      tiling: 'always',
      sizeUnit: 'um',
      edgeFeatures: 'include',
    });
    const found = await new FolderOverrides(inbox).forImage('day1/grid/a.jpg');
    expect(found.choices).toEqual({ tiling: 'always', sizeUnit: 'µm', edgeFeatures: 'include' });
    expect(found.override?.calibration?.pixelWidth).toBe(5);
    expect(found.warning).toBeUndefined();
  });

  it('takes choices alone, without a calibration, and the nearest file wins', async () => {
    await settings('day1', { tiling: 'never' });
    await settings('day1/grid', { tiling: 'always' });
    const folders = new FolderOverrides(inbox);
    expect(await folders.forImage('day1/grid/a.jpg')).toEqual({ choices: { tiling: 'always' } });
    expect(await folders.forImage('day1/b.jpg')).toEqual({ choices: { tiling: 'never' } });
  });

  it('reports a bad value in one line naming the key, and the file is not used', async () => {
    await settings('day1', { pixelSize: 5, unit: 'nm', tiling: 'sometimes' });
    const found = await new FolderOverrides(inbox).forImage('day1/a.jpg');
    expect(found).toEqual({
      warning: 'day1/scopehive.json ignored: "tiling" must be one of "auto", "always", "never"',
    });
    expect(() => parseFolderChoices({ sizeUnit: 'furlong' })).toThrow(/"sizeUnit" must be one of/);
    expect(() => parseFolderChoices({ edgeFeatures: true })).toThrow(/"edgeFeatures"/);
  });
});
