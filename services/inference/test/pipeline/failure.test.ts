import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { insideFolder } from '@scopehive/shared';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImageRejection } from '../../src/image/rejection.ts';
import { classifyFailure } from '../../src/pipeline/failure.ts';

const errno = (code: string) => Object.assign(new Error(`${code}: something happened`), { code });

let dir: string;
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'scopehive-failure-'));
  await fs.mkdir(path.join(dir, 'results'));
  await fs.symlink('/etc', path.join(dir, 'results/link'));
});
afterAll(() => fs.rm(dir, { recursive: true, force: true }));

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

  it.each(['ENOSPC', 'EROFS', 'EIO', 'EDQUOT', 'ECONNREFUSED', 'ENOENT'])(
    'blames the environment for %s, so the image is kept and tried again',
    (code) => {
      expect(classifyFailure(errno(code))).toMatchObject({ kind: 'environment' });
    },
  );

  it('blames our own folders, not the image, for a raw permission error or a planted link', async () => {
    // The source turns the image's own permission error into a rejection before the classifier.
    const unreadable = new ImageRejection('unreadable', 'permission denied reading the file');
    expect(classifyFailure(unreadable)).toEqual({ kind: 'image', rejection: unreadable });
    for (const code of ['EACCES', 'EPERM']) {
      expect(classifyFailure(errno(code))).toMatchObject({ kind: 'environment', code });
    }
    const link = await insideFolder(path.join(dir, 'results'), 'link/x.json').catch((e: unknown) => e);
    expect(classifyFailure(link)).toMatchObject({ kind: 'environment', code: 'EOUTSIDE' });
  });

  it('blames the environment when the queue is down', () => {
    const closed = Object.assign(new Error('closed connection'), { name: 'ClosedConnectionError' });
    expect(classifyFailure(closed)).toMatchObject({ kind: 'environment', code: 'QUEUE_DOWN' });
    // A JetStream server lost out of three: requests time out or meet no responder while leaders move.
    for (const name of ['TimeoutError', 'NoResponders', 'JetStreamNotEnabled']) {
      const err = Object.assign(new Error('timeout'), { name });
      expect(classifyFailure(err), name).toMatchObject({ kind: 'environment', code: 'QUEUE_DOWN' });
    }
    const busy = Object.assign(new Error('JetStream system temporarily unavailable'), {
      name: 'JetStreamApiError',
    });
    expect(classifyFailure(busy)).toMatchObject({ kind: 'environment', code: 'QUEUE_DOWN' });
  });

  it('calls anything else a bug, with its stack for the log', () => {
    const bug = new TypeError("Cannot read properties of undefined (reading 'rgb')");
    const sorted = classifyFailure(bug);
    expect(sorted).toMatchObject({ kind: 'bug', message: bug.message });
    expect(sorted.kind === 'bug' && sorted.stack).toContain('TypeError');
  });
});
