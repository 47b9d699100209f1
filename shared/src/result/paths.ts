import path from 'node:path';

/**
 * Where the results of one image and model live: the results tree mirrors the inbox tree, and every
 * file name carries the image's full name plus the model's, so results of several models sit side by side.
 */
export function resultPaths(resultsDir: string, image: string, model: string) {
  const base = path.join(resultsDir, ...image.split('/'));
  return {
    json: `${base}.${model}.json`,
    annotated: `${base}.${model}.jpg`,
    folder: path.dirname(base),
  };
}

/** Where a rejected image and its one-line reason go. */
export function rejectedPaths(rejectedDir: string, image: string) {
  const file = path.join(rejectedDir, ...image.split('/'));
  return { file, reason: `${file}.reason.txt` };
}
