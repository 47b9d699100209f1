import type { OutputLayout } from './types.ts';

export interface OutputShapeInfo {
  layout: OutputLayout;
  /** Classes the output scores; for `yolov10-e2e` the shape cannot tell, so it is the metadata's count or 0. */
  numClasses: number;
  /** Boxes per image before thresholding: N anchors, or K final slots for `yolov10-e2e`. */
  numCandidates: number;
}

function formatDims(dims: readonly (number | string)[]): string {
  return `[${dims.join(', ')}]`;
}

function isStaticSize(d: number | string | undefined): d is number {
  return typeof d === 'number' && Number.isInteger(d) && d > 0;
}

function isBatchDim(d: number | string | undefined): boolean {
  return typeof d === 'string' || d === -1 || isStaticSize(d);
}

/**
 * Detects the output layout from the output dims ([1,N,5+C] yolov5, [1,4+C,N] yolov8/11, [1,K,6] yolov10
 * end-to-end). `numClasses` (from metadata names) disambiguates; `end2end` (metadata) forces yolov10-e2e when
 * dims are [b,K,6]. Dims may contain -1 or strings for dynamic axes in the batch position only.
 */
export function detectLayout(
  dims: readonly (number | string)[],
  options: { numClasses?: number; end2end?: boolean } = {},
): OutputShapeInfo {
  const shape = formatDims(dims);
  if (dims.length !== 3) {
    throw new Error(`unsupported detection output ${shape}: expected 3 dimensions [batch, rows, columns]`);
  }
  const [batch, rows, cols] = dims;
  if (!isBatchDim(batch) || !isStaticSize(rows) || !isStaticSize(cols)) {
    throw new Error(`unsupported detection output ${shape}: only the batch dimension may be dynamic`);
  }
  // Models exported without names report 0 classes; treat that as unknown rather than as a contradiction.
  const classes = options.numClasses && options.numClasses > 0 ? options.numClasses : undefined;

  // A single-class YOLOv5 is also [b, N, 6]; only the metadata can tell it from an end-to-end model.
  if (cols === 6 && (options.end2end || classes !== 1)) {
    return { layout: 'yolov10-e2e', numClasses: classes ?? 0, numCandidates: rows };
  }

  if (classes !== undefined) {
    const v8 = rows === 4 + classes;
    const v5 = cols === 5 + classes;
    // Both fit only for tiny toy shapes; real detectors have far more candidates than channels.
    if (v8 && (!v5 || rows < cols)) return { layout: 'yolov8', numClasses: classes, numCandidates: cols };
    if (v5) return { layout: 'yolov5', numClasses: classes, numCandidates: rows };
    throw new Error(
      `detection output ${shape} fits neither YOLOv8 [b, 4+${classes}, N] nor YOLOv5 [b, N, 5+${classes}] ` +
        `for the ${classes} class names in the model metadata`,
    );
  }

  if (rows < cols && rows > 4) return { layout: 'yolov8', numClasses: rows - 4, numCandidates: cols };
  if (cols < rows && cols > 5) return { layout: 'yolov5', numClasses: cols - 5, numCandidates: rows };
  throw new Error(
    `unknown detection output ${shape}: expected [b, 4+C, N] (YOLOv8/11), [b, N, 5+C] (YOLOv5) ` +
      'or [b, K, 6] (YOLOv10 end-to-end)',
  );
}
