import { makeJob } from '@scopehive/shared';
import { describe, expect, it } from 'vitest';
import type { Detection } from '../../src/core/types.ts';
import { planAnalysis } from '../../src/pipeline/plan.ts';
import { buildResultDocument } from '../../src/results/document.ts';
import { particlesModel } from './fixtures.ts';

const model = particlesModel;
const job = makeJob({
  origin: 'scope-1',
  image: { path: 'day1/grid.tif', bytes: 4096, sha256: 'a'.repeat(64) },
  model,
  seenAt: 0,
});
const detection = (x: number, y: number, w: number, h: number): Detection => ({
  box: [x, y, x + w, y + h],
  score: 0.9,
  classId: 0,
  className: 'particle',
});

function doc(calibrated: boolean, detections: Detection[]) {
  const plan = planAnalysis({
    image: {
      format: 'tiff',
      width: 400,
      height: 300,
      calibrationCandidates: calibrated
        ? [{ pixelWidth: 2, pixelHeight: 2, unit: 'nm', source: 'imagej', detail: 'ImageJ description' }]
        : [],
      warnings: [],
    },
    model,
    tiling: { mode: 'auto', overlap: 0.2, wholeImagePass: false },
    overrides: [],
  });
  return buildResultDocument({
    job,
    model,
    image: { width: 400, height: 300, format: 'tiff' },
    imageSha256: job.image.sha256,
    imageBytes: job.image.bytes,
    detections,
    plan,
    node: 'worker-7',
    timings: { read: 1.234, inference: 10 },
    now: new Date('2026-12-01T12:00:00Z'),
  });
}

describe('buildResultDocument (pure)', () => {
  it('names the job, the image, the model and the node that did the work', () => {
    const d = doc(false, []);
    expect(d.jobId).toBe(job.id);
    expect(d.image).toEqual({
      path: 'day1/grid.tif',
      width: 400,
      height: 300,
      bytes: 4096,
      sha256: 'a'.repeat(64),
      format: 'tiff',
    });
    expect(d.model).toMatchObject({
      name: 'particles',
      file: 'particles.onnx',
      layout: 'yolov8',
      confidence: 0.25,
    });
    expect(d.node).toBe('worker-7');
    expect(d.analysedAt).toBe('2026-12-01T12:00:00.000Z');
    expect(d.timings).toEqual({ read: 1.23, inference: 10 });
    expect(d.tiling).toEqual({ tiles: 1, mode: 'auto', overlap: 0.2, wholeImagePass: false });
  });

  it('gives sizes in nm when the image is calibrated, in pixels otherwise', () => {
    const boxes = [detection(10, 10, 20, 20), detection(100, 100, 10, 40)];
    const px = doc(false, boxes);
    expect(px.calibration.source).toBe('uncalibrated');
    expect(px.detections[0]).toMatchObject({ widthPx: 20, heightPx: 20, areaPx: 400 });
    expect(px.detections[0].widthNm).toBeUndefined();
    const nm = doc(true, boxes);
    expect(nm.calibration).toMatchObject({ source: 'imagej', pixelWidthNm: 2 });
    expect(nm.detections[0]).toMatchObject({ widthNm: 40, heightNm: 40, areaNm2: 1600 });
    expect(nm.counts).toEqual({ particle: 2 });
    expect(nm.summary.count).toBe(2);
  });

  it('is the same document for the same inputs', () => {
    expect(doc(true, [detection(1, 2, 3, 4)])).toEqual(doc(true, [detection(1, 2, 3, 4)]));
  });
});
