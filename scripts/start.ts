/**
 * `npm start`: the whole pipeline in one process on a laptop with no balena, GPU or Docker:
 * ingest watches ./data/inbox, inference runs every model in ./data/models over the embedded queue,
 * results land in ./data/results, and one port serves /metrics, /healthz and /readyz.
 */
import { keepRunning } from '@scopehive/shared';
import { startNode } from './run-pipeline.ts';

const pipeline = await keepRunning(() => startNode());
const { config, logger } = pipeline;
logger.info(
  { port: pipeline.port, inbox: config.paths.inbox, results: config.paths.results },
  `scopehive running: drop images into ${config.paths.inbox}; metrics on http://${config.http.host}:${pipeline.port}/metrics`,
);
