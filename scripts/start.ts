/**
 * `npm start`: the whole pipeline in one process on a laptop with no balena, GPU or Docker:
 * ingest watches ./data/inbox, inference runs every model in ./data/models over the embedded queue,
 * results land in ./data/results, and one port serves /metrics, /healthz and /readyz.
 */

import { createLogger, onShutdown, settingsOrExit } from '@scopehive/shared';
import { startPipeline } from './run-pipeline.ts';

const settings = settingsOrExit();
const logger = createLogger('scopehive', settings.logLevel);
const pipeline = await startPipeline(settings, logger);
logger.info(
  { port: pipeline.port, inbox: settings.inboxDir, results: settings.resultsDir },
  `scopehive running: drop images into ${settings.inboxDir}; metrics on http://${settings.host}:${pipeline.port}/metrics`,
);

onShutdown(async () => {
  logger.info('stopping');
  await pipeline.close();
});
