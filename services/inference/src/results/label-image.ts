/**
 * The label image of one image and model: 16-bit, the image's size, pixel value k = the feature on
 * the k-th row written for them (0 = background), so a scientist can open it in ImageJ, Fiji or napari
 * next to the table and check every particle.
 */
import { resultPaths, writeFileAtomic } from '@scopehive/shared';
import sharp from 'sharp';
import type { Mask } from '../core/masks.ts';

/** A feature as the label image needs it: its score (for overlaps) and its mask, if it has one. */
export interface LabelFeature {
  score: number;
  mask?: Mask;
}

/** The most features a 16-bit label image can tell apart. */
export const MAX_LABELS = 65535;

/**
 * Labels for `features` in row order (the k-th feature is label k, from 1). Where masks overlap, the
 * higher-scoring feature owns the pixel (the earlier row on a tie), so every pixel has one owner and
 * measurements taken from the label image never count a pixel twice. Features without a mask, and
 * mask pixels outside the image, label nothing.
 */
export function buildLabelImage(
  width: number,
  height: number,
  features: readonly LabelFeature[],
): Uint16Array {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new RangeError(`label image size must be positive whole numbers, got ${width}×${height}`);
  }
  if (features.length > MAX_LABELS) {
    throw new RangeError(
      `${features.length} features do not fit a 16-bit label image (at most ${MAX_LABELS})`,
    );
  }
  const labels = new Uint16Array(width * height);
  const order = features.map((_, i) => i).sort((i, j) => features[j].score - features[i].score || i - j);
  // Strongest first, and a pixel once labelled is never relabelled: the higher score owns overlaps.
  for (const i of order) {
    const m = features[i].mask;
    if (!m) continue;
    const label = i + 1;
    const x0 = Math.max(0, m.x);
    const x1 = Math.min(width, m.x + m.width);
    for (let r = Math.max(0, -m.y); r < m.height && m.y + r < height; r++) {
      const src = r * m.width - m.x;
      const dst = (m.y + r) * width;
      for (let x = x0; x < x1; x++) {
        if (m.data[src + x] && labels[dst + x] === 0) labels[dst + x] = label;
      }
    }
  }
  return labels;
}

/** Where the label image of `image` (its path in the inbox) and `model` goes: `<image>.<model>.labels.png`. */
export function labelImagePath(resultsDir: string, image: string, model: string): string {
  return resultPaths(resultsDir, image, model).json.replace(/\.json$/, '.labels.png');
}

/**
 * Writes `labels` as a 16-bit greyscale PNG beside the image's other results, atomically and only
 * inside `resultsDir` (a symbolic link planted on the share refuses it). Returns the file written.
 */
export async function writeLabelPng(options: {
  resultsDir: string;
  image: string;
  model: string;
  width: number;
  height: number;
  labels: Uint16Array;
}): Promise<string> {
  const { resultsDir, width, height, labels } = options;
  const file = labelImagePath(resultsDir, options.image, options.model);
  await writeFileAtomic(file, await encodeLabelPng(labels, width, height), { root: resultsDir });
  return file;
}

/** `labels` as a 16-bit greyscale PNG: what is written to the share and sent through the hive. */
export async function encodeLabelPng(labels: Uint16Array, width: number, height: number): Promise<Buffer> {
  if (labels.length !== width * height) {
    throw new RangeError(`label image has ${labels.length} pixels, not ${width}×${height}`);
  }
  return sharp(labels, { raw: { width, height, channels: 1 } })
    .toColourspace('grey16')
    .png({ compressionLevel: 6 })
    .toBuffer();
}

/**
 * A label image PNG another node sent back, as labels; throws one line unless it is a one-channel
 * 16-bit PNG of exactly `width` × `height` (what `encodeLabelPng` writes).
 */
export async function decodeLabelPng(png: Uint8Array, width: number, height: number): Promise<Uint16Array> {
  const image = sharp(png, { limitInputPixels: width * height + 1 });
  const meta = await image.metadata().catch(() => undefined);
  if (meta?.format !== 'png' || meta.depth !== 'ushort' || meta.channels !== 1) {
    throw new Error('label image is not a one-channel 16-bit PNG');
  }
  if (meta.width !== width || meta.height !== height) {
    throw new Error(`label image is ${meta.width}×${meta.height}, not the image's ${width}×${height}`);
  }
  const data = await image.toColourspace('grey16').raw({ depth: 'ushort' }).toBuffer();
  return new Uint16Array(data.buffer, data.byteOffset, data.length / 2);
}
