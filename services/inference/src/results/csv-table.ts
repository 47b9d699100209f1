// Over 300 lines on purpose: the table's index, its rewrites and the cross-process rules below share one
// state per table; the design is described in the comment under the imports.
import { randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { OutsideFolderError } from '@scopehive/shared';
import { csvRow, parseCsvLine, splitCsvRecords } from './csv.ts';
import { withFileLock } from './table-lock.ts';

/**
 * Per-folder CSV tables holding exactly one current set of rows per (image, model): each row ends
 * with its result id (image content, model version), and a new result for the same image and model
 * supersedes the rows of the old one.
 *
 * - Index: per table, in memory, loaded once (lazily, at its first write) from the file itself:
 *   (Image, Model) → the result id of its current rows, plus the file's identity (inode) and the
 *   bytes indexed. Each write looks at the file once (stat) and reads only what another process
 *   added since, so its cost never grows with the table or the folder.
 * - New image or model: its rows are appended (O_APPEND), O(rows appended).
 * - Same result again (a redelivered job, a restart): nothing is written.
 * - New result for a pair already in the table: the table is rewritten without the superseded rows
 *   (temporary file in the same folder, flushed, renamed over: readers see the old or the new table,
 *   never half of one). A rewrite costs the whole table, so during a burst (a replaced model sends
 *   every image again) rewrites are spaced out to take at most a tenth of the time: the new rows are
 *   appended at once, and the old ones stay beside them for a moment until the next rewrite.
 *   `settled()` does the rewrites still owed at once.
 * - Several processes (the device runs two inference processes on one results folder) write one
 *   table under a lock file beside it (table-lock.ts), and each notices the others' appends (size)
 *   and rewrites (inode) before writing, so no row is lost or repeated.
 * - A crash between writes leaves rows that are whole, or a last one cut short, and possibly two
 *   results of one pair (rows appended, rewrite not done yet): the next write to the table closes the
 *   cut row and rewrites the table keeping, for each pair, the rows written last.
 * - A table with other columns (an older version wrote it) is renamed aside and a new one started,
 *   except a header relabelled in place (`appendTable`'s `relabels`: same columns, now named with
 *   their unit), whose rows stay.
 * - A table may begin with a UTF-8 byte-order mark (Excel on Windows reads µ and ² right only then):
 *   new tables get one when `bom` is set; an existing table keeps what it has.
 */
export interface TableSubject {
  image: string;
  model: string;
}

/** What `appendTable`'s builder gives for a table whose header is known. */
export interface TableContent {
  columns: readonly string[];
  rows: ReadonlyArray<ReadonlyArray<string | number>>;
  /** The existing header is these columns under other names (a unit now chosen): rename, keep the rows. */
  relabels?: boolean;
}

interface Layout {
  /** Without the byte-order mark. */
  headerLine: string;
  relabels: boolean;
  columns: number;
  image: number;
  /** -1: a table without a Model column is keyed by image alone. */
  model: number;
}

interface TableState {
  ino: number;
  /** Bytes of the file indexed. */
  size: number;
  /** Subject key → result id of its current rows. */
  current: Map<string, string>;
  /** The file still holds rows of superseded results. */
  stale: boolean;
  /** Rewrites wait until then (ms since the epoch), to take at most REWRITE_SHARE of the time. */
  rewriteAfter: number;
  /** The file begins with a byte-order mark. */
  bom: boolean;
  /** The header the file was indexed under: another one (a unit just chosen) makes the next write look again. */
  headerLine: string;
}

const BOM = '\uFEFF';
/** More than any header of ours: a header is read with one small read. */
const HEADER_LIMIT = 65_536;

const REWRITE_SHARE = 0.1;
/** A rewrite that failed (disk full) is tried again this much later. */
const RETRY_MS = 1000;

export class CsvTables {
  readonly #state = new Map<string, TableState>();
  readonly #queue = new Map<string, Promise<unknown>>();
  readonly #rewrites = new Map<string, { timer: NodeJS.Timeout; layout: Layout }>();
  readonly #bom: boolean;

  /** `bom`: new tables begin with a UTF-8 byte-order mark. */
  constructor(options: { bom?: boolean } = {}) {
    this.#bom = options.bom ?? false;
  }

  /**
   * Writes `rows` (cells, without the id) as the current rows of their image and model under result
   * id `key`, replacing older rows of that pair. The pair is `subject`, or else the rows' Image and
   * Model cells: give `subject` when there may be no rows (an image with nothing detected). False
   * when the table already holds this result.
   */
  append(
    file: string,
    columns: readonly string[],
    key: string,
    rows: ReadonlyArray<ReadonlyArray<string | number>>,
    subject?: TableSubject,
  ): Promise<boolean> {
    return this.#serialise(file, () => this.#append(file, layoutOf(columns), key, rows, subject));
  }

  /**
   * As `append`, with columns that depend on the table already there: `build` is given the existing
   * header's columns (without ResultId; undefined when there is no table yet) under the table's lock,
   * so a table's unit, fixed when it was created, is read from its header.
   */
  appendTable(
    file: string,
    key: string,
    subject: TableSubject,
    build: (existing: readonly string[] | undefined) => TableContent,
  ): Promise<boolean> {
    return this.#serialise(file, async () => {
      const content = build(await readHeader(file));
      const layout = { ...layoutOf(content.columns), relabels: content.relabels ?? false };
      return this.#append(file, layout, key, content.rows, subject);
    });
  }

  /** Resolves once every write asked for so far, and every rewrite they owe, is done. */
  async settled(): Promise<void> {
    for (const [file, { timer, layout }] of this.#rewrites) {
      clearTimeout(timer);
      this.#rewrites.delete(file);
      this.#serialise(file, () => this.#rewriteNow(file, layout)).catch(() => undefined);
    }
    await Promise.allSettled([...this.#queue.values()]);
  }

  /** Runs `work` after the writes to `file` already asked for, failed or not. */
  #serialise<T>(file: string, work: () => Promise<T>): Promise<T> {
    const previous = this.#queue.get(file) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(work);
    this.#queue.set(file, next);
    // Both branches handled: a `finally` here would re-raise a failed write as an unhandled
    // rejection and end the process, although the caller handles the error.
    const forget = () => {
      if (this.#queue.get(file) === next) this.#queue.delete(file);
    };
    next.then(forget, forget);
    return next;
  }

  /** `work` on the table's up-to-date index, under its lock; any failure makes the next write reload it. */
  async #locked<T>(file: string, work: () => Promise<T>): Promise<T> {
    await fs.mkdir(path.dirname(file), { recursive: true });
    return withFileLock(path.join(path.dirname(file), `.${path.basename(file)}.lock`), async () => {
      try {
        return await work();
      } catch (err) {
        this.#state.delete(file);
        throw err;
      }
    });
  }

  #append(
    file: string,
    layout: Layout,
    key: string,
    rows: ReadonlyArray<ReadonlyArray<string | number>>,
    subject: TableSubject | undefined,
  ): Promise<boolean> {
    const text = rows.map((r) => csvRow([...r, key])).join('');
    const pair = subject ? subjectKey(subject.image, subject.model) : rows[0] && rowKey(rows[0], layout);
    return this.#locked(file, async () => {
      const state = await this.#sync(file, layout);
      if (pair === undefined || state.current.get(pair) === key) return false;
      if (state.current.has(pair)) state.stale = true;
      state.current.set(pair, key);
      if (state.stale && Date.now() >= state.rewriteAfter) {
        await this.#rewrite(file, layout, state, text);
        return true;
      }
      if (text !== '') {
        await fs.appendFile(file, text);
        state.size += Buffer.byteLength(text);
      }
      if (state.stale) this.#rewriteLater(file, layout, state.rewriteAfter);
      return true;
    });
  }

  #rewriteLater(file: string, layout: Layout, at: number): void {
    if (this.#rewrites.has(file)) return;
    const timer = setTimeout(
      () => {
        this.#rewrites.delete(file);
        this.#serialise(file, () => this.#rewriteNow(file, layout)).catch(() =>
          this.#rewriteLater(file, layout, Date.now() + RETRY_MS),
        );
      },
      Math.max(0, at - Date.now()),
    );
    timer.unref();
    this.#rewrites.set(file, { timer, layout });
  }

  async #rewriteNow(file: string, layout: Layout): Promise<void> {
    await this.#locked(file, async () => {
      const state = await this.#sync(file, layout, { create: false });
      if (state.stale) await this.#rewrite(file, layout, state, '');
    });
  }

  /** Brings the index up to date with the file: what other processes appended or rewrote. */
  async #sync(file: string, layout: Layout, options = { create: true }): Promise<TableState> {
    let stat: { ino: number; size: number };
    try {
      const found = await fs.lstat(file);
      // Planted on the share after the writer checked the path: appending would follow it.
      if (found.isSymbolicLink()) throw new OutsideFolderError(`${file} is a symbolic link`);
      stat = found;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      return this.#create(file, layout, options.create);
    }
    const known = this.#state.get(file);
    if (!known || known.ino !== stat.ino || stat.size < known.size || known.headerLine !== layout.headerLine)
      return this.#load(file, layout);
    if (stat.size > known.size) {
      const handle = await fs.open(file, 'r');
      try {
        const added = Buffer.alloc(stat.size - known.size);
        await handle.read(added, 0, added.length, known.size);
        known.size = stat.size + (await this.#index(file, known, layout, added.toString('utf8')));
      } finally {
        await handle.close();
      }
    }
    return known;
  }

  async #load(file: string, layout: Layout): Promise<TableState> {
    const [text, { ino }] = await Promise.all([fs.readFile(file, 'utf8'), fs.stat(file)]);
    const bom = text.startsWith(BOM);
    const body = bom ? text.slice(1) : text;
    if (!body.startsWith(layout.headerLine)) {
      const { records } = splitCsvRecords(body);
      if (layout.relabels && records[0] && parseCsvLine(records[0]).length === layout.columns) {
        // The same columns under their new names: the rows stay, the header is rewritten.
        await replaceFile(file, `${bom ? BOM : ''}${layout.headerLine}${body.slice(records[0].length + 1)}`);
        return this.#load(file, layout);
      }
      // Columns changed (an older version wrote this table): keep the old file beside the new one.
      const stamp = new Date().toISOString().replace(/[:.]/g, '-');
      await fs.rename(file, file.replace(/\.csv$/, `.${stamp}.csv`));
      return this.#create(file, layout, true);
    }
    const state: TableState = {
      ino,
      size: 0,
      current: new Map(),
      stale: false,
      rewriteAfter: 0,
      bom,
      headerLine: layout.headerLine,
    };
    state.size =
      Buffer.byteLength(text) +
      (await this.#index(file, state, layout, body.slice(layout.headerLine.length)));
    this.#state.set(file, state);
    return state;
  }

  /** Indexes rows read from the file; returns the bytes it added to close a row cut short. */
  async #index(file: string, state: TableState, layout: Layout, text: string): Promise<number> {
    const { records, rest } = splitCsvRecords(text);
    for (const record of records) {
      const cells = parseCsvLine(record);
      if (cells.length !== layout.columns) continue; // cut short by a crash: no one's current row
      const pair = cellsKey(cells, layout);
      const id = cells[layout.columns - 1];
      const previous = state.current.get(pair);
      if (previous !== undefined && previous !== id) state.stale = true;
      state.current.set(pair, id);
    }
    if (rest === '') return 0;
    // A writer stopped mid-row; close the line so the next row starts cleanly.
    await fs.appendFile(file, '\n');
    return 1;
  }

  async #create(file: string, layout: Layout, create: boolean): Promise<TableState> {
    const header = `${this.#bom ? BOM : ''}${layout.headerLine}`;
    if (create) await replaceFile(file, header);
    const ino = create ? (await fs.stat(file)).ino : -1;
    const state: TableState = {
      ino,
      size: create ? Buffer.byteLength(header) : 0,
      current: new Map(),
      stale: false,
      rewriteAfter: 0,
      bom: this.#bom,
      headerLine: layout.headerLine,
    };
    if (create) this.#state.set(file, state);
    return state;
  }

  /** Rewrites the table with only the current rows, then `extra` (already in the index). */
  async #rewrite(file: string, layout: Layout, state: TableState, extra: string): Promise<void> {
    const started = Date.now();
    const { records } = splitCsvRecords(await fs.readFile(file, 'utf8'));
    const kept = [`${state.bom ? BOM : ''}${layout.headerLine}`];
    for (const record of records.slice(1)) {
      const cells = parseCsvLine(record);
      if (cells.length === layout.columns && state.current.get(cellsKey(cells, layout)) === cells.at(-1))
        kept.push(`${record}\n`);
    }
    kept.push(extra);
    const text = kept.join('');
    await replaceFile(file, text);
    state.ino = (await fs.stat(file)).ino;
    state.size = Buffer.byteLength(text);
    state.stale = false;
    const took = Date.now() - started;
    state.rewriteAfter = Date.now() + took * (1 / REWRITE_SHARE - 1);
  }
}

