/** Pure parsers of what the kernel and NVIDIA's tools print, into base units. */

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

export interface ThermalZone {
  /** The zone's type, with `_2`, `_3`… on later zones of the same type. */
  zone: string;
  celsius: number;
}

/**
 * Thermal zones from the `type` and `temp` (millidegrees) files of each zone, in zone order;
 * switched-off sensors and unreadable figures are left out.
 */
export function parseThermalZones(zones: Array<{ type: string; temp: string }>): ThermalZone[] {
  const out: ThermalZone[] = [];
  const seen = new Map<string, number>();
  for (const { type: typeText, temp } of zones) {
    const type = typeText.trim();
    const milli = Number(temp.trim());
    // Jetson Orin reports -256 °C for sensors that are powered off.
    if (!Number.isFinite(milli) || milli <= -100_000) continue;
    const count = (seen.get(type) ?? 0) + 1;
    seen.set(type, count);
    out.push({ zone: count === 1 ? type : `${type}_${count}`, celsius: milli / 1000 });
  }
  return out;
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
