import fs from 'node:fs/promises';
import path from 'node:path';
import { type CalibrationOverride, parseCalibrationOverride } from '../microscopy/calibration.ts';

export const FOLDER_SETTINGS_FILE = 'scopehive.json';

interface Cached {
  mtimeMs: number;
  override?: CalibrationOverride;
  error?: string;
}

/**
 * Per-folder settings for the images in a folder and below: the nearest `scopehive.json` on the way
 * from the image's folder up to the inbox wins (`{"pixelSize": 5, "unit": "nm", "cropBottom": 70,
 * "override": false}`). Files are re-read when they change; a broken one is reported with the
 * result rather than stopping the analysis.
 */
export class FolderOverrides {
  readonly #cache = new Map<string, Cached>();

  constructor(readonly inboxDir: string) {}

  /** The override for an inbox-relative image path, and a problem with the settings file if any. */
  async forImage(image: string): Promise<{ override?: CalibrationOverride; warning?: string }> {
    const parts = image.split('/').slice(0, -1);
    for (let depth = parts.length; depth >= 0; depth--) {
      const file = path.join(this.inboxDir, ...parts.slice(0, depth), FOLDER_SETTINGS_FILE);
      const found = await this.#read(file);
      if (found) {
        const origin = path.posix.join(...parts.slice(0, depth), FOLDER_SETTINGS_FILE);
        return found.error ? { warning: `${origin} ignored: ${found.error}` } : { override: found.override };
      }
    }
    return {};
  }

  async #read(file: string): Promise<Cached | undefined> {
    let mtimeMs: number;
    try {
      mtimeMs = (await fs.stat(file)).mtimeMs;
    } catch {
      this.#cache.delete(file);
      return undefined;
    }
    const cached = this.#cache.get(file);
    if (cached && cached.mtimeMs === mtimeMs) return cached;
    const origin = path.relative(this.inboxDir, file).split(path.sep).join('/');
    let entry: Cached;
    try {
      const raw = JSON.parse(await fs.readFile(file, 'utf8'));
      entry = { mtimeMs, override: parseCalibrationOverride(raw, { source: 'folder-override', origin }) };
    } catch (err) {
      entry = { mtimeMs, error: (err as Error).message.split('\n')[0] };
    }
    this.#cache.set(file, entry);
    return entry;
  }
}
