import sharp from 'sharp';
import type { Letterbox } from '../core/letterbox.ts';
import { packNchw } from '../core/tensor.ts';
import type { RgbImage } from './decode-image.ts';

const PAD = { r: 114, g: 114, b: 114 };

/**
 * Letterboxes an image into the model input (aspect kept, bilinear, grey 114 padding, centred)
 * and packs it as NCHW float32 /255 into `out` at `offset`. Geometry comes from the pure
 * `letterboxGeometry`, so boxes map back through exactly the same numbers.
 */
export async function letterboxInto(image: RgbImage, g: Letterbox, out: Float32Array, offset = 0): Promise<void> {
  const raw = await sharp(image.rgb, { raw: { width: image.width, height: image.height, channels: 3 } })
    .resize(g.newWidth, g.newHeight, { kernel: 'linear', fit: 'fill' })
    .extend({ top: g.padTop, bottom: g.padBottom, left: g.padLeft, right: g.padRight, background: PAD })
    .raw()
    .toBuffer();
  packNchw(raw, g.inputWidth, g.inputHeight, out, offset);
}
