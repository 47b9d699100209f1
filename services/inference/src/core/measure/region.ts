// Just over 300 lines: the measurement types and the documenting comment are most of it.
/**
 * ImageJ 1.53 "Set Measurements" for the regions of a label image, as "Analyze Particles" reports
 * them when each label k is thresholded k..k (without "include holes", without "exclude on edges").
 *
 * What ImageJ does, and so this module:
 * - A particle is an 8-connected set of pixels (the Wand in legacy mode on a thresholded image).
 * - Holes are excluded from the measured pixels: without "include holes" ImageJ flood-fills the
 *   particle from its first pixel (8-connected) and measures only those pixels, so Area, Mean, Min,
 *   Max, IntDen, the centroid and the fitted ellipse leave holes out. The outline stays the traced
 *   outer border, so Perim., Feret, MinFeret and the convex hull (Solidity = pixels / hull area)
 *   ignore holes. A particle inside another's hole is its own particle.
 * - ImageJ would give one row per 8-connected piece. A label here is one feature, so a label made of
 *   several pieces is measured as one region: every pixel counts for Area, grey values, centroid and
 *   ellipse; Perim. is the sum of the pieces' outer perimeters and Feret/MinFeret/Solidity use the hull
 *   of all their outlines (`components` says how many pieces there were). For one piece every value is
 *   ImageJ's.
 * - Calibrated values scale with the pixel size as ImageJ's do; ImageJ reports Major and Minor only
 *   when pixels are square within 1 %, so `calibrated.major/minor` are null otherwise. The shape
 *   descriptors are unitless: Circ. (capped at 1) and FeretAngle use the calibrated perimeter and
 *   Feret when a pixel size is given, as ImageJ on a calibrated image; AR, Round, Solidity, Angle come
 *   from pixels. ECD = 2·√(Area/π), not an ImageJ column.
 * - Grey values are the original pixel values (raw 16-bit or float); NaN values are left out of
 *   Mean/Min/Max. IntDen = Area × Mean (calibrated area in `calibrated`), RawIntDen = pixels × Mean.
 */

import { fitEllipse, type Moments } from './ellipse.ts';
import { convexHull, type FeretValues, feretValues, polygonArea } from './feret.ts';
import { type Bitmap, components8, type Outline, tracedPerimeter, traceOutline } from './outline.ts';

export interface LabelImage {
  labels: Uint16Array | Uint32Array;
  width: number;
  height: number;
}

export interface PixelSize {
  /** physical size of one pixel along x and y, in `unit` */
  x: number;
  y: number;
  unit: string;
}

export interface MeasureOptions {
  /** the original pixel values, one per pixel of the label image (row-major) */
  grey?: ArrayLike<number>;
  pixelSize?: PixelSize;
}

/** The values that carry a unit: in pixels (pixel², pixel) or in the calibrated unit. */
export interface SizedValues {
  area: number;
  /** centroid */
  x: number;
  y: number;
  perim: number;
  bx: number;
  by: number;
  width: number;
  height: number;
  /** null in calibrated units when pixels are not square (ImageJ reports no ellipse then) */
  major: number | null;
  minor: number | null;
  feret: number;
  minFeret: number;
  ecd: number;
  /** Area × Mean; null without grey values */
  intDen: number | null;
}

export interface GreyValues {
  mean: number;
  min: number;
  max: number;
  rawIntDen: number;
}

export interface RegionMeasurement {
  label: number;
  pixelCount: number;
  /** 8-connected pieces of the label (ImageJ would give one row each) */
  components: number;
  /** the bounding box touches the image border (ImageJ's "exclude on edges" drops these) */
  touchesEdge: boolean;
  pixels: SizedValues;
  calibrated: (SizedValues & { unit: string }) | null;
  angle: number;
  circ: number;
  ar: number;
  round: number;
  solidity: number;
  feretAngle: number;
  /** the Feret diameter's left end, in pixels (ImageJ reports these uncalibrated) */
  feretX: number;
  feretY: number;
  grey: GreyValues | null;
}

