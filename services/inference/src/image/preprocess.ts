import type { Letterbox } from '../core/letterbox.ts';
import { letterboxTensor } from '../core/letterbox-tensor.ts';
import type { RgbImage } from './decode-image.ts';

/**
 * Letterboxes a decoded image into the model input (aspect kept, bilinear, grey 114 padding,
 * centred) as NCHW float32 /255 at `offset` of `out`. Geometry comes from the pure
 * `letterboxGeometry`, so boxes map back through exactly the same numbers.
 */
export async function letterboxInto(
  image: RgbImage,
  g: Letterbox,
  out: Float32Array,
  offset = 0,
): Promise<void> {
  letterboxTensor(image.rgb, g, out, offset);
}
