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
