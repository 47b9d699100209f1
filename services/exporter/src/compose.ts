import { type ServiceContext, shouldPoll } from '@scopehive/shared';
import { startDeviceMetrics } from './device-metrics.ts';
import { LatestImage } from './latest-image.ts';

export type ExporterSections = 'paths' | 'watch' | 'device';

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
  const latest = new LatestImage(config.paths.results);
  await latest.start({
    usePolling: shouldPoll(config.watch.polling, config.paths.results),
    pollIntervalMs: config.watch.pollIntervalMs,
  });
  ctx.onClose(() => latest.close());
  ctx.routes((app) => latest.routes(app));
}
