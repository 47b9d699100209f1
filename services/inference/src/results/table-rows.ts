/**
 * The rows of the per-folder tables (detections.csv, summary.csv) in one physical unit per file.
 *
 * A table's unit is fixed when the file is created and named in its header (`Area (µm²)`, `ECD (µm)`):
 * the setting (`SCOPEHIVE_SIZE_UNIT` or a folder's `sizeUnit`) when it names one, else (auto) the unit
 * that suits the first calibrated image, chosen from its largest feature like a scale bar would. A
 * table begun by uncalibrated images has unit-less calibrated columns (blank cells) until its first
 * calibrated image names the unit; an existing table keeps the unit its header says, whatever the
 * setting says now. Pixel columns are always present. Column names follow ImageJ's Analyze Particles.
 */
import type { ResultDetection, ResultDocument, ResultSizeStats } from '@scopehive/shared';
import { displayUnit } from '../core/quantify.ts';
import type { CsvTables, TableContent } from './csv-table.ts';

export type SizeUnit = 'nm' | 'µm' | 'mm';
export type SizeUnitSetting = SizeUnit | 'auto';

const NM_PER: Record<SizeUnit, number> = { nm: 1, µm: 1e3, mm: 1e6 };

/** A size unit as people type it (`um`, `μm` with a Greek mu, `micron`), in the one spelling tables use. */
export function parseSizeUnit(raw: string): SizeUnitSetting | undefined {
  const text = raw
    .trim()
    .toLowerCase()
    .replace(/\u03bc/g, 'µ');
  if (text === 'auto' || text === 'nm' || text === 'mm' || text === 'µm') return text;
  if (text === 'um' || text === 'micron' || text === 'microns') return 'µm';
  return undefined;
}

/** ImageJ lengths (calibrated in the table's unit, and in px). */
const LENGTHS = ['X', 'Y', 'Perim.', 'BX', 'BY', 'Width', 'Height', 'Major', 'Minor', 'Feret', 'MinFeret'];
/** ImageJ values that no unit changes (angles in degrees, shape ratios, grey values). */
const PLAIN = ['Angle', 'Circ.', 'FeretAngle', 'AR', 'Round', 'Solidity', 'Mean', 'Min', 'Max'];

const label = (name: string, unit: string | undefined, power = '') =>
  unit === undefined ? name : `${name} (${unit}${power})`;

/** The measured columns of one unit, in ImageJ's order, then ECD. */
function sizedColumns(unit: string | undefined): string[] {
  return [
    label('Area', unit, '²'),
    ...LENGTHS.map((n) => label(n, unit)),
    label('IntDen', unit, '²'),
    label('ECD', unit),
  ];
}

/** Detection table columns for a table in `unit` (undefined: no calibrated image yet). */
export function detectionColumns(unit: SizeUnit | undefined): string[] {
  return [
    'Image',
    'Model',
    'Class',
    'ClassId',
    'Score',
    'Source',
    'EdgeTouching',
    ...sizedColumns(unit),
    ...PLAIN,
    ...sizedColumns('px'),
    label('PixelSize', unit),
    'Calibration',
  ];
}

const STATS = ['Mean', 'SD', 'Median', 'D10', 'D50', 'D90'] as const;

function summarySized(unit: string | undefined): string[] {
  return [
    label('Total Area', unit, '²'),
    label('Average Size', unit, '²'),
    unit === undefined ? 'Density' : `Density (/${unit}²)`,
    ...STATS.map((s) => label(`${s} ECD`, unit)),
    ...STATS.map((s) => label(`${s} Feret`, unit)),
  ];
}

/** Summary table columns, like ImageJ's Summary (Count, Total Area, Average Size, %Area) and more. */
export function summaryColumns(unit: SizeUnit | undefined): string[] {
  return [
    'Image',
    'Model',
    'Count',
    'EdgeTouching',
    'Measured',
    'EdgeFeatures',
    'AreaSource',
    'Classes',
    '%Area',
    ...summarySized(unit),
    ...summarySized('px'),
    'Width',
    'Height',
    'AnalysedHeight',
    label('PixelSize', unit),
    'Calibration',
    'Tiles',
    'Node',
    'AnalysedAt',
  ];
}

