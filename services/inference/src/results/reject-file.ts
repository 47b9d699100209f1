import fs from 'node:fs/promises';
import path from 'node:path';
import { exists, rejectedPaths, writeFileAtomic } from '@scopehive/shared';
import type { ImageRejection } from '../image/rejection.ts';

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
  let target = rejectedPaths(rejectedDir, image);
  await fs.mkdir(path.dirname(target.file), { recursive: true });
  let movedTo: string | undefined;
  let gone = rejection.reason === 'vanished';
  // An empty file may be a copy that has not started writing: it stays where it is, so nothing is lost.
  if (!gone && rejection.reason !== 'empty') {
    target = await freeTarget(target);
    try {
      await fs.rename(source, target.file);
      movedTo = target.file;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EXDEV') {
        await fs.copyFile(source, target.file);
        await fs.rm(source);
        movedTo = target.file;
      }
      gone = code === 'ENOENT';
      // Otherwise (cannot be moved) the file stays where it is; the reason still says why.
    }
  }
  const when = (options.now ?? new Date()).toISOString();
  // Only claim the file is still in the inbox when it is.
  const where = movedTo || gone ? '' : ` (file left at ${image})`;
  await writeFileAtomic(target.reason, `${when} ${rejection.reason}: ${rejection.message}${where}\n`);
  return { movedTo, reasonFile: target.reason };
}

/**
 * An earlier file of the same name may already be set aside (the same name reused on another day):
 * it is kept, and the new one becomes `name.2.ext`, `name.3.ext`, …
 */
async function freeTarget(first: {
  file: string;
  reason: string;
}): Promise<{ file: string; reason: string }> {
  const ext = path.extname(first.file);
  const stem = first.file.slice(0, first.file.length - ext.length);
  let candidate = first;
  for (let n = 2; await exists(candidate.file); n++) {
    const file = `${stem}.${n}${ext}`;
    candidate = { file, reason: `${file}.reason.txt` };
  }
  return candidate;
}
