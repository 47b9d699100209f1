import { constants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { insideFolder, isOutsideFolder, rejectedPaths, writeFileAtomic } from '@scopehive/shared';
import type { ImageRejection } from '../image/rejection.ts';

/**
 * Sets an unusable file aside: it moves from the inbox to the same place under the rejected folder,
 * with `<name>.reason.txt` beside it holding one line that says why. Nothing is deleted: when the
 * file cannot be moved it stays where it is and the reason is still written.
 *
 * Both ends are checked, since anyone can plant a symbolic link on the share: a file reached through
 * a link in the inbox may live outside the share, so it is never moved (the reason says so); a link
 * in the rejected folder refuses the whole rejection with an OutsideFolderError (code EOUTSIDE) and
 * the file stays in the inbox.
 */
export async function rejectFile(options: {
  inboxDir: string;
  rejectedDir: string;
  image: string;
  rejection: ImageRejection;
  now?: Date;
}): Promise<{ movedTo?: string; reasonFile: string }> {
  const { inboxDir, rejectedDir, image, rejection } = options;
  let target = rejectedPaths(rejectedDir, image);
  await insideFolder(rejectedDir, target.reason);
  const source = await inboxPath(inboxDir, image);
  let movedTo: string | undefined;
  let gone = rejection.reason === 'vanished';
  // An empty file may be a copy that has not started writing: it stays where it is, so nothing is lost.
  if (typeof source === 'string' && !gone && rejection.reason !== 'empty') {
    target = await freeTarget(rejectedDir, target);
    await fs.mkdir(path.dirname(target.file), { recursive: true });
    try {
      await fs.rename(source, target.file);
      movedTo = target.file;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EXDEV') {
        // Exclusive, like the rename's target check: never copied onto a link planted meanwhile.
        await fs.copyFile(source, target.file, constants.COPYFILE_EXCL);
        await fs.rm(source);
        movedTo = target.file;
      }
      gone = code === 'ENOENT';
      // Otherwise (cannot be moved) the file stays where it is; the reason still says why.
    }
  }
  const when = (options.now ?? new Date()).toISOString();
  // Only claim the file is still in the inbox when it is.
  const where =
    movedTo || gone
      ? ''
      : ` (file left at ${image}${typeof source === 'string' ? '' : `: ${source.refused}`})`;
  await writeFileAtomic(target.reason, `${when} ${rejection.reason}: ${rejection.message}${where}\n`, {
    root: rejectedDir,
  });
  return { movedTo, reasonFile: target.reason };
}

/** The image's path in the inbox, or why it may not be moved from there. */
async function inboxPath(inboxDir: string, image: string): Promise<string | { refused: string }> {
  try {
    return await insideFolder(inboxDir, image);
  } catch (err) {
    if (isOutsideFolder(err)) return { refused: `not moved, ${err.message}` };
    throw err;
  }
}

/**
 * An earlier file of the same name may already be set aside (the same name reused on another day):
 * it is kept, and the new one becomes `name.2.ext`, `name.3.ext`, … A name taken by a link counts as
 * taken; the one chosen is checked to stay in the rejected folder, its reason file included.
 */
async function freeTarget(
  rejectedDir: string,
  first: { file: string; reason: string },
): Promise<{ file: string; reason: string }> {
  const ext = path.extname(first.file);
  const stem = first.file.slice(0, first.file.length - ext.length);
  let candidate = first;
  for (let n = 2; await present(candidate.file); n++) {
    const file = `${stem}.${n}${ext}`;
    candidate = { file, reason: `${file}.reason.txt` };
  }
  await insideFolder(rejectedDir, candidate.file);
  await insideFolder(rejectedDir, candidate.reason);
  return candidate;
}

/** Whether anything, a dangling link included, has this name. */
async function present(file: string): Promise<boolean> {
  try {
    await fs.lstat(file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}
