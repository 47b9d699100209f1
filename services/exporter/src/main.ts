/**
 * The exporter container: device health (CPU, memory, temperatures, disk, GPU) as Prometheus
 * metrics, and the latest annotated image for the Microscope dashboard.
 */
import { runMain } from '@scopehive/shared';
import { composeExporter } from './compose.ts';

await runMain({
  name: 'exporter',
  sections: ['paths', 'device', 'http', 'queue', 'hive', 'control'],
  folders: ({ paths }) => ({ results: { path: paths.results, writable: false } }),
  waitForFolders: true,
  async compose(ctx) {
    await composeExporter(ctx);
    ctx.logger.info('exporter serving /metrics, /healthz, /readyz and /images/latest.jpg');
  },
});
