import type { Letterbox } from './letterbox.ts';

/** Byte value to model input: /255, as Ultralytics feeds it. */
const UNIT = Float32Array.from({ length: 256 }, (_, i) => i / 255);
const PAD = 114 / 255;

/** For each output position along one axis: the two source samples and the weight of the second. */
function axisTaps(src: number, dst: number): { lo: Int32Array; hi: Int32Array; weight: Float32Array } {
  const lo = new Int32Array(dst);
  const hi = new Int32Array(dst);
  const weight = new Float32Array(dst);
  const ratio = src / dst;
  for (let d = 0; d < dst; d++) {
    // Pixel centres line up (half-pixel offset), as in OpenCV's INTER_LINEAR which Ultralytics uses.
    const f = (d + 0.5) * ratio - 0.5;
    let s = Math.floor(f);
    let w = f - s;
    if (s < 0) {
      s = 0;
      w = 0;
    }
    if (s >= src - 1) {
      s = src - 1;
      w = 0;
    }
    lo[d] = s;
    hi[d] = Math.min(s + 1, src - 1);
    weight[d] = w;
  }
  return { lo, hi, weight };
}

/** A rectangle of a larger image: a tile, or the image area above a data bar. */
export interface SourceRegion {
  /** Top-left corner in the full image. */
  x: number;
  y: number;
  /** Width of the full image in pixels (the row stride). */
  imageWidth: number;
}

/**
 * Letterboxes interleaved RGB bytes straight into a planar float32 tensor (NCHW, /255) at `offset`:
 * bilinear resize to the geometry's new size (OpenCV INTER_LINEAR sampling, rounded to bytes like
 * OpenCV's 8-bit output), grey 114 padding around it. One pass, no intermediate image, so the
 * reference detections of Ultralytics are reproduced and no time is spent on copies. With `region`,
 * the source is the `g.srcWidth × g.srcHeight` rectangle at (x, y) of a larger image (a tile), read
 * in place.
 */
export function letterboxTensor(
  rgb: Uint8Array,
  g: Letterbox,
  out: Float32Array,
  offset = 0,
  region?: SourceRegion,
): void {
  const { srcWidth: sw, srcHeight: sh, newWidth: nw, newHeight: nh, inputWidth: iw, inputHeight: ih } = g;
  if (!region && rgb.length !== sw * sh * 3) {
    throw new RangeError(`expected ${sw * sh * 3} RGB bytes for ${sw}×${sh}, got ${rgb.length}`);
  }
  const { x: rx, y: ry, imageWidth } = region ?? { x: 0, y: 0, imageWidth: sw };
  if (rgb.length % (imageWidth * 3) !== 0) {
    throw new RangeError(`${rgb.length} bytes are not whole rows of a ${imageWidth}-pixel-wide RGB image`);
  }
  if (rx < 0 || ry < 0 || rx + sw > imageWidth || (ry + sh) * imageWidth * 3 > rgb.length) {
    throw new RangeError(
      `region ${sw}×${sh} at (${rx}, ${ry}) lies outside the ${imageWidth}-pixel-wide image`,
    );
  }
  const plane = iw * ih;
  if (!Number.isInteger(offset) || offset < 0 || offset + 3 * plane > out.length) {
    throw new RangeError(`tensor of ${out.length} floats has no room for ${3 * plane} at offset ${offset}`);
  }
  out.fill(PAD, offset, offset + 3 * plane);
  const rowStride = imageWidth * 3;
  const origin = ry * rowStride + rx * 3;
  if (nw === sw && nh === sh) {
    // No resize (a tile, or an image already the input size): bilinear sampling would read each pixel
    // with weight 1 anyway, so copy — ten times faster, and tiles are the hot path of large micrographs.
    for (let y = 0; y < sh; y++) {
      let p = origin + y * rowStride;
      let o = offset + (g.padTop + y) * iw + g.padLeft;
      for (let x = 0; x < sw; x++, o++, p += 3) {
        out[o] = UNIT[rgb[p]];
        out[o + plane] = UNIT[rgb[p + 1]];
        out[o + 2 * plane] = UNIT[rgb[p + 2]];
      }
    }
    return;
  }
  const xs = axisTaps(sw, nw);
  const ys = axisTaps(sh, nh);
  // Byte offsets of the two source columns per output column, computed once for all rows.
  const lo = new Int32Array(nw);
  const hi = new Int32Array(nw);
  for (let dx = 0; dx < nw; dx++) {
    lo[dx] = xs.lo[dx] * 3;
    hi[dx] = xs.hi[dx] * 3;
  }
  const wxs = xs.weight;
  const unit = UNIT;
  const plane2 = 2 * plane;
  for (let dy = 0; dy < nh; dy++) {
    const row0 = origin + ys.lo[dy] * rowStride;
    const row1 = origin + ys.hi[dy] * rowStride;
    const wy = ys.weight[dy];
    let o = offset + (g.padTop + dy) * iw + g.padLeft;
    for (let dx = 0; dx < nw; dx++, o++) {
      const a = row0 + lo[dx];
      const b = row0 + hi[dx];
      const p = row1 + lo[dx];
      const q = row1 + hi[dx];
      const wx = wxs[dx];
      let top = rgb[a] + (rgb[b] - rgb[a]) * wx;
      let bottom = rgb[p] + (rgb[q] - rgb[p]) * wx;
      out[o] = unit[(top + (bottom - top) * wy + 0.5) | 0];
      top = rgb[a + 1] + (rgb[b + 1] - rgb[a + 1]) * wx;
      bottom = rgb[p + 1] + (rgb[q + 1] - rgb[p + 1]) * wx;
      out[o + plane] = unit[(top + (bottom - top) * wy + 0.5) | 0];
      top = rgb[a + 2] + (rgb[b + 2] - rgb[a + 2]) * wx;
      bottom = rgb[p + 2] + (rgb[q + 2] - rgb[p + 2]) * wx;
      out[o + plane2] = unit[(top + (bottom - top) * wy + 0.5) | 0];
    }
  }
}
