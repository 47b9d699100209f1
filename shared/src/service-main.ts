import { setTimeout as sleep } from 'node:timers/promises';
import { Registry } from 'prom-client';
import { DataVolumeCheck } from './data-volume.ts';
import { type Readiness, startHttpServer } from './http.ts';
import { createLogger, type Logger } from './log.ts';
import { settingsOrExit } from './main-helpers.ts';
import { collectProcessMetrics } from './metrics.ts';
import type { Settings } from './settings.ts';

/**
 * What every service container starts with: settings (a bad value exits with one line), logger,
 * metrics registry, the data-volume check and the HTTP server for /metrics, /healthz and /readyz,
 * up before anything slow (NATS, models) so the device shows why a service is not ready yet.
 */
export async function startServiceBase(options: {
  service: string;
  folders: (settings: Settings) => Record<string, { path: string; writable: boolean }>;
  readiness: () => Readiness;
}): Promise<{
  settings: Settings;
  logger: Logger;
  registry: Registry;
  volume: DataVolumeCheck;
  close(): Promise<void>;
}> {
  const settings = settingsOrExit();
  const logger = createLogger(options.service, settings.logLevel);
  const registry = new Registry();
  registry.setDefaultLabels({ node: settings.nodeName });
  collectProcessMetrics(registry);
  const volume = new DataVolumeCheck(options.folders(settings), (state) => {
    if (state.ready) logger.info('data volume ok');
    else logger.error({ reason: state.reason }, `data volume problem: ${state.reason}`);
  });
  const { server, port } = await startHttpServer({
    host: settings.host,
    port: settings.port,
    registry,
    health: () => volume.state,
    readiness: () => (volume.state.ready ? options.readiness() : volume.state),
  });
  logger.info({ port }, `${options.service} serving /metrics, /healthz and /readyz on port ${port}`);
  // A missing or read-only volume is waited out, not crashed on: a restart loop would hide the cause.
  while (!(await volume.start()).ready) {
    volume.stop();
    await sleep(5000);
  }
  return {
    settings,
    logger,
    registry,
    volume,
    close: async () => {
      volume.stop();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
