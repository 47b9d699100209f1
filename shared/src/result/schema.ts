/** /2: SD and percentiles may be null (too few features), %Area counts overlaps once, edge counts, Feret. */
export const RESULT_SCHEMA = 'scopehive.result/2';

export interface ResultDetection {
  class: string;
  classId: number;
  score: number;
  /** x1, y1, x2, y2 in image pixels (after EXIF orientation). */
  box: [number, number, number, number];
  /** Centroid (of the mask when measured from one, else of the box), pixels. */
  centroid: [number, number];
  widthPx: number;
  heightPx: number;
  /** What area, Feret and edge contact were measured from. */
  source: 'mask' | 'box';
  areaPx: number;
  /** Equivalent circular diameter of the area, 2·√(A/π), pixels. */
  ecdPx: number;
  /** ImageJ's Feret (maximum caliper); from a box, its diagonal √(w² + h²). Pixels. */
  feretPx: number;
  /** The feature touches the analysed area's border: it may be cut off (left out of size statistics by default). */
  edgeTouching: boolean;
  /** Physical sizes in nanometres (nm²), present only when the image is calibrated. */
  widthNm?: number;
  heightNm?: number;
  areaNm2?: number;
  ecdNm?: number;
  feretNm?: number;
  centroidNm?: [number, number];
  /**
   * ImageJ Set Measurements by ImageJ's names (Area, Perim., Major, Minor, Angle, Circ., Feret, …),
   * when measured: in pixels, and calibrated (lengths in nm, areas in nm²) when the image is.
   */
  measurements?: {
    source: 'mask' | 'box';
    pixel: Partial<Record<string, number>>;
    calibrated?: Partial<Record<string, number>>;
  };
}

/**
 * Size statistics (ECD or Feret), in `unit`. SD and the percentiles are null below 2 values: blank
 * rather than a 0 (or the one value) that reads as a measured spread.
 */
export interface ResultSizeStats {
  count: number;
  mean: number;
  sd: number | null;
  median: number | null;
  d10: number | null;
  d50: number | null;
  d90: number | null;
  min: number;
  max: number;
}

/** Counts and areas of a set of features (all, or one class). */
export interface ResultTotals {
  /** Every feature, edge-touching ones included. */
  count: number;
  edgeTouchingCount: number;
  /** Features in the size statistics and mean area. */
  measuredCount: number;
  /** Covered area (overlaps counted once), unit². */
  totalArea: number;
  /** Mean area of the measured features, unit²; null when none. */
  meanArea: number | null;
  /** Covered area over the analysed area, per cent: never above 100. */
  areaPercent: number;
  densityPerUm2?: number;
  ecd?: ResultSizeStats;
  feret?: ResultSizeStats;
}

export interface ResultSummary extends ResultTotals {
  /** `nm` when calibrated (areas in nm², density per µm²), `px` otherwise. */
  unit: 'nm' | 'px';
  /** Whether edge-touching features are in the size statistics (ImageJ's "exclude on edges" by default). */
  edgeFeatures: 'exclude' | 'include';
  /** What the covered area was taken from: masks when every feature has one, else boxes. */
  areaSource: 'mask' | 'box';
  classes: Array<ResultTotals & { class: string }>;
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
