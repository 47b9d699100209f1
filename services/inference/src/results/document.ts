import path from 'node:path';
import {
  type Job,
  RESULT_SCHEMA,
  type ResultDetection,
  type ResultDocument,
  type ResultSizeStats,
  type ResultSummary,
} from '@scopehive/shared';
import { measureFeatures, type PixelSize, type SizeStats, summarise } from '../core/quantify.ts';
import type { Detection } from '../core/types.ts';
import type { AnalysisImage } from '../image/read-analysis-image.ts';
import type { ResolvedCalibration } from '../microscopy/calibration.ts';
import type { LoadedModel } from '../model/model.ts';
import type { AnalysisPlan } from '../pipeline/plan.ts';

const r = (v: number, digits = 2) => Number(v.toFixed(digits));
/** Physical values keep 6 significant digits: nm-scale particles and µm-scale cells alike. */
const sig = (v: number) => Number(v.toPrecision(6));

function stats(s: SizeStats | undefined): ResultSizeStats | undefined {
  if (!s) return undefined;
  return {
    count: s.count,
    mean: sig(s.mean),
    sd: sig(s.sd),
    median: sig(s.median),
    d10: sig(s.d10),
    d50: sig(s.d50),
    d90: sig(s.d90),
    min: sig(s.min),
    max: sig(s.max),
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
  detections: readonly Detection[];
  plan: AnalysisPlan;
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
  const summary = summarise(features, analysedArea, pixelSize);
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
    areaPx: r(f.areaPx),
    ecdPx: r(f.ecdPx),
    edgeTouching: f.edgeTouching,
    ...(f.widthNm !== undefined
      ? {
          widthNm: sig(f.widthNm),
          heightNm: sig(f.heightNm!),
          areaNm2: sig(f.areaNm2!),
          ecdNm: sig(f.ecdNm!),
          centroidNm: [sig(f.centroidXNm!), sig(f.centroidYNm!)] as [number, number],
        }
      : {}),
  }));
  const calibrated = pixelSize !== undefined;
  const resultSummary: ResultSummary = {
    count: summary.count,
    unit: summary.unit,
    totalArea: sig(calibrated ? (summary.totalAreaNm2 ?? 0) : summary.totalAreaPx),
    meanArea:
      summary.count === 0
        ? 0
        : sig((calibrated ? (summary.totalAreaNm2 ?? 0) : summary.totalAreaPx) / summary.count),
    areaPercent: r(summary.areaFraction, 4),
    ...(summary.densityPerUm2 !== undefined ? { densityPerUm2: sig(summary.densityPerUm2) } : {}),
    ...(summary.ecd ? { ecd: stats(summary.ecd) } : {}),
    classes: summary.classes.map((c) => ({
      class: c.className,
      count: c.count,
      totalArea: sig(calibrated ? (c.totalAreaNm2 ?? 0) : c.totalAreaPx),
      areaPercent: r(c.areaFraction, 4),
      ...(c.densityPerUm2 !== undefined ? { densityPerUm2: sig(c.densityPerUm2) } : {}),
      ecd: stats(c.ecd),
    })),
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