/** The unit a table's header names (`Area (µm²)` → µm); undefined when it names none yet. */
export function unitOfHeader(header: readonly string[]): SizeUnit | undefined {
  for (const cell of header) {
    const m = /^(?:Area|Total Area) \((nm|µm|mm)²\)$/.exec(cell);
    if (m) return m[1] as SizeUnit;
  }
  return undefined;
}

const calibrated = (doc: ResultDocument) =>
  doc.calibration.source !== 'uncalibrated' && doc.calibration.pixelWidthNm !== undefined;

/**
 * The unit for a document's rows in a table whose header is `existing` (undefined: no file yet):
 * the table's own unit, else the setting's, else (auto) one that suits this calibrated image.
 */
export function tableUnit(
  existing: readonly string[] | undefined,
  setting: SizeUnitSetting,
  doc: ResultDocument,
): SizeUnit | undefined {
  const held = existing && unitOfHeader(existing);
  if (held) return held;
  if (setting !== 'auto') return setting;
  if (!calibrated(doc)) return undefined;
  const largest = Math.max(0, ...doc.detections.map((d) => Math.max(d.widthNm ?? 0, d.heightNm ?? 0)));
  return displayUnit(largest > 0 ? largest : doc.calibration.pixelWidthNm! * 100).unit;
}

const sig = (v: number) => Number(v.toPrecision(6));
type Cell = string | number;

/** The document's measurements of one detection, calibrated (in nm, nm²) or in px, by ImageJ name. */
function valuesOf(
  doc: ResultDocument,
  d: ResultDetection,
  inNm: boolean,
): Record<string, number | undefined> {
  const m = inNm ? d.measurements?.calibrated : d.measurements?.pixel;
  const pw = inNm ? doc.calibration.pixelWidthNm! : 1;
  const ph = inNm ? doc.calibration.pixelHeightNm! : 1;
  const [x1, y1, x2, y2] = d.box;
  // What a box gives, under the measured values (a mask's, when the measurer ran).
  return {
    Area: inNm ? d.areaNm2 : d.areaPx,
    X: inNm ? d.centroidNm?.[0] : d.centroid[0],
    Y: inNm ? d.centroidNm?.[1] : d.centroid[1],
    BX: x1 * pw,
    BY: y1 * ph,
    Width: (x2 - x1) * pw,
    Height: (y2 - y1) * ph,
    Feret: inNm ? d.feretNm : d.feretPx,
    ...m,
    ECD: inNm ? d.ecdNm : d.ecdPx,
  };
}

/** Sized cells in `unit` from values in nm (perNm = nm per unit), or in px (perNm = 1). */
function sizedCells(values: Record<string, number | undefined>, perNm: number | undefined): Cell[] {
  const at = (name: string, power: number) => {
    const v = values[name];
    return v === undefined || perNm === undefined ? '' : sig(v / perNm ** power);
  };
  return [at('Area', 2), ...LENGTHS.map((n) => at(n, 1)), at('IntDen', 2), at('ECD', 1)];
}

/** The detection rows of one result in a table of `unit`. */
export function detectionRows(doc: ResultDocument, unit: SizeUnit | undefined): Cell[][] {
  const inNm = calibrated(doc);
  const perNm = inNm && unit ? NM_PER[unit] : undefined;
  return doc.detections.map((d) => {
    const px = valuesOf(doc, d, false);
    const nm = inNm ? valuesOf(doc, d, true) : {};
    const plain = inNm ? { ...px, ...d.measurements?.calibrated } : px;
    return [
      doc.image.path,
      doc.model.name,
      d.class,
      d.classId,
      d.score,
      d.source,
      d.edgeTouching ? 'yes' : 'no',
      ...sizedCells(nm, perNm),
      ...PLAIN.map((n) => (plain[n] === undefined ? '' : sig(plain[n]!))),
      ...sizedCells(px, 1),
      perNm === undefined ? '' : sig(doc.calibration.pixelWidthNm! / perNm),
      doc.calibration.source,
    ];
  });
}

