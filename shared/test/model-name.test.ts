import { describe, expect, it } from 'vitest';
import { isModelEnabled, modelNameFromFile } from '../src/model-name.ts';

describe('modelNameFromFile', () => {
  it('drops the folder and .onnx and makes the rest safe for labels and subjects', () => {
    expect(modelNameFromFile('/data/models/yolov8n-fp32.onnx')).toBe('yolov8n-fp32');
    expect(modelNameFromFile('Cells v2.ONNX')).toBe('Cells_v2');
  });
});

describe('isModelEnabled', () => {
  it('runs every model with all, and only the listed ones otherwise', () => {
    expect(isModelEnabled('particles', ['all'])).toBe(true);
    expect(isModelEnabled('particles', ['cells', 'particles'])).toBe(true);
    expect(isModelEnabled('particles', ['cells'])).toBe(false);
    expect(isModelEnabled('particles', [])).toBe(false);
  });

  it('lets a sidecar switch a model off, never on', () => {
    expect(isModelEnabled('particles', ['all'], { enabled: false })).toBe(false);
    expect(isModelEnabled('particles', ['all'], { enabled: true })).toBe(true);
    expect(isModelEnabled('particles', ['all'], {})).toBe(true);
    expect(isModelEnabled('particles', ['cells'], { enabled: true })).toBe(false);
  });
});