function layoutOf(columns: readonly string[]): Layout {
  const image = columns.indexOf('Image');
  if (image < 0) throw new Error('a results table needs an Image column');
  return {
    headerLine: csvRow([...columns, 'ResultId']),
    relabels: false,
    columns: columns.length + 1,
    image,
    model: columns.indexOf('Model'),
  };
}

/** A cell as the table holds it once written (a formula defused, a number as text). */
const asWritten = (value: string | number) => parseCsvLine(csvRow([value]).slice(0, -1))[0];

const subjectKey = (image: string | number, model: string | number) =>
  `${asWritten(image)}\n${asWritten(model)}`;

/** The pair a row to be written belongs to. */
const rowKey = (row: ReadonlyArray<string | number>, layout: Layout) =>
  subjectKey(row[layout.image], layout.model < 0 ? '' : row[layout.model]);

/** The pair a row read back from the file belongs to (its cells are as written already). */
const cellsKey = (cells: readonly string[], layout: Layout) =>
  `${cells[layout.image]}\n${layout.model < 0 ? '' : cells[layout.model]}`;

/** The columns of an existing table's header (without ResultId), or undefined when there is none. */
async function readHeader(file: string): Promise<string[] | undefined> {
  let handle: fs.FileHandle;
  try {
    // Never through a link planted on the share; the write that follows refuses it with its reason.
    handle = await fs.open(file, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ELOOP') return undefined;
    throw err;
  }
  try {
    const buffer = Buffer.alloc(HEADER_LIMIT);
    const { bytesRead } = await handle.read(buffer, 0, HEADER_LIMIT, 0);
    let text = buffer.subarray(0, bytesRead).toString('utf8');
    if (text.startsWith(BOM)) text = text.slice(1);
    const [first] = splitCsvRecords(text).records;
    return first === undefined ? undefined : parseCsvLine(first).slice(0, -1);
  } finally {
    await handle.close();
  }
}

/** Replaces `file` whole: a temporary file in the same folder, flushed, renamed over it. */
async function replaceFile(file: string, text: string): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const handle = await fs.open(tmp, 'wx');
    try {
      await handle.writeFile(text);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(tmp, file);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
}
