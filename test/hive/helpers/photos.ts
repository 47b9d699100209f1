import sharp from 'sharp';
import { smallPhotos } from '../../faults/helpers/images.ts';

let made = 0;

/**
 * Like `smallPhotos`, but no two photos of the test file share their bytes (so each is its own
 * object in the image store): each is scaled to a width no other photo has.
 */
export async function distinctPhotos(
  folder: string,
  count: number,
  stem: string,
): Promise<Map<string, Buffer>> {
  const photos = new Map<string, Buffer>();
  for (const [name, bytes] of await smallPhotos(folder, count, stem)) {
    made += 1;
    photos.set(
      name,
      await sharp(bytes)
        .resize({ width: 320 - made })
        .jpeg({ quality: 90 })
        .toBuffer(),
    );
  }
  return photos;
}
