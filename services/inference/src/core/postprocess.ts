import { type Candidates, decodeOutput } from './decode.ts';
import type { OutputShapeInfo } from './layout.ts';
import { type Letterbox, unletterboxBox } from './letterbox.ts';
import { nms, rankByScore } from './nms.ts';
import type { Box, Detection } from './types.ts';

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

function sourceBox(c: Candidates, i: number, g: Letterbox): Box {
  const b = i * 4;
  return unletterboxBox([c.boxes[b], c.boxes[b + 1], c.boxes[b + 2], c.boxes[b + 3]], g);
}

/**
 * Drops candidates that clip to nothing (wholly in the padding) before NMS, so they cannot take
 * maxDetections slots from real findings. Compacts in place: the candidates are this call's own.
 */
function keepInsideImage(c: Candidates, g: Letterbox): Candidates {
  let n = 0;
  for (let i = 0; i < c.count; i++) {
    const box = sourceBox(c, i, g);
    if (!(box[2] > box[0] && box[3] > box[1])) continue;
    if (n !== i) {
      c.boxes.copyWithin(n * 4, i * 4, i * 4 + 4);
      c.scores[n] = c.scores[i];
      c.classIds[n] = c.classIds[i];
    }
    n++;
  }
  return {
    boxes: c.boxes.subarray(0, n * 4),
    scores: c.scores.subarray(0, n),
    classIds: c.classIds.subarray(0, n),
    count: n,
  };
}

/**
 * decode + NMS (skipped for yolov10-e2e, which is already final; still apply confidence, class filter and
 * maxDetections) + map to source pixels + class names. Drops boxes with zero area after clipping.
 * Detections come out by descending score.
 */
export function postprocess(
  data: Float32Array,
  dims: readonly number[],
  info: OutputShapeInfo,
  g: Letterbox,
  options: PostprocessOptions,
): Detection[] {
  const candidates = keepInsideImage(decodeOutput(data, dims, info, options), g);
  // NMS runs in model-input pixels before clipping, as Ultralytics does, so kept sets match its reference.
  const kept =
    info.layout === 'yolov10-e2e'
      ? rankByScore(candidates).slice(0, Math.max(0, options.maxDetections))
      : nms(candidates, { iou: options.iou, maxDetections: options.maxDetections });
  return kept.map((i) => {
    const classId = candidates.classIds[i];
    return {
      classId,
      className: options.names[classId] ?? `class${classId}`,
      score: candidates.scores[i],
      box: sourceBox(candidates, i, g),
    };
  });
}
