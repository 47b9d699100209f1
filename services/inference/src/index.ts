export * from './model/model-registry.ts';
export * from './service.ts';
export * from './worker.ts';
