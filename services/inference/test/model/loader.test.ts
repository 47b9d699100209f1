import { readFileSync } from 'node:fs';
import path from 'node:path';
import { type Logger, sha256 } from '@scopehive/shared';
import { describe, expect, it } from 'vitest';
import { declaredOutputs, loadModel } from '../../src/model/loader.ts';
import { parseSidecar } from '../../src/model/sidecar.ts';

const sharedDir =
  process.env.SCOPEHIVE_SHARED_DIR ?? path.resolve(import.meta.dirname, '../../../../../shared');
const modelFile = (name: string) => path.join(sharedDir, 'models', `${name}.onnx`);
const defaults = { confidence: 0.25, iou: 0.45, maxDetections: 300 };

function load(name: string, sidecar?: unknown, logger?: Logger, warmUp?: boolean) {
  const file = modelFile(name);
  const bytes = readFileSync(file);
  return loadModel({
    name,
    file,
    bytes,
    sha256: sha256(bytes),
    sidecar: sidecar === undefined ? undefined : parseSidecar(sidecar, `${name}.json`),
    providers: ['cpu'],
    threads: 1,
    sessions: 1,
    defaults,
    logger,
    warmUp,
  });
}

describe('declaredOutputs', () => {
  it('gives the outputs when every dim is a fixed size, else nothing (the warm-up run resolves them)', () => {
    const outputNames = ['output0', 'output1'];
    expect(
      declaredOutputs({
        outputNames,
        outputShapes: [
          [1, 116, 2100],
          [1, 32, 80, 80],
        ],
      }),
    ).toEqual([
      { name: 'output0', dims: [1, 116, 2100] },
      { name: 'output1', dims: [1, 32, 80, 80] },
    ]);
    // A dynamic batch axis by name or as -1, and a runtime that declares no shapes (older builds, as on the Jetsons).
    expect(
      declaredOutputs({
        outputNames,
        outputShapes: [
          ['batch', 116, 2100],
          [1, 32, 80, 80],
        ],
      }),
    ).toBeUndefined();
    expect(
      declaredOutputs({
        outputNames,
        outputShapes: [
          [1, 116, 2100],
          [-1, 32, 80, 80],
        ],
      }),
    ).toBeUndefined();
    expect(declaredOutputs({ outputNames, outputShapes: [[], []] })).toBeUndefined();
    expect(declaredOutputs({ outputNames, outputShapes: [[1, 116, 2100]] })).toBeUndefined();
  });
});

describe('loadModel', () => {
  it.each(['yolo11n_int8', 'yolov10n_int8', 'yolov8n-fp32', 'yolov8n-uint8', 'yolov8n-seg-int8-320'])(
    'reads the same layout from the declared shapes of %s as from a warm-up run',
    async (name) => {
      const warm = await load(name);
      const cold = await load(name, undefined, undefined, false);
      try {
        expect(cold.output).toEqual(warm.output);
        expect([cold.inputWidth, cold.inputHeight]).toEqual([warm.inputWidth, warm.inputHeight]);
        // The same image gives the same raw output on both.
        const input = Float32Array.from(
          { length: 3 * warm.inputWidth * warm.inputHeight },
          (_, i) => (i % 255) / 255,
        );
        const [a, b] = [await warm.run(input.slice()), await cold.run(input.slice())];
        expect(b.dims).toEqual(a.dims);
        expect(Array.from(b.data.subarray(0, 1000))).toEqual(Array.from(a.data.subarray(0, 1000)));
      } finally {
        await Promise.all([warm.dispose(), cold.dispose()]);
      }
    },
  );

  it('reads the layout, input size and class names from the file, with the default thresholds', async () => {
    const model = await load('yolo11n_int8');
    try {
      expect(model.output).toEqual({ layout: 'yolov8', numClasses: 80, numCandidates: 2100 });
      expect([model.inputWidth, model.inputHeight]).toEqual([320, 320]);
      expect(model.names).toHaveLength(80);
      expect(model.names[0]).toBe('person');
      expect(model.thresholds).toEqual(defaults);
      expect(model.classIds).toBeUndefined();
      expect(model.calibrationOverride).toBeUndefined();
      expect(model.tiling).toEqual({});
      expect(model.provider).toBe('cpu');
      expect(model.replicas).toBe(1);
      expect(model.maxBatch).toBe(1);
      const run = await model.run(new Float32Array(3 * 320 * 320));
      expect(run.dims).toEqual([1, 84, 2100]);
    } finally {
      await model.dispose();
    }
  });

  it('reads an end-to-end model as yolov10-e2e with the class count of its names', async () => {
    const model = await load('yolov10n_int8');
    try {
      expect(model.output).toEqual({ layout: 'yolov10-e2e', numClasses: 80, numCandidates: 300 });
    } finally {
      await model.dispose();
    }
  });

  it('takes thresholds, classes, calibration and tiling from the sidecar and warns about unknown keys', async () => {
    const warnings: string[] = [];
    const logger = { warn: (_: unknown, message: string) => warnings.push(message) } as unknown as Logger;
    const model = await load(
      'yolo11n_int8',
      {
        confidence: 0.5,
        maxDetections: 20,
        classes: ['person', 'bus'],
        pixelSize: 2,
        unit: 'nm',
        tiling: 'never',
        confidance: 0.4,
      },
      logger,
    );
    try {
      expect(model.thresholds).toEqual({ confidence: 0.5, iou: 0.45, maxDetections: 20 });
      expect(model.classIds).toEqual([0, 5]);
      expect(model.calibrationOverride?.calibration?.detail).toBe('pixelSize=2 nm in yolo11n_int8 sidecar');
      expect(model.tiling).toEqual({ mode: 'never' });
      expect(warnings).toEqual(['sidecar of yolo11n_int8: unknown settings "confidance" ignored']);
    } finally {
      await model.dispose();
    }
  });

  it('refuses a sidecar class the model does not have', async () => {
    await expect(load('yolo11n_int8', { classes: ['pore'] })).rejects.toThrow(
      'sidecar lists class "pore", which the model does not have',
    );
  });

  it('reads a segmentation model as yolov8-seg, its prototypes from the run', async () => {
    const model = await load('yolov8n-seg-int8-320');
    try {
      expect(model.output).toEqual({ layout: 'yolov8-seg', numClasses: 80, numCandidates: 2100 });
      const run = await model.run(new Float32Array(3 * 320 * 320));
      expect(run.dims).toEqual([1, 116, 2100]);
      // A quarter of the 320 input, not Ultralytics' 160 of a 640 one.
      expect(run.extra?.map((e) => e.dims)).toEqual([[1, 32, 80, 80]]);
    } finally {
      await model.dispose();
    }
  });

  it('refuses a model whose task no output layout serves', async () => {
    // The segmentation model with its metadata's task renamed (same length, so the protobuf stays valid).
    const file = modelFile('yolov8n-seg-int8-320');
    const bytes = Buffer.from(readFileSync(file));
    const at = bytes.indexOf('\x04task\x12\x07segment');
    expect(at).toBeGreaterThan(0);
    bytes.write('posture', at + 7, 'latin1');
    await expect(
      loadModel({
        name: 'posture',
        file,
        bytes,
        sha256: sha256(bytes),
        providers: ['cpu'],
        threads: 1,
        sessions: 1,
        defaults,
      }),
    ).rejects.toThrow(new Error('task "posture" is not supported (supported: detect, segment)'));
  });
});
