import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  cpuUsageRatio,
  parseMeminfo,
  parseNvidiaSmi,
  parseProcStat,
  parseTegrastats,
  parseThermalZones,
} from '../src/device/parse.ts';
import { readThermalZones } from '../src/device/thermal.ts';
import { startDeviceMetrics } from '../src/device-metrics.ts';

// Sample text in the formats the kernel (proc(5)) and NVIDIA's tools print.
const procStat = `cpu  4705 356 584 3699176 23 23 0 0 0 0
cpu0 1393 280 236 902217 15 23 0 0 0 0
cpu1 3312 76 348 2796959 8 0 0 0 0 0
intr 114930548 113199788 3 0 5 263 0 4 [... lots more numbers ...]
ctxt 1990473
btime 1062191376
processes 2915
procs_running 1
procs_blocked 0
`;

const meminfo = `MemTotal:       31927508 kB
MemFree:        26571432 kB
MemAvailable:   28791032 kB
Buffers:           38772 kB
Cached:          2497424 kB
SwapCached:            0 kB
Active:          1412364 kB
SwapTotal:      15963744 kB
SwapFree:       15963744 kB
HugePages_Total:       0
Hugepagesize:       2048 kB
`;

/** Jetson AGX Orin, JetPack 5 (L4T r35): GPU frequency per GPC in brackets, powered-off sensors at -256C. */
const tegrastatsOrin =
  '08-17-2023 10:15:36 RAM 3065/30536MB (lfb 6285x4MB) SWAP 0/15268MB (cached 0MB) CPU [1%@729,0%@729,0%@729,0%@729,0%@729,0%@729,0%@729,0%@729,off,off,off,off] EMC_FREQ 0%@2133 GR3D_FREQ 45%@[611,611] VIC_FREQ 729 APE 233 CV0@-256C CPU@44.375C Tboard@33C SOC2@40.843C Tdiode@35.75C SOC0@41.812C CV1@-256C GPU@-256C tj@44.375C SOC1@40.75C CV2@-256C VDD_GPU_SOC 2795mW/2795mW VDD_CPU_CV 399mW/399mW VIN_SYS_5V0 4231mW/4231mW';
/** Jetson AGX Xavier, JetPack 4.6 (L4T r32). */
const tegrastatsXavier =
  'RAM 2448/31919MB (lfb 6341x4MB) SWAP 0/15959MB (cached 0MB) CPU [3%@1190,2%@1190,1%@1190,2%@1190,off,off,off,off] EMC_FREQ 0%@665 GR3D_FREQ 7%@318 APE 150 MTS fg 0% bg 0% AO@35C GPU@35.5C Tdiode@38.25C PMIC@50C AUX@34.5C CPU@36.5C thermal@35.3C Tboard@35C GPU 0/0 CPU 311/311 SOC 1243/1243';
/** Jetson TX1 (L4T r28), the older `GR3D` name. */
const tegrastatsTx1 =
  'RAM 3468/3983MB (lfb 48x4MB) SWAP 873/8192MB (cached 295MB) cpu [17%,13%,29%,5%]@408 EMC 1%@408 APE 25 GR3D 39%@76';

const nvidiaSmi = `45, 1234, 16384, 52
0, 3, 24564, 31
[N/A], 512, 4096, [Not Supported]
`;

