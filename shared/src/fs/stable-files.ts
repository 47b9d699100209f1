/**
 * One class over ~300 lines: complete files (by structure or by stability, each version once), links
 * not taken and the folder's own comings and goings share one state (the files seen and reported, the
 * chokidar watcher of the folder as it is now), and splitting them would hand that state around. The
 * format rules themselves live in `complete/`.
 */
import { EventEmitter } from 'node:events';
import type { Dirent, Stats } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { FSWatcher } from 'chokidar';
import type { Logger } from '../log.ts';
import { completeByStructure } from './complete/index.ts';

export interface StableFilesOptions {
  /** Folder watched recursively. */
  root: string;
  /** A file counts as complete once its size and mtime have not changed for this long. */
  stableMs: number;
  /**
   * Take a file at once when its bytes prove it whole (JPEG, PNG, TIFF, DM3/DM4: see `complete/`),
   * without waiting `stableMs`; anything else still waits. Default true.
   */
  byStructure?: boolean;
  /** Poll instead of inotify: other NFS clients' writes raise no inotify events on the server. */
  usePolling: boolean;
  pollIntervalMs: number;
  /** Which files to report (absolute path); folders are always walked. */
  accept: (file: string) => boolean;
  /** How often the folder itself is checked to be there and the same one (default: `pollIntervalMs`). */
  folderCheckMs?: number;
  /** What the folder is to its users (`inbox`, `models`): names it in log lines and in `problem`. */
  name?: string;
  /** Where a link not taken, and the folder going and coming back, are logged: once each. */
  logger?: Logger;
}

/**
 * The watched folder itself: `missing` while it is removed, renamed away or unmounted (`reason`
 * completes "the folder <root> …": `is missing`, `is not a folder`, `cannot be read (EIO)`).
 */
export type WatchedFolder = { state: 'ready' } | { state: 'missing'; reason: string };

/** Which rule took a file: its structure proved it whole, or it stopped changing for `stableMs`. */
export type CompleteBy = 'structure' | 'stability';

export interface StableFilesEvents {
  /** A complete file, new or changed: reported once for each version (inode, size, mtime). */
  stable: [file: string, stats: Stats, by: CompleteBy];
  removed: [file: string];
  /** The initial scan is done: every file present at start has been seen (not yet necessarily stable). */
  ready: [];
  error: [error: Error];
  /** A symbolic link in the folder, not taken: reported once per path. */
  link: [file: string];
  /** The folder went missing (its files are reported removed first), or is back and watched again. */
  folder: [state: WatchedFolder];
}

/** Shortest wait before a new folder is read again (see `#sweepLater`). */
const SWEEP_MIN_MS = 100;

/**
 * First look again at a file not yet proven whole; each later look waits twice as long, up to the
 * stability window. chokidar drops a change that follows another within a few milliseconds
 * (its throttle), so the last write of a copy may raise no event: these looks find it anyway.
 */
const FIRST_LOOK_MS = 50;

/**
 * A look at a file this long after it was reported. chokidar emits at most one change per file in 50
 * ms and drops the rest, so a writer that goes on right after a file was taken by its structure (a
 * rewrite) may raise no event at all; this look finds the change.
 */
const LOOK_AFTER_REPORT_MS = 100;

interface Pending {
  size: number;
  mtimeMs: number;
  /** When the current size and mtime were first seen. */
  since: number;
  /** The wait before the next look. */
  delayMs: number;
  timer: NodeJS.Timeout;
}

/**
 * Reports files in a folder tree once they are complete: a file being copied (from a microscope PC
 * over NFS, say) keeps growing or changing mtime, and is reported only after `stableMs` without
 * change, unless its own structure proves it whole first (`byStructure`). Partial-download names and
 * hidden files are never reported.
 *
 * The operating system's own word that a writer closed the file (inotify's IN_CLOSE_WRITE) is not
 * used: Node's fs.watch, and so chokidar, never report it, the npm bindings that do are native addons
 * to build for every device image, and the inbox's real writers are NFS clients, whose closes reach
 * the server's inotify late or not at all (and polling sees none).
 *
 * The folder is on a share every PC of the lab writes to: a symbolic link in it is never taken (a
 * link loop would be walked without end, a link out of the share would hand over files from
 * elsewhere), only reported. And the folder itself can vanish and come back (removed, renamed, an
 * NFS remount): it is checked every `folderCheckMs` by identity (device and inode), and watched and
 * read again from the start once it is back.
 */
