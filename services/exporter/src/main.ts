/**
 * The exporter container: device health (CPU, memory, temperatures, disk, GPU) as Prometheus
 * metrics, and the latest annotated image for the Microscope dashboard.
 */
import {
  collectProcessMetrics,
  createLogger,
  DataVolumeCheck,
  onShutdown,
  settingsOrExit,
  shouldPoll,
  startHttpServer,
} from '@scopehive/shared';
import { Registry } from 'prom-client';
import { startDeviceMetrics } from './device-metrics.ts';
import { LatestImage } from './latest-image.ts';

const settings = settingsOrExit();
const logger = createLogger('exporter', settings.logLevel);
const registry = new Registry();
registry.setDefaultLabels({ node: settings.nodeName });
collectProcessMetrics(registry);
const device = startDeviceMetrics({
  registry,
  dataDir: settings.dataDir,
  procRoot: settings.procRoot,
  sysRoot: settings.sysRoot,
  logger,
});
const volume = new DataVolumeCheck({ results: { path: settings.resultsDir, writable: false } }, (state) => {
  if (!state.ready) logger.error({ reason: state.reason }, `data volume problem: ${state.reason}`);
});
await volume.start();
const latest = new LatestImage(settings.resultsDir);
await latest.start({
  usePolling: shouldPoll(settings.polling, settings.resultsDir),
  pollIntervalMs: settings.pollIntervalMs,
});
const { server, port } = await startHttpServer({
  host: settings.host,
  port: settings.port,
  registry,
  health: () => volume.state,
  readiness: () => volume.state,
  routes: (app) => latest.routes(app),
});
logger.info({ port }, `exporter serving /metrics, /healthz, /readyz and /images/latest.jpg on port ${port}`);

onShutdown(async () => {
  device.close();
  volume.stop();
  await latest.close();
  await new Promise((resolve) => server.close(resolve));
});
