import { type Letterbox, letterboxGeometry } from './core/letterbox.ts';
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
 * a time otherwise. Every session of the model has a batch, one more is queued behind them, and the
 * batch after that is letterboxed meanwhile, so no session waits for this thread. `wholePass` adds one letterboxed pass over the
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
  const batches: Tile[][] = [];
  for (let i = 0; i < views.length; i += batch) batches.push(views.slice(i, i + batch));
  // Inputs in turn: one running in each session, one queued behind them, one being packed.
  const inFlight = model.replicas + 1;
  const free: Float32Array[] = Array.from({ length: inFlight + 1 }, () => new Float32Array(batch * per));
  const pending: Array<{
    group: Tile[];
    geometries: Letterbox[];
    run: ReturnType<LoadedModel['run']>;
  }> = [];
  let next = 0;
  const submit = () => {
    const group = batches[next++];
    const buffer = free.pop()!;
    const t = performance.now();
    const geometries = group.map((tile, i) => {
      const g = letterboxGeometry(tile.width, tile.height, model.inputWidth, model.inputHeight);
      letterboxTensor(image.rgb, g, buffer, i * per, { imageWidth: image.width, x: tile.x, y: tile.y });
      return g;
    });
    times.preprocess += performance.now() - t;
    pending.push({ group, geometries, run: model.run(buffer, group.length) });
  };
  const found: TileDetection[] = [];
  while (next < batches.length && pending.length < inFlight) submit();
  while (pending.length > 0) {
    const head = pending.shift()!;
    const output = await head.run;
    times.inference += output.ms;
    free.push(output.input);
    if (next < batches.length) submit();
    const t = performance.now();
    head.group.forEach((tile, i) => {
      const whole = options.wholePass && tile.index === tiles.length;
      const dets = postprocess(output.data, output.dims, model.output, head.geometries[i], {
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
