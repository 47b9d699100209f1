import path from 'node:path';
import { type ResultDocument, resultPaths, writeFileAtomic } from '@scopehive/shared';
import type { CsvTables } from './csv-table.ts';

export const DETECTION_COLUMNS = [
  'Image',
  'Model',
  'Class',
  'ClassId',
  'Score',
  'BX',
  'BY',
  'Width',
  'Height',
  'X',
  'Y',
  'Area',
  'Unit',
];
export const SUMMARY_COLUMNS = [
  'Image',
  'Model',
  'Count',
  'Classes',
  'Width',
  'Height',
  'Node',
  'AnalysedAt',
];

const round = (v: number, digits = 2) => Number(v.toFixed(digits));

/** One CSV row per detection, named like ImageJ's Analyze Particles (BX/BY top-left, X/Y centre). */
export function detectionRows(doc: ResultDocument): Array<Array<string | number>> {
  return doc.detections.map((d) => {
    const [x1, y1, x2, y2] = d.box;
    const w = x2 - x1;
    const h = y2 - y1;
    return [
      doc.image.path,
      doc.model.name,
      d.class,
      d.classId,
      round(d.score, 4),
      round(x1),
      round(y1),
      round(w),
      round(h),
      round(x1 + w / 2),
      round(y1 + h / 2),
      round(w * h),
      'px',
    ];
  });
}

/** One row per image and model: the total and the count per class (`bus=1; person=4`). */
export function summaryRow(doc: ResultDocument): Array<string | number> {
  const classes = Object.entries(doc.counts)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([c, n]) => `${c}=${n}`)
    .join('; ');
  return [
    doc.image.path,
    doc.model.name,
    doc.detections.length,
    classes,
    doc.image.width,
    doc.image.height,
    doc.node,
    doc.analysedAt,
  ];
}

/**
 * Writes one image's results for one model: the annotated image, the CSV rows, then the JSON.
 * The JSON goes last because its presence means "done": a crash before it leaves the job to be
 * redone, and the CSV tables skip rows they already hold.
 */
export async function writeResult(options: {
  resultsDir: string;
  doc: ResultDocument;
  annotated?: Buffer;
  tables: CsvTables;
}): Promise<string> {
  const { resultsDir, doc, annotated, tables } = options;
  const paths = resultPaths(resultsDir, doc.image.path, doc.model.name);
  if (annotated) {
    await writeFileAtomic(paths.annotated, annotated);
    doc.annotatedImage = path.basename(paths.annotated);
  }
  await tables.append(
    path.join(paths.folder, 'detections.csv'),
    DETECTION_COLUMNS,
    doc.jobId,
    detectionRows(doc),
  );
  await tables.append(path.join(paths.folder, 'summary.csv'), SUMMARY_COLUMNS, doc.jobId, [summaryRow(doc)]);
  await writeFileAtomic(paths.json, `${JSON.stringify(doc, null, 2)}\n`, { durable: true });
  return paths.json;
}
