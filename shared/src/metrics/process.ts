import { collectDefaultMetrics, type Registry } from 'prom-client';

/** Process metrics (CPU, memory, event loop lag, …) with the scopehive prefix. */
export function collectProcessMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry, prefix: 'scopehive_' });
  // prom-client also exports the active handle, request and resource counts as gauges ending in
  // `_total`, a suffix reserved for counters (promtool check metrics fails on it). The same figures
  // by type stay (`scopehive_nodejs_active_handles` …); their sum is the total.
  for (const what of ['handles', 'requests', 'resources']) {
    registry.removeSingleMetric(`scopehive_nodejs_active_${what}_total`);
  }
}
