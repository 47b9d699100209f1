import type { Candidates, DecodeOptions } from '../decode.ts';
import { type Letterbox, unletterboxBox } from '../letterbox.ts';
import { decodeMask, prototypesOf } from '../masks.ts';
import { nms } from '../nms.ts';
import type { PostprocessOptions } from '../postprocess.ts';
import type { Box, Detection } from '../types.ts';
import { candidateSink, classMask, detectionShape, imageOffset, knownClassCount } from './detection.ts';
import type { LayoutMatch, OutputLayoutModule, OutputShape } from './layout-module.ts';
import { decodeYolov8 } from './yolov8.ts';

/** The prototype output's channels (mask coefficients per box) when it is [b, M, H, W] with M, H, W fixed. */
function maskChannels(outputs: readonly OutputShape[]): number | undefined {
  const dims = outputs[1]?.dims;
  if (dims?.length !== 4) return undefined;
  const [, m, h, w] = dims;
  const fixed = [m, h, w].every((d) => typeof d === 'number' && Number.isInteger(d) && d > 0);
  return fixed ? (m as number) : undefined;
}

function assertSegmentShape(dims: readonly number[], shape: LayoutMatch, channels: number): void {
  if (dims[1] !== 4 + shape.numClasses + channels) {
    throw new Error(
      `output [${dims.join(', ')}] does not match yolov8-seg with ${shape.numClasses} classes and ${channels} mask channels`,
    );
  }
}

/** One image's candidates and each one's anchor (its column, where the mask coefficients are). */
function segmentCandidates(
  data: Float32Array,
  dims: readonly number[],
  shape: LayoutMatch,
  options: DecodeOptions,
): { candidates: Candidates; anchors: Int32Array; base: number } {
  const base = imageOffset(data, dims, options.batchIndex ?? 0);
  if (!(dims[1] > 4 + shape.numClasses)) {
    throw new Error(`output [${dims.join(', ')}] has no mask coefficients after ${shape.numClasses} classes`);
  }
  const n = dims[2];
  const anchors = new Int32Array(n);
  const candidates = decodeYolov8(
    data,
    base,
    n,
    shape.numClasses,
    options.confidence,
    classMask(options.classes),
    anchors,
  );
  return { candidates, anchors: anchors.slice(0, candidates.count), base };
}

/** The candidates whose box keeps some area once clipped to the source image, so padding cannot take slots. */
function insideImage(c: Candidates, g: Letterbox): number[] {
  const inside: number[] = [];
  for (let i = 0; i < c.count; i++) {
    const b = i * 4;
    const box = unletterboxBox([c.boxes[b], c.boxes[b + 1], c.boxes[b + 2], c.boxes[b + 3]], g);
    if (box[2] > box[0] && box[3] > box[1]) inside.push(i);
  }
  return inside;
}

function subset(c: Candidates, keep: readonly number[]): Candidates {
  const out = candidateSink(keep.length);
  keep.forEach((i, k) => {
    out.boxes.set(c.boxes.subarray(i * 4, i * 4 + 4), k * 4);
    out.scores[k] = c.scores[i];
    out.classIds[k] = c.classIds[i];
  });
  return { ...out, count: keep.length };
}

/**
 * Detections with masks: decoded and suppressed exactly as the yolov8 layout does (NMS in input
 * pixels, class-aware), then each kept box's mask coefficients against the prototypes of the same
 * image. Without `prototypes` the detections come without masks.
 */
export function decodeSegments(
  data: Float32Array,
  dims: readonly number[],
  shape: LayoutMatch,
  geometry: Letterbox,
  options: PostprocessOptions,
  prototypes?: { data: Float32Array; dims: readonly number[] },
): Detection[] {
  const { candidates, anchors, base } = segmentCandidates(data, dims, shape, options);
  const protos = prototypes ? prototypesOf(prototypes, options.batchIndex ?? 0) : undefined;
  if (protos) assertSegmentShape(dims, shape, protos.channels);
  const inside = insideImage(candidates, geometry);
  const kept = subset(candidates, inside);
  const n = dims[2];
  const coefficientsStart = base + (4 + shape.numClasses) * n;
  return nms(kept, { iou: options.iou, maxDetections: options.maxDetections }).map((k) => {
    const b = k * 4;
    const box: Box = unletterboxBox(
      [kept.boxes[b], kept.boxes[b + 1], kept.boxes[b + 2], kept.boxes[b + 3]],
      geometry,
    );
    const classId = kept.classIds[k];
    const detection: Detection = {
      classId,
      className: options.names[classId] ?? `class${classId}`,
      score: kept.scores[k],
      box,
    };
    if (!protos) return detection;
    // Channel-major: the coefficients of one anchor are a whole row apart.
    const anchor = anchors[inside[k]];
    const coefficients = new Float32Array(protos.channels);
    for (let c = 0; c < protos.channels; c++) coefficients[c] = data[coefficientsStart + c * n + anchor];
    return { ...detection, mask: decodeMask(protos, coefficients, box, geometry) };
  });
}

/**
 * YOLOv8 and YOLO11 segmentation (`task: segment`): output0 [b, 4+C+M, N] (box, class scores, M mask
 * coefficients per anchor, channel-major) and output1 [b, M, H, W] prototypes, H and W a quarter of the
 * input's (read from the shape, never assumed).
 */
export const yolov8Seg: OutputLayoutModule<'yolov8-seg'> = {
  name: 'yolov8-seg',
  task: 'segment',
  expected: '[b, 4+C+M, N] with prototypes [b, M, H, W] (YOLOv8/11-seg)',
  expectedFor: (numClasses) => `YOLOv8-seg [b, 4+${numClasses}+M, N] with prototypes [b, M, H, W]`,

  match(outputs, metadata) {
    const shape = detectionShape(outputs);
    const channels = maskChannels(outputs);
    if (!shape || channels === undefined) return undefined;
    const { rows, cols } = shape;
    const classes = knownClassCount(metadata) ?? rows - 4 - channels;
    return classes > 0 && rows === 4 + classes + channels && rows < cols
      ? { numClasses: classes, numCandidates: cols }
      : undefined;
  },

  candidates: (data, dims, shape, options) => segmentCandidates(data, dims, shape, options).candidates,
  // Boxes only: masks need the prototype output, which `decodeSegments` takes.
  decode: (data, dims, shape, geometry, options) => decodeSegments(data, dims, shape, geometry, options),
};
