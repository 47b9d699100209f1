import type { Candidates } from '../decode.ts';
import {
  assertFits,
  candidateSink,
  classMask,
  detectionShape,
  finishCandidates,
  imageOffset,
  knownClassCount,
  toDetections,
} from './detection.ts';
import type { OutputLayoutModule } from './layout-module.ts';

function decodeEndToEnd(
  data: Float32Array,
  base: number,
  k: number,
  confidence: number,
  mask: Uint8Array | undefined,
): Candidates {
  const out = candidateSink(k);
  let count = 0;
  for (let i = 0, row = base; i < k; i++, row += 6) {
    const score = data[row + 4];
    if (!(score >= confidence)) continue;
    // The class id travels as a float; rounding guards against a quantized 2.9999.
    const classId = Math.round(data[row + 5]);
    if (mask !== undefined && mask[classId] !== 1) continue;
    out.boxes.set(data.subarray(row, row + 4), count * 4);
    out.scores[count] = score;
    out.classIds[count] = classId;
    count++;
  }
  return finishCandidates(out, count);
}

const candidates: OutputLayoutModule['candidates'] = (data, dims, shape, options) => {
  const base = imageOffset(data, dims, options.batchIndex ?? 0);
  assertFits(dims[2] === 6, dims, 'yolov10-e2e', shape.numClasses);
  return decodeEndToEnd(data, base, dims[1], options.confidence, classMask(options.classes));
};

/**
 * YOLOv10 (and other end-to-end exports): [b, K, 6] rows of x1, y1, x2, y2, score, class, already
 * suppressed by the model, so no NMS.
 */
export const yolov10EndToEnd: OutputLayoutModule<'yolov10-e2e'> = {
  name: 'yolov10-e2e',
  task: 'detect',
  expected: '[b, K, 6] (YOLOv10 end-to-end)',

  match(outputs, metadata) {
    const shape = detectionShape(outputs);
    if (shape?.cols !== 6) return undefined;
    const classes = knownClassCount(metadata);
    // A single-class YOLOv5 is also [b, N, 6]; only the metadata can tell it from an end-to-end model.
    if (classes === 1 && !metadata.end2end) return undefined;
    return { numClasses: classes ?? 0, numCandidates: shape.rows };
  },

  candidates,
  decode: (data, dims, shape, geometry, options) =>
    toDetections(candidates(data, dims, shape, options), geometry, options, 'none'),
};
