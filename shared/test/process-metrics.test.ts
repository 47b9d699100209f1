import { spawnSync } from 'node:child_process';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { requireTool } from '../../test/static/helpers.ts';
import { collectProcessMetrics } from '../src/metrics/process.ts';

/** What stock Node.js dashboards (Grafana's "NodeJS Application Dashboard" and the like) query. */
const stockNames = [
  'process_cpu_user_seconds_total',
  'process_cpu_system_seconds_total',
  'process_cpu_seconds_total',
  'process_start_time_seconds',
  'process_resident_memory_bytes',
  'process_virtual_memory_bytes',
  'process_heap_bytes',
  'process_open_fds',
  'process_max_fds',
  'nodejs_eventloop_lag_seconds',
  'nodejs_eventloop_lag_p99_seconds',
  'nodejs_active_handles',
  'nodejs_active_requests',
  'nodejs_heap_size_total_bytes',
  'nodejs_heap_size_used_bytes',
  'nodejs_external_memory_bytes',
  'nodejs_heap_space_size_used_bytes',
  'nodejs_version_info',
  'nodejs_gc_duration_seconds',
];

async function serviceMetrics(): Promise<{ names: string[]; text: string }> {
  const registry = new Registry();
  registry.setDefaultLabels({ node: 'lab-1' });
  collectProcessMetrics(registry);
  const text = await registry.metrics();
  return { names: registry.getMetricsAsArray().map((m) => m.name), text };
}

describe('process metrics', () => {
  it("keep prom-client's standard names, unprefixed, so stock dashboards find them", async () => {
    const { names, text } = await serviceMetrics();
    expect(names).toEqual(expect.arrayContaining(stockNames));
    expect(names.filter((n) => !/^(process|nodejs)_/.test(n))).toEqual([]);
    // The node label of the service's registry is on them, as on every other series.
    expect(text).toMatch(/^process_resident_memory_bytes\{node="lab-1"\} \d+/m);
  });

  it('leave out only the three gauges named like counters, and pass promtool check metrics', async () => {
    const { names, text } = await serviceMetrics();
    expect(names.filter((n) => n.endsWith('_total') && !n.startsWith('process_cpu_'))).toEqual([]);
    const r = spawnSync(requireTool('promtool', 'prometheus'), ['check', 'metrics'], {
      input: text,
      encoding: 'utf8',
    });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});
