import { type Letterbox, letterboxGeometry } from '../core/letterbox.ts';
import { letterboxTensor } from '../core/letterbox-tensor.ts';
import {
  DEFAULT_MERGE_IOS,
  isCutByTile,
  mergeTileDetections,
  offsetBox,
  type TileDetection,
} from '../core/merge.ts';
import { postprocess } from '../core/postprocess.ts';
import type { Tile } from '../core/tiling.ts';
import type { Detection } from '../core/types.ts';
import type { RgbImage } from '../image/decode-image.ts';
import type { LoadedModel } from '../model/model.ts';

/** Milliseconds spent in each stage of one image's inference. */
export interface StageTimes {
  preprocess: number;
  inference: number;
  postprocess: number;
}

export interface Inference {
  detections: Detection[];
  times: StageTimes;
}

/** Options for decoding a model's output: its thresholds, the classes reported and their names. */
function decodeOptions(model: LoadedModel) {
  return { ...model.thresholds, classes: model.classIds, names: model.names };
}

/**
 * One letterboxed pass: `input` was packed ahead (while the previous image ran). The input array
 * goes to the session thread and comes back with the output; `recycle` takes it back for reuse.
 */
export async function detectSingle(
  model: LoadedModel,
  input: Float32Array,
  geometry: Letterbox,
  recycle: (buffer: Float32Array) => void,
): Promise<Omit<Inference, 'times'> & { times: Omit<StageTimes, 'preprocess'> }> {
  const output = await model.run(input);
  recycle(output.input);
  const t = performance.now();
  const detections = postprocess(output.data, output.dims, model.output, geometry, decodeOptions(model));
  // The session's own time, not the wait behind a run before it.
  return { detections, times: { inference: output.ms, postprocess: performance.now() - t } };
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
): Promise<Inference> {
  const times: StageTimes = { preprocess: 0, inference: 0, postprocess: 0 };
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
        ...decodeOptions(model),
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
  return { detections: merged, times };
}
