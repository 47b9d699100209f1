import { constants } from 'node:fs';
import fs from 'node:fs/promises';
import type { Readiness } from '../http/server.ts';

/**
 * Watches the data folders a service needs. A missing or read-only volume makes the service
 * not-ready with a one-line reason (and logs it once) instead of crashing: a crash loop on a device
 * hides the cause and restarts for ever; a readiness reason shows up in the dashboard.
 */
export class DataVolumeCheck {
  #state: Readiness = { ready: false, reason: 'data folders not checked yet' };
  #timer?: NodeJS.Timeout;
  #created = false;

  constructor(
    readonly folders: Record<string, { path: string; writable: boolean }>,
    readonly onChange?: (state: Readiness) => void,
  ) {}

  get state(): Readiness {
    return this.#state;
  }

  async check(): Promise<Readiness> {
    let next: Readiness = { ready: true };
    for (const [name, { path, writable }] of Object.entries(this.folders)) {
      try {
        // Created until the first good check, then only looked at: a folder that vanishes later (an
        // NFS remount, an operator's mistake) is reported, not silently recreated on a bare mount point.
        if (!this.#created) await fs.mkdir(path, { recursive: true });
        await fs.access(path, writable ? constants.R_OK | constants.W_OK : constants.R_OK);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? String(err);
        const why =
          code === 'EROFS' || code === 'EACCES'
            ? 'is read-only'
            : code === 'ENOENT'
              ? 'is missing'
              : `fails (${code})`;
        next = { ready: false, reason: `the ${name} folder ${path} ${why}` };
        break;
      }
    }
    if (next.ready) this.#created = true;
    if (next.ready !== this.#state.ready || next.reason !== this.#state.reason) {
      this.#state = next;
      this.onChange?.(next);
    }
    return next;
  }

  /** Checks now and then every `intervalMs`. */
  async start(intervalMs = 10_000): Promise<Readiness> {
    const state = await this.check();
    this.#timer = setInterval(() => void this.check(), intervalMs);
    this.#timer.unref();
    return state;
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
