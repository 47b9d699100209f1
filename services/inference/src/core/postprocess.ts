import type { OutputShapeInfo } from './layout.ts';
import { outputLayoutModule } from './layouts/registry.ts';
import type { Letterbox } from './letterbox.ts';
import type { Detection } from './types.ts';

export interface PostprocessOptions {
  confidence: number;
  iou: number;
  maxDetections: number;
  /** Class ids to keep; all when absent. */
  classes?: readonly number[];
  /** Class names by id, from the model metadata. */
  names: readonly string[];
  /** Which image of a batch. */
  batchIndex?: number;
}

/**
 * One image's detections by the model's output layout: decode + NMS (skipped for outputs the model
 * already suppressed; confidence, class filter and maxDetections still apply) + map to source pixels
 * + class names. Drops boxes with zero area after clipping. Detections come out by descending score.
 */
export function postprocess(
  data: Float32Array,
  dims: readonly number[],
  info: OutputShapeInfo,
  g: Letterbox,
  options: PostprocessOptions,
): Detection[] {
  return outputLayoutModule(info.layout).decode(data, dims, info, g, options);
}
