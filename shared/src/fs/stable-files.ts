import { EventEmitter } from 'node:events';
import type { Dirent, Stats } from 'node:fs';
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

/** Shortest wait before a new folder is read again (see `#sweepLater`). */
const SWEEP_MIN_MS = 100;

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
  /** Files chokidar or a folder sweep has reported, so a sweep does not report them twice. */
  readonly #seen = new Set<string>();
  /** Folders chokidar has reported. */
  readonly #folders = new Set<string>();
  readonly #sweeps = new Set<NodeJS.Timeout>();
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
      ignored: (file, stats) => this.#ignored(file, stats),
    });
    this.#watcher.on('add', (file) => {
      if (this.#seen.has(file)) return; // found first by a sweep of its new folder
      this.#seen.add(file);
      this.#track(file);
    });
    this.#watcher.on('change', (file) => this.#track(file));
    this.#watcher.on('addDir', (dir) => {
      this.#folders.add(dir);
      this.#sweepLater(dir);
    });
    this.#watcher.on('unlinkDir', (dir) => this.#folders.delete(dir));
    this.#watcher.on('unlink', (file) => {
      this.#seen.delete(file);
      this.#untrack(file);
      this.emit('removed', file);
    });
    this.#watcher.on('error', (err) => this.emit('error', err as Error));
    await new Promise<void>((resolve) => this.#watcher!.once('ready', resolve));
    this.emit('ready');
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const timer of this.#sweeps) clearTimeout(timer);
    this.#sweeps.clear();
    for (const p of this.#pending.values()) clearTimeout(p.timer);
    this.#pending.clear();
    await this.#watcher?.close();
  }

  /** Files seen but not yet stable. */
  get pendingCount(): number {
    return this.#pending.size;
  }

  #ignored(file: string, stats?: Stats): boolean {
    return (
      isHiddenOrPartial(path.relative(this.#opts.root, file)) ||
      (!!stats?.isFile() && !this.#opts.accept(file))
    );
  }

  /**
   * chokidar reads a new folder and only then starts watching it, so a file written in between raises
   * no event (paulmillr/chokidar#1471, by inotify and by polling alike): a session folder created
   * and saved into at once loses files. So a new folder is read again once chokidar has had time to
   * watch it, and again after each read that found something, until a read finds nothing new.
   */
  #sweepLater(dir: string): void {
    if (this.#closed) return;
    const timer = setTimeout(
      () => {
        this.#sweeps.delete(timer);
        void this.#sweep(dir);
      },
      Math.max(this.#opts.stableMs, SWEEP_MIN_MS),
    );
    this.#sweeps.add(timer);
  }

  async #sweep(dir: string): Promise<void> {
    let entries: Dirent[];
    try {
      entries = await fs.readdir(dir, { withFileTypes: true });
    } catch {
      return; // removed again
    }
    let found = false;
    for (const entry of entries) {
      const file = path.join(dir, entry.name);
      if (this.#closed || this.#seen.has(file) || this.#ignored(file)) continue;
      if (entry.isDirectory()) {
        // A folder made in the same gap: chokidar reports it, and its files, once told.
        if (!this.#folders.has(file)) {
          this.#watcher?.add(file);
          found = true;
        }
      } else if (entry.isFile() && this.#opts.accept(file)) {
        this.#seen.add(file);
        this.#track(file);
        found = true;
      }
    }
    if (found) this.#sweepLater(dir);
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
