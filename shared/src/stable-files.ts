import { EventEmitter } from 'node:events';
import type { Stats } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { type FSWatcher, watch } from 'chokidar';

export interface StableFilesOptions {
  /** Folder watched recursively. */
  root: string;
  /** A file counts as complete once its size and mtime have not changed for this long. */
  stableMs: number;
  /** Poll instead of inotify: other NFS clients' writes raise no inotify events on the server. */
  usePolling: boolean;
  pollIntervalMs: number;
  /** Which files to report (absolute path); folders are always walked. */
  accept: (file: string) => boolean;
}

export interface StableFilesEvents {
  /** A complete file, new or changed. */
  stable: [file: string, stats: Stats];
  removed: [file: string];
  /** The initial scan is done: every file present at start has been seen (not yet necessarily stable). */
  ready: [];
  error: [error: Error];
}

interface Pending {
  size: number;
  mtimeMs: number;
  timer: NodeJS.Timeout;
}

/**
 * Reports files in a folder tree once they are complete: a file being copied (from a microscope PC
 * over NFS, say) keeps growing or changing mtime, and is reported only after `stableMs` without
 * change. Partial-download names and hidden files are never reported.
 */
export class StableFiles extends EventEmitter<StableFilesEvents> {
  readonly #opts: StableFilesOptions;
  readonly #pending = new Map<string, Pending>();
  #watcher?: FSWatcher;
  #closed = false;

  constructor(options: StableFilesOptions) {
    super();
    this.#opts = options;
  }

  /** Starts watching; resolves after the initial scan. */
  async start(): Promise<void> {
    const { root, usePolling, pollIntervalMs } = this.#opts;
    this.#watcher = watch(root, {
      ignoreInitial: false,
      usePolling,
      // A file this process may not read (copied over NFS by another user, say) must still be reported,
      // so that it is set aside as unreadable instead of sitting unseen in the inbox.
      ignorePermissionErrors: true,
      interval: pollIntervalMs,
      binaryInterval: pollIntervalMs,
      ignored: (file, stats) =>
        isHiddenOrPartial(path.relative(root, file)) || (!!stats?.isFile() && !this.#opts.accept(file)),
    });
    this.#watcher.on('add', (file) => this.#track(file));
    this.#watcher.on('change', (file) => this.#track(file));
    this.#watcher.on('unlink', (file) => {
      this.#untrack(file);
      this.emit('removed', file);
    });
    this.#watcher.on('error', (err) => this.emit('error', err as Error));
    await new Promise<void>((resolve) => this.#watcher!.once('ready', resolve));
    this.emit('ready');
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const p of this.#pending.values()) clearTimeout(p.timer);
    this.#pending.clear();
    await this.#watcher?.close();
  }

  /** Files seen but not yet stable. */
  get pendingCount(): number {
    return this.#pending.size;
  }

  #track(file: string): void {
    if (this.#closed) return;
    const existing = this.#pending.get(file);
    if (existing) clearTimeout(existing.timer);
    const entry: Pending = { size: -1, mtimeMs: -1, timer: setTimeout(() => this.#check(file), 0) };
    this.#pending.set(file, entry);
  }

  #untrack(file: string): void {
    const p = this.#pending.get(file);
    if (p) clearTimeout(p.timer);
    this.#pending.delete(file);
  }

  async #check(file: string): Promise<void> {
    const entry = this.#pending.get(file);
    if (!entry || this.#closed) return;
    let stats: Stats;
    try {
      stats = await fs.stat(file);
    } catch {
      this.#untrack(file); // vanished while being written: nothing to report
      return;
    }
    if (this.#pending.get(file) !== entry || this.#closed) return;
    const unchanged = stats.size === entry.size && stats.mtimeMs === entry.mtimeMs;
    if (unchanged || (this.#opts.stableMs === 0 && entry.size === -1)) {
      this.#pending.delete(file);
      if (stats.isFile()) this.emit('stable', file, stats);
      return;
    }
    entry.size = stats.size;
    entry.mtimeMs = stats.mtimeMs;
    entry.timer = setTimeout(() => this.#check(file), this.#opts.stableMs);
  }
}

/** Hidden files and the temporary names copy tools and browsers use while a file is incomplete. */
export function isHiddenOrPartial(relative: string): boolean {
  const base = path.basename(relative);
  if (relative === '' || relative === '.') return false;
  if (relative.split(path.sep).some((part) => part.startsWith('.'))) return true;
  return /^~\$|\.(part|partial|crdownload|tmp|temp|filepart|download)$/i.test(base);
}
