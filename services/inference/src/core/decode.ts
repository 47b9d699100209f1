import type { OutputShapeInfo } from './layout.ts';
import { outputLayoutModule } from './layouts/registry.ts';

export interface DecodeOptions {
  confidence: number;
  /** which image of a batch */
  batchIndex?: number;
  /** classes to keep (ids); all when absent */
  classes?: readonly number[];
}

/** Raw candidates in model-input pixels, score >= confidence, NOT yet NMS'd. */
export interface Candidates {
  /** x1,y1,x2,y2 per candidate */
  boxes: Float32Array;
  scores: Float32Array;
  classIds: Int32Array;
  count: number;
}

/** Decodes one image of a model's output into candidate boxes in model-input pixels, by its layout. */
export function decodeOutput(
  data: Float32Array,
  dims: readonly number[],
  info: OutputShapeInfo,
  options: DecodeOptions,
): Candidates {
  return outputLayoutModule(info.layout).candidates(data, dims, info, options);
}
