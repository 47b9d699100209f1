const BYTE_TO_UNIT = Float32Array.from({ length: 256 }, (_, i) => i / 255);

/** Packs interleaved RGB bytes (HWC, 3 channels, width*height*3) into planar float32 /255 (CHW) at `offset` of `out` (for batches). Throws if sizes mismatch. */
export function packNchw(
  rgb: Uint8Array,
  width: number,
  height: number,
  out: Float32Array,
  offset = 0,
): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new RangeError(`image size must be positive whole numbers, got ${width}×${height}`);
  }
  const plane = width * height;
  if (rgb.length !== plane * 3) {
    throw new RangeError(`expected ${plane * 3} RGB bytes for ${width}×${height}, got ${rgb.length}`);
  }
  if (!Number.isInteger(offset) || offset < 0 || offset + plane * 3 > out.length) {
    throw new RangeError(`tensor of ${out.length} floats has no room for ${plane * 3} at offset ${offset}`);
  }
  const lut = BYTE_TO_UNIT;
  const r = offset;
  const g = offset + plane;
  const b = offset + 2 * plane;
  for (let i = 0, p = 0; i < plane; i++, p += 3) {
    out[r + i] = lut[rgb[p]];
    out[g + i] = lut[rgb[p + 1]];
    out[b + i] = lut[rgb[p + 2]];
  }
}
