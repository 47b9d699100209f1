import type { Dirent } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '@scopehive/shared';

/**
 * Hidden temporary names a killed process can leave behind: `writeFileAtomic`'s `.<name>.<12 hex>.tmp`
 * (between write and rename), and a table lock set aside while being taken over,
 * `.<table>.lock.<12 hex>.stale` (results/table-lock.ts). Nothing else on the share is named like them.
 */
const TEMPORARY_NAME = /^\..+\.[0-9a-f]{12}\.(tmp|stale)$/;

export interface SweepOptions {
  /**
   * Only files last written before this time are removed: this process's start. A live writer
   * renames its temporary file within moments of its last write, so a file older than the start is
   * one that no process will rename any more, even with several processes sharing the folder.
   */
  before: Date;
  logger: Logger;
  /** Stops the sweep (the service is closing). */
  signal?: AbortSignal;
}

/**
 * Removes the temporary files that killed writers left in our own folders (results, rejected). It
 * runs in the background after the start: its cost grows with the folder, so it must hold up neither
 * readiness nor any image. Links are not followed: the share is hostile, and a link leads out of it.
 * Resolves with the number of files removed; never throws.
 */
export async function sweepLeftovers(folders: readonly string[], options: SweepOptions): Promise<number> {
  let removed = 0;
  for (const folder of folders) removed += await sweepFolder(folder, options);
  if (removed > 0) {
    options.logger.info({ removed }, `removed ${removed} temporary files left by interrupted writes`);
  }
  return removed;
}

async function sweepFolder(folder: string, options: SweepOptions): Promise<number> {
  const { before, logger, signal } = options;
  let removed = 0;
  const pending = [folder];
  while (pending.length > 0 && !signal?.aborted) {
    const dir = pending.pop()!;
    try {
      // One entry at a time: a folder of ten thousand results is never listed into memory at once.
      for await (const entry of await fs.opendir(dir)) {
        if (signal?.aborted) break;
        const file = path.join(dir, entry.name);
        if (entry.isDirectory()) pending.push(file);
        else if (await isLeftover(entry, file, before)) {
          removed += await fs.rm(file, { force: true }).then(
            () => 1,
            (err: unknown) => {
              logger.warn({ file, err: String(err) }, 'could not remove a leftover temporary file');
              return 0;
            },
          );
        }
      }
    } catch (err) {
      // A folder removed or unreadable meanwhile: the rest of the sweep goes on.
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') logger.warn({ folder: dir, err: String(err) }, 'could not sweep a folder');
    }
  }
  return removed;
}

async function isLeftover(entry: Dirent, file: string, before: Date): Promise<boolean> {
  if (!entry.isFile() || !TEMPORARY_NAME.test(entry.name)) return false;
  const stat = await fs.lstat(file).catch(() => undefined);
  if (!stat?.isFile()) return false;
  return stat.mtimeMs < before.getTime();
}
