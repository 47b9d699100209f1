import path from 'node:path';
import { insideFolder, type ResultDocument, resultPaths, writeFileAtomic } from '@scopehive/shared';
import type { CsvTables } from './csv-table.ts';
import { labelImagePath, writeLabelPng } from './label-image.ts';
import { appendResultRows, type SizeUnitSetting } from './table-rows.ts';

/**
 * Writes one image's results for one model: the annotated image, the label image (models with
 * masks), the CSV rows, then the JSON.
 * The JSON goes last, flushed to disk, because its presence means "done": a crash before it leaves
 * the job to be redone, and the CSV tables skip rows they already hold and replace superseded ones.
 *
 * Every file is checked to stay inside the results folder before anything is written, so a symbolic
 * link planted in results/ refuses the whole result (OutsideFolderError, code EOUTSIDE) rather than
 * leaving part of it outside the share. The atomic writes check again just before writing, since the
 * share can change meanwhile.
 */
export async function writeResult(options: {
  resultsDir: string;
  doc: ResultDocument;
  annotated?: Buffer;
  /** Pixel value k = the document's k-th detection (models with masks). */
  labels?: Uint16Array;
  tables: CsvTables;
  /** The tables' size unit when a table is made (a table keeps the unit it was made with). */
  sizeUnit?: SizeUnitSetting;
}): Promise<string> {
  const { resultsDir, doc, annotated, labels, tables } = options;
  const paths = resultPaths(resultsDir, doc.image.path, doc.model.name);
  const detections = path.join(paths.folder, 'detections.csv');
  const summary = path.join(paths.folder, 'summary.csv');
  const labelFile = labelImagePath(resultsDir, doc.image.path, doc.model.name);
  for (const file of [paths.annotated, labelFile, detections, summary, paths.json])
    await insideFolder(resultsDir, file);
  if (annotated) {
    await writeFileAtomic(paths.annotated, annotated, { root: resultsDir });
    doc.annotatedImage = path.basename(paths.annotated);
  }
  if (labels) {
    const { width, height } = doc.image;
    await writeLabelPng({ resultsDir, image: doc.image.path, model: doc.model.name, width, height, labels });
  }
  await appendResultRows(tables, { detections, summary }, doc, options.sizeUnit ?? 'auto');
  await writeFileAtomic(paths.json, `${JSON.stringify(doc, null, 2)}\n`, { durable: true, root: resultsDir });
  return paths.json;
}
