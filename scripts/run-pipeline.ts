/**
 * The whole pipeline in one process: ingest watches the inbox, inference runs every model of the
 * models folder over the embedded queue, results land in the results folder, and one port serves
 * /metrics (pipeline and device metrics), /healthz, /readyz and /images/latest.jpg. `npm start` runs
 * it; the integration tests start and stop it on temporary folders.
 */
import { composeExporter } from '@scopehive/exporter';
import { composeInference, type ModelRegistry } from '@scopehive/inference';
import { composeIngest, type Ingest } from '@scopehive/ingest';
import {
  type Config,
  type JobQueue,
  type Logger,
  ResultLedger,
  type ServiceSpec,
  startModelCatalog,
  startService,
} from '@scopehive/shared';

export type PipelineSections =
  | 'paths'
  | 'watch'
  | 'analysis'
  | 'runtime'
  | 'queue'
  | 'http'
  | 'device'
  | 'control'
  | 'hive';

export interface RunningNode {
  config: Config<PipelineSections | 'node'>;
  logger: Logger;
  /** The port actually bound (settings may ask for 0: any free port). */
  port: number;
  /** None on a hive node with role `microscope`: it runs no models. */
  models?: ModelRegistry;
  /** None on a hive node with role `worker`: it has no inbox. */
  ingest?: Ingest;
  queue: JobQueue;
  /** Stops watching, finishes the jobs in hand, releases the models and closes the port. */
  close(): Promise<void>;
}

/** A node with both parts: every node outside the hive, and a hive node with role `both`. */
export interface RunningPipeline extends RunningNode {
  models: ModelRegistry;
  ingest: Ingest;
}

/** The whole pipeline (ingest and inference), for the callers that use both parts. */
export async function startPipeline(
  options: { env?: NodeJS.ProcessEnv; logger?: Logger } = {},
): Promise<RunningPipeline> {
  const node = await startNode(options);
  const { models, ingest } = node;
  if (models && ingest) return { ...node, models, ingest };
  await node.close();
  throw new Error(
    `startPipeline needs ingest and inference; SCOPEHIVE_ROLE=${node.config.hive.role} runs one`,
  );
}

/**
 * Starts this node's parts in one process, on settings from `env`: ingest, inference and the
 * exporter's part, or in the hive the ones its role runs.
 */
export async function startNode(
  options: { env?: NodeJS.ProcessEnv; logger?: Logger } = {},
): Promise<RunningNode> {
  let parts: Pick<RunningNode, 'models' | 'ingest' | 'queue'> | undefined;
  const spec: ServiceSpec<PipelineSections> = {
    name: 'scopehive',
    sections: ['paths', 'watch', 'analysis', 'runtime', 'queue', 'http', 'device', 'control', 'hive'],
    folders: ({ paths, hive }) => ({
      inbox: { path: paths.inbox, writable: true },
      // A hive worker's models folder is its cache of the hive's models.
      models: { path: paths.models, writable: hive.enabled && hive.role === 'worker' },
      results: { path: paths.results, writable: true },
      rejected: { path: paths.rejected, writable: true },
    }),
    async compose(ctx) {
      // One ledger: ingest and inference agree on what is done without reading a result twice.
      const ledger = new ResultLedger();
      const { queue } = await ctx.queue();
      const { enabled: hive, role } = ctx.config.hive;
      let models: ModelRegistry | undefined;
      let ingest: Ingest | undefined;
      if (hive && role === 'microscope') {
        // No models run here: the models folder is read for names and hashes only, for ingest's
        // jobs, the result writer and the hive's workers (which fetch the files).
        const catalog = await startModelCatalog(ctx);
        ingest = await composeIngest(ctx, { ledger, models: catalog });
        await composeInference(ctx, { ledger, modelFiles: catalog });
      } else {
        ({ models } = await composeInference(ctx, { ledger }));
        if (!hive || role !== 'worker') ingest = await composeIngest(ctx, { models, ledger });
      }
      await composeExporter(ctx);
      parts = { models, ingest, queue };
    },
  };
  const running = await startService(spec, options);
  if (!parts || running.port === undefined) throw new Error('the pipeline did not start');
  return {
    ...parts,
    config: running.config,
    logger: running.logger,
    port: running.port,
    close: running.close,
  };
}
