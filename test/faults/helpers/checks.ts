/**
 * What every fault test checks once the fault is over, as a user would find it on the share:
 * nothing lost, nothing duplicated, nothing written outside the data folder, healthy again.
 * Each check returns its problems (empty when all is well), so a failure names every one at once.
 */
import type { Dirent } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { type ResultDocument, rejectedPaths } from '@scopehive/shared';
import { exists, readCsv, readJson, resultFiles, waitFor } from '../../integration/helpers/pipeline.ts';
import { get } from '../../stack/helpers/stack.ts';
import type { FaultFolders } from './pipeline-process.ts';

/**
 * Nothing lost: every image (inbox-relative) has a result JSON for every model, or was set aside
 * in rejected/ with its reason.
 */
export async function lostImages(
  folders: Pick<FaultFolders, 'resultsDir' | 'rejectedDir'>,
  images: readonly string[],
  models: readonly string[],
): Promise<string[]> {
  const problems: string[] = [];
  for (const image of images) {
    const reason = rejectedPaths(folders.rejectedDir, image).reason;
    if (await exists(reason)) {
      if ((await fs.readFile(reason, 'utf8')).trim() === '')
        problems.push(`${image}: empty rejection reason`);
      continue;
    }
    for (const model of models) {
      if (!(await exists(resultFiles(folders.resultsDir, image, model).json))) {
        problems.push(`${image}: no result for ${model} and not rejected`);
      }
    }
  }
  return problems;
}

/** Waits until nothing is lost (every image has its results or its rejection); fails with what is missing. */
export async function waitAllSettled(
  folders: Pick<FaultFolders, 'resultsDir' | 'rejectedDir'>,
  images: readonly string[],
  models: readonly string[],
  timeoutMs = 90_000,
): Promise<void> {
  let last: string[] = [];
  try {
    await waitFor(
      async () => {
        last = await lostImages(folders, images, models);
        return last.length === 0;
      },
      timeoutMs,
      `${images.length} images to be analysed or set aside`,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; still missing: ${last.join('; ')}`);
  }
}

/**
 * Nothing duplicated: every (image, model) with a result has exactly one set of rows in its folder's
 * detections.csv (one per detection) and summary.csv (one), all of the current result; no rows of an
 * image and model without a current result.
 */
export async function duplicatedRows(
  folders: Pick<FaultFolders, 'resultsDir'>,
  images: readonly string[],
  models: readonly string[],
): Promise<string[]> {
  const problems: string[] = [];
  const tables = new Map<string, { detections: Row[]; summary: Row[] }>();
  const tablesOf = async (folder: string) => {
    let t = tables.get(folder);
    if (!t) {
      t = {
        detections: await readCsv(path.join(folder, 'detections.csv')).catch(() => []),
        summary: await readCsv(path.join(folder, 'summary.csv')).catch(() => []),
      };
      tables.set(folder, t);
    }
    return t;
  };
  for (const image of images) {
    for (const model of models) {
      const { json } = resultFiles(folders.resultsDir, image, model);
      const { detections, summary } = await tablesOf(path.dirname(json));
      const mine = (rows: Row[]) => rows.filter((r) => r.Image === image && r.Model === model);
      if (!(await exists(json))) {
        const stray = mine(detections).length + mine(summary).length;
        if (stray > 0) problems.push(`${image} / ${model}: ${stray} table rows but no result`);
        continue;
      }
      const doc = await readJson<ResultDocument>(json);
      const summaries = mine(summary);
      if (summaries.length !== 1)
        problems.push(`${image} / ${model}: ${summaries.length} rows in summary.csv`);
      const rows = mine(detections);
      if (rows.length !== doc.detections.length) {
        problems.push(
          `${image} / ${model}: ${rows.length} rows in detections.csv for ${doc.detections.length} detections`,
        );
      }
      const stale = [...summaries, ...rows].filter((r) => r.ResultId !== doc.jobId).length;
      if (stale > 0)
        problems.push(`${image} / ${model}: ${stale} rows of a result that is not the current one`);
    }
  }
  return problems;
}

/**
 * `duplicatedRows` once the tables have settled: a rewrite that removes superseded rows may be spaced
 * out behind a burst of writes (csv-table.ts), so the check is repeated until it comes out clean or
 * the deadline passes, and then its last findings are returned.
 */
export async function rowsWhenSettled(
  folders: Pick<FaultFolders, 'resultsDir'>,
  images: readonly string[],
  models: readonly string[],
  timeoutMs = 30_000,
): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const problems = await duplicatedRows(folders, images, models);
    if (problems.length === 0 || Date.now() > deadline) return problems;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

type Row = Record<string, string>;

/** Every entry under `dir` (links not followed) with its type, size and modification time. */
export async function snapshotTree(dir: string): Promise<Map<string, string>> {
  const entries: Dirent[] = await fs.readdir(dir, { recursive: true, withFileTypes: true });
  const snapshot = new Map<string, string>();
  for (const e of entries) {
    const full = path.join(e.parentPath, e.name);
    const s = await fs.lstat(full);
    const kind = s.isDirectory() ? 'dir' : s.isSymbolicLink() ? 'link' : s.isFile() ? 'file' : 'other';
    snapshot.set(path.relative(dir, full), `${kind} ${s.isDirectory() ? '' : s.size} ${s.mtimeMs}`);
  }
  return snapshot;
}

/**
 * What is outside the data folder: the top of the test's root (nothing may appear beside `data`)
 * and everything in the sibling `outside` folder.
 */
export async function outsideSnapshot(folders: FaultFolders): Promise<Map<string, string>> {
  const snapshot = await snapshotTree(folders.outsideDir);
  for (const name of await fs.readdir(folders.root)) snapshot.set(`<root>/${name}`, 'present');
  return snapshot;
}

/** Nothing written outside the data folder since `before` was taken. */
export async function writtenOutside(folders: FaultFolders, before: Map<string, string>): Promise<string[]> {
  const after = await outsideSnapshot(folders);
  const problems: string[] = [];
  for (const [name, state] of after) {
    if (before.get(name) !== state) problems.push(`${name}: ${before.get(name) ?? 'absent'} → ${state}`);
  }
  for (const name of before.keys()) if (!after.has(name)) problems.push(`${name}: removed`);
  return problems;
}

/** Hidden temporary files of atomic writes left in the results folder. */
export async function leftoverTemps(resultsDir: string): Promise<string[]> {
  const entries = await fs.readdir(resultsDir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && e.name.startsWith('.') && e.name.endsWith('.tmp'))
    .map((e) => path.relative(resultsDir, path.join(e.parentPath, e.name)));
}

/** Waits until /healthz and /readyz both answer 200 at `url`. */
export async function waitHealthy(url: string, timeoutMs = 60_000): Promise<void> {
  let last = '';
  try {
    await waitFor(
      async () => {
        const [health, ready] = [await get(`${url}/healthz`), await get(`${url}/readyz`)];
        last = `/healthz ${health?.status} ${health?.text} · /readyz ${ready?.status} ${ready?.text}`;
        return health?.status === 200 && ready?.status === 200;
      },
      timeoutMs,
      `${url} to be healthy and ready`,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message} (${last})`);
  }
}
