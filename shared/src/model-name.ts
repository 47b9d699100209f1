import path from 'node:path';

/**
 * A model's name: its file name without `.onnx`, made safe for file names, metric labels and queue
 * subjects. Ingest names jobs with it and inference looks models up by it, so both use this one.
 */
export function modelNameFromFile(file: string): string {
  return path
    .basename(file)
    .replace(/\.onnx$/i, '')
    .replace(/[^A-Za-z0-9_-]/g, '_');
}

/** A model as jobs name it: its name and the SHA-256 of its file, so a changed file gets new results. */
export interface ModelRef {
  name: string;
  sha256: string;
}

/**
 * Whether a model runs: `SCOPEHIVE_MODELS` (`enabled`: `['all']` or names) lists it, and its sidecar,
 * when known, does not say `enabled: false`.
 */
export function isModelEnabled(
  name: string,
  enabled: readonly string[],
  sidecar?: { enabled?: boolean },
): boolean {
  return (enabled.includes('all') || enabled.includes(name)) && sidecar?.enabled !== false;
}
