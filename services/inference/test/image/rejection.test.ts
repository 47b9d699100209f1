import { readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { supportedFormatsText } from '@scopehive/shared';
import sharp, { type SharpOptions } from 'sharp';
import { describe, expect, it } from 'vitest';
import { classifyDecodeError, ImageRejection } from '../../src/image/rejection.ts';
import { MicroscopyError } from '../../src/microscopy/errors.ts';

const errno = (code: string, message = `${code}: something`) => Object.assign(new Error(message), { code });

/** The error sharp raises for `bytes`, so the mapping is checked against the decoder's real words. */
async function sharpError(bytes: Buffer, options: SharpOptions = {}): Promise<Error> {
  try {
    await sharp(bytes, { failOn: 'truncated', ...options })
      .raw()
      .toBuffer();
  } catch (err) {
    return err as Error;
  }
  throw new Error('sharp decoded the bytes');
}

const sharedDir =
  process.env.SCOPEHIVE_SHARED_DIR ?? path.resolve(import.meta.dirname, '../../../../../shared');
const bus = readFileSync(path.join(sharedDir, 'images', 'bus.jpg'));

/** The rejection, which must be there: these are all the image's fault. */
function classify(err: unknown): ImageRejection {
  const r = classifyDecodeError(err);
  if (!r) throw new Error(`not classified as the image's fault: ${String(err)}`);
  return r;
}

describe('classifyDecodeError', () => {
  it('names a file that disappeared or cannot be read', async () => {
    const missing = await fs.readFile(path.join(os.tmpdir(), 'scopehive-no-such-file.tif')).catch((e) => e);
    expect(classify(missing)).toMatchObject({
      reason: 'vanished',
      message: 'the file disappeared before it could be read',
    });
    for (const code of ['EACCES', 'EPERM']) {
      expect(classify(errno(code))).toMatchObject({
        reason: 'unreadable',
        message: 'permission denied reading the file',
      });
    }
    expect(classify(errno('EISDIR'))).toMatchObject({
      reason: 'unsupported',
      message: 'a folder, not an image file',
    });
  });

  it('calls an image above the pixel limit too large', async () => {
    const err = await sharpError(bus, { limitInputPixels: 100 });
    expect(err.message).toBe('Input image exceeds pixel limit');
    const r = classify(err);
    expect(r).toBeInstanceOf(ImageRejection);
    expect([r.reason, r.message]).toEqual([
      'too_large',
      'image larger than the pixel limit (Input image exceeds pixel limit)',
    ]);
  });

  it('calls bytes in no known format unsupported', async () => {
    const err = await sharpError(Buffer.from('Acquisition log, not an image'));
    expect(classify(err)).toMatchObject({
      reason: 'unsupported',
      message: `not an image in a supported format (${supportedFormatsText()})`,
    });
  });

  it('calls a file cut short truncated, quoting the first line of the decoder message', async () => {
    const err = await sharpError(bus.subarray(0, bus.length / 2));
    expect(err.message).toBe('VipsJpeg: premature end of JPEG image');
    expect(classify(err)).toMatchObject({
      reason: 'truncated',
      message: 'the image data is incomplete (VipsJpeg: premature end of JPEG image)',
    });
    const headerOnly = await sharpError(bus.subarray(0, 200));
    const r = classify(headerOnly);
    expect(r.reason).toBe('truncated');
    expect(r.message).not.toContain('\n');
    for (const m of ['TIFFReadDirectory: short read', 'vipspng: libpng read error']) {
      expect(classify(new Error(m)).reason, m).toBe('truncated');
    }
  });

  it('calls anything else corrupt', async () => {
    const bytes = Buffer.from(bus);
    bytes.fill(0xff, 1000, 5000);
    const err = await sharpError(bytes);
    const r = classify(err);
    expect(r.reason).toBe('corrupt');
    expect(r.message).toBe(
      'the image could not be decoded (Input buffer has corrupt header: VipsJpeg: Unsupported marker type 0x70)',
    );
  });

  it("sorts sharp's real errors for cut and damaged PNG, WebP and TIFF files", async () => {
    const red = sharp({ create: { width: 64, height: 64, channels: 3, background: 'red' } });
    const png = await red.clone().png().toBuffer();
    const webp = await red.clone().webp().toBuffer();
    const tiff = await red.clone().tiff().toBuffer();
    const garbage = (bytes: Buffer, from: number, to: number) => Buffer.from(bytes).fill(0x41, from, to);
    const cases: [string, Buffer, string][] = [
      ['cut PNG', png.subarray(0, png.length - 30), 'truncated'],
      ['PNG signature then garbage', garbage(png, 40, png.length - 12), 'corrupt'],
      ['cut WebP', webp.subarray(0, webp.length - 10), 'corrupt'],
      ['WebP with garbage pixels', garbage(webp, 30, webp.length), 'corrupt'],
      ['TIFF cut inside its header', tiff.subarray(0, 200), 'unsupported'],
    ];
    for (const [what, bytes, reason] of cases) {
      const r = classify(await sharpError(bytes));
      expect(r.reason, what).toBe(reason);
      expect(r.message, what).not.toContain('\n');
    }
  });

  it("turns a reader's MicroscopyError into a rejection with the same reason and words", () => {
    const err = new MicroscopyError('unsupported', 'unsupported TIFF compression 34712 (JPEG 2000)');
    const r = classify(err);
    expect(r).toBeInstanceOf(ImageRejection);
    expect([r.reason, r.message]).toEqual(['unsupported', 'unsupported TIFF compression 34712 (JPEG 2000)']);
  });

  it('passes an ImageRejection through unchanged', () => {
    const rejection = new ImageRejection('too_small', 'image is only 1×1 pixels');
    expect(classifyDecodeError(rejection)).toBe(rejection);
  });

  it("leaves the device's errors and bugs alone: a full disk, an I/O error, a closed pool, bad JSON", async () => {
    const full = await fs
      .writeFile('/dev/full', 'x')
      .then(() => undefined)
      .catch((e: unknown) => e);
    expect((full as NodeJS.ErrnoException)?.code).toBe('ENOSPC');
    expect(classifyDecodeError(full)).toBeUndefined();
    for (const code of ['ENOSPC', 'EIO', 'EROFS', 'EMFILE', 'ETIMEDOUT']) {
      expect(classifyDecodeError(errno(code, `${code}: input/output error, read`)), code).toBeUndefined();
    }
    const badJson = (() => {
      try {
        JSON.parse('{"cut');
      } catch (e) {
        return e;
      }
    })();
    expect(classifyDecodeError(badJson)).toBeUndefined();
    expect(classifyDecodeError(new Error('the session pool is closed'))).toBeUndefined();
    expect(
      classifyDecodeError(new TypeError("Cannot read properties of undefined (reading 'rgb')")),
    ).toBeUndefined();
    expect(classifyDecodeError('weird')).toBeUndefined();
    expect(classifyDecodeError(undefined)).toBeUndefined();
  });
});
