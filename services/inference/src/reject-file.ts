import fs from 'node:fs/promises';
import path from 'node:path';
import { rejectedPaths, writeFileAtomic } from '@scopehive/shared';
import type { ImageRejection } from './image/rejection.ts';

/**
 * Sets an unusable file aside: it moves from the inbox to the same place under the rejected folder,
 * with `<name>.reason.txt` beside it holding one line that says why. Nothing is deleted: when the
 * file cannot be moved it stays where it is and the reason is still written.
 */
export async function rejectFile(options: {
  inboxDir: string;
  rejectedDir: string;
  image: string;
  rejection: ImageRejection;
  now?: Date;
}): Promise<{ movedTo?: string; reasonFile: string }> {
  const { inboxDir, rejectedDir, image, rejection } = options;
  const source = path.join(inboxDir, ...image.split('/'));
  const target = rejectedPaths(rejectedDir, image);
  await fs.mkdir(path.dirname(target.file), { recursive: true });
  let movedTo: string | undefined;
  // An empty file may be a copy that has not started writing: it stays where it is, so nothing is lost.
  if (rejection.reason !== 'vanished' && rejection.reason !== 'empty') {
    try {
      await fs.rename(source, target.file);
      movedTo = target.file;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EXDEV') {
        await fs.copyFile(source, target.file);
        await fs.rm(source);
        movedTo = target.file;
      }
      // Otherwise (unreadable, already gone) the file stays where it is; the reason still says why.
    }
  }
  const when = (options.now ?? new Date()).toISOString();
  const where = movedTo ? '' : ` (file left at ${image})`;
  await writeFileAtomic(target.reason, `${when} ${rejection.reason}: ${rejection.message}${where}\n`);
  return { movedTo, reasonFile: target.reason };
}
