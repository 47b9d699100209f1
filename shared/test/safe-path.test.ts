import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { insideFolder, OutsideFolderError } from '../src/fs/safe-path.ts';

let dir: string;
let root: string;
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'scopehive-safe-'));
  root = path.join(dir, 'results');
  await fs.mkdir(path.join(root, 'day1'), { recursive: true });
  await fs.mkdir(path.join(dir, 'elsewhere'));
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('insideFolder', () => {
  it('accepts paths inside the folder, existing or not yet', async () => {
    expect(await insideFolder(root, 'day1/a.jpg.m.json')).toBe(path.join(root, 'day1/a.jpg.m.json'));
    expect(await insideFolder(root, 'day2/new/b.json')).toBe(path.join(root, 'day2/new/b.json'));
    expect(await insideFolder(root, path.join(root, 'day1'))).toBe(path.join(root, 'day1'));
  });

  it('refuses a path that climbs out, lexically', async () => {
    await expect(insideFolder(root, '../elsewhere/x')).rejects.toThrow(OutsideFolderError);
    await expect(insideFolder(root, '/etc/passwd')).rejects.toThrow(OutsideFolderError);
  });

  it('refuses a symbolic link on the way, to a folder or to a file, even one pointing inside', async () => {
    await fs.symlink(path.join(dir, 'elsewhere'), path.join(root, 'escape'));
    await expect(insideFolder(root, 'escape/x.json')).rejects.toThrow(/escape .* is a symbolic link/);
    await fs.symlink('/etc/shadow', path.join(root, 'day1', 'x.jpg'));
    await expect(insideFolder(root, 'day1/x.jpg')).rejects.toThrow(OutsideFolderError);
    await fs.symlink(path.join(root, 'day1'), path.join(root, 'inside'));
    await expect(insideFolder(root, 'inside/y.json')).rejects.toThrow(OutsideFolderError);
  });
});
