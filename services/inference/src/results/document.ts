import path from 'node:path';
import {
  type Job,
  RESULT_SCHEMA,
  type ResultDetection,
  type ResultDocument,
  type ResultSizeStats,
  type ResultSummary,
} from '@scopehive/shared';
import {
  type ClassSummary,
  type EdgeFeatures,
  type FeatureInput,
  type FeatureMeasurements,
  measureFeatures,
  type PixelSize,
  type SizeStats,
  summarise,
} from '../core/quantify.ts';
import type { AnalysisImage } from '../image/read-analysis-image.ts';
import type { ResolvedCalibration } from '../microscopy/calibration.ts';
import type { LoadedModel } from '../model/model.ts';
import type { AnalysisPlan } from '../pipeline/plan.ts';

const r = (v: number, digits = 2) => Number(v.toFixed(digits));
/** Physical values keep 6 significant digits: nm-scale particles and µm-scale cells alike. */
const sig = (v: number) => Number(v.toPrecision(6));
/** Counts and areas of all features or one class (ResultTotals in the schema). */
type ResultTotals = Omit<ResultSummary, 'unit' | 'edgeFeatures' | 'areaSource' | 'classes'>;

const sigOrNull = (v: number | null) => (v === null ? null : sig(v));

function stats(s: SizeStats | undefined): ResultSizeStats | undefined {
  if (!s) return undefined;
  return {
    count: s.count,
    mean: sig(s.mean),
    sd: sigOrNull(s.sd),
    median: sigOrNull(s.median),
    d10: sigOrNull(s.d10),
    d50: sigOrNull(s.d50),
    d90: sigOrNull(s.d90),
    min: sig(s.min),
    max: sig(s.max),
  };
}

function roundMeasurements(m: FeatureMeasurements): NonNullable<ResultDetection['measurements']> {
  const round = (values: FeatureMeasurements['pixel']) =>
    Object.fromEntries(
      Object.entries(values).flatMap(([k, v]) => (v === undefined ? [] : [[k, sig(v)] as const])),
    );
  return {
    source: m.source,
    pixel: round(m.pixel),
    ...(m.calibrated ? { calibrated: round(m.calibrated) } : {}),
  };
}

/** One set's totals as the document gives them: areas in nm² when calibrated, else px². */
function resultTotals(t: Omit<ClassSummary, 'className' | 'unit'>, calibrated: boolean): ResultTotals {
  const meanArea = calibrated ? t.meanAreaNm2 : t.meanAreaPx;
  return {
    count: t.count,
    edgeTouchingCount: t.edgeTouchingCount,
    measuredCount: t.measuredCount,
    totalArea: sig(calibrated ? (t.totalAreaNm2 ?? 0) : t.totalAreaPx),
    meanArea: meanArea === undefined ? null : sig(meanArea),
    areaPercent: r(t.areaFraction, 4),
    ...(t.densityPerUm2 !== undefined ? { densityPerUm2: sig(t.densityPerUm2) } : {}),
    ...(t.ecd ? { ecd: stats(t.ecd) } : {}),
    ...(t.feret ? { feret: stats(t.feret) } : {}),
  };
}

/** The model as a result describes it. */
export type ResultModel = Pick<
  LoadedModel,
  'name' | 'file' | 'sha256' | 'provider' | 'inputWidth' | 'inputHeight' | 'output' | 'thresholds'
>;

export interface ResultInputs {
  job: Job;
  model: ResultModel;
  image: Pick<AnalysisImage, 'width' | 'height' | 'format' | 'intensityMapping'>;
  /** The bytes actually analysed (the file may have changed since the job was made). */
  imageSha256: string;
  imageBytes: number;
  /** Detections, with their masks and ImageJ measurements when the model and measurer give them. */
  detections: readonly FeatureInput[];
  plan: AnalysisPlan;
  /** ImageJ's "exclude on edges" for size statistics (default), or `include`. */
  edgeFeatures?: EdgeFeatures;
  /** The node that did the analysis. */
  node: string;
  /** Milliseconds per stage. */
  timings: Record<string, number>;
  now?: Date;
}

