import { decodeSegments } from '../core/layouts/yolov8-seg.ts';
import { type Letterbox, letterboxGeometry } from '../core/letterbox.ts';
import { letterboxTensor } from '../core/letterbox-tensor.ts';
import { attachMergedMasks } from '../core/mask-merge.ts';
import { translateMask } from '../core/masks.ts';
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
import type { RunResult } from '../model/session-thread.ts';

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
 * One image's detections from a run: a segmentation model's come with masks (its second output holds
 * the prototypes), in the pixels of the view `geometry` letterboxed.
 */
function decodeRun(
  model: LoadedModel,
  output: RunResult,
  geometry: Letterbox,
  batchIndex: number,
): Detection[] {
  const options = { ...decodeOptions(model), batchIndex };
  if (model.output.layout === 'yolov8-seg') {
    return decodeSegments(output.data, output.dims, model.output, geometry, options, output.extra?.[0]);
  }
  return postprocess(output.data, output.dims, model.output, geometry, options);
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
  const detections = decodeRun(model, output, geometry, 0);
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
      const dets = decodeRun(model, output, head.geometries[i], i);
      for (const d of dets) {
        found.push({
          ...d,
          box: offsetBox(d.box, tile),
          ...(d.mask ? { mask: translateMask(d.mask, tile.x, tile.y) } : {}),
          cut: !whole && isCutByTile(d.box, tile, area.width, area.height),
        });
      }
    });
    times.postprocess += performance.now() - t;
  }
  const t = performance.now();
  const merge = { iou: model.thresholds.iou, ios: DEFAULT_MERGE_IOS };
  const boxes = mergeTileDetections(found, { ...merge, maxDetections: model.thresholds.maxDetections });
  // A feature cut by a seam gets the union of its pieces' masks.
  const merged = found.some((d) => d.mask) ? attachMergedMasks(boxes, found, merge) : boxes;
  times.postprocess += performance.now() - t;
  return { detections: merged, times };
}
