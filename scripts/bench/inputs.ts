import fs from 'node:fs/promises';
import path from 'node:path';
import sharp, { type OverlayOptions } from 'sharp';

/** The benchmark's inputs, made from the sample photos so every run measures the same work. */

/** Distinct photos of the same size and cost: each sample with a different 1-pixel-wide crop. */
export async function makePhotos(samples: readonly string[], dir: string, count: number): Promise<string[]> {
  await fs.mkdir(dir, { recursive: true });
  const files: string[] = [];
  for (let i = 0; i < count; i++) {
    const src = samples[i % samples.length];
    const meta = await sharp(src).metadata();
    const file = path.join(dir, `${String(i).padStart(4, '0')}-${path.basename(src)}`);
    const crop = Math.floor(i / 2);
    await sharp(src)
      .extract({ left: crop, top: 0, width: meta.width! - crop, height: meta.height! })
      .jpeg({ quality: 92 })
      .toFile(file);
    files.push(file);
  }
  return files;
}

/** 4096×4096 16-bit greyscale TIFFs: the sample photos at their original scale on a mid-grey field. */
export async function makeMicrographs(
  samples: readonly string[],
  dir: string,
  count: number,
): Promise<string[]> {
  await fs.mkdir(dir, { recursive: true });
  const files: string[] = [];
  for (let i = 0; i < count; i++) {
    const composite: OverlayOptions[] = [];
    for (let y = 0, k = i; y + 1080 <= 4096; y += 1100) {
      for (let x = 0; x + 1280 <= 4096; x += 1300, k++) {
        composite.push({ input: samples[k % samples.length], left: x + (i % 7), top: y });
      }
    }
    const file = path.join(dir, `${String(i).padStart(4, '0')}-field.tif`);
    await sharp({ create: { width: 4096, height: 4096, channels: 3, background: { r: 90, g: 90, b: 90 } } })
      .composite(composite)
      .greyscale()
      .toColourspace('grey16')
      .tiff({ compression: 'none' })
      .toFile(file);
    files.push(file);
  }
  return files;
}

/**
 * Bare ONNX Runtime: `session.run` one input after another on one session with ONNX Runtime's
 * default threads, inputs prepared beforehand: the reference the pipeline is measured against.
 */
