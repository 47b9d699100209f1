import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { recordLatestImage, sha256 } from '@scopehive/shared';
import express from 'express';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LatestImage } from '../src/latest-image.ts';

const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 0x4a, 0x46, 0x49, 0x46, 0, 1, 0xff, 0xd9]);

let resultsDir: string;
let elsewhere: string;
let server: ReturnType<ReturnType<typeof express>['listen']>;
let base: string;
const warnings: string[] = [];

beforeEach(async () => {
  resultsDir = await fs.mkdtemp(path.join(os.tmpdir(), 'scopehive-results-'));
  elsewhere = await fs.mkdtemp(path.join(os.tmpdir(), 'scopehive-elsewhere-'));
  warnings.length = 0;
  const logger = { warn: (msg: string) => warnings.push(msg) } as unknown as ConstructorParameters<
    typeof LatestImage
  >[1];
  const app = express();
  new LatestImage(resultsDir, logger).routes(app);
  server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterEach(async () => {
  await new Promise((resolve) => server.close(resolve));
  await fs.rm(resultsDir, { recursive: true, force: true });
  await fs.rm(elsewhere, { recursive: true, force: true });
});

async function latest(): Promise<{ status: number; type: string; body: Buffer }> {
  const res = await fetch(`${base}/images/latest.jpg`);
  return {
    status: res.status,
    type: res.headers.get('content-type') ?? '',
    body: Buffer.from(await res.arrayBuffer()),
  };
}

/** A pointer as anyone on the lab network could write it. */
async function forgePointer(pointer: unknown): Promise<void> {
  await fs.mkdir(path.join(resultsDir, '.scopehive'), { recursive: true });
  await fs.writeFile(path.join(resultsDir, '.scopehive', 'latest.json'), JSON.stringify(pointer));
}

/** A pointer that names `image` with the size and hash of `bytes`. */
const pointerTo = (image: string, bytes: Buffer) => ({ image, bytes: bytes.length, sha256: sha256(bytes) });

describe('GET /images/latest.jpg serves only the image the service recorded', () => {
  it('answers 404 until an annotated image has been written', async () => {
    const res = await latest();
    expect(res.status).toBe(404);
    expect(res.body.toString()).toBe('no annotated image yet');
    expect(warnings).toEqual([]);
  });

  it('serves the annotated image the results sink recorded last', async () => {
    const file = path.join(resultsDir, 'day1', 'grid.tif.m.jpg');
    await fs.mkdir(path.dirname(file));
    await fs.writeFile(file, JPEG);
    await recordLatestImage(resultsDir, file, JPEG);
    const res = await latest();
    expect(res.status).toBe(200);
    expect(res.type).toMatch(/^image\/jpeg/);
    expect(res.body.equals(JPEG)).toBe(true);
  });

  const refusals: Array<[string, () => Promise<void>, RegExp]> = [
    [
      'a link named like an annotated image, with a matching forged pointer',
      async () => {
        const passwd = await fs.readFile('/etc/passwd');
        await fs.symlink('/etc/passwd', path.join(resultsDir, 'x.jpg'));
        await forgePointer(pointerTo('x.jpg', passwd));
      },
      /x\.jpg .*symbolic link/,
    ],
    [
      'an image under a folder link',
      async () => {
        await fs.writeFile(path.join(elsewhere, 'a.jpg'), JPEG);
        await fs.symlink(elsewhere, path.join(resultsDir, 'day1'));
        await forgePointer(pointerTo('day1/a.jpg', JPEG));
      },
      /day1 .*symbolic link/,
    ],
    [
      'a pointer that is itself a link',
      async () => {
        await fs.writeFile(path.join(resultsDir, 'a.jpg'), JPEG);
        await fs.writeFile(path.join(elsewhere, 'latest.json'), JSON.stringify(pointerTo('a.jpg', JPEG)));
        await fs.mkdir(path.join(resultsDir, '.scopehive'));
        await fs.symlink(
          path.join(elsewhere, 'latest.json'),
          path.join(resultsDir, '.scopehive', 'latest.json'),
        );
      },
      /latest\.json .*symbolic link/,
    ],
    [
      'a pointer that climbs out of the results folder',
      async () => {
        await fs.writeFile(path.join(elsewhere, 'a.jpg'), JPEG);
        await forgePointer(pointerTo(`../${path.basename(elsewhere)}/a.jpg`, JPEG));
      },
      /outside/,
    ],
    [
      'a pointer naming an absolute path',
      async () => {
        await fs.writeFile(path.join(elsewhere, 'a.jpg'), JPEG);
        await forgePointer(pointerTo(path.join(elsewhere, 'a.jpg'), JPEG));
      },
      /outside/,
    ],
    [
      'a pointer naming something other than an annotated image',
      async () => {
        const passwd = await fs.readFile('/etc/passwd');
        await forgePointer(pointerTo('/etc/passwd', passwd));
      },
      /does not name an annotated image/,
    ],
    [
      'an image replaced after it was recorded',
      async () => {
        const file = path.join(resultsDir, 'a.jpg');
        await fs.writeFile(file, JPEG);
        await recordLatestImage(resultsDir, file, JPEG);
        await fs.writeFile(file, Buffer.concat([JPEG, Buffer.from('planted')]));
      },
      /not the image the service recorded/,
    ],
    [
      'a pipe named like an annotated image',
      async () => {
        execFileSync('mkfifo', [path.join(resultsDir, 'a.jpg')]);
        await forgePointer(pointerTo('a.jpg', JPEG));
      },
      /not a regular file/,
    ],
    [
      'a pointer that is not JSON',
      async () => {
        await fs.mkdir(path.join(resultsDir, '.scopehive'));
        await fs.writeFile(path.join(resultsDir, '.scopehive', 'latest.json'), '{"image":');
      },
      /not valid JSON/,
    ],
  ];

  for (const [what, plant, says] of refusals) {
    it(`answers 404 with one line for ${what}`, async () => {
      await plant();
      const res = await latest();
      expect(res.status).toBe(404);
      expect(res.body.includes('root:')).toBe(false);
      expect(res.body.toString()).toMatch(says);
      expect(res.body.toString()).not.toContain('\n');
      expect(warnings).toEqual([`latest annotated image not served: ${res.body.toString()}`]);
      // The dashboard asks again every few seconds: still refused, not logged again.
      expect((await latest()).status).toBe(404);
      expect(warnings).toHaveLength(1);
    });
  }
});