export class StableFiles extends EventEmitter<StableFilesEvents> {
  readonly #opts: StableFilesOptions;
  readonly #pending = new Map<string, Pending>();
  /** Files chokidar or a folder sweep has reported, so a sweep does not report them twice. */
  readonly #seen = new Set<string>();
  /** Folders chokidar has reported. */
  readonly #folders = new Set<string>();
  readonly #sweeps = new Set<NodeJS.Timeout>();
  /** Links already reported. */
  readonly #links = new Set<string>();
  /** The version (inode, size, mtime) last reported of each file: a late event for it is not news. */
  readonly #reported = new Map<string, string>();
  readonly #looks = new Set<NodeJS.Timeout>();
  #watcher?: FSWatcher;
  #folder: WatchedFolder = { state: 'ready' };
  /** Device and inode of the folder being watched: another folder under the same name is a new one. */
  #identity?: string;
  #folderTimer?: NodeJS.Timeout;
  #folderCheck?: Promise<void>;
  #closed = false;

  constructor(options: StableFilesOptions) {
    super();
    this.#opts = options;
  }

  /** Starts watching; resolves after the initial scan (at once when the folder is missing: see `folder`). */
  async start(): Promise<void> {
    const found = await inspectFolder(this.#opts.root);
    if ('reason' in found) {
      this.#setFolder({ state: 'missing', reason: found.reason });
    } else {
      this.#identity = found.identity;
      await this.#watch();
    }
    this.#folderTimer = setInterval(
      () => void this.#checkFolder(),
      this.#opts.folderCheckMs ?? this.#opts.pollIntervalMs,
    );
    this.#folderTimer.unref();
    this.emit('ready');
  }

  /** The watched folder: there, or missing and why. */
  get folder(): WatchedFolder {
    return this.#folder;
  }

  /** While the folder is missing, one line saying so ("the inbox folder /data/inbox is missing"). */
  get problem(): string | undefined {
    return this.#folder.state === 'missing' ? `${this.#title} ${this.#folder.reason}` : undefined;
  }

  get #title(): string {
    return `the ${this.#opts.name ? `${this.#opts.name} ` : ''}folder ${this.#opts.root}`;
  }

  async #watch(): Promise<void> {
    const { root, usePolling, pollIntervalMs } = this.#opts;
    // Loaded on the first watch, not at import: most importers of @scopehive/shared watch nothing.
    const { watch } = await import('chokidar');
    // Closed while it loaded: a watcher made now would outlive close().
    if (this.#closed) return;
    // The trailing separator makes chokidar resolve the folder itself when the operator made it a
    // link; nothing under it is followed.
    const watcher = watch(path.join(root, path.sep), {
      ignoreInitial: false,
      followSymlinks: false,
      usePolling,
      // A file this process may not read (copied over NFS by another user, say) must still be reported,
      // so that it is set aside as unreadable instead of sitting unseen in the inbox.
      ignorePermissionErrors: true,
      interval: pollIntervalMs,
      binaryInterval: pollIntervalMs,
      ignored: (file, stats) => this.#ignored(file, stats),
    });
    this.#watcher = watcher;
    // Events of a watcher given up (its folder went away) are late news of a folder no longer watched.
    const current = () => this.#watcher === watcher && !this.#closed;
    watcher.on('add', (file) => {
      if (!current() || this.#seen.has(file)) return; // found first by a sweep of its new folder
      this.#seen.add(file);
      this.#track(file);
    });
    watcher.on('change', (file) => current() && this.#track(file));
    watcher.on('addDir', (dir) => {
      if (!current()) return;
      this.#folders.add(path.resolve(dir));
      this.#sweepLater(path.resolve(dir));
    });
    watcher.on('unlinkDir', (dir) => {
      if (!current()) return;
      if (path.resolve(dir) === path.resolve(root)) void this.#checkFolder();
      else this.#folders.delete(path.resolve(dir));
    });
    watcher.on('unlink', (file) => {
      if (!current()) return;
      this.#seen.delete(file);
      this.#reported.delete(file);
      this.#untrack(file);
      this.emit('removed', file);
    });
    // An error while the folder is going away is that, and is reported as such instead.
    watcher.on('error', (err) => {
      void this.#checkFolder().then(() => current() && this.emit('error', err as Error));
    });
    await new Promise<void>((resolve) => watcher.once('ready', resolve));
  }

  /** Checks the folder is there and the same; one check at a time, once `start` has watched it. */
  #checkFolder(): Promise<void> {
    if (!this.#folderTimer) return Promise.resolve();
    this.#folderCheck ??= this.#inspectFolder().finally(() => {
      this.#folderCheck = undefined;
    });
    return this.#folderCheck;
  }

