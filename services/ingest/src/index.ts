export * from './ingest.ts';
export * from './model-catalog.ts';
