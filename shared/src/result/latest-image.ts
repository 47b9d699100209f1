import path from 'node:path';
import { sha256, writeFileAtomic } from '../fs/files.ts';

/**
 * Where the latest annotated image is recorded, relative to the results folder. The exporter's
 * `GET /images/latest.jpg` reads it: it
 * serves only the file named here, and only while its size and SHA-256 still match, so it serves
 * nothing but an image this service wrote and never needs to watch the results folder.
 */
export const LATEST_IMAGE_POINTER = '.scopehive/latest.json';

/** The pointer's content: the image's results-relative path ('/'-separated), size and SHA-256. */
export interface LatestImagePointer {
  image: string;
  bytes: number;
  sha256: string;
}

/** Records `file` (inside `resultsDir`, just written with `bytes`) as the latest annotated image. */
export async function recordLatestImage(resultsDir: string, file: string, bytes: Uint8Array): Promise<void> {
  const pointer: LatestImagePointer = {
    image: path.relative(resultsDir, file).split(path.sep).join('/'),
    bytes: bytes.length,
    sha256: sha256(bytes),
  };
  await writeFileAtomic(path.join(resultsDir, LATEST_IMAGE_POINTER), `${JSON.stringify(pointer)}\n`, {
    root: resultsDir,
  });
}
