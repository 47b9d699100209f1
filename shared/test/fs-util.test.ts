import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { exists, sha256, sha256File, writeFileAtomic } from '../src/fs/files.ts';

// Lets a test know the temporary name writeFileAtomic will pick, to plant a link there first.
const temporaryName = vi.hoisted(() => ({ hex: undefined as string | undefined }));
vi.mock('node:crypto', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:crypto')>();
  const randomBytes = (size: number) =>
    temporaryName.hex === undefined ? real.randomBytes(size) : Buffer.from(temporaryName.hex, 'hex');
  return { ...real, default: { ...real, randomBytes }, randomBytes };
});

let dir: string;
let elsewhere: string;
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'scopehive-fs-'));
  elsewhere = await fs.mkdtemp(path.join(os.tmpdir(), 'scopehive-elsewhere-'));
});
afterEach(async () => {
  temporaryName.hex = undefined;
  await fs.rm(dir, { recursive: true, force: true });
  await fs.rm(elsewhere, { recursive: true, force: true });
});

describe('writeFileAtomic', () => {
  it('creates missing folders and writes the content, leaving no temporary file', async () => {
    const file = path.join(dir, 'results', 'run1', 'img1.json');
    await writeFileAtomic(file, '{"count":3}\n');
    expect(await fs.readFile(file, 'utf8')).toBe('{"count":3}\n');
    expect(await fs.readdir(path.dirname(file))).toEqual(['img1.json']);
  });

  it('replaces an existing file whole, bytes and durable mode included', async () => {
    const file = path.join(dir, 'img1.jpg');
    await fs.writeFile(file, 'x'.repeat(10_000));
    const bytes = Uint8Array.from([0xff, 0xd8, 0xff, 0xd9]);
    await writeFileAtomic(file, bytes, { durable: true });
    expect(new Uint8Array(await fs.readFile(file))).toEqual(bytes);
    expect(await fs.readdir(dir)).toEqual(['img1.jpg']);
  });

  it('never lets a reader see a mix of the old and the new content', async () => {
    const file = path.join(dir, 'table.json');
    const a = 'a'.repeat(1 << 20);
    const b = 'b'.repeat(1 << 19);
    await writeFileAtomic(file, a);
    const seen = new Set<string>();
    let writing = true;
    const reader = (async () => {
      while (writing) {
        const text = await fs.readFile(file, 'utf8');
        seen.add(text === a ? 'a' : text === b ? 'b' : `mixed ${text.length}`);
      }
    })();
    for (let i = 0; i < 20; i++) await writeFileAtomic(file, i % 2 === 0 ? b : a);
    writing = false;
    await reader;
    expect([...seen].filter((s) => s.startsWith('mixed'))).toEqual([]);
    expect(await fs.readdir(dir)).toEqual(['table.json']);
  });

  it('removes its temporary file when the rename fails', async () => {
    // The target is a non-empty folder, so the rename over it fails.
    const target = path.join(dir, 'taken');
    await fs.mkdir(target);
    await fs.writeFile(path.join(target, 'inside'), '');
    await expect(writeFileAtomic(target, 'data')).rejects.toMatchObject({ code: expect.any(String) });
    expect(await fs.readdir(dir)).toEqual(['taken']);
  });
});

describe('writeFileAtomic on a share where anyone can plant links', () => {
  it('never writes through a link planted at its temporary name', async () => {
    const outside = path.join(elsewhere, 'environ');
    await fs.writeFile(outside, 'SECRET=1\n');
    temporaryName.hex = 'a1b2c3d4e5f6';
    await fs.symlink(outside, path.join(dir, '.img1.json.a1b2c3d4e5f6.tmp'));
    await expect(writeFileAtomic(path.join(dir, 'img1.json'), '{}')).rejects.toMatchObject({
      code: 'EEXIST',
    });
    expect(await fs.readFile(outside, 'utf8')).toBe('SECRET=1\n');
    expect(await exists(path.join(dir, 'img1.json'))).toBe(false);
  });

  it('refuses, with `root`, a path through a folder link and creates nothing outside', async () => {
    await fs.symlink(elsewhere, path.join(dir, 'day1'));
    const file = path.join(dir, 'day1', 'run', 'img1.json');
    await expect(writeFileAtomic(file, '{}', { root: dir })).rejects.toMatchObject({
      code: 'EOUTSIDE',
      message: expect.stringContaining('day1'),
    });
    expect(await fs.readdir(elsewhere)).toEqual([]);
  });

  it('refuses, with `root`, a target that is itself a link, leaving the link and its file alone', async () => {
    const outside = path.join(elsewhere, 'passwd');
    await fs.writeFile(outside, 'root:x:0:0\n');
    await fs.symlink(outside, path.join(dir, 'img1.jpg'));
    await expect(writeFileAtomic(path.join(dir, 'img1.jpg'), 'jpeg', { root: dir })).rejects.toMatchObject({
      code: 'EOUTSIDE',
    });
    expect(await fs.readFile(outside, 'utf8')).toBe('root:x:0:0\n');
    expect((await fs.lstat(path.join(dir, 'img1.jpg'))).isSymbolicLink()).toBe(true);
  });

  it('refuses, with `root`, a path that climbs out of it', async () => {
    const file = path.join(dir, '..', path.basename(elsewhere), 'img1.json');
    await expect(writeFileAtomic(file, '{}', { root: dir })).rejects.toMatchObject({ code: 'EOUTSIDE' });
    expect(await fs.readdir(elsewhere)).toEqual([]);
  });

  it('removes its temporary file when writing fails', async () => {
    const file = path.join(dir, 'img1.json');
    // Not bytes: the write itself fails after the temporary file was created.
    await expect(writeFileAtomic(file, 42 as unknown as string)).rejects.toThrow();
    expect(await fs.readdir(dir)).toEqual([]);
  });
});

describe('sha256File and sha256', () => {
  it('equals the SHA-256 of the content, for an empty file and one larger than a read chunk', async () => {
    const empty = path.join(dir, 'empty.tif');
    await fs.writeFile(empty, '');
    expect(await sha256File(empty)).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');

    const content = Buffer.alloc(300_000);
    for (let i = 0; i < content.length; i++) content[i] = (i * 31 + 7) & 0xff;
    const big = path.join(dir, 'big.tif');
    await fs.writeFile(big, content);
    const expected = createHash('sha256').update(content).digest('hex');
    expect(await sha256File(big)).toBe(expected);
    expect(sha256(content)).toBe(expected);
  });

  it('hashes strings as UTF-8', () => {
    expect(sha256('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(sha256('µm')).toBe(createHash('sha256').update(Buffer.from('µm', 'utf8')).digest('hex'));
  });

  it('rejects for a missing file', async () => {
    await expect(sha256File(path.join(dir, 'missing.tif'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('exists', () => {
  it('tells a present path from a missing one', async () => {
    expect(await exists(dir)).toBe(true);
    expect(await exists(path.join(dir, 'nope'))).toBe(false);
  });
});
