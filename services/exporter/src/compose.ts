import type { ServiceContext } from '@scopehive/shared';
import { hiveReplicas, untilAnswered } from '@scopehive/shared/hive';
import { mountControlApi } from './control/mount.ts';
import { startDeviceMetrics } from './device-metrics.ts';
import { startHiveView } from './hive-view.ts';
import { LatestImage } from './latest-image.ts';
import { supervisorFromEnv } from './supervisor/client.ts';
import { startSupervisorMetrics } from './supervisor/state-metrics.ts';

export type ExporterSections = 'paths' | 'device' | 'queue' | 'hive' | 'control';

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
  // Device management through balena's supervisor: none off balena (the control routes then say so).
  const supervisor = supervisorFromEnv(process.env);
  const supervisorMetrics = startSupervisorMetrics({ client: supervisor, registry: ctx.metrics, logger });
  ctx.onClose(() => supervisorMetrics.close());
  await mountControlApi(ctx, { control: config.control, supervisor });
  // Read on request from the pointer the inference sink writes: no watcher over the results folder.
  const latest = new LatestImage(config.paths.results, logger);
  ctx.routes((app) => latest.routes(app));
  if (config.hive.enabled) startHive(ctx);
}

/**
 * The hive's nodes as metrics, for the Hive dashboard. Not awaited: device metrics are served while
 * NATS is still away.
 */
function startHive(ctx: ServiceContext<ExporterSections>): void {
  const { logger } = ctx;
  let view: { close(): Promise<void> } | undefined;
  ctx
    .queue()
    .then(async ({ jetstream }) => {
      if (!jetstream || ctx.signal.aborted) return;
      const replicas = await untilAnswered(
        'reading the hive’s size',
        async () => hiveReplicas(await jetstream.jetstreamManager()),
        { logger, signal: ctx.signal },
      );
      if (ctx.signal.aborted) return;
      view = startHiveView({ js: jetstream, registry: ctx.metrics, replicas, logger });
    })
    .catch((err) => {
      if (!ctx.signal.aborted) logger.warn({ err: String(err) }, 'hive view not started');
    });
  ctx.onClose(() => view?.close());
}
