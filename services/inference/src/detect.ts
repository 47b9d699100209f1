import { letterboxGeometry } from './core/letterbox.ts';
import { letterboxTensor } from './core/letterbox-tensor.ts';
import {
  DEFAULT_MERGE_IOS,
  isCutByTile,
  mergeTileDetections,
  offsetBox,
  type TileDetection,
} from './core/merge.ts';
import { postprocess } from './core/postprocess.ts';
import type { Tile } from './core/tiling.ts';
import type { Detection } from './core/types.ts';
import type { RgbImage } from './image/decode-image.ts';
import type { LoadedModel } from './model/model-registry.ts';

export interface StageTimes {
  preprocess: number;
  inference: number;
  postprocess: number;
}

/**
 * Runs a model over the tiles of an image (or of its area above a data bar) and merges the findings
 * across the seams. Tiles go to the model in batches when its input has a dynamic batch axis, one at
 * a time otherwise; the next batch is letterboxed while the current one runs (ONNX Runtime works off
 * the main thread), using two input buffers in turn. `wholePass` adds one letterboxed pass over the
 * whole area, for objects larger than the tile overlap.
 */
export async function detectInTiles(
  model: LoadedModel,
  image: RgbImage,
  area: { width: number; height: number },
  tiles: readonly Tile[],
  options: { wholePass: boolean },
  times: StageTimes,
): Promise<Detection[]> {
  const views: Tile[] = [...tiles];
  if (options.wholePass)
    views.push({ x: 0, y: 0, width: area.width, height: area.height, index: tiles.length });
  const per = 3 * model.inputWidth * model.inputHeight;
  const batch = Math.max(1, model.maxBatch);
  // Two inputs in turn: one is with the session thread while the next batch is packed into the other.
  const buffers: Float32Array[] = [new Float32Array(batch * per), new Float32Array(batch * per)];
  const batches: Tile[][] = [];
  for (let i = 0; i < views.length; i += batch) batches.push(views.slice(i, i + batch));
  const region = { imageWidth: image.width };
  const pack = (group: Tile[], buffer: Float32Array) => {
    const t = performance.now();
    const geometries = group.map((tile, i) => {
      const g = letterboxGeometry(tile.width, tile.height, model.inputWidth, model.inputHeight);
      letterboxTensor(image.rgb, g, buffer, i * per, { ...region, x: tile.x, y: tile.y });
      return g;
    });
    times.preprocess += performance.now() - t;
    return geometries;
  };
  const found: TileDetection[] = [];
  let geometries = pack(batches[0], buffers[0]);
  for (let b = 0; b < batches.length; b++) {
    const group = batches[b];
    const started = performance.now();
    const running = model.run(buffers[b % 2], group.length);
    const next = b + 1 < batches.length ? pack(batches[b + 1], buffers[(b + 1) % 2]) : [];
    const output = await running;
    buffers[b % 2] = output.input;
    times.inference += performance.now() - started;
    const t = performance.now();
    group.forEach((tile, i) => {
      const whole = options.wholePass && tile.index === tiles.length;
      const dets = postprocess(output.data, output.dims, model.output, geometries[i], {
        ...model.thresholds,
        classes: model.classIds,
        names: model.names,
        batchIndex: i,
      });
      for (const d of dets) {
        found.push({
          ...d,
          box: offsetBox(d.box, tile),
          cut: !whole && isCutByTile(d.box, tile, area.width, area.height),
        });
      }
    });
    times.postprocess += performance.now() - t;
    geometries = next;
  }
  const t = performance.now();
  const merged = mergeTileDetections(found, {
    iou: model.thresholds.iou,
    ios: DEFAULT_MERGE_IOS,
    maxDetections: model.thresholds.maxDetections,
  });
  times.postprocess += performance.now() - t;
  return merged;
}
