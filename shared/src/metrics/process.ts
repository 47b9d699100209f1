import { collectDefaultMetrics, type Registry } from 'prom-client';

/**
 * Node's process metrics under prom-client's standard names (`process_cpu_seconds_total`,
 * `process_resident_memory_bytes`, `nodejs_eventloop_lag_seconds`, `nodejs_heap_size_used_bytes` …),
 * unprefixed: stock Node.js and process dashboards query exactly these names.
 */
export function collectProcessMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry });
  // prom-client also exports the active handle, request and resource counts as gauges ending in
  // `_total`, a suffix reserved for counters (promtool check metrics fails on it). The same figures
  // by type stay (`nodejs_active_handles` …); their sum is the total.
  for (const what of ['handles', 'requests', 'resources']) {
    registry.removeSingleMetric(`nodejs_active_${what}_total`);
  }
}
