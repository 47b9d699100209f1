export const RESULT_SCHEMA = 'scopehive.result/1';

export interface ResultDetection {
  class: string;
  classId: number;
  score: number;
  /** x1, y1, x2, y2 in image pixels (after EXIF orientation). */
  box: [number, number, number, number];
  /** Centroid of the box, pixels. */
  centroid: [number, number];
  widthPx: number;
  heightPx: number;
  areaPx: number;
  /** Equivalent circular diameter of the box area, 2·√(w·h/π), pixels. */
  ecdPx: number;
  /** The box touches the analysed area's border: the feature may be cut off. */
  edgeTouching: boolean;
  /** Physical sizes in nanometres (nm²), present only when the image is calibrated. */
  widthNm?: number;
  heightNm?: number;
  areaNm2?: number;
  ecdNm?: number;
  centroidNm?: [number, number];
}

/** Size statistics of the equivalent circular diameter, in `unit`. */
export interface ResultSizeStats {
  count: number;
  mean: number;
  sd: number;
  median: number;
  d10: number;
  d50: number;
  d90: number;
  min: number;
  max: number;
}

export interface ResultSummary {
  count: number;
  /** `nm` when calibrated (areas in nm², density per µm²), `px` otherwise. */
  unit: 'nm' | 'px';
  totalArea: number;
  meanArea: number;
  /** Sum of box areas over the analysed area, per cent. */
  areaPercent: number;
  densityPerUm2?: number;
  ecd?: ResultSizeStats;
  classes: Array<{
    class: string;
    count: number;
    totalArea: number;
    areaPercent: number;
    densityPerUm2?: number;
    ecd?: ResultSizeStats;
  }>;
}

/** The JSON document written next to every analysed image, per model. */
export interface ResultDocument {
  schema: typeof RESULT_SCHEMA;
  jobId: string;
  image: { path: string; width: number; height: number; bytes: number; sha256: string; format: string };
  model: {
    name: string;
    file: string;
    sha256: string;
    provider: string;
    input: { width: number; height: number };
    layout: string;
    confidence: number;
    iou: number;
    maxDetections: number;
  };
  node: string;
  analysedAt: string;
  /** Pixel size, or `source: "uncalibrated"` (sizes then stay in pixels). */
  calibration: {
    source: string;
    pixelWidthNm?: number;
    pixelHeightNm?: number;
    originalUnit?: string;
    detail: string;
  };
  /** The part of the image analysed: all of it, or the rows above an instrument data bar. */
  analysedArea: { width: number; height: number; source: string };
  /** How 16-bit, 32-bit or float data were mapped to 8 bits for the model. */
  intensityMapping?: unknown;
  tiling: { tiles: number; mode: string; overlap: number; wholeImagePass: boolean };
  summary: ResultSummary;
  /** What the microscopist should know about this file (first page only, ignored metadata, …). */
  warnings: string[];
  /** Milliseconds per stage. */
  timings: Record<string, number>;
  counts: Record<string, number>;
  detections: ResultDetection[];
  annotatedImage?: string;
}
