/**
 * Counts the real writes of result documents in one results folder. The sink writes each document
 * atomically (a temporary file renamed into place), so every write, first or repeated, is one
 * rename onto the document's name; inotify reports each. A repeated write is a duplicate even when
 * its content is the same: the result was produced or delivered twice.
 */
import { type FSWatcher, watch } from 'node:fs';

export class ResultWrites {
  readonly #watcher: FSWatcher;
  /** Writes per document name, and when the first one happened (ms since the epoch). */
  readonly #writes = new Map<string, { count: number; firstAt: number }>();
  #onFirst: (() => void) | undefined;

  constructor(resultsDir: string) {
    this.#watcher = watch(resultsDir, (event, name) => {
      if (event !== 'rename' || !name || name.startsWith('.') || !name.endsWith('.json')) return;
      const seen = this.#writes.get(name);
      if (seen) seen.count += 1;
      else {
        this.#writes.set(name, { count: 1, firstAt: Date.now() });
        this.#onFirst?.();
      }
    });
  }

  /** Called on every document written for the first time (progress, the fault trigger). */
  onFirstWrite(listener: () => void): void {
    this.#onFirst = listener;
  }

  get documents(): number {
    return this.#writes.size;
  }

  /** Writes beyond the first, over every document. */
  get repeated(): number {
    let extra = 0;
    for (const { count } of this.#writes.values()) extra += count - 1;
    return extra;
  }

  /** When the last document to appear was first written, or undefined before any. */
  get lastFirstWriteAt(): number | undefined {
    let last: number | undefined;
    for (const { firstAt } of this.#writes.values()) last = Math.max(last ?? 0, firstAt);
    return last;
  }

  close(): void {
    this.#watcher.close();
  }
}
