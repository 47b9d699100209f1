/**
 * Micrographs are tiled (issue 10, item 6): only colour photographs are analysed whole in `auto`;
 * greyscale images and every microscopy format are tiled; the folder's `tiling` decides; an image
 * shrunk more than 2× without tiling says so, naming the setting that changes it.
 */
import { describe, expect, it } from 'vitest';
import {
  type ImageFacts,
  isPhotograph,
  looksGrey,
  type PlanInputs,
  planAnalysis,
} from '../../src/pipeline/plan.ts';

const model = { inputWidth: 640, inputHeight: 640 };
const tiling = { mode: 'auto' as const, overlap: 0.2, wholeImagePass: false };

/** Interleaved RGB of n pixels, each from `pixel(i)`. */
function rgbOf(n: number, pixel: (i: number) => [number, number, number]): Uint8Array {
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) out.set(pixel(i), i * 3);
  return out;
}
const GREY = rgbOf(4096, (i) => {
  const v = (i * 37) % 256;
  // JPEG chroma noise on a grey picture: a level or two apart.
  return [v, Math.min(255, v + 2), Math.max(0, v - 1)];
});
const COLOUR = rgbOf(4096, (i) => [(i * 13) % 256, (i * 71) % 256, (i * 29) % 256]);

function plan(image: Partial<ImageFacts>, more: Partial<PlanInputs> = {}) {
  return planAnalysis({
    image: { format: 'jpeg', width: 2048, height: 2048, calibrationCandidates: [], warnings: [], ...image },
    model,
    tiling,
    overrides: [],
    ...more,
  });
}

describe('which images auto leaves whole', () => {
  it('tiles a 2048² greyscale JPEG (it was shrunk 3.2× into the input before)', () => {
    const p = plan({ sourceType: 'rgb8', rgb: GREY });
    expect(p.views.kind).toBe('tiles');
    expect(p.warnings).toEqual([]);
  });

  it('tiles one-channel images whatever their format', () => {
    for (const format of ['jpeg', 'png', 'webp', 'tiff']) {
      expect(plan({ format, sourceType: 'uint8' }).views.kind).toBe('tiles');
    }
  });

  it('leaves a colour photograph whole, as before, and warns that it was shrunk', () => {
    const p = plan({ width: 4000, height: 3000, sourceType: 'rgb8', rgb: COLOUR });
    expect(p.views.kind).toBe('single');
    expect(p.warnings).toHaveLength(1);
    expect(p.warnings[0]).toMatch(/shrunk 6\.3× into the 640×640 model input without tiling/);
    expect(p.warnings[0]).toMatch(/"tiling": "always" in the folder's scopehive\.json/);
    expect(p.warnings[0]).toMatch(/SCOPEHIVE_TILING=always/);
  });

  it('tiles every microscopy format, colour or not, and a colour PNG unless its EXIF names a camera', () => {
    for (const format of ['tiff', 'dm3', 'dm4']) {
      expect(plan({ format, sourceType: 'rgb8', rgb: COLOUR }).views.kind).toBe('tiles');
    }
    expect(plan({ format: 'png', sourceType: 'rgb8', rgb: COLOUR }).views.kind).toBe('tiles');
    expect(plan({ format: 'png', sourceType: 'rgb8', rgb: COLOUR, camera: true }).views.kind).toBe('single');
  });

  it('does not warn when the image is shrunk 2× or less', () => {
    const p = plan({ width: 1280, height: 960, sourceType: 'rgb8', rgb: COLOUR });
    expect(p.views.kind).toBe('single');
    expect(p.warnings).toEqual([]);
  });
});

describe("the folder's tiling", () => {
  it('tiles a colour photograph when the folder says always', () => {
    const p = plan({ width: 4000, height: 3000, rgb: COLOUR }, { folderTiling: 'always' });
    expect(p.views.kind).toBe('tiles');
    expect(p.tiling.mode).toBe('always');
  });

  it('decides over the service and sidecar mode, and its never is named in the warning', () => {
    const p = plan({ sourceType: 'uint8' }, { folderTiling: 'never', tiling: { ...tiling, mode: 'always' } });
    expect(p.views.kind).toBe('single');
    expect(p.warnings[0]).toMatch(/"tiling": "never" in the folder's scopehive\.json/);
    expect(
      plan({ sourceType: 'uint8' }, { folderTiling: 'auto', tiling: { ...tiling, mode: 'never' } }).views
        .kind,
    ).toBe('tiles');
  });

  it('names SCOPEHIVE_TILING when the service setting left a micrograph whole', () => {
    const p = plan({ sourceType: 'uint8' }, { tiling: { ...tiling, mode: 'never' } });
    expect(p.warnings[0]).toMatch(/tiling never.*SCOPEHIVE_TILING=always/);
  });
});

describe('looksGrey and isPhotograph', () => {
  it('tells grey RGB from colour, allowing a small coloured label', () => {
    expect(looksGrey(GREY)).toBe(true);
    expect(looksGrey(COLOUR)).toBe(false);
    const labelled = GREY.slice();
    labelled.set([255, 0, 0], 0);
    expect(looksGrey(labelled)).toBe(true);
  });

  it('knows a photo without pixels only by its format and sample type', () => {
    const facts = { width: 10, height: 10, calibrationCandidates: [], warnings: [] };
    expect(isPhotograph({ ...facts, format: 'jpeg' })).toBe(true);
    expect(isPhotograph({ ...facts, format: 'jpeg', sourceType: 'uint8' })).toBe(false);
    expect(isPhotograph({ ...facts, format: 'tiff', sourceType: 'rgb8' })).toBe(false);
  });
});
