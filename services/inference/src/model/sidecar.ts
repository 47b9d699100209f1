import fs from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';

/** What a sidecar (`<model>.json`, `.yaml` or `.yml` next to the model) may override. */
export interface ModelSidecar {
  confidence?: number;
  iou?: number;
  maxDetections?: number;
  /** Class names by id, replacing the model's own. */
  names?: string[];
  /** Only these class names are reported. */
  classes?: string[];
  /** `false` keeps the file in the folder but does not run it. */
  enabled?: boolean;
  /** Everything else (calibration, tiling, …) is kept for the features that read it. */
  extra: Record<string, unknown>;
}

export const SIDECAR_EXTENSIONS = ['.json', '.yaml', '.yml'] as const;

/** Reads the first sidecar that exists beside `modelFile`; undefined when there is none. */
export async function readSidecar(
  modelFile: string,
): Promise<{ file: string; sidecar: ModelSidecar } | undefined> {
  const stem = modelFile.replace(/\.onnx$/i, '');
  for (const ext of SIDECAR_EXTENSIONS) {
    const file = stem + ext;
    let text: string;
    try {
      text = await fs.readFile(file, 'utf8');
    } catch {
      continue;
    }
    let raw: unknown;
    try {
      raw = ext === '.json' ? JSON.parse(text) : parseYaml(text);
    } catch (err) {
      throw new Error(
        `sidecar ${file} is not valid ${ext === '.json' ? 'JSON' : 'YAML'}: ${(err as Error).message}`,
      );
    }
    return { file, sidecar: parseSidecar(raw, file) };
  }
  return undefined;
}

/** Validates a parsed sidecar; a bad field throws one readable line naming it. */
export function parseSidecar(raw: unknown, file = 'sidecar'): ModelSidecar {
  if (raw === null || raw === undefined) return { extra: {} };
  if (typeof raw !== 'object' || Array.isArray(raw))
    throw new Error(`${file}: expected an object of settings`);
  const { confidence, iou, maxDetections, names, classes, enabled, ...extra } = raw as Record<
    string,
    unknown
  >;
  const fail = (field: string, expected: string): never => {
    throw new Error(`${file}: "${field}" must be ${expected}`);
  };
  const unit = (field: string, v: unknown) =>
    v === undefined
      ? undefined
      : typeof v === 'number' && v >= 0 && v <= 1
        ? v
        : fail(field, 'a number from 0 to 1');
  const out: ModelSidecar = { extra };
  out.confidence = unit('confidence', confidence);
  out.iou = unit('iou', iou);
  if (maxDetections !== undefined) {
    out.maxDetections =
      Number.isInteger(maxDetections) && (maxDetections as number) > 0
        ? (maxDetections as number)
        : fail('maxDetections', 'a positive whole number');
  }
  if (names !== undefined)
    out.names = parseNames(names) ?? fail('names', 'a list of names or an {id: name} map');
  if (classes !== undefined) {
    out.classes =
      Array.isArray(classes) && classes.every((c) => typeof c === 'string')
        ? classes
        : fail('classes', 'a list of class names');
  }
  if (enabled !== undefined)
    out.enabled = typeof enabled === 'boolean' ? enabled : fail('enabled', 'true or false');
  return out;
}

function parseNames(raw: unknown): string[] | undefined {
  if (Array.isArray(raw)) return raw.every((n) => typeof n === 'string') ? raw : undefined;
  if (raw && typeof raw === 'object') {
    const out: string[] = [];
    for (const [k, v] of Object.entries(raw)) {
      const id = Number(k);
      if (!Number.isInteger(id) || id < 0 || id > 100_000 || typeof v !== 'string') return undefined;
      out[id] = v;
    }
    return Array.from(out, (n, i) => n ?? `class${i}`);
  }
  return undefined;
}
