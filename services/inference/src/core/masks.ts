/**
 * Instance masks of segmentation models (Ultralytics YOLOv8/11-seg), pure.
 *
 * A mask is sigmoid(coefficients · prototypes) > 0.5, i.e. the logit coefficients · prototypes > 0,
 * sampled at every source pixel inside the detection's box. Like Ultralytics' `process_mask_native`
 * (its full-resolution path: `scale_masks` then `crop_mask`), the logits are upsampled bilinearly
 * (align_corners=False) through the inverse letterbox and cropped to the box at source resolution; the
 * crop keeps pixel indices x1 <= x < x2, as `crop_mask` does. Ultralytics rounds the letterbox padding
 * to whole prototype pixels (`int(pad)`); the exact geometry is used here, so edges can differ by
 * less than one prototype pixel where the padding is fractional.
 */
import type { Letterbox } from './letterbox.ts';
import type { Box } from './types.ts';

/** A feature's pixels: a bitmap (1 inside) over a rectangle of source pixels, row-major. */
export interface Mask {
  x: number;
  y: number;
  width: number;
  height: number;
  data: Uint8Array;
}

/** One image's mask prototypes: `channels` planes of height × width floats from `offset` of `data`. */
export interface Prototypes {
  data: Float32Array;
  offset: number;
  channels: number;
  height: number;
  width: number;
}

/** Image `batchIndex`'s prototypes in a [b, channels, height, width] output; the sizes come from its dims. */
export function prototypesOf(
  tensor: { data: Float32Array; dims: readonly number[] },
  batchIndex = 0,
): Prototypes {
  const { data, dims } = tensor;
  if (dims.length !== 4 || dims.slice(1).some((d) => !Number.isInteger(d) || d <= 0)) {
    throw new Error(`mask prototypes must be [batch, channels, height, width], got [${dims.join(', ')}]`);
  }
  const [, channels, height, width] = dims;
  const per = channels * height * width;
  if (!Number.isInteger(batchIndex) || batchIndex < 0 || (batchIndex + 1) * per > data.length) {
    throw new RangeError(`no prototypes for image ${batchIndex} in ${data.length} values`);
  }
  return { data, offset: batchIndex * per, channels, height, width };
}

/** Source-pixel indices i in [0, size) with lo <= i < hi: the pixels `crop_mask` keeps. */
function pixelRange(lo: number, hi: number, size: number): [number, number] {
  const start = Math.max(0, Math.ceil(lo));
  const end = Math.min(size, Math.ceil(hi));
  return [start, Math.max(start, end)];
}

/**
 * Bilinear taps (align_corners=False) along one axis for source pixels start..end-1: the lower
 * prototype index relative to `first`, and the weight of the upper one. Source pixel centre → input
 * pixels (scale, padding) → prototype pixels (prototype size / input size) → sample position.
 */
function taps(start: number, end: number, scale: number, pad: number, ratio: number, size: number) {
  const lower = new Int32Array(end - start);
  const weight = new Float32Array(end - start);
  let min = size - 1;
  let max = 0;
  for (let i = start; i < end; i++) {
    const p = Math.min(Math.max(((i + 0.5) * scale + pad) * ratio - 0.5, 0), size - 1);
    const l = Math.min(Math.floor(p), size - 2 < 0 ? 0 : size - 2);
    lower[i - start] = l;
    weight[i - start] = size === 1 ? 0 : p - l;
    min = Math.min(min, l);
    max = Math.max(max, Math.min(l + 1, size - 1));
  }
  for (let k = 0; k < lower.length; k++) lower[k] -= min;
  return { lower, weight, first: min, count: max - min + 1 };
}

/**
 * The mask of one detection: `coefficients` (one per prototype channel) against `protos`, over the
 * source pixels of `box` (source pixels, as the detection reports it) under letterbox `g`.
 */
