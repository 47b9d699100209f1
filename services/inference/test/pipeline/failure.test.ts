import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { ImageRejection } from '../../src/image/rejection.ts';
import { classifyFailure } from '../../src/pipeline/failure.ts';

const errno = (code: string) => Object.assign(new Error(`${code}: something happened`), { code });

describe('classifyFailure: one place sorts every failure', () => {
  it("blames the image for its own bytes: a rejection, or a decoder's complaint", async () => {
    const rejection = new ImageRejection('too_small', 'image is only 1×1 pixels');
    expect(classifyFailure(rejection)).toEqual({ kind: 'image', rejection });
    const decoderError = await sharp(Buffer.from('not an image at all'))
      .raw()
      .toBuffer()
      .catch((e: unknown) => e);
    const sorted = classifyFailure(decoderError);
    expect(sorted.kind).toBe('image');
  });

  it.each(['ENOSPC', 'EROFS', 'EIO', 'EDQUOT', 'ECONNREFUSED'])(
    'blames the environment for %s, so the image is kept and tried again',
    (code) => {
      expect(classifyFailure(errno(code))).toMatchObject({ kind: 'environment' });
    },
  );

  it('calls anything else a bug, with its stack for the log', () => {
    const bug = new TypeError("Cannot read properties of undefined (reading 'rgb')");
    const sorted = classifyFailure(bug);
    expect(sorted).toMatchObject({ kind: 'bug', message: bug.message });
    expect(sorted.kind === 'bug' && sorted.stack).toContain('TypeError');
  });
});
