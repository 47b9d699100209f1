import sharp from 'sharp';
import type { Detection } from '../core/types.ts';
import type { RgbImage } from '../image/decode-image.ts';
import { type Canvas, drawLabel, type Rgb, strokeMask, strokeRect } from './draw.ts';

/** Saturated colours that stay distinct on grey micrographs as well as on photos. */
const PALETTE: Rgb[] = [
  [255, 56, 56],
  [0, 194, 255],
  [255, 178, 29],
  [61, 219, 134],
  [255, 55, 199],
  [140, 92, 255],
  [207, 210, 49],
  [255, 112, 31],
  [26, 147, 52],
  [255, 255, 255],
];

export function classColour(classId: number): Rgb {
  return PALETTE[classId % PALETTE.length];
}

/** Line width and label scale grow with the image so both stay legible on a 4k micrograph. */
export function annotationScale(width: number, height: number): { line: number; text: number } {
  const side = Math.min(width, height);
  return { line: Math.max(2, Math.round(side / 320)), text: Math.max(2, Math.round(side / 360)) };
}

/**
 * Draws boxes, mask outlines (for a segmentation model's features) and `class score` labels into
 * `canvas`, weakest first so the strongest is on top. A feature with a mask keeps a thin box, so the
 * outline is what stands out.
 */
export function drawDetections(canvas: Canvas, detections: readonly Detection[]): void {
  const { line, text } = annotationScale(canvas.width, canvas.height);
  const ordered = [...detections].sort((a, b) => a.score - b.score);
  for (const d of ordered) {
    const colour = classColour(d.classId);
    strokeRect(canvas, d.box, d.mask ? 1 : line, colour);
    if (d.mask) strokeMask(canvas, d.mask, line, colour);
  }
  for (const d of ordered) {
    drawLabel(
      canvas,
      `${d.className} ${d.score.toFixed(2)}`,
      d.box[0],
      d.box[1],
      text,
      classColour(d.classId),
    );
  }
}

/** The image with its detections drawn, as JPEG bytes (Huffman optimisation off: it doubles the encode time). */
export async function annotateImage(image: RgbImage, detections: readonly Detection[]): Promise<Buffer> {
  const canvas = { width: image.width, height: image.height, rgb: Buffer.from(image.rgb) };
  drawDetections(canvas, detections);
  return sharp(canvas.rgb, { raw: { width: image.width, height: image.height, channels: 3 } })
    .jpeg({ quality: 85, optimiseCoding: false })
    .toBuffer();
}
