import { constants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { YAMLParseError } from 'yaml';
import type { TilingMode } from '../core/tiling.ts';
import { type CalibrationOverride, parseCalibrationOverride } from '../microscopy/calibration.ts';

/** Tiling settings a sidecar may give its model; absent ones fall back to the service's. */
export type ModelTiling = Partial<{ mode: TilingMode; overlap: number; wholeImagePass: boolean }>;

/** What a sidecar (`<model>.json`, `.yaml` or `.yml` next to the model) overrides, validated. */
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
  /** Pixel size or data-bar crop (`pixelSize`/`pixelWidth`/`pixelHeight`, `unit`, `cropBottom`, `override`). */
  calibration?: CalibrationOverride;
  /** From `tiling`, `tileOverlap` and `wholeImagePass`. */
  tiling?: ModelTiling;
  /** Keys it does not know (a typo, or a setting of a later version), to warn about; absent when none. */
  ignored?: string[];
}

export const SIDECAR_EXTENSIONS = ['.json', '.yaml', '.yml'] as const;

const CALIBRATION_KEYS = ['pixelSize', 'pixelWidth', 'pixelHeight', 'unit', 'cropBottom', 'override'];
const KNOWN_KEYS = new Set([
  'confidence',
  'iou',
  'maxDetections',
  'names',
  'classes',
  'enabled',
  'tiling',
  'tileOverlap',
  'wholeImagePass',
  ...CALIBRATION_KEYS,
]);

/**
 * A sidecar that cannot be used: unreadable, not valid JSON or YAML, a bad value, or a symbolic link.
 * `line` is where the parser stopped or where the bad field is, when known.
 */
export class SidecarError extends Error {
  override name = 'SidecarError';

  constructor(
    message: string,
    readonly file: string,
    readonly line?: number,
  ) {
    super(message);
  }

  /** One line for the log and /readyz, naming the file and the line. */
  get summary(): string {
    return this.line === undefined || this.message.includes(`line ${this.line}`)
      ? this.message
      : `${this.message} (line ${this.line})`;
  }
}

/**
 * Reads and validates the first sidecar that exists beside `modelFile`; undefined when there is none.
 * Throws a SidecarError when it cannot be used.
 */
export async function readSidecar(
  modelFile: string,
): Promise<{ file: string; sidecar: ModelSidecar } | undefined> {
  const stem = modelFile.replace(/\.onnx$/i, '');
  for (const ext of SIDECAR_EXTENSIONS) {
    const file = stem + ext;
    const text = await readText(file);
    if (text === undefined) continue;
    // The YAML parser is loaded for a YAML sidecar only: it costs about 40 ms of every start-up.
    const yaml = ext === '.json' ? undefined : await import('yaml');
    let raw: unknown;
    try {
      raw = yaml ? yaml.parse(text) : JSON.parse(text);
    } catch (err) {
      const { line, column, reason } = parsePosition(err as Error, text, yaml?.YAMLParseError);
      const at = line === undefined ? '' : `line ${line}, column ${column}: `;
      throw new SidecarError(
        `sidecar ${file} is not valid ${ext === '.json' ? 'JSON' : 'YAML'}: ${at}${reason}`,
        file,
        line,
      );
    }
    try {
      return { file, sidecar: parseSidecar(raw, file) };
    } catch (err) {
      const message = (err as Error).message;
      const field = /"([^"]+)" must be/.exec(message)?.[1];
      throw new SidecarError(message, file, field === undefined ? undefined : lineOfKey(text, field));
    }
  }
  return undefined;
}

/** The file's text; undefined when there is no such file. A link is not followed: the share is writable by all. */
async function readText(file: string): Promise<string | undefined> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    throw new SidecarError(
      code === 'ELOOP'
        ? `sidecar ${file} is a symbolic link: not taken`
        : `sidecar ${file} cannot be read (${code ?? String(err)})`,
      file,
    );
  }
  try {
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
}

