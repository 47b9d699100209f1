import { readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp, { type SharpOptions } from 'sharp';
import { describe, expect, it } from 'vitest';
import { classifyImageError, ImageRejection } from '../../src/image/rejection.ts';

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

describe('classifyImageError', () => {
  it('names a file that disappeared or cannot be read', async () => {
    const missing = await fs.readFile(path.join(os.tmpdir(), 'scopehive-no-such-file.tif')).catch((e) => e);
    expect(classifyImageError(missing)).toMatchObject({
      reason: 'vanished',
      message: 'the file disappeared before it could be read',
    });
    for (const code of ['EACCES', 'EPERM']) {
      expect(classifyImageError(errno(code))).toMatchObject({
        reason: 'unreadable',
        message: 'permission denied reading the file',
      });
    }
    expect(classifyImageError(errno('EISDIR'))).toMatchObject({
      reason: 'unsupported',
      message: 'a folder, not an image file',
    });
  });

  it('calls an image above the pixel limit too large', async () => {
    const err = await sharpError(bus, { limitInputPixels: 100 });
    expect(err.message).toBe('Input image exceeds pixel limit');
    const r = classifyImageError(err);
    expect(r).toBeInstanceOf(ImageRejection);
    expect([r.reason, r.message]).toEqual([
      'too_large',
      'image larger than the pixel limit (Input image exceeds pixel limit)',
    ]);
  });

  it('calls bytes in no known format unsupported', async () => {
    const err = await sharpError(Buffer.from('Acquisition log, not an image'));
    expect(classifyImageError(err)).toMatchObject({
      reason: 'unsupported',
      message: 'not an image in a supported format (JPEG, PNG, TIFF)',
    });
    expect(classifyImageError(new Error('unknown format')).reason).toBe('unsupported');
  });

  it('calls a file cut short truncated, quoting the first line of the decoder message', async () => {
    const err = await sharpError(bus.subarray(0, bus.length / 2));
    expect(err.message).toBe('VipsJpeg: premature end of JPEG image');
    expect(classifyImageError(err)).toMatchObject({
      reason: 'truncated',
      message: 'the image data is incomplete (VipsJpeg: premature end of JPEG image)',
    });
    const headerOnly = await sharpError(bus.subarray(0, 200));
    const r = classifyImageError(headerOnly);
    expect(r.reason).toBe('truncated');
    expect(r.message).not.toContain('\n');
    for (const m of [
      'unexpected end of file',
      'TIFFReadDirectory: short read',
      'vipspng: libpng read error',
    ]) {
      expect(classifyImageError(new Error(m)).reason, m).toBe('truncated');
    }
  });

  it('calls anything else corrupt', async () => {
    const bytes = Buffer.from(bus);
    bytes.fill(0xff, 1000, 5000);
    const err = await sharpError(bytes);
    const r = classifyImageError(err);
    expect(r.reason).toBe('corrupt');
    expect(r.message).toBe(
      'the image could not be decoded (Input buffer has corrupt header: VipsJpeg: Unsupported marker type 0x70)',
    );
    expect(classifyImageError('weird')).toMatchObject({
      reason: 'corrupt',
      message: 'the image could not be decoded (weird)',
    });
  });

  it('passes an ImageRejection through unchanged', () => {
    const rejection = new ImageRejection('too_small', 'image is only 1×1 pixels');
    expect(classifyImageError(rejection)).toBe(rejection);
  });
});