/** The pixel size for quantitation, or undefined when the image is uncalibrated. */
export function pixelSizeOf(calibration: ResolvedCalibration): PixelSize | undefined {
  return calibration.source === 'uncalibrated'
    ? undefined
    : { x: calibration.pixelWidth, y: calibration.pixelHeight };
}

/** Builds the result JSON: detections with their measurements, the per-image summary, and provenance. */
export function buildResultDocument(input: ResultInputs): ResultDocument {
  const { job, model, image, plan } = input;
  const { calibration, area: analysedArea } = plan;
  const pixelSize = pixelSizeOf(calibration);
  const features = measureFeatures(input.detections, analysedArea, pixelSize);
  const summary = summarise(features, analysedArea, pixelSize, { edgeFeatures: input.edgeFeatures });
  const counts: Record<string, number> = {};
  for (const f of features) counts[f.className] = (counts[f.className] ?? 0) + 1;
  const detections: ResultDetection[] = features.map((f) => ({
    class: f.className,
    classId: f.classId,
    score: r(f.score, 4),
    box: f.box.map((v) => r(v)) as [number, number, number, number],
    centroid: [r(f.centroidX), r(f.centroidY)],
    widthPx: r(f.widthPx),
    heightPx: r(f.heightPx),
    source: f.source,
    areaPx: r(f.areaPx),
    ecdPx: r(f.ecdPx),
    feretPx: r(f.feretPx),
    edgeTouching: f.edgeTouching,
    ...(f.widthNm !== undefined
      ? {
          widthNm: sig(f.widthNm),
          heightNm: sig(f.heightNm!),
          areaNm2: sig(f.areaNm2!),
          ecdNm: sig(f.ecdNm!),
          feretNm: sig(f.feretNm!),
          centroidNm: [sig(f.centroidXNm!), sig(f.centroidYNm!)] as [number, number],
        }
      : {}),
    ...(f.measurements ? { measurements: roundMeasurements(f.measurements) } : {}),
  }));
  const calibrated = pixelSize !== undefined;
  const resultSummary: ResultSummary = {
    ...resultTotals(summary, calibrated),
    unit: summary.unit,
    edgeFeatures: summary.edgeFeatures,
    areaSource: summary.areaSource,
    classes: summary.classes.map((c) => ({ class: c.className, ...resultTotals(c, calibrated) })),
  };
  return {
    schema: RESULT_SCHEMA,
    jobId: job.id,
    image: {
      path: job.image.path,
      width: image.width,
      height: image.height,
      bytes: input.imageBytes,
      sha256: input.imageSha256,
      format: image.format,
    },
    model: {
      name: model.name,
      file: path.basename(model.file),
      sha256: model.sha256,
      provider: model.provider,
      input: { width: model.inputWidth, height: model.inputHeight },
      layout: model.output.layout,
      ...model.thresholds,
    },
    node: input.node,
    analysedAt: (input.now ?? new Date()).toISOString(),
    calibration: calibrated
      ? {
          source: calibration.source,
          pixelWidthNm: sig(calibration.pixelWidth),
          pixelHeightNm: sig(calibration.pixelHeight),
          originalUnit: calibration.originalUnit,
          detail: calibration.detail,
        }
      : { source: 'uncalibrated', detail: 'no pixel size in the file or settings: sizes are in pixels' },
    analysedArea,
    ...(image.intensityMapping ? { intensityMapping: image.intensityMapping } : {}),
    tiling: {
      tiles: plan.views.kind === 'tiles' ? plan.views.tiles.length : 1,
      mode: plan.tiling.mode,
      overlap: plan.tiling.overlap,
      wholeImagePass: plan.views.kind === 'tiles' && plan.tiling.wholeImagePass,
    },
    timings: Object.fromEntries(Object.entries(input.timings).map(([k, v]) => [k, r(v)])),
    counts,
    summary: resultSummary,
    detections,
    warnings: plan.warnings,
  };
}
