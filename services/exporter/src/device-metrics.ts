import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { accessSync, constants, type StatsFs } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import type { Logger } from '@scopehive/shared';
import { Gauge, type Registry } from 'prom-client';

const run = promisify(execFile);

/** CPU time since boot in clock ticks, from the aggregate `cpu` line of /proc/stat. */
export interface CpuTimes {
  total: number;
  /** idle + iowait */
  idle: number;
}

/** Parses /proc/stat (proc(5)); throws when there is no aggregate `cpu` line. */
export function parseProcStat(text: string): CpuTimes {
  const line = text.split('\n').find((l) => /^cpu\s/.test(l));
  if (!line) throw new Error('no cpu line in /proc/stat');
  const [user, nice, system, idle, iowait = 0, irq = 0, softirq = 0, steal = 0] = line
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  // guest and guest_nice are already counted in user and nice.
  return { total: user + nice + system + idle + iowait + irq + softirq + steal, idle: idle + iowait };
}

/** Busy share of the CPU time between two samples, 0–1; undefined when no time passed. */
export function cpuUsageRatio(before: CpuTimes, after: CpuTimes): number | undefined {
  const total = after.total - before.total;
  if (total <= 0) return undefined;
  return Math.min(1, Math.max(0, 1 - (after.idle - before.idle) / total));
}

/** Parses /proc/meminfo into bytes per field (`MemTotal` → bytes); fields without a unit stay as they are. */
export function parseMeminfo(text: string): Map<string, number> {
  const fields = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([\w()]+):\s+(\d+)(?:\s+kB)?\s*$/.exec(line);
    if (m) fields.set(m[1], Number(m[2]) * (line.trimEnd().endsWith('kB') ? 1024 : 1));
  }
  return fields;
}

/**
 * GPU load from one line of Jetson `tegrastats` output, 0–1: `GR3D_FREQ 45%@[1300,1300]` (Orin),
 * `GR3D_FREQ 45%@1377` (Xavier), `GR3D_FREQ 45%` or the older `GR3D 45%@76`. Undefined when the
 * line has no GPU figure (tegrastats leaves it out when it may not read the GPU load).
 */
export function parseTegrastats(line: string): number | undefined {
  const m = /\bGR3D(?:_FREQ)?\s+(\d+(?:\.\d+)?)%/.exec(line);
  return m ? Number(m[1]) / 100 : undefined;
}

export interface NvidiaGpu {
  /** Position in nvidia-smi's output (its GPU index order). */
  index: number;
  utilizationRatio?: number;
  memoryUsedBytes?: number;
  memoryTotalBytes?: number;
  celsius?: number;
}

const mebibyte = 1024 * 1024;

/**
 * Parses `nvidia-smi --query-gpu=utilization.gpu,memory.used,memory.total,temperature.gpu
 * --format=csv,noheader,nounits`: one line per GPU, `45, 1234, 16384, 52` (%, MiB, MiB, °C);
 * `[N/A]` or `[Not Supported]` fields are left out.
 */
export function parseNvidiaSmi(text: string): NvidiaGpu[] {
  const number = (s: string | undefined) => {
    const v = s === undefined || s.trim().startsWith('[') ? Number.NaN : Number(s.trim());
    return Number.isFinite(v) ? v : undefined;
  };
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((line, index) => {
      const [util, used, total, temp] = line.split(',').map(number);
      return {
        index,
        utilizationRatio: util === undefined ? undefined : util / 100,
        memoryUsedBytes: used === undefined ? undefined : used * mebibyte,
        memoryTotalBytes: total === undefined ? undefined : total * mebibyte,
        celsius: temp,
      };
    });
}

export const nvidiaSmiArgs = [
  '--query-gpu=utilization.gpu,memory.used,memory.total,temperature.gpu',
  '--format=csv,noheader,nounits',
];
export const tegrastatsArgs = ['--interval', '1000'];

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

/** A value read at most once per `ttlMs`, shared by the gauges that need it within one scrape. */
function shared<T>(read: () => Promise<T>, ttlMs = 1000): () => Promise<T> {
  let last: { at: number; value: Promise<T> } | undefined;
  return () => {
    if (!last || Date.now() - last.at > ttlMs) last = { at: Date.now(), value: read() };
    return last.value;
  };
}

