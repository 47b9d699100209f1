import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ImageRejection } from '../../src/image/rejection.ts';
import { rejectFile } from '../../src/results/reject-file.ts';

let dataDir: string;
let inboxDir: string;
let rejectedDir: string;
let elsewhere: string;
beforeEach(async () => {
  dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'scopehive-reject-'));
  elsewhere = await fs.mkdtemp(path.join(os.tmpdir(), 'scopehive-elsewhere-'));
  inboxDir = path.join(dataDir, 'inbox');
  rejectedDir = path.join(dataDir, 'rejected');
  await fs.mkdir(path.join(inboxDir, 'day1'), { recursive: true });
  await fs.mkdir(rejectedDir);
});
afterEach(async () => {
  await fs.rm(dataDir, { recursive: true, force: true });
  await fs.rm(elsewhere, { recursive: true, force: true });
});

const corrupt = new ImageRejection('corrupt', 'the image could not be decoded');
const reject = (image: string) => rejectFile({ inboxDir, rejectedDir, image, rejection: corrupt });

describe('rejectFile on a share where anyone can plant links', () => {
  it('moves the file to the rejected folder with its reason', async () => {
    await fs.writeFile(path.join(inboxDir, 'day1', 'bad.jpg'), 'garbage');
    const { movedTo, reasonFile } = await reject('day1/bad.jpg');
    expect(movedTo).toBe(path.join(rejectedDir, 'day1', 'bad.jpg'));
    expect(await fs.readFile(reasonFile, 'utf8')).toMatch(/corrupt: the image could not be decoded\n$/);
  });

  it('refuses a folder link in the rejected folder: nothing moves through it, the file stays', async () => {
    await fs.writeFile(path.join(inboxDir, 'day1', 'bad.jpg'), 'garbage');
    await fs.symlink(elsewhere, path.join(rejectedDir, 'day1'));
    await expect(reject('day1/bad.jpg')).rejects.toMatchObject({
      code: 'EOUTSIDE',
      message: expect.stringMatching(/day1 .*symbolic link/),
    });
    expect(await fs.readdir(elsewhere)).toEqual([]);
    expect(await fs.readFile(path.join(inboxDir, 'day1', 'bad.jpg'), 'utf8')).toBe('garbage');
  });

  it('refuses a reason file name that is a link, leaving the link, its file and the image alone', async () => {
    const outside = path.join(elsewhere, 'profile');
    await fs.writeFile(outside, 'export PATH=/usr/bin\n');
    await fs.writeFile(path.join(inboxDir, 'day1', 'bad.jpg'), 'garbage');
    await fs.mkdir(path.join(rejectedDir, 'day1'));
    await fs.symlink(outside, path.join(rejectedDir, 'day1', 'bad.jpg.reason.txt'));
    await expect(reject('day1/bad.jpg')).rejects.toMatchObject({ code: 'EOUTSIDE' });
    expect(await fs.readFile(outside, 'utf8')).toBe('export PATH=/usr/bin\n');
    expect(await fs.readFile(path.join(inboxDir, 'day1', 'bad.jpg'), 'utf8')).toBe('garbage');
  });

  it('never moves a file that a folder link in the inbox leads to; the reason says why', async () => {
    const outside = path.join(elsewhere, 'secret.jpg');
    await fs.writeFile(outside, 'not for the share');
    await fs.symlink(elsewhere, path.join(inboxDir, 'day2'));
    const { movedTo, reasonFile } = await reject('day2/secret.jpg');
    expect(movedTo).toBeUndefined();
    expect(await fs.readFile(outside, 'utf8')).toBe('not for the share');
    expect(await fs.readdir(path.join(rejectedDir, 'day2'))).toEqual(['secret.jpg.reason.txt']);
    expect(await fs.readFile(reasonFile, 'utf8')).toMatch(
      /file left at day2\/secret\.jpg: .*day2 .*symbolic link/,
    );
  });

  it('leaves an image that is itself a link where it is', async () => {
    const outside = path.join(elsewhere, 'passwd');
    await fs.writeFile(outside, 'root:x:0:0');
    await fs.symlink(outside, path.join(inboxDir, 'day1', 'x.jpg'));
    const { movedTo } = await reject('day1/x.jpg');
    expect(movedTo).toBeUndefined();
    expect((await fs.lstat(path.join(inboxDir, 'day1', 'x.jpg'))).isSymbolicLink()).toBe(true);
    expect(await fs.readdir(path.join(rejectedDir, 'day1'))).toEqual(['x.jpg.reason.txt']);
  });

  it('takes a name held by a dangling link as taken, and sets the file aside under the next one', async () => {
    await fs.writeFile(path.join(inboxDir, 'day1', 'bad.jpg'), 'garbage');
    await fs.mkdir(path.join(rejectedDir, 'day1'));
    await fs.symlink(path.join(elsewhere, 'not-yet'), path.join(rejectedDir, 'day1', 'bad.jpg'));
    const { movedTo } = await reject('day1/bad.jpg');
    expect(movedTo).toBe(path.join(rejectedDir, 'day1', 'bad.2.jpg'));
    expect(await fs.readdir(elsewhere)).toEqual([]);
    expect((await fs.lstat(path.join(rejectedDir, 'day1', 'bad.jpg'))).isSymbolicLink()).toBe(true);
  });
});
