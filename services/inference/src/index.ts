/** @scopehive/inference: what the other front doors (npm start, the benchmark) and the tests compose. */

export { FileList } from './cli/file-list.ts';
export { composeInference, createModelRegistry, noModelHint } from './compose.ts';
export { createAnalysisWorker } from './compose-analysis.ts';
export { type Letterbox, letterboxGeometry } from './core/letterbox.ts';
export { letterboxTensor } from './core/letterbox-tensor.ts';
export { type Tile, tileGrid } from './core/tiling.ts';
export { type AnalysisImage, readAnalysisImage } from './image/read-analysis-image.ts';
export { loadModelFile, modelSettings } from './model/from-settings.ts';
export type { LoadedModel, ModelSet } from './model/model.ts';
export type { ModelRegistry } from './model/registry.ts';
export { SessionThread } from './model/session-thread.ts';
export { ResultsFolder } from './pipeline/local-share.ts';
export { createPipelineMetrics, featureSizeBuckets, type PipelineMetrics } from './pipeline/metrics.ts';
