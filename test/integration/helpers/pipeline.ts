/**
 * The real pipeline of `npm start`, in the test process, on a temporary data folder: real watcher,
 * real embedded queue, real ONNX sessions on the models of `../shared/models`, real result files and
 * a real HTTP port. A test can stop it and start it again on the same folder.
 */

import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { type ResultDocument, resultPaths } from '@scopehive/shared';
import { pino } from 'pino';
import { type RunningPipeline, startPipeline } from '../../../scripts/run-pipeline.ts';

const repoRoot = path.resolve(import.meta.dirname, '../../..');

/** The design folder beside the checkout, holding the real models and images. */
export const sharedDir = process.env.SCOPEHIVE_SHARED_DIR ?? path.resolve(repoRoot, '../shared');
export const sharedModel = (name: string) => path.join(sharedDir, 'models', `${name}.onnx`);
export const sharedImage = (name: string) => path.join(sharedDir, 'images', name);

/** One pino line, parsed. */
export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

export interface TestPipeline {
  config: RunningPipeline['config'];
  dataDir: string;
  inboxDir: string;
  modelsDir: string;
  resultsDir: string;
  rejectedDir: string;
  port: number;
  pipeline: RunningPipeline;
  /** Every log line of this run, in order. */
  logs: LogLine[];
  get(urlPath: string): Promise<{ status: number; text: string }>;
  metrics(): Promise<string>;
  /** Resolves when every file in the inbox has been checked and no job is waiting or in flight. */
  quiet(): Promise<void>;
  close(): Promise<void>;
}

/** A fresh data folder under the system's temporary folder. */
export function makeDataDir(): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), 'scopehive-it-'));
}

export async function removeDataDir(dir: string | undefined): Promise<void> {
  if (dir) await fs.rm(dir, { recursive: true, force: true });
}

/**
 * Starts the pipeline on `dataDir` as `npm start` would with these environment variables: any free
 * port, a short stable time, inotify (temporary folders are local), logs kept in memory.
 */
export async function startTestPipeline(
  dataDir: string,
  env: Record<string, string> = {},
): Promise<TestPipeline> {
  const settings = {
    SCOPEHIVE_DATA_DIR: dataDir,
    SCOPEHIVE_STABLE_MS: '300',
    SCOPEHIVE_PORT: '0',
    SCOPEHIVE_POLLING: 'false',
    SCOPEHIVE_NODE_NAME: 'test-node',
    ...env,
  };
  const logs: LogLine[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line) logs.push(JSON.parse(line) as LogLine);
      done();
    },
  });
  const logger = pino({ name: 'scopehive', level: 'debug', base: { service: 'scopehive' } }, sink);
  const pipeline = await startPipeline({ env: settings, logger });
  const { paths } = pipeline.config;
  const base = `http://127.0.0.1:${pipeline.port}`;
  const get = async (urlPath: string) => {
    const res = await fetch(base + urlPath);
    return { status: res.status, text: await res.text() };
  };
  return {
    config: pipeline.config,
    dataDir,
    inboxDir: paths.inbox,
    modelsDir: paths.models,
    resultsDir: paths.results,
    rejectedDir: paths.rejected,
    port: pipeline.port,
    pipeline,
    logs,
    get,
    metrics: async () => (await get('/metrics')).text,
    async quiet() {
      await pipeline.models.settled();
      await pipeline.ingest.idle();
      await waitFor(async () => (await pipeline.queue.depth()) === 0, 60_000, 'the queue to drain');
    },
    close: () => pipeline.close(),
  };
}

type Truthy<T> = Exclude<T, false | 0 | '' | null | undefined>;

/** Polls `check` until it returns something truthy; fails with `what` after `timeoutMs`. */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  timeoutMs: number,
  what: string,
): Promise<Truthy<T>> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value as Truthy<T>;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${lastError}` : ''}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export async function exists(file: string): Promise<boolean> {
  return fs.access(file).then(
    () => true,
    () => false,
  );
}

/** Copies a model of `../shared/models` into a models folder the way a user would (`cp`). */
export async function addModel(modelsDir: string, name: string, as = name): Promise<string> {
  const target = path.join(modelsDir, `${as}.onnx`);
  await fs.copyFile(sharedModel(name), target);
  await fs.chmod(target, 0o644);
  return target;
}

/** Copies an image of `../shared/images` into the inbox (optionally under another relative name). */
export async function dropImage(inboxDir: string, name: string, as = name): Promise<string> {
  const target = path.join(inboxDir, ...as.split('/'));
  await fs.mkdir(path.dirname(target), { recursive: true });
  await fs.copyFile(sharedImage(name), target);
  await fs.chmod(target, 0o644);
  return target;
}

export async function readJson<T = Record<string, unknown>>(file: string): Promise<T> {
  return JSON.parse(await fs.readFile(file, 'utf8')) as T;
}

/** The value of one Prometheus series in exposition text (labels match as a subset); undefined when absent. */
export function metricValue(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line === '') continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const found: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      found[l[1]] = l[2];
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) return Number(m[3]);
  }
  return undefined;
}

/** A CSV table read back the way a spreadsheet would: header names to cell values, per row. */
export async function readCsv(file: string): Promise<Array<Record<string, string>>> {
  const lines = (await fs.readFile(file, 'utf8')).split('\n').filter((l) => l !== '');
  const [header, ...rows] = lines.map(splitCsvLine);
  return rows.map((cells) => Object.fromEntries(header.map((h, i) => [h, cells[i]])));
}

function splitCsvLine(line: string): string[] {
  const cells: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted && c === '"' && line[i + 1] === '"') {
      cell += '"';
      i++;
    } else if (c === '"') {
      quoted = !quoted;
    } else if (c === ',' && !quoted) {
      cells.push(cell);
      cell = '';
    } else {
      cell += c;
    }
  }
  cells.push(cell);
  return cells;
}

/** Intersection over union of two x1,y1,x2,y2 boxes. */
export function iou(a: readonly number[], b: readonly number[]): number {
  const w = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const h = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const inter = w * h;
  const union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
  return union > 0 ? inter / union : 0;
}

/** The result document as the product writes it (one type for the writer and the tests). */
export type ResultJson = ResultDocument;

/** Where the pipeline writes the JSON and annotated image of `image` (inbox-relative) for `model`. */
export function resultFiles(resultsDir: string, image: string, model: string) {
  const { json, annotated } = resultPaths(resultsDir, image, model);
  return { json, annotated };
}