  async #inspectFolder(): Promise<void> {
    if (this.#closed) return;
    const found = await inspectFolder(this.#opts.root);
    if (this.#closed) return;
    if ('reason' in found) {
      if (this.#folder.state === 'ready') await this.#lose(found.reason);
      else if (this.#folder.reason !== found.reason)
        this.#setFolder({ state: 'missing', reason: found.reason });
      return;
    }
    if (this.#folder.state === 'ready') {
      if (found.identity === this.#identity) return;
      await this.#lose('was replaced by another folder');
    }
    this.#identity = found.identity;
    await this.#watch();
    if (!this.#closed) this.#setFolder({ state: 'ready' });
  }

  /** Stops watching a folder that went away; what was in it is gone with it. */
  async #lose(reason: string): Promise<void> {
    const watcher = this.#watcher;
    this.#watcher = undefined;
    this.#forgetTimers();
    this.#folders.clear();
    const gone = [...this.#seen];
    this.#seen.clear();
    this.#reported.clear();
    this.#setFolder({ state: 'missing', reason });
    for (const file of gone) this.emit('removed', file);
    await watcher?.close();
  }

  #setFolder(state: WatchedFolder): void {
    this.#folder = state;
    const { logger, name, root } = this.#opts;
    if (state.state === 'missing') {
      logger?.error({ folder: name, dir: root, reason: state.reason }, `${this.problem}: waiting for it`);
    } else {
      logger?.info({ folder: name, dir: root }, `${this.#title} is back: reading it again`);
    }
    this.emit('folder', state);
  }

  #forgetTimers(): void {
    for (const timer of [...this.#sweeps, ...this.#looks]) clearTimeout(timer);
    this.#sweeps.clear();
    this.#looks.clear();
    for (const p of this.#pending.values()) clearTimeout(p.timer);
    this.#pending.clear();
  }

  /** Reports a link once; it is never watched, read or reported as a file. */
  #refuse(file: string): void {
    if (this.#links.has(file)) return;
    this.#links.add(file);
    const link = path.relative(this.#opts.root, file);
    this.#opts.logger?.warn(
      { folder: this.#opts.name, link },
      `symbolic link not taken: ${link} in ${this.#title}`,
    );
    this.emit('link', file);
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#folderTimer);
    this.#forgetTimers();
    await this.#folderCheck;
    await this.#watcher?.close();
  }

  /** Files seen but not yet stable. */
  get pendingCount(): number {
    return this.#pending.size;
  }

  #ignored(file: string, stats?: Stats): boolean {
    if (isHiddenOrPartial(path.relative(this.#opts.root, file))) return true;
    if (stats?.isSymbolicLink()) {
      this.#refuse(file);
      return true;
    }
    return !!stats?.isFile() && !this.#opts.accept(file);
  }

  /**
   * chokidar reads a new folder and only then starts watching it, so a file written in between raises
   * no event (paulmillr/chokidar#1471, by inotify and by polling alike): a session folder created
   * and saved into at once loses files. So a new folder is read again once chokidar has had time to
   * watch it, and again after each read that found something, until a read finds nothing new.
   */
  #sweepLater(dir: string): void {
    if (this.#closed) return;
    const watcher = this.#watcher;
    const timer = setTimeout(
      () => {
        this.#sweeps.delete(timer);
        void this.#sweep(dir, watcher);
      },
      Math.max(this.#opts.stableMs, SWEEP_MIN_MS),
    );
    this.#sweeps.add(timer);
  }

  async #sweep(dir: string, watcher: FSWatcher | undefined): Promise<void> {
    let entries: Dirent[];
    try {
      entries = await fs.readdir(dir, { withFileTypes: true });
    } catch {
      return; // removed again
    }
    let found = false;
    for (const entry of entries) {
      const file = path.join(dir, entry.name);
      if (this.#closed || this.#watcher !== watcher || this.#seen.has(file) || this.#ignored(file)) continue;
      if (entry.isSymbolicLink()) {
        this.#refuse(file);
      } else if (entry.isDirectory()) {
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
    const entry: Pending = {
      size: -1,
      mtimeMs: -1,
      since: 0,
      delayMs: FIRST_LOOK_MS,
      timer: setTimeout(() => this.#check(file), 0),
    };
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
      stats = await fs.lstat(file);
    } catch {
      this.#untrack(file); // vanished while being written: nothing to report
      return;
    }
    if (this.#pending.get(file) !== entry || this.#closed) return;
    if (stats.isSymbolicLink()) {
      // Replaced by a link since it was seen.
      this.#untrack(file);
      this.#seen.delete(file);
      this.#refuse(file);
      return;
    }
    const { stableMs } = this.#opts;
    const unchanged = stats.size === entry.size && stats.mtimeMs === entry.mtimeMs;
    if ((unchanged && Date.now() - entry.since >= stableMs) || (stableMs === 0 && entry.size === -1)) {
      this.#pending.delete(file);
      if (stats.isFile()) this.#report(file, stats, 'stability');
      return;
    }
    if (!unchanged) await this.#changed(file, entry, stats);
    if (this.#pending.get(file) !== entry || this.#closed) return;
    const left = entry.since + stableMs - Date.now();
    entry.timer = setTimeout(() => this.#check(file), Math.max(0, Math.min(entry.delayMs, left)));
    entry.delayMs *= 2;
  }

  /** A version not seen before: taken at once when its structure proves it whole, else waited for. */
  async #changed(file: string, entry: Pending, stats: Stats): Promise<void> {
    if (stats.isFile() && this.#opts.byStructure !== false) {
      const proven = await completeByStructure(file);
      if (this.#pending.get(file) !== entry || this.#closed) return; // changed meanwhile: checked again
      // Proven of the very version seen here: a writer that went on in between is seen at the next event or look.
      if (
        proven &&
        proven.ino === stats.ino &&
        proven.size === stats.size &&
        proven.mtimeMs === stats.mtimeMs
      ) {
        this.#pending.delete(file);
        this.#report(file, stats, 'structure', proven.format);
        return;
      }
    }
    // What a support session (or a test) needs to see a copy that stalls: this version of the file was
    // noticed and is waited for, not taken.
    const { logger, name, root } = this.#opts;
    logger?.debug(
      { folder: name, file: path.relative(root, file), bytes: stats.size },
      `${path.relative(root, file)} seen; waiting until it stops changing`,
    );
    entry.size = stats.size;
    entry.mtimeMs = stats.mtimeMs;
    entry.since = Date.now();
  }

  /**
   * Emits a complete file unless this very version was reported already: an event that arrives after
   * the write it announces was taken (by structure, at once) would otherwise report it twice.
   */
  #report(file: string, stats: Stats, by: CompleteBy, format?: string): void {
    const version = versionOf(stats);
    if (this.#reported.get(file) === version) return;
    this.#reported.set(file, version);
    const look = setTimeout(() => {
      this.#looks.delete(look);
      void this.#lookAgain(file);
    }, LOOK_AFTER_REPORT_MS);
    this.#looks.add(look);
    const { logger, name, root, stableMs } = this.#opts;
    const relative = path.relative(root, file);
    logger?.debug(
      { folder: name, file: relative, bytes: stats.size, completeBy: by, format },
      by === 'structure'
        ? `${relative} complete by structure (${format})`
        : `${relative} complete: unchanged for ${stableMs} ms`,
    );
    this.emit('stable', file, stats, by);
  }

  /** Tracks a reported file again if it changed since, unless an event already did. */
  async #lookAgain(file: string): Promise<void> {
    if (this.#closed || this.#pending.has(file) || !this.#reported.has(file)) return;
    const stats = await fs.lstat(file).catch(() => undefined);
    if (!stats || this.#closed || this.#pending.has(file) || !this.#seen.has(file)) return;
    if (versionOf(stats) !== this.#reported.get(file)) this.#track(file);
  }
}

/** A version of a file: another inode (replaced by rename), another size or another mtime. */
function versionOf(stats: Stats): string {
  return `${stats.ino}:${stats.size}:${stats.mtimeMs}`;
}

/** The folder's identity, or why it cannot be watched. The folder itself may be a link the operator made. */
async function inspectFolder(root: string): Promise<{ identity: string } | { reason: string }> {
  try {
    const stats = await fs.stat(root);
    return stats.isDirectory() ? { identity: `${stats.dev}:${stats.ino}` } : { reason: 'is not a folder' };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' || code === 'ENOTDIR'
      ? { reason: 'is missing' }
      : { reason: `cannot be read (${code ?? String(err)})` };
  }
}

/** Hidden files and the temporary names copy tools and browsers use while a file is incomplete. */
export function isHiddenOrPartial(relative: string): boolean {
  const base = path.basename(relative);
  if (relative === '' || relative === '.') return false;
  if (relative.split(path.sep).some((part) => part.startsWith('.'))) return true;
  return /^~\$|\.(part|partial|crdownload|tmp|temp|filepart|download)$/i.test(base);
}
