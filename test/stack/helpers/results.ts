import fs from 'node:fs/promises';
import path from 'node:path';
import type { ResultDocument } from '@scopehive/shared';
import { exists, readCsv } from '../../integration/helpers/pipeline.ts';

/** The result JSON of `image` (inbox-relative) for `model`, as the microscopist finds it on the share. */
export function resultJson(resultsDir: string, image: string, model: string): string {
  return `${path.join(resultsDir, ...image.split('/'))}.${model}.json`;
}

/** Every result JSON under `dir`, relative to `dir`. */
async function jsonFiles(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isFile() && e.name.endsWith('.json'))
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();
}

/** The result documents of one inbox folder's images, once each has its JSON (undefined until then). */
export async function readResults(
  resultsDir: string,
  images: readonly string[],
  model: string,
): Promise<ResultDocument[] | undefined> {
  const files = images.map((image) => resultJson(resultsDir, image, model));
  for (const file of files) if (!(await exists(file))) return undefined;
  return Promise.all(files.map(async (f) => JSON.parse(await fs.readFile(f, 'utf8')) as ResultDocument));
}

/**
 * What is wrong with the results of one inbox folder holding exactly `images`: any image without
 * exactly one result JSON, any other JSON, and any image whose rows in `detections.csv` (one per
 * detection) or `summary.csv` (one per image) are missing or repeated. Empty when all is well.
 */
export async function resultProblems(
  resultsDir: string,
  folder: string,
  images: readonly string[],
  model: string,
): Promise<string[]> {
  const problems: string[] = [];
  const dir = path.join(resultsDir, folder);
  const expected = images.map((image) => path.relative(dir, resultJson(resultsDir, image, model))).sort();
  const found = await jsonFiles(dir);
  for (const f of expected) if (!found.includes(f)) problems.push(`no result JSON ${f}`);
  for (const f of found) if (!expected.includes(f)) problems.push(`unexpected JSON ${f}`);
  const docs = (await readResults(resultsDir, images, model)) ?? [];
  for (const [i, doc] of docs.entries()) {
    if (doc.image.path !== images[i]) problems.push(`${images[i]}: result says image ${doc.image.path}`);
  }
  const detections = await readCsv(path.join(dir, 'detections.csv')).catch(() => []);
  const summary = await readCsv(path.join(dir, 'summary.csv')).catch(() => []);
  const count = (rows: Array<Record<string, string>>, id: string) =>
    rows.filter((r) => r.ResultId === id).length;
  for (const doc of docs) {
    const rows = count(detections, doc.jobId);
    if (rows !== doc.detections.length) {
      problems.push(
        `${doc.image.path}: ${rows} rows in detections.csv for ${doc.detections.length} detections`,
      );
    }
    const summaries = count(summary, doc.jobId);
    if (summaries !== 1) problems.push(`${doc.image.path}: ${summaries} rows in summary.csv`);
  }
  const ids = new Set(docs.map((d) => d.jobId));
  for (const [table, rows] of [
    ['detections.csv', detections],
    ['summary.csv', summary],
  ] as const) {
    const strays = new Set(rows.map((r) => r.ResultId).filter((id) => !ids.has(id)));
    for (const id of strays) problems.push(`${table}: rows of result ${id}, which has no JSON`);
  }
  return problems;
}
