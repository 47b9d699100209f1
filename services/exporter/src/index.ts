export * from './device-metrics.ts';
export * from './latest-image.ts';
