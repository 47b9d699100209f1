import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { csvRow, parseCsvLine } from './csv.ts';

interface TableState {
  /** Bytes of the file already scanned for keys. */
  scanned: number;
  keys: Set<string>;
}

/**
 * Per-folder CSV tables that grow by whole rows and never repeat a result: each row carries its
 * result id (image content, model version), and rows whose id is already in the file are not
 * appended again, so a redelivered job or a restart adds nothing. Keys are read back from the file
 * itself (only the part added since the last look), so several processes sharing one results folder
 * still agree. Appends to one file are serialised within the process.
 */
export class CsvTables {
  readonly #state = new Map<string, TableState>();
  readonly #queue = new Map<string, Promise<unknown>>();

  /** Appends `rows` (cells, without the key) under `key` unless the table has that key already. */
  append(
    file: string,
    header: readonly string[],
    key: string,
    rows: ReadonlyArray<ReadonlyArray<string | number>>,
  ) {
    const previous = this.#queue.get(file) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(() => this.#append(file, header, key, rows));
    this.#queue.set(file, next);
    // Both branches handled: a `finally` here would re-raise a failed append as an unhandled
    // rejection and end the process, although the caller handles the error.
    const forget = () => {
      if (this.#queue.get(file) === next) this.#queue.delete(file);
    };
    next.then(forget, forget);
    return next;
  }

  async #append(
    file: string,
    header: readonly string[],
    key: string,
    rows: ReadonlyArray<ReadonlyArray<string | number>>,
  ): Promise<boolean> {
    const headerLine = csvRow([...header, 'ResultId']);
    const state = await this.#scan(file, headerLine);
    if (state.keys.has(key)) return false;
    if (state.scanned === 0) await createTable(file, headerLine);
    // O_APPEND: rows another process appends meanwhile are never overwritten. `scanned` stays
    // where it was, so the next look reads them along with these.
    await fs.appendFile(file, rows.map((r) => csvRow([...r, key])).join(''));
    state.keys.add(key);
    return true;
  }

  async #scan(file: string, headerLine: string): Promise<TableState> {
    let state = this.#state.get(file);
    let size: number;
    try {
      size = (await fs.stat(file)).size;
    } catch {
      state = { scanned: 0, keys: new Set() };
      this.#state.set(file, state);
      return state;
    }
    if (!state || size < state.scanned) {
      state = { scanned: 0, keys: new Set() };
      this.#state.set(file, state);
    }
    if (size === state.scanned) return state;
    const handle = await fs.open(file, 'r');
    let text: string;
    try {
      const buf = Buffer.alloc(size - state.scanned);
      await handle.read(buf, 0, buf.length, state.scanned);
      text = buf.toString('utf8');
    } finally {
      await handle.close();
    }
    if (state.scanned === 0 && !text.startsWith(headerLine)) {
      // Columns changed (an older version wrote this table): keep the old file beside the new one.
      const stamp = new Date().toISOString().replace(/[:.]/g, '-');
      await fs.rename(file, file.replace(/\.csv$/, `.${stamp}.csv`));
      return state;
    }
    if (!text.endsWith('\n')) {
      // A writer stopped mid-row; close the line so the next row starts cleanly.
      await fs.appendFile(file, '\n');
      text += '\n';
    }
    for (const line of text.split('\n')) {
      if (line === '') continue;
      const cells = parseCsvLine(line);
      state.keys.add(cells[cells.length - 1]);
    }
    state.scanned += Buffer.byteLength(text);
    return state;
  }
}

/**
 * Creates the table holding only its header, unless it exists: another process sharing the results
 * folder may be creating it at this moment. The header goes into a temporary file that is then
 * linked into place, which either succeeds whole or finds the table there; neither writer truncates
 * rows the other has appended.
 */
async function createTable(file: string, headerLine: string): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  await fs.writeFile(tmp, headerLine);
  try {
    await fs.link(tmp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    await fs.rm(tmp, { force: true });
  }
}
