import { constants } from 'node:fs';
import fs from 'node:fs/promises';
import {
  insideFolder,
  LATEST_IMAGE_POINTER,
  type LatestImagePointer,
  type Logger,
  sha256,
} from '@scopehive/shared';
import type { Express } from 'express';

const MAX_POINTER_BYTES = 4096;
/** Far above any annotated JPEG; a bound so a hostile pointer cannot make the exporter read gigabytes. */
const MAX_IMAGE_BYTES = 256 * 1024 * 1024;

/** Why the latest image is not served, in one line (also the 404's text). */
class NotServed extends Error {}

/**
 * The latest annotated image for the Microscope dashboard (`GET /images/latest.jpg`). The share is
 * hostile, so nothing is found by watching the results folder: the route reads the pointer the sink
 * wrote and serves the file it names only when that file is inside the results folder, reached
 * through no symbolic link, a regular file, and still the bytes the sink recorded (size and SHA-256).
 * Reading on request also keeps the cost of the results folder's size off every image written.
 */
export class LatestImage {
  #lastRefusal?: string;

  constructor(
    readonly resultsDir: string,
    readonly logger?: Logger,
  ) {}

  /** The latest annotated image's bytes; throws NotServed saying why not. */
  async read(): Promise<Buffer> {
    let text: string;
    try {
      text = (await readRegularFile(this.resultsDir, LATEST_IMAGE_POINTER, MAX_POINTER_BYTES)).toString(
        'utf8',
      );
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new NotServed('no annotated image yet');
      throw err;
    }
    const pointer = parsePointer(text);
    const bytes = await readRegularFile(this.resultsDir, pointer.image, MAX_IMAGE_BYTES);
    if (bytes.length !== pointer.bytes || sha256(bytes) !== pointer.sha256) {
      throw new NotServed(`${pointer.image} is not the image the service recorded`);
    }
    return bytes;
  }

  routes(app: Express): void {
    app.get('/images/latest.jpg', async (_req, res) => {
      res.set('Cache-Control', 'no-store');
      try {
        const bytes = await this.read();
        res.type('image/jpeg').send(bytes);
      } catch (err) {
        const why = notServedReason(err);
        // Once per reason: the dashboard asks every few seconds.
        if (why !== 'no annotated image yet' && why !== this.#lastRefusal) {
          this.logger?.warn(`latest annotated image not served: ${why}`);
        }
        this.#lastRefusal = why;
        res.status(404).type('text/plain').send(why);
      }
    });
  }
}

function notServedReason(err: unknown): string {
  if (err instanceof NotServed) return err.message;
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'ENOENT') return 'the latest annotated image is gone';
  // O_NOFOLLOW on a link fails with ELOOP; insideFolder names the link it refused.
  if (e?.code === 'ELOOP') return 'the latest annotated image is a symbolic link: not followed';
  return String(e?.message ?? err).split('\n')[0];
}

function parsePointer(text: string): LatestImagePointer {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new NotServed(`${LATEST_IMAGE_POINTER} is not valid JSON`);
  }
  const p = raw as Record<string, unknown> | null;
  if (
    typeof p?.image !== 'string' ||
    !p.image.endsWith('.jpg') ||
    !Number.isSafeInteger(p.bytes) ||
    typeof p.sha256 !== 'string' ||
    !/^[0-9a-f]{64}$/.test(p.sha256)
  ) {
    throw new NotServed(`${LATEST_IMAGE_POINTER} does not name an annotated image`);
  }
  return { image: p.image, bytes: p.bytes as number, sha256: p.sha256 };
}

/**
 * Reads `relative` under `root` without following any symbolic link: insideFolder refuses a link on
 * the way, and O_NOFOLLOW one planted after that check. O_NONBLOCK keeps a planted FIFO from hanging
 * the request; the open handle is then checked to be a regular file of a sane size.
 */
async function readRegularFile(root: string, relative: string, maxBytes: number): Promise<Buffer> {
  const file = await insideFolder(root, relative);
  const handle = await fs.open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new NotServed(`${relative} is not a regular file`);
    if (stat.size > maxBytes) throw new NotServed(`${relative} is larger than ${maxBytes} bytes`);
    // No more than the size checked: a file growing meanwhile is cut short and fails the hash.
    const bytes = Buffer.alloc(stat.size);
    let filled = 0;
    while (filled < bytes.length) {
      const { bytesRead } = await handle.read(bytes, filled, bytes.length - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return bytes.subarray(0, filled);
  } finally {
    await handle.close();
  }
}
