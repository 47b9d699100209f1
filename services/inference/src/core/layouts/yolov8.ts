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

/**
 * Candidates of one image whose [4+C(+more), N] block starts at `base`; channels after the class scores
 * (a segmentation model's mask coefficients) are not read. `anchors`, when given, receives each
 * candidate's anchor index, so a caller can find the rest of its column.
 */
export function decodeYolov8(
  data: Float32Array,
  base: number,
  n: number,
  numClasses: number,
  confidence: number,
  mask: Uint8Array | undefined,
  anchors?: Int32Array,
): Candidates {
  const out = candidateSink(n);
  let count = 0;
  const scoresStart = base + 4 * n;
  for (let i = 0; i < n; i++) {
    // Channel-major: the class scores of one anchor are a whole row apart.
    let best = Number.NEGATIVE_INFINITY;
    let bestClass = 0;
    for (let c = 0, p = scoresStart + i; c < numClasses; c++, p += n) {
      const s = data[p];
      if (s > best) {
        best = s;
        bestClass = c;
      }
    }
    // Filtering after the arg-max, as Ultralytics does: a bus that is also a bit of a truck stays a bus.
    if (!(best >= confidence) || (mask !== undefined && mask[bestClass] !== 1)) continue;
    const cx = data[base + i];
    const cy = data[base + n + i];
    const hw = data[base + 2 * n + i] / 2;
    const hh = data[base + 3 * n + i] / 2;
    const b = count * 4;
    out.boxes[b] = cx - hw;
    out.boxes[b + 1] = cy - hh;
    out.boxes[b + 2] = cx + hw;
    out.boxes[b + 3] = cy + hh;
    out.scores[count] = best;
    out.classIds[count] = bestClass;
    if (anchors) anchors[count] = i;
    count++;
  }
  return finishCandidates(out, count);
}

const candidates: OutputLayoutModule['candidates'] = (data, dims, shape, options) => {
  const base = imageOffset(data, dims, options.batchIndex ?? 0);
  assertFits(dims[1] === 4 + shape.numClasses, dims, 'yolov8', shape.numClasses);
  return decodeYolov8(data, base, dims[2], shape.numClasses, options.confidence, classMask(options.classes));
};

/** YOLOv8 and YOLO11 detectors: [b, 4+C, N], channel-major, box centre and size then class scores. */
export const yolov8: OutputLayoutModule<'yolov8'> = {
  name: 'yolov8',
  task: 'detect',
  expected: '[b, 4+C, N] (YOLOv8/11)',
  expectedFor: (numClasses) => `YOLOv8 [b, 4+${numClasses}, N]`,

  match(outputs, metadata) {
    const shape = detectionShape(outputs);
    if (!shape) return undefined;
    const { rows, cols } = shape;
    const classes = knownClassCount(metadata);
    if (classes === undefined) {
      return rows < cols && rows > 4 ? { numClasses: rows - 4, numCandidates: cols } : undefined;
    }
    // When YOLOv5's [b, N, 5+C] fits too (only toy shapes), real detectors have more candidates than channels.
    const fits = rows === 4 + classes && (cols !== 5 + classes || rows < cols);
    return fits ? { numClasses: classes, numCandidates: cols } : undefined;
  },

  candidates,
  decode: (data, dims, shape, geometry, options) =>
    toDetections(candidates(data, dims, shape, options), geometry, options, 'nms'),
};
