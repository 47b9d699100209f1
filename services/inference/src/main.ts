/**
 * The inference container: models from the share's models folder, jobs from NATS JetStream (or the
 * embedded queue when NATS_URL is unset), results to the share. Several of these processes, on one
 * device or many, share the work. On a hive node with role `microscope` it runs no models, only the
 * writer of the results other nodes send back; it then reads the models folder for names and hashes
 * (to know when an image has all its results), as ingest does.
 */
import { runMain, startModelCatalog } from '@scopehive/shared';
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
    const { config, logger } = ctx;
    if (config.hive.enabled && config.hive.role === 'microscope') {
      const catalog = await startModelCatalog(ctx);
      await composeInference(ctx, { modelFiles: catalog });
      logger.info(
        { node: config.node.name },
        'hive role microscope: writing the results other nodes send back',
      );
      return;
    }
    await composeInference(ctx);
    logger.info(
      { node: config.node.name, role: config.hive.enabled ? config.hive.role : 'device' },
      'inference running',
    );
  },
});
