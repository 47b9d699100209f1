/**
 * The real `npm start` pipeline as a child process (`node --import tsx scripts/start.ts`) on a test's
 * data folder and a free loopback port: its pino JSON lines are collected, it can be killed (SIGKILL),
 * frozen (SIGSTOP) or stopped (SIGTERM) and started again on the same folder.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../../shared/test/helpers/nats-server.ts';
import type { LogLine } from '../../integration/helpers/pipeline.ts';
import { StackProcess } from '../../stack/helpers/processes.ts';
import { cleanEnv, get, repoRoot, waitUntil } from '../../stack/helpers/stack.ts';

/** A test's folders: the data folder the process may write, and a sibling it must never touch. */
export interface FaultFolders {
  root: string;
  dataDir: string;
  inboxDir: string;
  modelsDir: string;
  resultsDir: string;
  rejectedDir: string;
  /** Beside the data folder, with a file in it: "nothing written outside" is checked on it. */
  outsideDir: string;
}

export async function makeFaultFolders(): Promise<FaultFolders> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'scopehive-fault-'));
  const dataDir = path.join(root, 'data');
  const folders: FaultFolders = {
    root,
    dataDir,
    inboxDir: path.join(dataDir, 'inbox'),
    modelsDir: path.join(dataDir, 'models'),
    resultsDir: path.join(dataDir, 'results'),
    rejectedDir: path.join(dataDir, 'rejected'),
    outsideDir: path.join(root, 'outside'),
  };
  for (const dir of [folders.inboxDir, folders.modelsDir, folders.resultsDir, folders.rejectedDir]) {
    await fs.mkdir(dir, { recursive: true });
  }
  await fs.mkdir(folders.outsideDir);
  await fs.writeFile(path.join(folders.outsideDir, 'sentinel.txt'), 'nothing may change here\n');
  return folders;
}

export async function removeFaultFolders(folders: FaultFolders | undefined): Promise<void> {
  if (folders) await fs.rm(folders.root, { recursive: true, force: true });
}

/** A service process of a fault test: `npm start`, or one of the device's services. */
export interface RunningProcess {
  readonly name: string;
  readonly url: string;
  readonly process: StackProcess;
}

/** The pino JSON lines a process printed (anything else it printed is left out). */
export function logLines(proc: StackProcess): LogLine[] {
  const lines: LogLine[] = [];
  for (const line of proc.output.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      lines.push(JSON.parse(line) as LogLine);
    } catch {
      // a line cut by the output limit
    }
  }
  return lines;
}

/** Polls /readyz until 200; fails at once when the process exits. */
export async function waitReady(service: RunningProcess, timeoutMs = 60_000): Promise<void> {
  await waitUntil(
    async (note) => {
      const exit = service.process.exit;
      if (exit)
        throw new Error(`${service.name} exited (${exit.code ?? exit.signal})\n${service.process.report()}`);
      const res = await get(`${service.url}/readyz`);
      note(`last /readyz: ${res ? `${res.status} ${res.text}` : 'no answer'}`);
      return res?.status === 200;
    },
    timeoutMs,
    `${service.name} to be ready`,
  );
}

/**
 * The settings every fault test process runs with: one ONNX Runtime session with one thread (two
 * test files may run at once on two cores), inotify on the local temporary folder, info logs.
 */
export function processEnv(dataDir: string, port: number, node: string): NodeJS.ProcessEnv {
  return {
    ...cleanEnv(),
    SCOPEHIVE_DATA_DIR: dataDir,
    SCOPEHIVE_HOST: '127.0.0.1',
    SCOPEHIVE_PORT: String(port),
    SCOPEHIVE_NODE_NAME: node,
    SCOPEHIVE_STABLE_MS: '300',
    SCOPEHIVE_POLLING: 'false',
    SCOPEHIVE_LOG_LEVEL: 'info',
    SCOPEHIVE_SESSIONS: '1',
    SCOPEHIVE_THREADS: '1',
  };
}

/** `npm start` on a data folder. Start it again with `PipelineProcess.start` on the same folder. */
export class PipelineProcess implements RunningProcess {
  readonly name: string;
  readonly url: string;
  readonly process: StackProcess;

  private constructor(name: string, port: number, proc: StackProcess) {
    this.name = name;
    this.url = `http://127.0.0.1:${port}`;
    this.process = proc;
  }

  /**
   * Starts `npm start` on `dataDir` and waits until /readyz answers 200 (`ready: false` to return
   * as soon as it is spawned). `env` adds or overrides settings.
   */
  static async start(
    dataDir: string,
    options: { env?: Record<string, string>; port?: number; ready?: boolean } = {},
  ): Promise<PipelineProcess> {
    const port = options.port ?? (await freePort());
    const proc = new StackProcess({
      name: `npm start :${port}`,
      command: process.execPath,
      args: ['--import', 'tsx', 'scripts/start.ts'],
      cwd: repoRoot,
      env: { ...processEnv(dataDir, port, 'fault-node'), ...options.env },
    });
    const started = new PipelineProcess(`npm start :${port}`, port, proc);
    if (options.ready !== false) await waitReady(started, 90_000);
    return started;
  }

  get logs(): LogLine[] {
    return logLines(this.process);
  }

  /** SIGKILL: no shutdown, nothing flushed, temporary files left where they are. */
  kill(): Promise<void> {
    return this.process.kill();
  }

  /** SIGTERM, and waits until it has exited. */
  stop(): Promise<void> {
    return this.process.stop(30_000);
  }

  /** SIGSTOP: what it holds and what it has written stay as they are until `thaw` or `kill`. */
  freeze(): void {
    this.process.signal('SIGSTOP');
  }

  thaw(): void {
    this.process.signal('SIGCONT');
  }
}
