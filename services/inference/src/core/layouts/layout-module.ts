import type { Candidates, DecodeOptions } from '../decode.ts';
import type { Letterbox } from '../letterbox.ts';
import type { PostprocessOptions } from '../postprocess.ts';
import type { Detection } from '../types.ts';

/** One output of the model graph: its name and dims (the batch axis, and only it, may be dynamic). */
export interface OutputShape {
  name: string;
  dims: readonly (number | string)[];
}

/** What the Ultralytics metadata (or the sidecar's names) says about the outputs. */
export interface LayoutMetadata {
  task?: string;
  end2end?: boolean;
  /** Class names by id; empty when the model has none, which leaves the class count to the shape. */
  names?: readonly string[];
}

/** What a layout reads from the output shapes. */
export interface LayoutMatch {
  /** Classes the output scores; for an end-to-end output the shape cannot tell: the names' count or 0. */
  numClasses: number;
  /** Boxes per image before thresholding: N anchors, or K final slots of an end-to-end output. */
  numCandidates: number;
}

/**
 * One way a model can lay out its outputs. The registry asks each in turn whether it reads a model's
 * outputs (`match`); the first that does decodes every run of that model.
 */
export interface OutputLayoutModule<Name extends string = string> {
  /** Reported in results, logs and the `layout` metric label. */
  readonly name: Name;
  /** The Ultralytics `task` it serves; a model without one is a detector. */
  readonly task: string;
  /** The shape it reads, for the message when nothing fits, e.g. `[b, 4+C, N] (YOLOv8/11)`. */
  readonly expected: string;
  /** The shape it would need for a known class count, when that count fixes the shape. */
  expectedFor?(numClasses: number): string;
  match(outputs: readonly OutputShape[], metadata: LayoutMetadata): LayoutMatch | undefined;
  /** One image's candidates in model-input pixels at or above the confidence, before suppression. */
  candidates(
    data: Float32Array,
    dims: readonly number[],
    shape: LayoutMatch,
    options: DecodeOptions,
  ): Candidates;
  /** One image's detections in source pixels, by descending score. */
  decode(
    data: Float32Array,
    dims: readonly number[],
    shape: LayoutMatch,
    geometry: Letterbox,
    options: PostprocessOptions,
  ): Detection[];
}
