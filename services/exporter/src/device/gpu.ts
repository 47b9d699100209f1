import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import type { Logger } from '@scopehive/shared';
import { type NvidiaGpu, parseNvidiaSmi, parseTegrastats } from './parse.ts';
import { sharedRead } from './shared-read.ts';

const run = promisify(execFile);

const nvidiaSmiArgs = [
  '--query-gpu=utilization.gpu,memory.used,memory.total,temperature.gpu',
  '--format=csv,noheader,nounits',
];
const tegrastatsArgs = ['--interval', '1000'];

export interface GpuSource {
  read(): Promise<NvidiaGpu[]>;
  close(): void;
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

/** tegrastats when present (Jetson), else nvidia-smi when present, else no GPU figures. */
export function startGpuSource(binPath: string, log: Logger): GpuSource {
  const tegrastats = findTool('tegrastats', binPath);
  if (tegrastats) return followTegrastats(tegrastats, log);
  const nvidiaSmi = findTool('nvidia-smi', binPath);
  if (nvidiaSmi) return pollNvidiaSmi(nvidiaSmi, log);
  log.info('neither tegrastats nor nvidia-smi found; no GPU figures');
  return { read: async () => [], close() {} };
}

/** Runs nvidia-smi at most once per scrape; a failure is warned about once until it works again. */
function pollNvidiaSmi(tool: string, log: Logger): GpuSource {
  log.info({ tool }, 'GPU figures from nvidia-smi');
  let failing = false;
  return {
    read: sharedRead(async () => {
      try {
        const { stdout } = await run(tool, nvidiaSmiArgs, { timeout: 5000 });
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
