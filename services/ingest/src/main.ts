/**
 * The ingest container: watches the share's inbox and publishes one job per (image, model) to NATS
 * JetStream. It only needs model names and hashes, so it reads the models folder without loading.
 */
import { runMain, StartupError } from '@scopehive/shared';
import { composeIngest } from './compose.ts';

await runMain({
  name: 'ingest',
  sections: ['paths', 'watch', 'analysis', 'queue', 'http', 'hive'],
  folders: ({ paths }) => ({
    inbox: { path: paths.inbox, writable: false },
    models: { path: paths.models, writable: false },
    results: { path: paths.results, writable: false },
  }),
  waitForFolders: true,
  async compose(ctx) {
    const { hive } = ctx.config;
    if (hive.enabled && hive.role === 'worker') {
      // A worker has no inbox: the container stays up (balena restarts what exits) and does nothing.
      ctx.logger.info('hive role worker: no inbox on this node, ingest stays idle');
      return;
    }
    if (!ctx.config.queue.natsUrl) {
      throw new StartupError(
        'ingest as its own process needs NATS_URL: the embedded queue cannot reach another process (use `npm start`)',
      );
    }
    await composeIngest(ctx);
    ctx.logger.info({ node: ctx.config.node.name }, 'ingest running');
  },
});
