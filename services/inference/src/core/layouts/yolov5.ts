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

function decodeYolov5(
  data: Float32Array,
  base: number,
  n: number,
  numClasses: number,
  confidence: number,
  mask: Uint8Array | undefined,
): Candidates {
  const out = candidateSink(n);
  let count = 0;
  const stride = 5 + numClasses;
  for (let i = 0, row = base; i < n; i++, row += stride) {
    const objectness = data[row + 4];
    // Class probabilities are at most 1, so a weak objectness can never reach the threshold.
    if (!(objectness >= confidence)) continue;
    let best = Number.NEGATIVE_INFINITY;
    let bestClass = 0;
    for (let c = 0, p = row + 5; c < numClasses; c++, p++) {
      const s = data[p];
      if (s > best) {
        best = s;
        bestClass = c;
      }
    }
    const score = objectness * best;
    if (!(score >= confidence) || (mask !== undefined && mask[bestClass] !== 1)) continue;
    const hw = data[row + 2] / 2;
    const hh = data[row + 3] / 2;
    const b = count * 4;
    out.boxes[b] = data[row] - hw;
    out.boxes[b + 1] = data[row + 1] - hh;
    out.boxes[b + 2] = data[row] + hw;
    out.boxes[b + 3] = data[row + 1] + hh;
    out.scores[count] = score;
    out.classIds[count] = bestClass;
    count++;
  }
  return finishCandidates(out, count);
}

const candidates: OutputLayoutModule['candidates'] = (data, dims, shape, options) => {
  const base = imageOffset(data, dims, options.batchIndex ?? 0);
  assertFits(dims[2] === 5 + shape.numClasses, dims, 'yolov5', shape.numClasses);
  return decodeYolov5(data, base, dims[1], shape.numClasses, options.confidence, classMask(options.classes));
};

/** YOLOv5 detectors: [b, N, 5+C], one row per anchor: box centre and size, objectness, class probabilities. */
export const yolov5: OutputLayoutModule<'yolov5'> = {
  name: 'yolov5',
  task: 'detect',
  expected: '[b, N, 5+C] (YOLOv5)',
  expectedFor: (numClasses) => `YOLOv5 [b, N, 5+${numClasses}]`,

  match(outputs, metadata) {
    const shape = detectionShape(outputs);
    if (!shape) return undefined;
    const { rows, cols } = shape;
    const classes = knownClassCount(metadata);
    if (classes === undefined) {
      return cols < rows && cols > 5 ? { numClasses: cols - 5, numCandidates: rows } : undefined;
    }
    return cols === 5 + classes ? { numClasses: classes, numCandidates: rows } : undefined;
  },

  candidates,
  decode: (data, dims, shape, geometry, options) =>
    toDetections(candidates(data, dims, shape, options), geometry, options, 'nms'),
};
