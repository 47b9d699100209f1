/**
 * What the detection layouts share: reading the [batch, rows, columns] output, sized candidate
 * buffers, the class filter, and turning candidates into detections in source pixels.
 */
import type { Candidates } from '../decode.ts';
import { type Letterbox, unletterboxBox } from '../letterbox.ts';
import { nms, rankByScore } from '../nms.ts';
import type { PostprocessOptions } from '../postprocess.ts';
import type { Box, Detection } from '../types.ts';
import type { LayoutMetadata, OutputShape } from './layout-module.ts';

export function isStaticSize(d: number | string | undefined): d is number {
  return typeof d === 'number' && Number.isInteger(d) && d > 0;
}

function isBatchDim(d: number | string | undefined): boolean {
  return typeof d === 'string' || d === -1 || isStaticSize(d);
}

/** Rows and columns of the first output when it is [batch, rows, columns] with only the batch dynamic. */
export function detectionShape(outputs: readonly OutputShape[]): { rows: number; cols: number } | undefined {
  const dims = outputs[0]?.dims;
  if (dims?.length !== 3) return undefined;
  const [batch, rows, cols] = dims;
  if (!isBatchDim(batch) || !isStaticSize(rows) || !isStaticSize(cols)) return undefined;
  return { rows, cols };
}

/** The class count the names give; models exported without names leave it unknown, not 0. */
export function knownClassCount(metadata: LayoutMetadata): number | undefined {
  const n = metadata.names?.length ?? 0;
  return n > 0 ? n : undefined;
}

/**
 * Output arrays sized for every candidate passing: one allocation per image instead of growth checks in
 * the hot loop; `finishCandidates` copies out the few that passed so the large arrays die young.
 */
export interface CandidateSink {
  boxes: Float32Array;
  scores: Float32Array;
  classIds: Int32Array;
}

export function candidateSink(capacity: number): CandidateSink {
  return {
    boxes: new Float32Array(capacity * 4),
    scores: new Float32Array(capacity),
    classIds: new Int32Array(capacity),
  };
}

export function finishCandidates(s: CandidateSink, count: number): Candidates {
  return {
    boxes: s.boxes.slice(0, count * 4),
    scores: s.scores.slice(0, count),
    classIds: s.classIds.slice(0, count),
    count,
  };
}

/** A lookup table instead of `includes` per candidate; undefined keeps every class. */
export function classMask(classes: readonly number[] | undefined): Uint8Array | undefined {
  if (classes === undefined) return undefined;
  const mask = new Uint8Array(classes.reduce((max, id) => Math.max(max, id + 1), 0));
  for (const id of classes) {
    if (Number.isInteger(id) && id >= 0) mask[id] = 1;
  }
  return mask;
}

export function assertFits(fits: boolean, dims: readonly number[], layout: string, numClasses: number): void {
  if (!fits) {
    throw new Error(`output [${dims.join(', ')}] does not match ${layout} with ${numClasses} classes`);
  }
}

/** Where image `batchIndex` starts in a [batch, rows, columns] output; the batch size comes from the data. */
export function imageOffset(data: Float32Array, dims: readonly number[], batchIndex: number): number {
  if (dims.length !== 3) throw new Error(`expected a 3-dimensional output, got [${dims.join(', ')}]`);
  const perImage = dims[1] * dims[2];
  const images = data.length / perImage;
  if (!Number.isInteger(images) || images < 1) {
    throw new Error(`output of ${data.length} values does not hold whole [${dims[1]}, ${dims[2]}] images`);
  }
  if (!Number.isInteger(batchIndex) || batchIndex < 0 || batchIndex >= images) {
    throw new RangeError(`batchIndex ${batchIndex} is outside a batch of ${images}`);
  }
  return batchIndex * perImage;
}

function sourceBox(c: Candidates, i: number, g: Letterbox): Box {
  const b = i * 4;
  return unletterboxBox([c.boxes[b], c.boxes[b + 1], c.boxes[b + 2], c.boxes[b + 3]], g);
}

/**
 * Drops candidates that clip to nothing (wholly in the padding) before suppression, so they cannot take
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
 * Candidates to detections: NMS (or, for outputs the model already suppressed, only the ranking and
 * maxDetections), then source pixels and class names. By descending score.
 */
export function toDetections(
  decoded: Candidates,
  g: Letterbox,
  options: PostprocessOptions,
  suppression: 'nms' | 'none',
): Detection[] {
  const candidates = keepInsideImage(decoded, g);
  // NMS runs in model-input pixels before clipping, as Ultralytics does, so kept sets match its reference.
  const kept =
    suppression === 'none'
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
