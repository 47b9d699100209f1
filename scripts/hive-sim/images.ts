/**
 * The simulation's images: small PNGs, each with content of its own (so each has its own SHA-256 and
 * is one image to the hive), made in a staging folder and renamed into the microscopes' inboxes so
 * that ingest only ever sees complete files.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';

const SIZE = 64;

/** Image `i`'s file name; the number sorts. */
export function imageName(i: number): string {
  return `sim-${String(i + 1).padStart(6, '0')}.png`;
}

/** A 64×64 grey PNG whose pixels encode `i`: a gradient shifted by it and its bytes in the first row. */
async function png(i: number): Promise<Buffer> {
  const raw = Buffer.alloc(SIZE * SIZE);
  for (let y = 0; y < SIZE; y++)
    for (let x = 0; x < SIZE; x++) raw[y * SIZE + x] = (x * 3 + y * 2 + i) & 0xff;
  raw.writeUInt32BE(i, 0);
  return sharp(raw, { raw: { width: SIZE, height: SIZE, channels: 1 } })
    .png({ compressionLevel: 1 })
    .toBuffer();
}

export interface Placed {
  image: string;
  /** The microscope it was dropped on: its origin. */
  origin: string;
}

/**
 * Writes `count` images into `staging` and hands them out round-robin over `origins`, returning a
 * function that drops them into the inboxes (a rename each: on the same file system, instant).
 */
export async function makeImages(
  count: number,
  staging: string,
  origins: ReadonlyArray<{ name: string; inbox: string }>,
): Promise<{ placed: Placed[]; drop(): Promise<void> }> {
  await fs.mkdir(staging, { recursive: true });
  const placed: Placed[] = [];
  const moves: Array<[string, string]> = [];
  for (let i = 0; i < count; i++) {
    const image = imageName(i);
    const origin = origins[i % origins.length];
    const from = path.join(staging, image);
    await fs.writeFile(from, await png(i));
    placed.push({ image, origin: origin.name });
    moves.push([from, path.join(origin.inbox, image)]);
  }
  return {
    placed,
    async drop() {
      for (const [from, to] of moves) await fs.rename(from, to);
    },
  };
}
