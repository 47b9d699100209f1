import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

export interface DownloadOptions {
  url: string;
  /** Expected SHA-256 (hex); a mismatch deletes the download and fails. */
  sha256?: string;
  modelsDir: string;
  /** File name in the models folder; default: the URL's last path segment. */
  fileName?: string;
  /** Fails when no data arrives for this long. */
  timeoutMs: number;
  /** Progress goes here (a terminal gets a bar, a pipe a line every 10 %). */
  progress?: NodeJS.WritableStream & { isTTY?: boolean };
}

/**
 * Downloads to a hidden temporary file in the models folder and renames it into place only after
 * the hash checks out, so the service never loads a half-downloaded or wrong model.
 */
export async function downloadModel(options: DownloadOptions): Promise<string> {
  const { url, modelsDir, progress } = options;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`not a URL: ${url}`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')
    throw new Error(`only http(s) URLs are supported: ${url}`);
  const name = options.fileName ?? decodeURIComponent(path.basename(parsed.pathname));
  if (!name.toLowerCase().endsWith('.onnx') || name.includes('/') || name.startsWith('.')) {
    throw new Error(`the model file name must end in .onnx (got "${name}"); pass --name <file.onnx>`);
  }
  const expected = options.sha256?.trim().toLowerCase();
  if (expected !== undefined && !/^[0-9a-f]{64}$/.test(expected))
    throw new Error('the sha256 must be 64 hex digits');

  const controller = new AbortController();
  let timer = setTimeout(() => controller.abort(), options.timeoutMs);
  const touch = () => {
    clearTimeout(timer);
    timer = setTimeout(() => controller.abort(), options.timeoutMs);
  };
  let response: Response;
  try {
    response = await fetch(url, { signal: controller.signal, redirect: 'follow' });
  } catch (err) {
    clearTimeout(timer);
    throw new Error(
      `cannot reach ${parsed.host} (${describeNetworkError(err)}); is this machine offline? ` +
        'Copy a .onnx model into the models folder by hand instead.',
    );
  }
  if (!response.ok || !response.body) {
    clearTimeout(timer);
    throw new Error(`download failed: ${url} answered HTTP ${response.status} ${response.statusText}`);
  }
  const total = Number(response.headers.get('content-length')) || 0;
  await fs.mkdir(modelsDir, { recursive: true });
  const target = path.join(modelsDir, name);
  const tmp = path.join(modelsDir, `.${name}.${randomBytes(4).toString('hex')}.download`);
  const hash = createHash('sha256');
  const file = await fs.open(tmp, 'w');
  let received = 0;
  let lastShown = -1;
  try {
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      touch();
      hash.update(chunk);
      await file.write(chunk);
      received += chunk.length;
      lastShown = showProgress(progress, received, total, lastShown);
    }
    await file.sync();
  } catch (err) {
    await file.close();
    await fs.rm(tmp, { force: true });
    throw new Error(`download of ${url} broke off after ${received} bytes (${describeNetworkError(err)})`);
  } finally {
    clearTimeout(timer);
  }
  await file.close();
  if (progress?.isTTY) progress.write('\n');
  const actual = hash.digest('hex');
  if (total > 0 && received !== total) {
    await fs.rm(tmp, { force: true });
    throw new Error(`download of ${url} is incomplete: ${received} of ${total} bytes`);
  }
  if (expected && actual !== expected) {
    await fs.rm(tmp, { force: true });
    throw new Error(
      `sha256 mismatch for ${name}: expected ${expected}, got ${actual}; the file was not kept`,
    );
  }
  await fs.rename(tmp, target);
  progress?.write(
    `sha256 ${actual}${expected ? ' (verified)' : ' (not verified: no expected hash given)'}\n`,
  );
  return target;
}

function showProgress(
  out: DownloadOptions['progress'],
  received: number,
  total: number,
  lastShown: number,
): number {
  if (!out) return lastShown;
  const mb = (n: number) => (n / 1e6).toFixed(1);
  if (total > 0) {
    const percent = Math.floor((100 * received) / total);
    const step = out.isTTY ? percent : Math.floor(percent / 10) * 10;
    if (step === lastShown) return lastShown;
    const width = 30;
    const filled = Math.round((width * received) / total);
    const line = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${percent}% ${mb(received)}/${mb(total)} MB`;
    out.write(out.isTTY ? `\r${line}` : `${line}\n`);
    return step;
  }
  const step = Math.floor(received / 5e6);
  if (step !== lastShown) out.write(out.isTTY ? `\r${mb(received)} MB` : `${mb(received)} MB\n`);
  return step;
}

function describeNetworkError(err: unknown): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === 'AbortError') return 'timed out';
  return e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(err);
}
