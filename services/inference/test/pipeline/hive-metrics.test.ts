import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createHiveMetrics } from '../../src/pipeline/hive-metrics.ts';

async function lines(registry: Registry, prefix: string): Promise<string[]> {
  return (await registry.metrics()).split('\n').filter((l) => l.startsWith(prefix));
}

describe('createHiveMetrics', () => {
  it('times transfers that succeed, by direction, and passes a failed one’s error on without timing it', async () => {
    const registry = new Registry();
    const hive = createHiveMetrics(registry);
    // Both directions exist from the start, at zero.
    expect(await lines(registry, 'scopehive_hive_transfer_seconds_count')).toEqual([
      'scopehive_hive_transfer_seconds_count{direction="image"} 0',
      'scopehive_hive_transfer_seconds_count{direction="result"} 0',
    ]);
    expect(await hive.timed('image', async () => 'bytes')).toBe('bytes');
    await expect(hive.timed('result', () => Promise.reject(new Error('origin away')))).rejects.toThrow(
      'origin away',
    );
    expect(await lines(registry, 'scopehive_hive_transfer_seconds_count')).toEqual([
      'scopehive_hive_transfer_seconds_count{direction="image"} 1',
      'scopehive_hive_transfer_seconds_count{direction="result"} 0',
    ]);
  });

  it('shows the jobs waiting per model, and no figure at all while the queue cannot be read', async () => {
    const registry = new Registry();
    let reachable = true;
    createHiveMetrics(registry, {
      queue: {
        waitingByModel: async () => {
          if (!reachable) throw new Error('NATS away');
          return new Map([['particles', 4]]);
        },
      },
    });
    expect(await lines(registry, 'scopehive_queue_jobs_waiting')).toEqual([
      'scopehive_queue_jobs_waiting{model="particles"} 4',
    ]);
    reachable = false;
    expect(await lines(registry, 'scopehive_queue_jobs_waiting')).toEqual([]);
  });
});
