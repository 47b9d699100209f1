import type { StatsFs } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '@scopehive/shared';
import { Gauge, type Registry } from 'prom-client';
import { startGpuSource } from './device/gpu.ts';
import { type CpuTimes, cpuUsageRatio, type NvidiaGpu, parseMeminfo, parseProcStat } from './device/parse.ts';
import { sharedRead } from './device/shared-read.ts';
import { readThermalZones } from './device/thermal.ts';

export interface DeviceMetricsOptions {
  registry: Registry;
  /** The data volume: its free and total space are exported. */
  dataDir: string;
  /** Where proc is mounted (default `/proc`); tests point it at fixture files. */
  procRoot?: string;
  /** Where sysfs is mounted (default `/sys`). */
  sysRoot?: string;
  /** Folders searched for `tegrastats` and `nvidia-smi` (default `PATH`). */
  binPath?: string;
  logger: Logger;
}

/**
 * Device metrics (`scopehive_device_*`, base units) computed when Prometheus scrapes: CPU busy
 * ratio since the previous scrape, memory, thermal zones, space on the data volume, and GPU load
 * from `tegrastats` (Jetson) or `nvidia-smi`. A figure that cannot be read has no series at all —
 * a panel then says "No data" instead of showing a reassuring zero.
 */
export function startDeviceMetrics(options: DeviceMetricsOptions): { close(): void; ready: Promise<void> } {
  const { registry, dataDir, logger: log } = options;
  const proc = options.procRoot ?? '/proc';
  const sys = options.sysRoot ?? '/sys';
  const binPath = options.binPath ?? process.env.PATH ?? '';
  const registers = [registry];
  const warned = new Set<string>();
  const warnOnce = (key: string, err: unknown, msg: string) => {
    if (warned.has(key)) return;
    warned.add(key);
    log.warn({ err: err instanceof Error ? err.message : String(err) }, msg);
  };

  let cpuBefore: CpuTimes | undefined;
  let cpuRatio: number | undefined;
  const readCpu = async () => {
    const now = parseProcStat(await fs.readFile(path.join(proc, 'stat'), 'utf8'));
    const ratio = cpuBefore ? cpuUsageRatio(cpuBefore, now) : undefined;
    // Two scrapes within one clock tick keep the last figure.
    if (ratio !== undefined) {
      cpuRatio = ratio;
      cpuBefore = now;
    }
    cpuBefore ??= now;
    return cpuRatio;
  };
  // The first scrape has a baseline to compare with.
  const ready = readCpu().then(
    () => undefined,
    (err) => warnOnce('cpu', err, 'cannot read CPU times'),
  );

  new Gauge({
    name: 'scopehive_device_cpu_usage_ratio',
    help: 'Share of CPU time spent busy (all cores) since the previous scrape.',
    registers,
    async collect() {
      const ratio = await readCpu().catch((err) => {
        warnOnce('cpu', err, 'cannot read CPU times');
        return undefined;
      });
      if (ratio === undefined) this.remove();
      else this.set(ratio);
    },
  });

  const meminfo = sharedRead(() => fs.readFile(path.join(proc, 'meminfo'), 'utf8').then(parseMeminfo));
  const memoryGauge = (name: string, help: string, pick: (m: Map<string, number>) => number | undefined) =>
    new Gauge({
      name,
      help,
      registers,
      async collect() {
        const m = await meminfo().catch((err) => {
          warnOnce('meminfo', err, 'cannot read memory figures');
          return undefined;
        });
        const value = m && pick(m);
        if (value === undefined) this.remove();
        else this.set(value);
      },
    });
  memoryGauge('scopehive_device_memory_total_bytes', 'Physical memory.', (m) => m.get('MemTotal'));
  memoryGauge(
    'scopehive_device_memory_available_bytes',
    'Memory available to new work without swapping (MemAvailable).',
    (m) =>
      m.get('MemAvailable') ??
      (m.has('MemFree')
        ? (m.get('MemFree') ?? 0) + (m.get('Buffers') ?? 0) + (m.get('Cached') ?? 0)
        : undefined),
  );
  memoryGauge('scopehive_device_swap_total_bytes', 'Swap space (zram on Jetson).', (m) => m.get('SwapTotal'));
  memoryGauge('scopehive_device_swap_free_bytes', 'Unused swap space.', (m) => m.get('SwapFree'));

  new Gauge({
    name: 'scopehive_device_temperature_celsius',
    help: 'Temperature of each thermal zone (sysfs), labelled with the zone type.',
    labelNames: ['zone'] as const,
    registers,
    async collect() {
      this.reset();
      for (const { zone, celsius } of await readThermalZones(sys)) this.set({ zone }, celsius);
    },
  });

  const disk = sharedRead(() => fs.statfs(dataDir));
  const diskGauge = (name: string, help: string, pick: (s: StatsFs) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['volume'] as const,
      registers,
      async collect() {
        this.reset();
        const s = await disk().catch((err) =>
          warnOnce(`disk:${dataDir}`, err, 'cannot read the data volume'),
        );
        if (s) {
          warned.delete(`disk:${dataDir}`);
          this.set({ volume: 'data' }, pick(s));
        }
      },
    });
  diskGauge(
    'scopehive_device_disk_free_bytes',
    'Space on the data volume available to the services.',
    (s) => s.bavail * s.bsize,
  );
  diskGauge('scopehive_device_disk_total_bytes', 'Size of the data volume.', (s) => s.blocks * s.bsize);

  const gpu = startGpuSource(binPath, log);
  const gpuGauge = (name: string, help: string, pick: (g: NvidiaGpu) => number | undefined) =>
    new Gauge({
      name,
      help,
      labelNames: ['gpu'] as const,
      registers,
      async collect() {
        this.reset();
        for (const g of await gpu.read()) {
          const value = pick(g);
          if (value !== undefined) this.set({ gpu: String(g.index) }, value);
        }
      },
    });
  gpuGauge(
    'scopehive_device_gpu_utilization_ratio',
    'GPU busy share (tegrastats GR3D or nvidia-smi).',
    (g) => g.utilizationRatio,
  );
  gpuGauge(
    'scopehive_device_gpu_memory_used_bytes',
    'GPU memory in use (nvidia-smi).',
    (g) => g.memoryUsedBytes,
  );
  gpuGauge('scopehive_device_gpu_memory_total_bytes', 'GPU memory (nvidia-smi).', (g) => g.memoryTotalBytes);
  gpuGauge('scopehive_device_gpu_temperature_celsius', 'GPU temperature (nvidia-smi).', (g) => g.celsius);

  return {
    /** The CPU baseline has been read: the next scrape can give a busy ratio. */
    ready,
    close() {
      gpu.close();
    },
  };
}
