/**
 * When files appear in one folder, stamped by inotify (`fs.watch`) the moment the kernel reports
 * them: no polling, so the stamp is late by the event's delivery only (well under a millisecond in an
 * idle process), far below the analysis time being compared with.
 */
import { type FSWatcher, watch } from 'node:fs';

export class Arrivals {
  readonly #seen = new Map<string, number>();
  readonly #waiting = new Map<string, () => void>();
  readonly #watcher: FSWatcher;

  constructor(dir: string) {
    // A file written atomically appears by a rename to its name: the first event naming it is its arrival.
    this.#watcher = watch(dir, (_event, name) => {
      if (!name || this.#seen.has(name)) return;
      this.#seen.set(name, performance.now());
      this.#waiting.get(name)?.();
    });
  }

  /** The `performance.now()` at which `name` appeared; undefined when it has not within `timeoutMs`. */
  async when(name: string, timeoutMs: number): Promise<number | undefined> {
    if (!this.#seen.has(name)) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        this.#waiting.set(name, () => {
          clearTimeout(timer);
          resolve();
        });
      });
      this.#waiting.delete(name);
    }
    return this.#seen.get(name);
  }

  close(): void {
    this.#watcher.close();
  }
}
