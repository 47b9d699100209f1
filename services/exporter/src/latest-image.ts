import fs from 'node:fs/promises';
import path from 'node:path';
import { type FSWatcher, watch } from 'chokidar';
import type { Express } from 'express';

/**
 * Remembers the most recently written annotated image under the results folder, so the Microscope
 * dashboard can show it (`GET /images/latest.jpg`). Only new results count: at start there is none
 * until the first one is written. The route takes no path from the request, so it can serve nothing else.
 */
export class LatestImage {
  #latest?: string;
  #watcher?: FSWatcher;

  constructor(readonly resultsDir: string) {}

  async start(options: { usePolling: boolean; pollIntervalMs: number }): Promise<void> {
    this.#watcher = watch(this.resultsDir, {
      ignoreInitial: true,
      usePolling: options.usePolling,
      interval: options.pollIntervalMs,
      ignored: (file, stats) =>
        path.basename(file).startsWith('.') || (!!stats?.isFile() && !file.endsWith('.jpg')),
    });
    const seen = (file: string) => {
      this.#latest = file;
    };
    this.#watcher.on('add', seen).on('change', seen);
    await new Promise<void>((resolve) => this.#watcher!.once('ready', () => resolve()));
  }

  get latest(): string | undefined {
    return this.#latest;
  }

  routes(app: Express): void {
    app.get('/images/latest.jpg', async (_req, res) => {
      res.set('Cache-Control', 'no-store');
      if (!this.#latest) {
        res.status(404).type('text/plain').send('no annotated image yet');
        return;
      }
      try {
        const bytes = await fs.readFile(this.#latest);
        res.type('image/jpeg').send(bytes);
      } catch {
        res.status(404).type('text/plain').send('the latest annotated image is gone');
      }
    });
  }

  async close(): Promise<void> {
    await this.#watcher?.close();
  }
}