function findTool(name: string, binPath: string): string | undefined {
  for (const dir of binPath.split(path.delimiter)) {
    if (!dir) continue;
    const file = path.join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return undefined;
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

  const meminfo = shared(() => fs.readFile(path.join(proc, 'meminfo'), 'utf8').then(parseMeminfo));
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

  const disk = shared(() => fs.statfs(dataDir));
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

/** Thermal zones under `<sys>/class/thermal`; unreadable zones and switched-off sensors are left out. */
export async function readThermalZones(sysRoot: string): Promise<Array<{ zone: string; celsius: number }>> {
  const base = path.join(sysRoot, 'class', 'thermal');
  const names = await fs.readdir(base).catch(() => [] as string[]);
  const zones = names
    .filter((n) => /^thermal_zone\d+$/.test(n))
    .sort((a, b) => Number(a.slice(12)) - Number(b.slice(12)));
  const out: Array<{ zone: string; celsius: number }> = [];
  const seen = new Map<string, number>();
  for (const name of zones) {
    try {
      const type = (await fs.readFile(path.join(base, name, 'type'), 'utf8')).trim();
      const milli = Number((await fs.readFile(path.join(base, name, 'temp'), 'utf8')).trim());
      // Jetson Orin reports -256 °C for sensors that are powered off.
      if (!Number.isFinite(milli) || milli <= -100_000) continue;
      const count = (seen.get(type) ?? 0) + 1;
      seen.set(type, count);
      out.push({ zone: count === 1 ? type : `${type}_${count}`, celsius: milli / 1000 });
    } catch {
      // A zone whose driver cannot read right now (EINVAL/ENODATA) has no figure.
    }
  }
  return out;
}

interface GpuSource {
  read(): Promise<NvidiaGpu[]>;
  close(): void;
}

/** tegrastats when present (Jetson), else nvidia-smi when present, else no GPU figures. */
function startGpuSource(binPath: string, log: Logger): GpuSource {
  const tegrastats = findTool('tegrastats', binPath);
  if (tegrastats) return followTegrastats(tegrastats, log);
  const nvidiaSmi = findTool('nvidia-smi', binPath);
  if (nvidiaSmi) {
    log.info({ tool: nvidiaSmi }, 'GPU figures from nvidia-smi');
    let failing = false;
    return {
      read: shared(async () => {
        try {
          const { stdout } = await run(nvidiaSmi, nvidiaSmiArgs, { timeout: 5000 });
          failing = false;
          return parseNvidiaSmi(stdout);
        } catch (err) {
          if (!failing) log.warn({ err: (err as Error).message }, 'nvidia-smi failed; no GPU figures');
          failing = true;
          return [];
        }
      }),
      close() {},
    };
  }
  log.info('neither tegrastats nor nvidia-smi found; no GPU figures');
  return { read: async () => [], close() {} };
}

/** Keeps `tegrastats --interval 1000` running and remembers its latest GPU figure. */
function followTegrastats(tool: string, log: Logger): GpuSource {
  log.info({ tool }, 'GPU figures from tegrastats');
  let latest: { ratio: number; at: number } | undefined;
  let child: ChildProcess | undefined;
  let restart: NodeJS.Timeout | undefined;
  let closed = false;
  const start = () => {
    const proc = spawn(tool, tegrastatsArgs, { stdio: ['ignore', 'pipe', 'ignore'] });
    child = proc;
    proc.on('error', (err) => log.warn({ err: err.message }, 'cannot run tegrastats'));
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      const ratio = parseTegrastats(line);
      if (ratio !== undefined) latest = { ratio, at: Date.now() };
    });
    proc.on('close', (code, signal) => {
      child = undefined;
      if (closed) return;
      log.warn({ code, signal }, 'tegrastats stopped; restarting in 30 s');
      restart = setTimeout(start, 30_000);
      restart.unref();
    });
  };
  start();
  return {
    // A figure older than a few intervals means tegrastats is stuck: no figure rather than a stale one.
    read: async () =>
      latest && Date.now() - latest.at < 5000 ? [{ index: 0, utilizationRatio: latest.ratio }] : [],
    close() {
      closed = true;
      clearTimeout(restart);
      child?.kill();
    },
  };
}