/** ImageJ's column heading for each measurement. */
export const IMAGEJ_HEADINGS = {
  area: 'Area',
  mean: 'Mean',
  min: 'Min',
  max: 'Max',
  x: 'X',
  y: 'Y',
  perim: 'Perim.',
  bx: 'BX',
  by: 'BY',
  width: 'Width',
  height: 'Height',
  major: 'Major',
  minor: 'Minor',
  angle: 'Angle',
  circ: 'Circ.',
  feret: 'Feret',
  intDen: 'IntDen',
  rawIntDen: 'RawIntDen',
  feretX: 'FeretX',
  feretY: 'FeretY',
  feretAngle: 'FeretAngle',
  minFeret: 'MinFeret',
  ar: 'AR',
  round: 'Round',
  solidity: 'Solidity',
  ecd: 'ECD',
} as const;

/**
 * Measures every label 1..max present in the image, in one pass over it. Labels with no pixels are
 * absent from the result.
 */
export function measureLabels(image: LabelImage, options: MeasureOptions = {}): RegionMeasurement[] {
  const { labels } = image;
  checkSizes(image, options);
  let maxLabel = 0;
  for (const v of labels) if (v > maxLabel) maxLabel = v;
  // Counting sort of pixel indices by label: each label's pixels, in raster order, side by side.
  const offsets = new Uint32Array(maxLabel + 2);
  for (const v of labels) if (v > 0) offsets[v + 1]++;
  for (let k = 1; k <= maxLabel + 1; k++) offsets[k] += offsets[k - 1];
  const cursor = offsets.slice(0, maxLabel + 1);
  const order = new Uint32Array(offsets[maxLabel + 1]);
  for (let i = 0; i < labels.length; i++) {
    const v = labels[i];
    if (v > 0) order[cursor[v]++] = i;
  }
  const out: RegionMeasurement[] = [];
  for (let k = 1; k <= maxLabel; k++) {
    if (offsets[k + 1] > offsets[k]) {
      out.push(measurePixels(image, k, order.subarray(offsets[k], offsets[k + 1]), options));
    }
  }
  return out;
}

/** Measures one label; null when no pixel has it. */
export function measureLabel(
  image: LabelImage,
  label: number,
  options: MeasureOptions = {},
): RegionMeasurement | null {
  checkSizes(image, options);
  const pixels: number[] = [];
  for (let i = 0; i < image.labels.length; i++) if (image.labels[i] === label) pixels.push(i);
  return pixels.length === 0 ? null : measurePixels(image, label, pixels, options);
}

/** Measures the pixels of one region given as a bitmap (non-zero = inside); null when it is empty. */
export function measureMask(
  mask: ArrayLike<number>,
  width: number,
  height: number,
  options: MeasureOptions = {},
): RegionMeasurement | null {
  const labels = new Uint16Array(width * height);
  for (let i = 0; i < labels.length; i++) labels[i] = mask[i] ? 1 : 0;
  return measureLabel({ labels, width, height }, 1, options);
}

function checkSizes(image: LabelImage, options: MeasureOptions): void {
  const n = image.width * image.height;
  if (image.labels.length !== n) {
    throw new RangeError(`label image has ${image.labels.length} pixels, not ${image.width}×${image.height}`);
  }
  if (options.grey && options.grey.length !== n) {
    throw new RangeError(
      `grey values have ${options.grey.length} pixels, not ${image.width}×${image.height}`,
    );
  }
  const size = options.pixelSize;
  if (size && !(size.x > 0 && size.y > 0 && Number.isFinite(size.x) && Number.isFinite(size.y))) {
    throw new RangeError(`pixel size must be positive and finite, got ${size.x}×${size.y}`);
  }
}