const statCells = (s: ResultSizeStats | undefined, scale: number | undefined): Cell[] =>
  [s?.mean, s?.sd, s?.median, s?.d10, s?.d50, s?.d90].map((v) =>
    v === undefined || v === null || scale === undefined ? '' : sig(v / scale),
  );

/** The summary row of one result in a table of `unit`. */
export function summaryRow(doc: ResultDocument, unit: SizeUnit | undefined): Cell[] {
  const s = doc.summary;
  const inNm = calibrated(doc);
  // The document's summary is in nm (nm²) when calibrated, else px: the other set is derived.
  const nmPerPx = inNm ? Math.sqrt(doc.calibration.pixelWidthNm! * doc.calibration.pixelHeightNm!) : 1;
  const analysedPx = doc.analysedArea.width * doc.analysedArea.height;
  /** Cells in a unit of `scale` nm (px: the pixel size), or blank cells when there is no such unit. */
  const sized = (scale: number | undefined): Cell[] => {
    const area = (v: number | null) => (v === null || scale === undefined ? '' : sig(v / scale ** 2));
    return [
      area(s.totalArea),
      area(s.meanArea),
      scale === undefined ? '' : sig(s.count / (analysedPx * (nmPerPx / scale) ** 2)),
      ...statCells(s.ecd, scale),
      ...statCells(s.feret, scale),
    ];
  };
  const classes = s.classes
    .map((c) => `${c.class}=${c.count}`)
    .sort()
    .join('; ');
  const perNm = inNm && unit ? NM_PER[unit] : undefined;
  return [
    doc.image.path,
    doc.model.name,
    s.count,
    s.edgeTouchingCount,
    s.measuredCount,
    s.edgeFeatures,
    s.areaSource,
    classes,
    s.areaPercent,
    ...sized(perNm),
    // Pixel columns: the summary's own values when uncalibrated, else nm divided by the pixel size.
    ...sized(nmPerPx),
    doc.image.width,
    doc.image.height,
    doc.analysedArea.height,
    perNm === undefined ? '' : sig(doc.calibration.pixelWidthNm! / perNm),
    doc.calibration.source,
    doc.tiling.tiles,
    doc.node,
    doc.analysedAt,
  ];
}

/** Both tables' columns and rows for one result, in the unit each table holds or now chooses. */
function content(
  existing: readonly string[] | undefined,
  setting: SizeUnitSetting,
  doc: ResultDocument,
  columnsOf: (unit: SizeUnit | undefined) => string[],
  rowsOf: (unit: SizeUnit | undefined) => Cell[][],
): TableContent {
  const unit = tableUnit(existing, setting, doc);
  const pending = columnsOf(undefined);
  // A table begun by uncalibrated images names its unit with its first calibrated one.
  const relabels =
    unit !== undefined &&
    existing !== undefined &&
    existing.length === pending.length &&
    existing.every((c, i) => c === pending[i]);
  return { columns: columnsOf(unit), rows: rowsOf(unit), relabels };
}

/**
 * Appends one result's rows to its folder's detections.csv and summary.csv (paths given), as the
 * current rows of its image and model; `sizeUnit` is used only for a table being created.
 */
export async function appendResultRows(
  tables: CsvTables,
  files: { detections: string; summary: string },
  doc: ResultDocument,
  sizeUnit: SizeUnitSetting,
): Promise<void> {
  // The pair named, so an analysis that found nothing still replaces the rows of an earlier one.
  const subject = { image: doc.image.path, model: doc.model.name };
  await tables.appendTable(files.detections, doc.jobId, subject, (existing) =>
    content(existing, sizeUnit, doc, detectionColumns, (unit) => detectionRows(doc, unit)),
  );
  await tables.appendTable(files.summary, doc.jobId, subject, (existing) =>
    content(existing, sizeUnit, doc, summaryColumns, (unit) => [summaryRow(doc, unit)]),
  );
}
