import type { Mask } from './masks.ts';

/** Box corners in pixels: x1, y1, x2, y2. */
export type Box = [number, number, number, number];

export interface Detection {
  classId: number;
  className: string;
  score: number;
  box: Box;
  /** The feature's pixels in source-image pixels, from a segmentation model; absent for a detector. */
  mask?: Mask;
}
