import { sha256 } from './fs-util.ts';

/** One unit of work: one image analysed by one model. */
export interface Job {
  /** Stable identity: the same path, content and model always give the same id (idempotent results). */
  id: string;
  /** Image path relative to the inbox, with `/` separators. */
  image: string;
  imageSha256: string;
  imageBytes: number;
  /** Model name: the model file name without `.onnx`. */
  model: string;
  modelSha256: string;
  /** When ingest saw the complete file (ms since epoch); gives the file-to-result latency. */
  detectedAt: number;
}

/**
 * The job's identity. `image` (the inbox-relative path) belongs in it because results are kept per
 * path: without it, two files with the same bytes (a copy in another session folder, a rewritten file
 * that now matches another) share one id, the queue drops the second as a duplicate and the CSV tables
 * skip its rows as already written.
 */
export function jobId(imageSha256: string, model: string, modelSha256: string, image: string): string {
  return `${imageSha256.slice(0, 32)}.${model}.${modelSha256.slice(0, 16)}.${sha256(image).slice(0, 16)}`;
}

/** Turns an inbox-relative path into a safe, portable job path or throws (no `..`, no absolute paths). */
export function toInboxRelative(rel: string): string {
  const posix = rel.split('\\').join('/');
  if (posix.startsWith('/') || posix.split('/').some((p) => p === '..' || p === '')) {
    throw new Error(`not a path inside the inbox: ${JSON.stringify(rel)}`);
  }
  return posix;
}
