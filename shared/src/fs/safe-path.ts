import type { Stats } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';

/**
 * The share is written by every PC on the lab network: a symbolic link placed in `results/` or
 * `rejected/` must not make the service write, move or serve a file outside its folder. Every path
 * the service writes, moves or serves goes through `insideFolder` first.
 */
export class OutsideFolderError extends Error {
  override name = 'OutsideFolderError';
  readonly code = 'EOUTSIDE';
}

/**
 * `target` resolved against `root`, checked to stay inside it: lexically (no `..`, no absolute
 * escape) and on disk (no component between the root and the target, the target included, is a
 * symbolic link). Components that do not exist yet are fine: they will be created as real folders.
 * Throws an OutsideFolderError naming the offending component.
 */
export async function insideFolder(root: string, target: string): Promise<string> {
  const base = path.resolve(root);
  const full = path.resolve(base, target);
  const rel = path.relative(base, full);
  if (rel === '') return full;
  if (rel.startsWith('..') || path.isAbsolute(rel)) {
    throw new OutsideFolderError(`${target} is outside ${base}`);
  }
  let current = base;
  for (const part of rel.split(path.sep)) {
    current = path.join(current, part);
    let stat: Stats;
    try {
      stat = await fs.lstat(current);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return full;
      throw err;
    }
    if (stat.isSymbolicLink()) {
      throw new OutsideFolderError(
        `${path.relative(base, current)} in ${base} is a symbolic link: not followed`,
      );
    }
  }
  return full;
}

/** True for an error that says a path left its folder. */
export function isOutsideFolder(err: unknown): err is OutsideFolderError {
  return err instanceof OutsideFolderError;
}
