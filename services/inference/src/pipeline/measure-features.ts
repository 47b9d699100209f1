/**
 * Masks to ImageJ measurements, through the label image: the features are written into one label
 * image (where masks overlap the higher score owns the pixel), and every mask measurement is taken
 * from the feature's region in it, so the table and the label image a scientist opens always agree.
 * Grey values come from the file's own samples (raw 16-bit or float), not the 8-bit model input.
 */
import { IMAGEJ_HEADINGS, measureLabels, type RegionMeasurement } from '../core/measure/region.ts';
import type { FeatureInput, Measurements, PixelSize } from '../core/quantify.ts';
import type { Detection } from '../core/types.ts';
import type { AnalysisImage } from '../image/read-analysis-image.ts';
import { buildLabelImage } from '../results/label-image.ts';

/** The grey value ImageJ measures per pixel: the file's own sample, or (R + G + B) / 3 for colour. */
export function greyValues(
  image: Pick<AnalysisImage, 'grey' | 'rgb' | 'width' | 'height'>,
): ArrayLike<number> {
  if (image.grey) return image.grey;
  const n = image.width * image.height;
  const out = new Uint8Array(n);
  // ImageJ's unweighted RGB conversion, integer division as its ColorProcessor does.
  for (let i = 0, j = 0; i < n; i++, j += 3)
    out[i] = Math.floor((image.rgb[j] + image.rgb[j + 1] + image.rgb[j + 2]) / 3);
  return out;
}

type Sized = RegionMeasurement['pixels'];
const SIZED = [
  'area',
  'x',
  'y',
  'perim',
  'bx',
  'by',
  'width',
  'height',
  'major',
  'minor',
  'feret',
  'minFeret',
  'ecd',
] as const;
const SHAPE = ['angle', 'circ', 'ar', 'round', 'solidity', 'feretAngle'] as const;

/** One region's values under ImageJ's column names; `sized` in pixels or in the pixel size's unit. */
function byImageJName(m: RegionMeasurement, sized: Sized): Measurements {
  const out: Measurements = {};
  for (const key of SIZED) {
    const v = sized[key];
    if (v !== null && v !== undefined) out[IMAGEJ_HEADINGS[key]] = v;
  }
  for (const key of SHAPE) {
    const v = m[key];
    if (typeof v === 'number' && Number.isFinite(v)) out[IMAGEJ_HEADINGS[key]] = v;
  }
  if (m.grey) {
    out.Mean = m.grey.mean;
    out.Min = m.grey.min;
    out.Max = m.grey.max;
    out.RawIntDen = m.grey.rawIntDen;
    if (sized.intDen !== null) out.IntDen = sized.intDen;
  }
  return out;
}

/**
 * What a box gives, for a feature whose mask lies wholly under stronger features: its region in the
 * label image is empty, so its row must not claim mask values the label image cannot show.
 */
function boxValues([x1, y1, x2, y2]: Detection['box']): Measurements {
  return {
    Area: (x2 - x1) * (y2 - y1),
    X: (x1 + x2) / 2,
    Y: (y1 + y2) / 2,
    Feret: Math.hypot(x2 - x1, y2 - y1),
  };
}

/**
 * The features with their measurements and the label image, when the model gave masks (label k =
 * the k-th detection; a feature whose pixels all went to stronger features keeps its box values).
 * Without masks: the detections as they are, and no label image.
 */
export function measureMasks(
  image: Pick<AnalysisImage, 'grey' | 'rgb' | 'width' | 'height'>,
  detections: readonly Detection[],
  pixelSize: PixelSize | undefined,
): { features: FeatureInput[]; labels?: Uint16Array } {
  if (!detections.some((d) => d.mask)) return { features: [...detections] };
  const { width, height } = image;
  const labels = buildLabelImage(width, height, detections);
  const regions = measureLabels(
    { labels, width, height },
    { grey: greyValues(image), pixelSize: pixelSize && { x: pixelSize.x, y: pixelSize.y, unit: 'nm' } },
  );
  const byLabel = new Map(regions.map((r) => [r.label, r]));
  const features = detections.map((d, i): FeatureInput => {
    const region = byLabel.get(i + 1);
    if (!d.mask) return d;
    if (!region) return { ...d, measurements: { source: 'box', pixel: boxValues(d.box) } };
    return {
      ...d,
      measurements: {
        source: 'mask',
        pixel: byImageJName(region, region.pixels),
        ...(region.calibrated ? { calibrated: byImageJName(region, region.calibrated) } : {}),
      },
    };
  });
  return { features, labels };
}
