/**
 * One simulated node, composed the way the product composes a hive node (scripts/run-pipeline.ts):
 * the real inference (worker, hive source and sink, results writer) and, on a microscope, the real
 * ingest, on the node's own settings and NATS connection. Only the models are the stand-in.
 */
import path from 'node:path';
import { composeInference } from '@scopehive/inference';
import { composeIngest } from '@scopehive/ingest';
import {
  type Logger,
  ResultLedger,
  type RunningService,
  type ServiceSpec,
  startService,
} from '@scopehive/shared';
import { pino } from 'pino';
import type { SimNode } from './fleet.ts';
import { fixedModelSet, type SessionBusy, standInModel } from './stand-in.ts';

/**
 * A job not acknowledged within this is delivered again. Short, so that a killed worker's jobs come
 * back within seconds; long enough that a busy 2-core machine never misses a heartbeat (a third of it).
 */
export const SIM_ACK_WAIT_MS = 5000;

// 'device': the hive heartbeat describes the device, as in run-pipeline.
type Sections = 'paths' | 'watch' | 'analysis' | 'runtime' | 'queue' | 'http' | 'device' | 'hive';

/** The settings of one node, as its device would have them. `natsUrls` lists its own server first. */
export function nodeEnv(node: SimNode, dataDir: string, natsUrls: string[]): Record<string, string> {
  return {
    SCOPEHIVE_DATA_DIR: dataDir,
    SCOPEHIVE_NODE_NAME: node.name,
    SCOPEHIVE_PORT: '0',
    SCOPEHIVE_HIVE: 'true',
    SCOPEHIVE_ROLE: node.microscope ? 'both' : 'worker',
    NATS_URL: natsUrls.join(','),
    SCOPEHIVE_POLLING: 'false',
    // The generated images are complete when they appear (renamed into the inbox).
    SCOPEHIVE_STABLE_MS: '100',
    SCOPEHIVE_ANNOTATE: 'false',
    SCOPEHIVE_ACK_WAIT_MS: String(SIM_ACK_WAIT_MS),
  };
}

/** The node's data folders, made before it starts so that the simulation can watch them. */
export function nodeFolders(dataDir: string): Record<'inbox' | 'models' | 'results' | 'rejected', string> {
  return {
    inbox: path.join(dataDir, 'inbox'),
    models: path.join(dataDir, 'models'),
    results: path.join(dataDir, 'results'),
    rejected: path.join(dataDir, 'rejected'),
  };
}

/** Warnings and errors to stderr, each line naming the node; stdout stays the report's. */
export function nodeLogger(name: string): Logger {
  return pino({ level: 'warn', base: { node: name } }, pino.destination(2));
}

/** Starts one node in this process with a stand-in model taking `msPerImage` per image. */
export function startSimNode(options: {
  env: Record<string, string>;
  msPerImage: number;
  logger: Logger;
  /** Filled with the session's busy time, for the report's diagnostics. */
  busy?: SessionBusy;
}): Promise<RunningService<Sections>> {
  const modelSet = fixedModelSet(standInModel(options.msPerImage, options.busy));
  const spec: ServiceSpec<Sections> = {
    name: 'hive-sim',
    sections: ['paths', 'watch', 'analysis', 'runtime', 'queue', 'http', 'device', 'hive'],
    folders: ({ paths }) => ({
      inbox: { path: paths.inbox, writable: true },
      results: { path: paths.results, writable: true },
      rejected: { path: paths.rejected, writable: true },
    }),
    async compose(ctx) {
      // One ledger, as in run-pipeline: ingest and inference agree on what is done.
      const ledger = new ResultLedger();
      await composeInference(ctx, { ledger, modelSet });
      if (ctx.config.hive.role !== 'worker') await composeIngest(ctx, { models: modelSet, ledger });
    },
  };
  return startService(spec, { env: options.env, logger: options.logger });
}
