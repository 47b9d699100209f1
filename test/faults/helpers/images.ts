import fs from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { sharedImage } from '../../integration/helpers/pipeline.ts';

const sources = ['bus.jpg', 'zidane.jpg'];

/**
 * `count` small photos (320 px wide, so a CPU analyses one in a fraction of a second), each with its
 * own bytes (and so its own job): the sample photos re-encoded at a different quality each. Names
 * are `<folder>/<stem>-<i>.jpg`.
 */
export async function smallPhotos(
  folder: string,
  count: number,
  stem = 'photo',
): Promise<Map<string, Buffer>> {
  const photos = new Map<string, Buffer>();
  for (let i = 0; i < count; i++) {
    const source = await fs.readFile(sharedImage(sources[i % sources.length]));
    const bytes = await sharp(source)
      .resize({ width: 320 })
      .jpeg({ quality: 95 - (i % 60) })
      .toBuffer();
    photos.set(`${folder}/${stem}-${i}.jpg`, bytes);
  }
  return photos;
}

/**
 * Puts each image into the inbox in one rename, as a finished copy appears on the share: written
 * under a hidden name (the watcher ignores those) in its folder first.
 */
export async function dropAll(inboxDir: string, images: Map<string, Uint8Array>): Promise<void> {
  for (const [name, bytes] of images) {
    const target = path.join(inboxDir, ...name.split('/'));
    await fs.mkdir(path.dirname(target), { recursive: true });
    const staged = path.join(path.dirname(target), `.${path.basename(target)}.partial`);
    await fs.writeFile(staged, bytes);
    await fs.rename(staged, target);
  }
}