/** `pixels`: the region's pixel indices in raster order. */
function measurePixels(
  image: LabelImage,
  label: number,
  pixels: ArrayLike<number>,
  options: MeasureOptions,
): RegionMeasurement {
  const { width, height } = image;
  let left = width;
  let top = height;
  let right = -1;
  let bottom = -1;
  for (let n = 0; n < pixels.length; n++) {
    const x = pixels[n] % width;
    const y = (pixels[n] - x) / width;
    if (x < left) left = x;
    if (x > right) right = x;
    if (y < top) top = y;
    if (y > bottom) bottom = y;
  }
  const boxWidth = right - left + 1;
  const boxHeight = bottom - top + 1;
  const bitmap: Bitmap = { inside: new Uint8Array(boxWidth * boxHeight), width: boxWidth, height: boxHeight };
  const moments: Moments = { count: pixels.length, sumX: 0, sumY: 0, sumXX: 0, sumYY: 0, sumXY: 0 };
  for (let n = 0; n < pixels.length; n++) {
    const x = (pixels[n] % width) - left;
    const y = Math.floor(pixels[n] / width) - top;
    bitmap.inside[y * boxWidth + x] = 1;
    moments.sumX += x;
    moments.sumY += y;
    moments.sumXX += x * x;
    moments.sumYY += y * y;
    moments.sumXY += x * y;
  }

  const { starts } = components8(bitmap);
  const outlines = starts.map((start) => traceOutline(bitmap, start));
  const vertices: Outline = { xs: [], ys: [] };
  for (const o of outlines) {
    for (let i = 0; i < o.xs.length; i++) {
      vertices.xs.push(o.xs[i] + left);
      vertices.ys.push(o.ys[i] + top);
    }
  }
  const hull = convexHull(vertices);
  const ellipse = fitEllipse(moments, boxWidth, boxHeight);
  const grey = options.grey ? greyValues(options.grey, pixels) : null;
  const count = pixels.length;
  const cx = moments.sumX / count + 0.5 + left;
  const cy = moments.sumY / count + 0.5 + top;

  const sized = (w: number, h: number, feret: FeretValues, squareEnough: boolean): SizedValues => {
    const area = count * w * h;
    return {
      area,
      x: cx * w,
      y: cy * h,
      perim: outlines.reduce((sum, o) => sum + tracedPerimeter(o, w, h), 0),
      bx: left * w,
      by: top * h,
      width: boxWidth * w,
      height: boxHeight * h,
      major: squareEnough ? ellipse.major * w : null,
      minor: squareEnough ? ellipse.minor * w : null,
      feret: feret.feret,
      minFeret: feret.minFeret,
      ecd: 2 * Math.sqrt(area / Math.PI),
      intDen: grey ? area * grey.mean : null,
    };
  };
  const pixelFeret = feretValues(hull);
  const inPixels = sized(1, 1, pixelFeret, true);
  const size = options.pixelSize;
  const calibratedFeret = size ? feretValues(hull, size.x, size.y) : pixelFeret;
  const calibrated = size
    ? {
        ...sized(size.x, size.y, calibratedFeret, Math.abs(size.x - size.y) / size.x < 0.01),
        unit: size.unit,
      }
    : null;
  const forShape = calibrated ?? inPixels;
  const circularity = forShape.perim === 0 ? 0 : (4 * Math.PI * forShape.area) / forShape.perim ** 2;

  return {
    label,
    pixelCount: count,
    components: outlines.length,
    touchesEdge: left === 0 || top === 0 || right === width - 1 || bottom === height - 1,
    pixels: inPixels,
    calibrated,
    angle: ellipse.angle,
    circ: Math.min(circularity, 1),
    ar: ellipse.major / ellipse.minor,
    round: (4 * count) / (Math.PI * ellipse.major * ellipse.major),
    solidity: count / polygonArea(hull),
    feretAngle: calibratedFeret.feretAngle,
    feretX: calibratedFeret.feretX,
    feretY: calibratedFeret.feretY,
    grey,
  };
}

function greyValues(grey: ArrayLike<number>, pixels: ArrayLike<number>): GreyValues | null {
  let sum = 0;
  let n = 0;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < pixels.length; i++) {
    const v = grey[pixels[i]];
    if (Number.isNaN(v)) continue;
    sum += v;
    n++;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (n === 0) return null;
  const mean = sum / n;
  return { mean, min, max, rawIntDen: pixels.length * mean };
}
