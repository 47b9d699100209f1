import path from 'node:path';
import { insideFolder, type ResultDocument, resultPaths, writeFileAtomic } from '@scopehive/shared';
import { displayUnit } from '../core/quantify.ts';
import type { CsvTables } from './csv-table.ts';

/**
 * One row per detection. Names follow ImageJ's Analyze Particles where they overlap: X, Y centroid;
 * BX, BY top-left corner; Width, Height; Area — in `Unit` (nm, µm or mm when calibrated, px when not;
 * areas in Unit²). `ECD` is the equivalent circular diameter of the box area. The same values in
 * pixels follow, then whether the box touches the analysed area's edge.
 */
export const DETECTION_COLUMNS = [
  'Image',
  'Model',
  'Class',
  'ClassId',
  'Score',
  'X',
  'Y',
  'BX',
  'BY',
  'Width',
  'Height',
  'Area',
  'ECD',
  'Unit',
  'XPx',
  'YPx',
  'BXPx',
  'BYPx',
  'WidthPx',
  'HeightPx',
  'AreaPx',
  'EdgeTouching',
  'PixelSizeNm',
  'Calibration',
];

/** One row per image and model, like ImageJ's Summary (Count, Total Area, Average Size, %Area) and more. */
export const SUMMARY_COLUMNS = [
  'Image',
  'Model',
  'Count',
  'Classes',
  'Total Area',
  'Average Size',
  '%Area',
  'Density/um2',
  'Mean ECD',
  'SD ECD',
  'Median ECD',
  'D10',
  'D50',
  'D90',
  'Unit',
  'Width',
  'Height',
  'AnalysedHeight',
  'PixelSizeNm',
  'Calibration',
  'Tiles',
  'Node',
  'AnalysedAt',
];

const sig = (v: number) => Number(v.toPrecision(6));

/** The length unit a result's table rows use: chosen from its largest feature, like a scale bar would. */
export function tableUnit(doc: ResultDocument): { unit: string; perNm: number; calibrated: boolean } {
  if (doc.calibration.source === 'uncalibrated' || doc.calibration.pixelWidthNm === undefined) {
    return { unit: 'px', perNm: 1, calibrated: false };
  }
  const largest = Math.max(0, ...doc.detections.map((d) => Math.max(d.widthNm ?? 0, d.heightNm ?? 0)));
  const { unit, perNm } = displayUnit(largest > 0 ? largest : doc.calibration.pixelWidthNm * 100);
  return { unit, perNm, calibrated: true };
}

export function detectionRows(doc: ResultDocument): Array<Array<string | number>> {
  const { unit, perNm, calibrated } = tableUnit(doc);
  const px = doc.calibration.pixelWidthNm;
  return doc.detections.map((d) => {
    const [x1, y1] = d.box;
    const len = (pxValue: number, nm: number | undefined) =>
      calibrated && nm !== undefined ? sig(nm / perNm) : pxValue;
    const xNm = px !== undefined ? x1 * px : undefined;
    const yNm = doc.calibration.pixelHeightNm !== undefined ? y1 * doc.calibration.pixelHeightNm : undefined;
    return [
      doc.image.path,
      doc.model.name,
      d.class,
      d.classId,
      d.score,
      len(d.centroid[0], d.centroidNm?.[0]),
      len(d.centroid[1], d.centroidNm?.[1]),
      len(x1, xNm),
      len(y1, yNm),
      len(d.widthPx, d.widthNm),
      len(d.heightPx, d.heightNm),
      calibrated && d.areaNm2 !== undefined ? sig(d.areaNm2 / perNm ** 2) : d.areaPx,
      len(d.ecdPx, d.ecdNm),
      unit,
      d.centroid[0],
      d.centroid[1],
      x1,
      y1,
      d.widthPx,
      d.heightPx,
      d.areaPx,
      d.edgeTouching ? 'yes' : 'no',
      px ?? '',
      doc.calibration.source,
    ];
  });
}

export function summaryRow(doc: ResultDocument): Array<string | number> {
  const { unit, perNm, calibrated } = tableUnit(doc);
  const s = doc.summary;
  const len = (v: number | undefined) => (v === undefined ? '' : calibrated ? sig(v / perNm) : v);
  const area = (v: number) => (calibrated ? sig(v / perNm ** 2) : v);
  const classes = s.classes
    .map((c) => `${c.class}=${c.count}`)
    .sort()
    .join('; ');
  return [
    doc.image.path,
    doc.model.name,
    s.count,
    classes,
    area(s.totalArea),
    area(s.meanArea),
    s.areaPercent,
    s.densityPerUm2 ?? '',
    len(s.ecd?.mean),
    len(s.ecd?.sd),
    len(s.ecd?.median),
    len(s.ecd?.d10),
    len(s.ecd?.d50),
    len(s.ecd?.d90),
    unit,
    doc.image.width,
    doc.image.height,
    doc.analysedArea.height,
    doc.calibration.pixelWidthNm ?? '',
    doc.calibration.source,
    doc.tiling.tiles,
    doc.node,
    doc.analysedAt,
  ];
}

/**
 * Writes one image's results for one model: the annotated image, the CSV rows, then the JSON.
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
  tables: CsvTables;
}): Promise<string> {
  const { resultsDir, doc, annotated, tables } = options;
  const paths = resultPaths(resultsDir, doc.image.path, doc.model.name);
  const detections = path.join(paths.folder, 'detections.csv');
  const summary = path.join(paths.folder, 'summary.csv');
  for (const file of [paths.annotated, detections, summary, paths.json]) await insideFolder(resultsDir, file);
  if (annotated) {
    await writeFileAtomic(paths.annotated, annotated, { root: resultsDir });
    doc.annotatedImage = path.basename(paths.annotated);
  }
  // The pair named, so an analysis that found nothing still replaces the rows of an earlier one.
  const subject = { image: doc.image.path, model: doc.model.name };
  await tables.append(detections, DETECTION_COLUMNS, doc.jobId, detectionRows(doc), subject);
  await tables.append(summary, SUMMARY_COLUMNS, doc.jobId, [summaryRow(doc)], subject);
  await writeFileAtomic(paths.json, `${JSON.stringify(doc, null, 2)}\n`, { durable: true, root: resultsDir });
  return paths.json;
}
