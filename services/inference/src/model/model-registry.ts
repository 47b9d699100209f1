// Transitional (issue 7): the model, its loader and the live registry now live in model.ts, loader.ts
// and registry.ts. This file keeps the importers that are being rewritten alongside working; delete it
// once they import from those modules.
export { type LoadModelOptions, loadModel } from './loader.ts';
export { LoadedModel, type ModelSet, type ModelThresholds as ModelDefaults } from './model.ts';
export { ModelRegistry, type ModelRegistryOptions } from './registry.ts';
