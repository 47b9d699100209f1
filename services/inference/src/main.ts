/**
 * The inference container: models from the share's models folder, jobs from NATS JetStream (or the
 * embedded queue when NATS_URL is unset), results to the share. Several of these processes, on one
 * device or many, share the work.
 */
import { runMain } from '@scopehive/shared';
import { composeInference } from './compose.ts';

await runMain({
  name: 'inference',
  sections: ['paths', 'analysis', 'runtime', 'watch', 'queue', 'http', 'hive'],
  folders: ({ paths }) => ({
    models: { path: paths.models, writable: false },
    inbox: { path: paths.inbox, writable: true },
    results: { path: paths.results, writable: true },
    rejected: { path: paths.rejected, writable: true },
  }),
  waitForFolders: true,
  async compose(ctx) {
    await composeInference(ctx);
    ctx.logger.info({ node: ctx.config.node.name }, 'inference running');
  },
});
