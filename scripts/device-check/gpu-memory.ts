import { spawnSync } from 'node:child_process';

/** GPU memory in MiB as a tool on the device reports it, or why it cannot be read. */
export interface GpuMemory {
  source: 'nvidia-smi' | 'tegrastats' | 'none';
  /** One line per GPU (nvidia-smi) or the shared memory of a Jetson (tegrastats). */
  lines: string[];
}

/** A program's output within `timeoutMs`, or undefined when it is missing or fails. */
function output(command: string, args: string[], timeoutMs: number): string | undefined {
  const r = spawnSync(command, args, { encoding: 'utf8', timeout: timeoutMs });
  // tegrastats runs until stopped: its first line before the timeout is what is wanted.
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
  return r.stdout?.trim() || undefined;
}

/** Reads GPU memory with nvidia-smi (desktop GPUs) or tegrastats (Jetson, memory shared with the CPU). */
export function readGpuMemory(): GpuMemory {
  const smi = output(
    'nvidia-smi',
    ['--query-gpu=index,name,memory.used,memory.total', '--format=csv,noheader,nounits'],
    10_000,
  );
  if (smi) {
    const lines = smi.split('\n').map((line) => {
      const [index, name, used, total] = line.split(',').map((s) => s.trim());
      return `GPU ${index} ${name}: ${used} of ${total} MiB used`;
    });
    return { source: 'nvidia-smi', lines };
  }
  const tegra = output('tegrastats', ['--interval', '500'], 1500);
  const ram = tegra && /RAM (\d+)\/(\d+)MB/.exec(tegra);
  if (ram)
    return { source: 'tegrastats', lines: [`RAM shared by CPU and GPU: ${ram[1]} of ${ram[2]} MiB used`] };
  return { source: 'none', lines: ['no nvidia-smi or tegrastats here'] };
}

/** The L4T release in a Jetson kernel's release string (`5.15.148-l4t-r36.4.3`), if it names one. */
export function kernelL4t(release: string): string | undefined {
  return /l4t-(r\d+\.\d+)/.exec(release)?.[1];
}