/** Where a JSON or YAML parser stopped, and its message without the position it gave. */
function parsePosition(
  err: Error,
  text: string,
  yamlError?: typeof YAMLParseError,
): { line?: number; column?: number; reason: string } {
  const reason = err.message.split('\n')[0];
  if (yamlError && err instanceof yamlError && err.linePos) {
    const { line, col } = err.linePos[0];
    return { line, column: col, reason: reason.replace(/ at line \d+, column \d+:?$/, '') };
  }
  const position = /at position (\d+)/.exec(reason);
  if (!position) return { reason };
  const before = text.slice(0, Number(position[1])).split('\n');
  return {
    line: before.length,
    column: before[before.length - 1].length + 1,
    reason: reason.replace(/ in JSON at position \d+.*$/, ''),
  };
}

/** The line where `key` is first set, in YAML (`key:`) or JSON (`"key":`). */
function lineOfKey(text: string, key: string): number | undefined {
  const escaped = key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const found = new RegExp(`(^|[\\s{,])["']?${escaped}["']?\\s*:`).exec(text);
  return found ? text.slice(0, found.index + found[1].length).split('\n').length : undefined;
}

/**
 * Validates a parsed sidecar into its typed value, once; a bad field throws one readable line naming
 * the file and the field.
 */
export function parseSidecar(raw: unknown, file = 'sidecar'): ModelSidecar {
  if (raw === null || raw === undefined) return {};
  if (typeof raw !== 'object' || Array.isArray(raw))
    throw new Error(`${file}: expected an object of settings`);
  const fields = raw as Record<string, unknown>;
  const { confidence, iou, maxDetections, names, classes, enabled } = fields;
  const fail = (field: string, expected: string): never => {
    throw new Error(`${file}: "${field}" must be ${expected}`);
  };
  const unit = (field: string, v: unknown) =>
    v === undefined
      ? undefined
      : typeof v === 'number' && v >= 0 && v <= 1
        ? v
        : fail(field, 'a number from 0 to 1');
  const out: ModelSidecar = {};
  if (confidence !== undefined) out.confidence = unit('confidence', confidence);
  if (iou !== undefined) out.iou = unit('iou', iou);
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
  const calibration = parseCalibrationOverride(fields, {
    source: 'model-sidecar',
    origin: calibrationOrigin(file),
  });
  if (calibration) out.calibration = calibration;
  const tiling = parseTiling(fields, fail);
  if (tiling) out.tiling = tiling;
  const ignored = Object.keys(fields).filter((k) => !KNOWN_KEYS.has(k));
  if (ignored.length > 0) out.ignored = ignored;
  return out;
}

function parseTiling(
  fields: Record<string, unknown>,
  fail: (field: string, expected: string) => never,
): ModelTiling | undefined {
  const { tiling, tileOverlap, wholeImagePass } = fields;
  if (tiling === undefined && tileOverlap === undefined && wholeImagePass === undefined) return undefined;
  const out: ModelTiling = {};
  if (tiling !== undefined) {
    out.mode =
      tiling === 'auto' || tiling === 'always' || tiling === 'never'
        ? tiling
        : fail('tiling', 'auto, always or never');
  }
  if (tileOverlap !== undefined) {
    out.overlap =
      typeof tileOverlap === 'number' && tileOverlap >= 0 && tileOverlap <= 0.9
        ? tileOverlap
        : fail('tileOverlap', 'a number from 0 to 0.9');
  }
  if (wholeImagePass !== undefined) {
    out.wholeImagePass =
      typeof wholeImagePass === 'boolean' ? wholeImagePass : fail('wholeImagePass', 'true or false');
  }
  return out;
}

/**
 * How results name a sidecar calibration ("particles sidecar"): the model's name, not the folder
 * path of the server it was read on.
 */
function calibrationOrigin(file: string): string {
  const ext = path.extname(file).toLowerCase();
  return (SIDECAR_EXTENSIONS as readonly string[]).includes(ext)
    ? `${path.basename(file, path.extname(file))} sidecar`
    : file;
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