describe('parsers', () => {
  it('reads the aggregate CPU line of /proc/stat, counting iowait as idle', () => {
    expect(parseProcStat(procStat)).toEqual({
      total: 4705 + 356 + 584 + 3699176 + 23 + 23,
      idle: 3699176 + 23,
    });
    expect(() => parseProcStat('intr 1 2 3\n')).toThrow();
  });

  it('turns two CPU samples into a busy ratio', () => {
    expect(cpuUsageRatio({ total: 1000, idle: 800 }, { total: 1100, idle: 875 })).toBeCloseTo(0.25);
    expect(cpuUsageRatio({ total: 1000, idle: 800 }, { total: 1000, idle: 800 })).toBeUndefined();
  });

  it('reads /proc/meminfo in bytes', () => {
    const m = parseMeminfo(meminfo);
    expect(m.get('MemTotal')).toBe(31927508 * 1024);
    expect(m.get('MemAvailable')).toBe(28791032 * 1024);
    expect(m.get('SwapFree')).toBe(15963744 * 1024);
    expect(m.get('HugePages_Total')).toBe(0);
  });

  it('reads the GPU load from tegrastats lines of Orin, Xavier and TX1', () => {
    expect(parseTegrastats(tegrastatsOrin)).toBeCloseTo(0.45);
    expect(parseTegrastats(tegrastatsXavier)).toBeCloseTo(0.07);
    expect(parseTegrastats(tegrastatsTx1)).toBeCloseTo(0.39);
    expect(
      parseTegrastats('RAM 2448/31919MB (lfb 6341x4MB) CPU [3%@1190,2%@1190] EMC_FREQ 0%@665'),
    ).toBeUndefined();
  });

  it('reads nvidia-smi CSV in base units and leaves out fields it cannot report', () => {
    expect(parseNvidiaSmi(nvidiaSmi)).toEqual([
      {
        index: 0,
        utilizationRatio: 0.45,
        memoryUsedBytes: 1234 * 1048576,
        memoryTotalBytes: 16384 * 1048576,
        celsius: 52,
      },
      {
        index: 1,
        utilizationRatio: 0,
        memoryUsedBytes: 3 * 1048576,
        memoryTotalBytes: 24564 * 1048576,
        celsius: 31,
      },
      {
        index: 2,
        utilizationRatio: undefined,
        memoryUsedBytes: 512 * 1048576,
        memoryTotalBytes: 4096 * 1048576,
        celsius: undefined,
      },
    ]);
    expect(parseNvidiaSmi('')).toEqual([]);
  });
});

