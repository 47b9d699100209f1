import { describe, expect, it } from 'vitest';
import type { Calibration, CalibrationOverride } from '../../src/microscopy/calibration.ts';
import { type ImageFacts, type PlanInputs, planAnalysis } from '../../src/pipeline/plan.ts';

const model = { inputWidth: 640, inputHeight: 640 };
const tiling = { mode: 'auto' as const, overlap: 0.2, wholeImagePass: false };

const fromFile: Calibration = {
  pixelWidth: 2,
  pixelHeight: 2,
  unit: 'nm',
  source: 'fei-tiff',
  detail: 'PixelWidth in tag 34682',
};
const folder = (override: boolean, pixelNm = 5, cropBottom?: number): CalibrationOverride => ({
  source: 'folder-override',
  origin: 'day1/scopehive.json',
  calibration: {
    pixelWidth: pixelNm,
    pixelHeight: pixelNm,
    unit: 'nm',
    source: 'folder-override',
    detail: 'day1/scopehive.json',
  },
  cropBottom,
  override,
});

function plan(image: Partial<ImageFacts>, more: Partial<PlanInputs> = {}) {
  return planAnalysis({
    image: { format: 'tiff', width: 2048, height: 2048, calibrationCandidates: [], warnings: [], ...image },
    model,
    tiling,
    overrides: [],
    ...more,
  });
}

describe('planAnalysis (pure: no model, queue or disk)', () => {
  it('leaves an uncalibrated photo whole in auto mode: photo models were trained on whole scenes', () => {
    const p = plan({ format: 'jpeg', width: 4000, height: 3000 });
    expect(p.views.kind).toBe('single');
    expect(p.calibration.source).toBe('uncalibrated');
    expect(p.area).toEqual({ width: 4000, height: 3000, source: 'whole image' });
  });

  it('tiles a large micrograph, calibrated or not, and a calibrated photo', () => {
    const micrograph = plan({ width: 2048, height: 2048 });
    expect(micrograph.views.kind).toBe('tiles');
    if (micrograph.views.kind === 'tiles') expect(micrograph.views.tiles.length).toBeGreaterThan(4);
    const photo = plan({ format: 'jpeg', width: 4000, height: 3000 }, { overrides: [folder(true)] });
    expect(photo.views.kind).toBe('tiles');
  });

  it('runs a small image in one letterboxed pass, and honours never and always', () => {
    const small = plan({ width: 700, height: 500 });
    expect(small.views).toMatchObject({ kind: 'single', geometry: { srcWidth: 700, srcHeight: 500 } });
    expect(plan({ width: 4096, height: 4096 }, { tiling: { ...tiling, mode: 'never' } }).views.kind).toBe(
      'single',
    );
    expect(plan({ width: 700, height: 500 }, { tiling: { ...tiling, mode: 'always' } }).views.kind).toBe(
      'tiles',
    );
  });

  it('takes the pixel size from the file unless a folder override forces its own', () => {
    expect(plan({ calibrationCandidates: [fromFile] }).calibration.pixelWidth).toBe(2);
    expect(
      plan({ calibrationCandidates: [fromFile] }, { overrides: [folder(false)] }).calibration.pixelWidth,
    ).toBe(2);
    expect(plan({}, { overrides: [folder(false)] }).calibration.pixelWidth).toBe(5);
    const forced = plan({ calibrationCandidates: [fromFile] }, { overrides: [folder(true)] });
    expect(forced.calibration).toMatchObject({ pixelWidth: 5, source: 'folder-override' });
  });

  it('analyses only the rows above a data bar, from the file or from cropBottom', () => {
    const fromTags = plan({ imageArea: { height: 1900, source: 'ResolutionY in tag 34682' } });
    expect(fromTags.area).toEqual({ width: 2048, height: 1900, source: 'ResolutionY in tag 34682' });
    const cropped = plan({}, { overrides: [folder(true, 5, 148)] });
    expect(cropped.area).toEqual({
      width: 2048,
      height: 1900,
      source: 'cropBottom=148 in day1/scopehive.json',
    });
  });

  it('lists the warnings of the file, the folder settings and the calibration, in that order', () => {
    const bad: Calibration = { ...fromFile, pixelWidth: 0, detail: 'zero' };
    const p = plan(
      { calibrationCandidates: [bad], warnings: ['first page only'] },
      { warnings: ['day1/scopehive.json ignored: bad JSON'] },
    );
    expect(p.warnings[0]).toBe('first page only');
    expect(p.warnings[1]).toBe('day1/scopehive.json ignored: bad JSON');
    expect(p.warnings[2]).toMatch(/fei-tiff calibration ignored/);
  });

  it('gives the same plan for the same inputs', () => {
    const inputs = { calibrationCandidates: [fromFile], width: 3000, height: 2000 };
    expect(plan(inputs)).toEqual(plan(inputs));
  });
});
