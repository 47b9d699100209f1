import type { OutputShapeInfo } from './layout.ts';

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

/**
 * Output arrays sized for every candidate passing: one allocation per image instead of growth checks in the
 * hot loop; `finish` copies out the few that passed so the large arrays die young.
 */
interface Sink {
  boxes: Float32Array;
  scores: Float32Array;
  classIds: Int32Array;
}

function sink(capacity: number): Sink {
  return {
    boxes: new Float32Array(capacity * 4),
    scores: new Float32Array(capacity),
    classIds: new Int32Array(capacity),
  };
}

function finish(s: Sink, count: number): Candidates {
  return {
    boxes: s.boxes.slice(0, count * 4),
    scores: s.scores.slice(0, count),
    classIds: s.classIds.slice(0, count),
    count,
  };
}

/** A lookup table instead of `includes` per candidate; undefined keeps every class. */
function classMask(classes: readonly number[] | undefined): Uint8Array | undefined {
  if (classes === undefined) return undefined;
  const mask = new Uint8Array(classes.reduce((max, id) => Math.max(max, id + 1), 0));
  for (const id of classes) {
    if (Number.isInteger(id) && id >= 0) mask[id] = 1;
  }
  return mask;
}

function assertFits(fits: boolean, dims: readonly number[], info: OutputShapeInfo): void {
  if (!fits) {
    throw new Error(
      `output [${dims.join(', ')}] does not match ${info.layout} with ${info.numClasses} classes`,
    );
  }
}

function imageOffset(data: Float32Array, dims: readonly number[], batchIndex: number): number {
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

function decodeYolov8(
  data: Float32Array,
  base: number,
  n: number,
  numClasses: number,
  confidence: number,
  mask: Uint8Array | undefined,
): Candidates {
  const out = sink(n);
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
    count++;
  }
  return finish(out, count);
}

function decodeYolov5(
  data: Float32Array,
  base: number,
  n: number,
  numClasses: number,
  confidence: number,
  mask: Uint8Array | undefined,
): Candidates {
  const out = sink(n);
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
  return finish(out, count);
}

function decodeEndToEnd(
  data: Float32Array,
  base: number,
  k: number,
  confidence: number,
  mask: Uint8Array | undefined,
): Candidates {
  const out = sink(k);
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
  return finish(out, count);
}

/** Decodes one image of a detector output into candidate boxes in model-input pixels. */
export function decodeOutput(
  data: Float32Array,
  dims: readonly number[],
  info: OutputShapeInfo,
  options: DecodeOptions,
): Candidates {
  const base = imageOffset(data, dims, options.batchIndex ?? 0);
  const mask = classMask(options.classes);
  const { confidence } = options;
  const [, rows, cols] = dims;
  switch (info.layout) {
    case 'yolov8':
      assertFits(rows === 4 + info.numClasses, dims, info);
      return decodeYolov8(data, base, cols, info.numClasses, confidence, mask);
    case 'yolov5':
      assertFits(cols === 5 + info.numClasses, dims, info);
      return decodeYolov5(data, base, rows, info.numClasses, confidence, mask);
    case 'yolov10-e2e':
      assertFits(cols === 6, dims, info);
      return decodeEndToEnd(data, base, rows, confidence, mask);
  }
}