describe('startDeviceMetrics', () => {
  let root: string;
  let proc: string;
  let sys: string;
  let bin: string;
  let data: string;
  const stops: Array<{ close(): void }> = [];
  const logger = pino({ level: 'silent' });

  beforeEach(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'scopehive-device-'));
    proc = path.join(root, 'proc');
    sys = path.join(root, 'sys');
    bin = path.join(root, 'bin');
    data = path.join(root, 'data');
    for (const dir of [proc, bin, data]) await fs.mkdir(dir, { recursive: true });
    await fs.writeFile(path.join(proc, 'stat'), procStat);
    await fs.writeFile(path.join(proc, 'meminfo'), meminfo);
    await zone(0, 'CPU-therm', '44375\n');
    await zone(1, 'GPU-therm', '-256000\n');
    await zone(2, 'CPU-therm', '45500\n');
    await zone(3, 'iwlwifi_1', undefined);
  });

  afterEach(async () => {
    for (const s of stops.splice(0)) s.close();
    await fs.rm(root, { recursive: true, force: true });
  });

  async function zone(n: number, type: string, temp: string | undefined) {
    const dir = path.join(sys, 'class', 'thermal', `thermal_zone${n}`);
    await fs.mkdir(dir, { recursive: true });
    await fs.writeFile(path.join(dir, 'type'), `${type}\n`);
    if (temp !== undefined) await fs.writeFile(path.join(dir, 'temp'), temp);
  }

  async function tool(name: string, script: string) {
    const file = path.join(bin, name);
    await fs.writeFile(file, `#!/bin/sh\n${script}\n`, { mode: 0o755 });
  }

  function start(dataDir = data) {
    const registry = new Registry();
    const device = startDeviceMetrics({
      registry,
      dataDir,
      procRoot: proc,
      sysRoot: sys,
      binPath: bin,
      logger,
    });
    stops.push(device);
    return Object.assign(registry, { ready: device.ready });
  }

  /** Samples of one metric: label set → value. */
  async function samples(registry: Registry, name: string): Promise<Map<string, number>> {
    const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
    const out = new Map<string, number>();
    for (const v of (metric?.values ?? []) as Array<{
      labels: Record<string, string | number>;
      value: number;
    }>) {
      out.set(JSON.stringify(v.labels), v.value);
    }
    return out;
  }

  it('exports CPU, memory, temperatures and disk space from the given proc, sys and data folders', async () => {
    const registry = start();
    await registry.ready; // the CPU baseline is read before the counters move
    // 100 more ticks, 25 of them busy.
    await fs.writeFile(
      path.join(proc, 'stat'),
      procStat.replace('cpu  4705 356 584 3699176', 'cpu  4730 356 584 3699251'),
    );
    expect((await samples(registry, 'scopehive_device_cpu_usage_ratio')).get('{}')).toBeCloseTo(0.25);
    expect((await samples(registry, 'scopehive_device_memory_total_bytes')).get('{}')).toBe(31927508 * 1024);
    expect((await samples(registry, 'scopehive_device_memory_available_bytes')).get('{}')).toBe(
      28791032 * 1024,
    );
    expect(await samples(registry, 'scopehive_device_temperature_celsius')).toEqual(
      new Map([
        ['{"zone":"CPU-therm"}', 44.375],
        ['{"zone":"CPU-therm_2"}', 45.5],
      ]),
    );
    const free = (await samples(registry, 'scopehive_device_disk_free_bytes')).get('{"volume":"data"}');
    const total = (await samples(registry, 'scopehive_device_disk_total_bytes')).get('{"volume":"data"}');
    const real = await fs.statfs(data);
    expect(total).toBe(real.blocks * real.bsize);
    expect(free).toBeGreaterThan(0);
    expect(free).toBeLessThanOrEqual(total!);
    const text = await registry.metrics();
    expect(text).not.toMatch(/scopehive_device_gpu_\w+\{/);
    expect(text).toMatch(/^scopehive_device_swap_total_bytes \d+$/m);
  });

  it('has no series, rather than zeros, for figures it cannot read', async () => {
    await fs.rm(proc, { recursive: true });
    await fs.rm(sys, { recursive: true });
    const registry = start(path.join(root, 'no-such-volume'));
    const text = await registry.metrics();
    expect(text).not.toMatch(/^scopehive_device_\w+(\{.*\})? /m);
    expect(text).toContain('# TYPE scopehive_device_cpu_usage_ratio gauge');
  });

  it('reads the GPU load from a running tegrastats', async () => {
    await tool(
      'tegrastats',
      `echo "$@" > "${path.join(root, 'args')}"\nwhile true; do echo '${tegrastatsOrin}'; sleep 0.2; done`,
    );
    await tool('nvidia-smi', 'echo "99, 1, 2, 3"');
    const registry = start();
    let load: number | undefined;
    for (let i = 0; i < 50 && load === undefined; i++) {
      await sleep(100);
      load = (await samples(registry, 'scopehive_device_gpu_utilization_ratio')).get('{"gpu":"0"}');
    }
    expect(load).toBeCloseTo(0.45);
    expect((await fs.readFile(path.join(root, 'args'), 'utf8')).trim()).toBe('--interval 1000');
    expect((await samples(registry, 'scopehive_device_gpu_memory_used_bytes')).size).toBe(0);
  });

  it('reads GPU load, memory and temperature from nvidia-smi', async () => {
    await tool(
      'nvidia-smi',
      `echo "$@" > "${path.join(root, 'args')}"\nprintf '45, 1234, 16384, 52\\n[N/A], 512, 4096, [N/A]\\n'`,
    );
    const registry = start();
    expect(await samples(registry, 'scopehive_device_gpu_utilization_ratio')).toEqual(
      new Map([['{"gpu":"0"}', 0.45]]),
    );
    expect(await samples(registry, 'scopehive_device_gpu_memory_used_bytes')).toEqual(
      new Map([
        ['{"gpu":"0"}', 1234 * 1048576],
        ['{"gpu":"1"}', 512 * 1048576],
      ]),
    );
    expect((await samples(registry, 'scopehive_device_gpu_temperature_celsius')).get('{"gpu":"0"}')).toBe(52);
    expect((await fs.readFile(path.join(root, 'args'), 'utf8')).trim()).toBe(
      '--query-gpu=utilization.gpu,memory.used,memory.total,temperature.gpu --format=csv,noheader,nounits',
    );
  });

  it('has no GPU series when nvidia-smi fails', async () => {
    await tool(
      'nvidia-smi',
      'echo "NVIDIA-SMI has failed because it could not communicate with the NVIDIA driver." >&2; exit 9',
    );
    const registry = start();
    expect((await samples(registry, 'scopehive_device_gpu_utilization_ratio')).size).toBe(0);
  });
});

describe('parseThermalZones', () => {
  it('numbers repeated zone types and leaves out switched-off sensors and unreadable figures', () => {
    expect(
      parseThermalZones([
        { type: 'CPU-therm\n', temp: '44375\n' },
        { type: 'GPU-therm\n', temp: '-256000\n' },
        { type: 'CPU-therm\n', temp: '45500\n' },
        { type: 'SOC-therm\n', temp: 'x\n' },
      ]),
    ).toEqual([
      { zone: 'CPU-therm', celsius: 44.375 },
      { zone: 'CPU-therm_2', celsius: 45.5 },
    ]);
  });
});

describe('readThermalZones', () => {
  it('reads nothing from a folder without thermal zones', async () => {
    expect(await readThermalZones(path.join(os.tmpdir(), 'scopehive-no-sys'))).toEqual([]);
  });
});
