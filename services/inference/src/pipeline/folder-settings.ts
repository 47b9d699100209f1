import fs from 'node:fs/promises';
import path from 'node:path';
import type { EdgeFeatures } from '../core/quantify.ts';
import type { TilingMode } from '../core/tiling.ts';
import { type CalibrationOverride, parseCalibrationOverride } from '../microscopy/calibration.ts';
import { parseSizeUnit, type SizeUnitSetting } from '../results/table-rows.ts';

export const FOLDER_SETTINGS_FILE = 'scopehive.json';

/** A folder's analysis and table settings besides the calibration; absent keys leave the service's. */
export interface FolderChoices {
  /** `auto`, `always` or `never`: decides over SCOPEHIVE_TILING and a model sidecar. */
  tiling?: TilingMode;
  /** The unit of tables created for these images (`nm`, `µm`, `mm` or `auto`). */
  sizeUnit?: SizeUnitSetting;
  /** Edge-touching features in the size statistics: `exclude` (ImageJ's default) or `include`. */
  edgeFeatures?: EdgeFeatures;
}

interface Cached {
  mtimeMs: number;
  override?: CalibrationOverride;
  choices?: FolderChoices;
  error?: string;
}

/** The folder's choices; throws one line naming the bad key (the caller names the file). */
export function parseFolderChoices(raw: unknown): FolderChoices {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return {};
  const { tiling, sizeUnit, edgeFeatures } = raw as Record<string, unknown>;
  const choices: FolderChoices = {};
  const oneOf = <T extends string>(key: string, v: unknown, values: readonly T[]): T | undefined => {
    if (v === undefined) return undefined;
    if (typeof v === 'string' && (values as readonly string[]).includes(v)) return v as T;
    throw new Error(`"${key}" must be one of ${values.map((x) => `"${x}"`).join(', ')}`);
  };
  const mode = oneOf('tiling', tiling, ['auto', 'always', 'never'] as const);
  if (mode) choices.tiling = mode;
  const edges = oneOf('edgeFeatures', edgeFeatures, ['exclude', 'include'] as const);
  if (edges) choices.edgeFeatures = edges;
  if (sizeUnit !== undefined) {
    const unit = typeof sizeUnit === 'string' ? parseSizeUnit(sizeUnit) : undefined;
    if (!unit) throw new Error('"sizeUnit" must be one of "nm", "µm", "mm", "auto"');
    choices.sizeUnit = unit;
  }
  return choices;
}

/**
 * Per-folder settings for the images in a folder and below: the nearest `scopehive.json` on the way
 * from the image's folder up to the inbox wins (`{"pixelSize": 5, "unit": "nm", "cropBottom": 70,
 * "override": false, "tiling": "always", "sizeUnit": "µm", "edgeFeatures": "exclude"}`). Files are
 * re-read when they change; a broken one is reported with the result rather than stopping the
 * analysis.
 */
export class FolderOverrides {
  readonly #cache = new Map<string, Cached>();

  constructor(readonly inboxDir: string) {}

  /** The override and choices for an inbox-relative image path, and a problem with the settings file if any. */
  async forImage(
    image: string,
  ): Promise<{ override?: CalibrationOverride; choices?: FolderChoices; warning?: string }> {
    const parts = image.split('/').slice(0, -1);
    for (let depth = parts.length; depth >= 0; depth--) {
      const file = path.join(this.inboxDir, ...parts.slice(0, depth), FOLDER_SETTINGS_FILE);
      const found = await this.#read(file);
      if (found) {
        const origin = path.posix.join(...parts.slice(0, depth), FOLDER_SETTINGS_FILE);
        if (found.error) return { warning: `${origin} ignored: ${found.error}` };
        return {
          ...(found.override ? { override: found.override } : {}),
          ...(found.choices && Object.keys(found.choices).length > 0 ? { choices: found.choices } : {}),
        };
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
      entry = {
        mtimeMs,
        override: parseCalibrationOverride(raw, { source: 'folder-override', origin }),
        choices: parseFolderChoices(raw),
      };
    } catch (err) {
      entry = { mtimeMs, error: (err as Error).message.split('\n')[0] };
    }
    this.#cache.set(file, entry);
    return entry;
  }
}
