import type { ServiceContext } from '@scopehive/shared';
import { startDeviceMetrics } from './device-metrics.ts';
import { LatestImage } from './latest-image.ts';

export type ExporterSections = 'paths' | 'device';

/** Device health as metrics, and the latest annotated image for the Microscope dashboard. */
export async function composeExporter(ctx: ServiceContext<ExporterSections>): Promise<void> {
  const { config, logger } = ctx;
  const device = startDeviceMetrics({
    registry: ctx.metrics,
    dataDir: config.paths.data,
    procRoot: config.device.procRoot,
    sysRoot: config.device.sysRoot,
    logger,
  });
  ctx.onClose(() => device.close());
  // Read on request from the pointer the inference sink writes: no watcher over the results folder.
  const latest = new LatestImage(config.paths.results, logger);
  ctx.routes((app) => latest.routes(app));
}