export function decodeMask(
  protos: Prototypes,
  coefficients: ArrayLike<number>,
  box: Box,
  g: Letterbox,
): Mask {
  if (coefficients.length !== protos.channels) {
    throw new Error(`${coefficients.length} mask coefficients for ${protos.channels} prototypes`);
  }
  const [x0, x1] = pixelRange(box[0], box[2], g.srcWidth);
  const [y0, y1] = pixelRange(box[1], box[3], g.srcHeight);
  const width = x1 - x0;
  const height = y1 - y0;
  const data = new Uint8Array(width * height);
  if (width === 0 || height === 0) return { x: x0, y: y0, width, height, data };
  const cols = taps(x0, x1, g.scale, g.padLeft, protos.width / g.inputWidth, protos.width);
  const rows = taps(y0, y1, g.scale, g.padTop, protos.height / g.inputHeight, protos.height);
  // Logits only on the prototype cells the box samples: at most the whole grid, usually far less.
  const logits = new Float32Array(cols.count * rows.count);
  const plane = protos.width * protos.height;
  for (let c = 0; c < protos.channels; c++) {
    const k = coefficients[c];
    if (k === 0) continue;
    const channel = protos.offset + c * plane;
    for (let r = 0; r < rows.count; r++) {
      const src = channel + (rows.first + r) * protos.width + cols.first;
      const dst = r * cols.count;
      for (let q = 0; q < cols.count; q++) logits[dst + q] += k * protos.data[src + q];
    }
  }
  const right = cols.count > 1 ? 1 : 0;
  const down = rows.count > 1 ? cols.count : 0;
  for (let y = 0; y < height; y++) {
    const wy = rows.weight[y];
    const top = rows.lower[y] * cols.count;
    for (let x = 0; x < width; x++) {
      const wx = cols.weight[x];
      const i = top + cols.lower[x];
      const upper = logits[i] + (logits[i + right] - logits[i]) * wx;
      const lower = logits[i + down] + (logits[i + down + right] - logits[i + down]) * wx;
      if (upper + (lower - upper) * wy > 0) data[y * width + x] = 1;
    }
  }
  return { x: x0, y: y0, width, height, data };
}

/** Pixels in the mask. */
export function maskArea(m: Mask): number {
  let n = 0;
  for (let i = 0; i < m.data.length; i++) n += m.data[i];
  return n;
}

/** The mask moved by (dx, dy) pixels: a tile's mask pasted into the image. Shares the bitmap. */
export function translateMask(m: Mask, dx: number, dy: number): Mask {
  return { ...m, x: m.x + dx, y: m.y + dy };
}

/** The union of masks (in the same pixel frame): one feature's pieces from several tiles. */
export function unionMasks(masks: readonly Mask[]): Mask {
  const parts = masks.filter((m) => m.width > 0 && m.height > 0);
  if (parts.length === 0) return masks[0] ?? { x: 0, y: 0, width: 0, height: 0, data: new Uint8Array(0) };
  if (parts.length === 1) return parts[0];
  const x = Math.min(...parts.map((m) => m.x));
  const y = Math.min(...parts.map((m) => m.y));
  const width = Math.max(...parts.map((m) => m.x + m.width)) - x;
  const height = Math.max(...parts.map((m) => m.y + m.height)) - y;
  const data = new Uint8Array(width * height);
  for (const m of parts) {
    for (let r = 0; r < m.height; r++) {
      const src = r * m.width;
      const dst = (m.y - y + r) * width + (m.x - x);
      for (let c = 0; c < m.width; c++) data[dst + c] |= m.data[src + c];
    }
  }
  return { x, y, width, height, data };
}

/** Calls `visit(x, y)` for every mask pixel with a 4-neighbour outside the mask: its outline. */
export function forEachOutlinePixel(m: Mask, visit: (x: number, y: number) => void): void {
  const { width, height, data } = m;
  for (let r = 0; r < height; r++) {
    for (let c = 0; c < width; c++) {
      const i = r * width + c;
      if (!data[i]) continue;
      const edge =
        c === 0 ||
        r === 0 ||
        c === width - 1 ||
        r === height - 1 ||
        !data[i - 1] ||
        !data[i + 1] ||
        !data[i - width] ||
        !data[i + width];
      if (edge) visit(m.x + c, m.y + r);
    }
  }
}
