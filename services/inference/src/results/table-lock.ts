import { randomBytes } from 'node:crypto';
import { readlinkSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';

/**
 * An exclusive lock on one file, across processes, for the short time a table is appended to or
 * rewritten: a lock file created with O_EXCL beside it, holding its owner. Two inference processes
 * share a results folder (the device stack runs two); without it, rows appended to a table while
 * another process renames a rewritten copy over it would be lost with the old file.
 *
 * A lock left by a killed process is taken over: at once when its owner ran on this host, in this
 * process namespace, and is gone (or is this very process's previous life: a restarted container
 * often gets the same pid); otherwise once it is older than any write could take. Taking over renames
 * the lock aside and checks it is the one judged stale, so two processes finding it at once do not
 * both take it.
 */

export interface LockOwner {
  host: string;
  /** The pid namespace: pids of other containers on the same host mean nothing here. */
  ns: string;
  pid: number;
  token: string;
}

/** Older than this, a lock is abandoned whoever owns it: a write holds it for milliseconds. */
const ABANDONED_MS = 30_000;

const pidNamespace = (() => {
  try {
    return readlinkSync('/proc/self/ns/pid');
  } catch {
    return '';
  }
})();

/** This process as a lock owner (a fresh token per lock taken). */
export function lockOwner(): LockOwner {
  return { host: os.hostname(), ns: pidNamespace, pid: process.pid, token: randomBytes(8).toString('hex') };
}

/** Tokens of the locks this process holds now. */
const held = new Set<string>();

/** Runs `work` holding the lock `lockFile`; its folder must exist. */
export async function withFileLock<T>(lockFile: string, work: () => Promise<T>): Promise<T> {
  const token = await acquire(lockFile);
  held.add(token);
  try {
    return await work();
  } finally {
    held.delete(token);
    await fs.rm(lockFile, { force: true });
  }
}

async function acquire(lockFile: string): Promise<string> {
  for (let attempt = 0; ; attempt++) {
    const owner = lockOwner();
    let handle: fs.FileHandle | undefined;
    try {
      handle = await fs.open(lockFile, 'wx');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    if (handle) {
      try {
        await handle.writeFile(`${JSON.stringify(owner)}\n`);
      } catch (err) {
        // A full disk: the lock file was made but not filled; leave nothing behind.
        await handle.close();
        await fs.rm(lockFile, { force: true });
        throw err;
      }
      await handle.close();
      return owner.token;
    }
    if (await takeOverIfAbandoned(lockFile)) continue;
    await new Promise((resolve) => setTimeout(resolve, Math.min(2 + attempt, 50)));
  }
}

/** True when the lock was abandoned and has been removed (or vanished meanwhile): try again at once. */
async function takeOverIfAbandoned(lockFile: string): Promise<boolean> {
  let text: string;
  let age: number;
  try {
    [text, age] = await Promise.all([
      fs.readFile(lockFile, 'utf8'),
      fs.stat(lockFile).then((s) => Date.now() - s.mtimeMs),
    ]);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw err;
  }
  if (!isAbandoned(parseOwner(text), age)) return false;
  const aside = `${lockFile}.${randomBytes(6).toString('hex')}.stale`;
  try {
    await fs.rename(lockFile, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw err;
  }
  if ((await fs.readFile(aside, 'utf8')) !== text) {
    // Another process took the stale lock over first and this is its fresh one: put it back.
    await fs.link(aside, lockFile).catch(() => undefined);
  }
  await fs.rm(aside, { force: true });
  return true;
}

function parseOwner(text: string): LockOwner | undefined {
  try {
    const o = JSON.parse(text) as LockOwner;
    return typeof o.pid === 'number' && typeof o.host === 'string' ? o : undefined;
  } catch {
    // Empty or cut short: its owner stopped between creating it and filling it in, or is filling it in.
    return undefined;
  }
}

function isAbandoned(owner: LockOwner | undefined, ageMs: number): boolean {
  if (ageMs > ABANDONED_MS) return true;
  if (!owner) return false;
  const me = lockOwner();
  if (owner.host !== me.host || owner.ns !== me.ns) return false;
  if (owner.pid === me.pid) return !held.has(owner.token);
  try {
    process.kill(owner.pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
