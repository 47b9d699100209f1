import fs from 'node:fs/promises';

export const RESULT_SCHEMA = 'scopehive.result/1';

export interface ResultDetection {
  class: string;
  classId: number;
  score: number;
  /** x1, y1, x2, y2 in image pixels (after EXIF orientation). */
  box: [number, number, number, number];
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
  /** Milliseconds per stage. */
  timings: Record<string, number>;
  counts: Record<string, number>;
  detections: ResultDetection[];
  annotatedImage?: string;
}

/**
 * True when a result for exactly this content and model version is on disk. Ingest asks before it
 * queues (no re-analysis after a restart) and inference before it runs (redelivered jobs).
 */
export async function hasCurrentResult(
  jsonPath: string,
  imageSha256: string,
  modelSha256: string,
): Promise<boolean> {
  try {
    const doc = JSON.parse(await fs.readFile(jsonPath, 'utf8')) as Partial<ResultDocument>;
    return doc.image?.sha256 === imageSha256 && doc.model?.sha256 === modelSha256;
  } catch {
    return false;
  }
}
