/**
 * The segmentation model of ../shared/models on bus.jpg through real ONNX Runtime: masks in one pass
 * and in tiles, and the label image they make.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { sha256 } from '@scopehive/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { yolov8 } from '../../src/core/layouts/yolov8.ts';
import { letterboxGeometry } from '../../src/core/letterbox.ts';
import { letterboxTensor } from '../../src/core/letterbox-tensor.ts';
import { type Mask, maskArea } from '../../src/core/masks.ts';
import { tileGrid } from '../../src/core/tiling.ts';
import type { Box, Detection } from '../../src/core/types.ts';
import { decodeImage, type RgbImage } from '../../src/image/decode-image.ts';
import { loadModel } from '../../src/model/loader.ts';
import type { LoadedModel } from '../../src/model/model.ts';
import { detectInTiles, detectSingle } from '../../src/pipeline/infer.ts';
import { buildLabelImage } from '../../src/results/label-image.ts';

const sharedDir =
  process.env.SCOPEHIVE_SHARED_DIR ?? path.resolve(import.meta.dirname, '../../../../../shared');
const name = 'yolov8n-seg-int8-320';

function iou(a: Box, b: Box): number {
  const w = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  const h = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  if (w <= 0 || h <= 0) return 0;
  const area = (x: Box) => (x[2] - x[0]) * (x[3] - x[1]);
  return (w * h) / (area(a) + area(b) - w * h);
}

/** Intersection over union of two masks' pixels. */
function maskIou(a: Mask, b: Mask, width: number, height: number): number {
  const la = buildLabelImage(width, height, [{ score: 1, mask: a }]);
  const lb = buildLabelImage(width, height, [{ score: 1, mask: b }]);
  let both = 0;
  let either = 0;
  for (let i = 0; i < la.length; i++) {
    if (la[i] && lb[i]) both++;
    if (la[i] || lb[i]) either++;
  }
  return both / either;
}

/** Columns of the image where the mask has a pixel. */
function maskColumns(m: Mask): { min: number; max: number } {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (let r = 0; r < m.height; r++) {
    for (let c = 0; c < m.width; c++) {
      if (m.data[r * m.width + c]) {
        min = Math.min(min, m.x + c);
        max = Math.max(max, m.x + c);
      }
    }
  }
  return { min, max };
}

describe(`${name} on bus.jpg (real ONNX Runtime)`, () => {
  let model: LoadedModel;
  let image: RgbImage;
  let single: Detection[];
  let asDetector: Detection[];

  beforeAll(async () => {
    const file = path.join(sharedDir, 'models', `${name}.onnx`);
    const bytes = readFileSync(file);
    model = await loadModel({
      name,
      file,
      bytes,
      sha256: sha256(bytes),
      providers: ['cpu'],
      threads: 1,
      sessions: 1,
      defaults: { confidence: 0.25, iou: 0.45, maxDetections: 300 },
    });
    image = await decodeImage(readFileSync(path.join(sharedDir, 'images', 'bus.jpg')), { maxPixels: 1e8 });
    const g = letterboxGeometry(image.width, image.height, model.inputWidth, model.inputHeight);
    const input = new Float32Array(3 * model.inputWidth * model.inputHeight);
    letterboxTensor(image.rgb, g, input);
    let returned: Float32Array = input;
    single = (
      await detectSingle(model, input, g, (b) => {
        returned = b;
      })
    ).detections;
    // The same pixels through the detector path: output0's box and class channels read as YOLOv8.
    const run = await model.run(returned);
    const n = run.dims[2];
    const options = { ...model.thresholds, names: model.names };
    asDetector = yolov8.decode(run.data.subarray(0, 84 * n), [1, 84, n], model.output, g, options);
  }, 60_000);

  afterAll(async () => {
    await model?.dispose();
  });

  it('finds the bus and the three standing persons, with the boxes of the detection path', () => {
    expect(single.map(({ mask, ...d }) => d)).toEqual(asDetector);
    expect(single.map((d) => d.className)).toEqual(['bus', 'person', 'person', 'person']);
    // Scores as this model gives them (MODELS.md documents its detector siblings, not it): ±0.05.
    single.forEach((d, i) => {
      expect(Math.abs(d.score - [0.876, 0.855, 0.761, 0.732][i])).toBeLessThanOrEqual(0.05);
    });
    // The same objects as the documented yolov8n-fp32 boxes.
    const reference: Box[] = [
      [35, 230, 798, 773],
      [50, 397, 243, 904],
      [221, 408, 344, 857],
      [672, 375, 810, 879],
    ];
    single.forEach((d, i) => {
      expect(iou(d.box, reference[i]), `${d.className} ${d.box}`).toBeGreaterThanOrEqual(0.8);
    });
  });

  it('gives every detection a mask inside its box that fills a plausible part of it', () => {
    for (const d of single) {
      const m = d.mask!;
      expect(m.x).toBeGreaterThanOrEqual(Math.floor(d.box[0]));
      expect(m.y).toBeGreaterThanOrEqual(Math.floor(d.box[1]));
      expect(m.x + m.width).toBeLessThanOrEqual(Math.ceil(d.box[2]));
      expect(m.y + m.height).toBeLessThanOrEqual(Math.ceil(d.box[3]));
      const fill = maskArea(m) / ((d.box[2] - d.box[0]) * (d.box[3] - d.box[1]));
      // A bus's side and a standing person fill a third to four fifths of their boxes.
      expect(fill, `${d.className} fills ${fill}`).toBeGreaterThan(0.25);
      expect(fill).toBeLessThan(0.85);
    }
    // The persons side by side do not share pixels to speak of.
    const [, a, b] = single;
    expect(maskIou(a.mask!, b.mask!, image.width, image.height)).toBeLessThan(0.02);
  });

  it('labels each feature in the label image, the bus owning what it shares with a weaker person', () => {
    const labels = buildLabelImage(image.width, image.height, single);
    const counts = new Map<number, number>();
    for (const v of labels) counts.set(v, (counts.get(v) ?? 0) + 1);
    expect([...counts.keys()].sort()).toEqual([0, 1, 2, 3, 4]);
    expect(counts.get(1)).toBe(maskArea(single[0].mask!));
    expect(counts.get(4)!).toBeLessThanOrEqual(maskArea(single[3].mask!));
  });

  it('in tiles gives each object one feature with one mask, joined across the seams', async () => {
    // 640-pixel tiles at 50 % overlap: seams at x 170 and 640, y 220, 440, 640 and 860.
    const tiles = tileGrid(image.width, image.height, { tileWidth: 640, tileHeight: 640, overlap: 0.5 });
    expect(tiles.map((t) => [t.x, t.y])).toEqual([
      [0, 0],
      [170, 0],
      [0, 220],
      [170, 220],
      [0, 440],
      [170, 440],
    ]);
    const tiled = (await detectInTiles(model, image, image, tiles, { wholePass: false })).detections;
    for (const d of single) {
      const same = tiled.filter((t) => t.className === d.className && iou(t.box, d.box) > 0.5);
      expect(same, `${d.className} ${d.box}`).toHaveLength(1);
      expect(maskIou(same[0].mask!, d.mask!, image.width, image.height)).toBeGreaterThan(0.75);
    }
    // No tile holds both x < 170 and x > 640: a bus mask reaching both is the union of two tiles' pieces.
    const bus = tiled.find((t) => t.className === 'bus')!;
    const { min, max } = maskColumns(bus.mask!);
    expect(min).toBeLessThan(170);
    expect(max).toBeGreaterThan(640);
  }, 60_000);
});
