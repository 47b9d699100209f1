import type { ResultModel } from '../../src/results/document.ts';

/** The model a result-writing test describes: a one-class 640-input YOLOv8 detector on the CPU. */
export const particlesModel: ResultModel = {
  name: 'particles',
  file: '/data/models/particles.onnx',
  sha256: 'b'.repeat(64),
  provider: 'cpu',
  inputWidth: 640,
  inputHeight: 640,
  output: { layout: 'yolov8', numClasses: 1, numCandidates: 8400 },
  thresholds: { confidence: 0.25, iou: 0.45, maxDetections: 300 },
};
