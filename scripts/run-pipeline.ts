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
  startService,
} from '@scopehive/shared';

export type PipelineSections = 'paths' | 'watch' | 'analysis' | 'runtime' | 'queue' | 'http' | 'device';

export interface RunningPipeline {
  config: Config<PipelineSections | 'node'>;
  logger: Logger;
  /** The port actually bound (settings may ask for 0: any free port). */
  port: number;
  models: ModelRegistry;
  ingest: Ingest;
  queue: JobQueue;
  /** Stops watching, finishes the jobs in hand, releases the models and closes the port. */
  close(): Promise<void>;
}

/** Starts ingest, inference and the exporter's part in one process, on settings from `env`. */
export async function startPipeline(
  options: { env?: NodeJS.ProcessEnv; logger?: Logger } = {},
): Promise<RunningPipeline> {
  let parts: Pick<RunningPipeline, 'models' | 'ingest' | 'queue'> | undefined;
  const spec: ServiceSpec<PipelineSections> = {
    name: 'scopehive',
    sections: ['paths', 'watch', 'analysis', 'runtime', 'queue', 'http', 'device'],
    folders: ({ paths }) => ({
      inbox: { path: paths.inbox, writable: true },
      models: { path: paths.models, writable: false },
      results: { path: paths.results, writable: true },
      rejected: { path: paths.rejected, writable: true },
    }),
    async compose(ctx) {
      // One ledger: ingest and inference agree on what is done without reading a result twice.
      const ledger = new ResultLedger();
      const { queue } = await ctx.queue();
      const { models } = await composeInference(ctx, { ledger });
      const ingest = await composeIngest(ctx, { models, ledger });
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
