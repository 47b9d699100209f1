import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../../scripts/lib/free-port.ts';

/**
 * A real `nats-server -js` for tests: on a free loopback port, with its JetStream file store in a
 * temporary folder that survives `restart()`, so a test can check that nothing is lost when the
 * server goes away mid-run. Any test (queue, loopback stack) can use it.
 */
export interface NatsServer {
  /** `nats://127.0.0.1:<port>`, stable across restarts. */
  readonly url: string;
  readonly port: number;
  /** HTTP monitoring port (`/varz`, `/jsz`), stable across restarts. */
  readonly monitorPort: number;
  /** JetStream store folder, kept across restarts and removed by `close()`. */
  readonly storeDir: string;
  readonly running: boolean;
  /** Stops the server (SIGTERM, then SIGKILL after 5 s); the store stays. */
  stop(): Promise<void>;
  /** Starts it again on the same port with the same store. */
  start(): Promise<void>;
  restart(): Promise<void>;
  /** Stops the server and removes the store. */
  close(): Promise<void>;
}

export interface StartNatsServerOptions {
  /** Reuse a store folder (default: a new temporary folder). */
  storeDir?: string;
  /** Do not start it yet: the URL is reserved, `start()` starts it (for "server down at first" tests). */
  startStopped?: boolean;
}

const installHint =
  'nats-server was not found: install it with `apt-get install nats-server` (Debian package; .ci/run installs it) or set NATS_SERVER_BIN';

/** The nats-server binary: NATS_SERVER_BIN, else PATH, else the sbin folders Debian installs it to. */
export function findNatsServer(): string {
  const fromEnv = process.env.NATS_SERVER_BIN;
  if (fromEnv) return fromEnv;
  const dirs = [
    ...(process.env.PATH ?? '').split(path.delimiter),
    '/usr/sbin',
    '/usr/local/sbin',
    '/usr/local/bin',
  ];
  for (const dir of dirs) {
    if (!dir) continue;
    const candidate = path.join(dir, 'nats-server');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this folder
    }
  }
  throw new Error(installHint);
}

/** A TCP port free on loopback right now. */
export { freePort };

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export async function startNatsServer(options: StartNatsServerOptions = {}): Promise<NatsServer> {
  const bin = findNatsServer();
  const storeDir = options.storeDir ?? (await fs.mkdtemp(path.join(os.tmpdir(), 'scopehive-nats-')));
  let port = await freePort();
  let monitorPort = await freePort();
  let child: ChildProcess | undefined;

  const start = async (): Promise<void> => {
    if (child) return;
    const args = ['-js', '-sd', storeDir, '-a', '127.0.0.1', '-p', String(port), '-m', String(monitorPort)];
    const proc = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    child = proc;
    running.add(proc);
    let log = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => fail(new Error(`nats-server did not become ready in 20 s:\n${log}`)),
        20_000,
      );
      const fail = (err: Error) => {
        clearTimeout(timer);
        proc.kill('SIGKILL');
        reject(err);
      };
      proc.once('error', (err: NodeJS.ErrnoException) =>
        fail(err.code === 'ENOENT' ? new Error(installHint) : err),
      );
      proc.once('exit', (code, signal) => {
        running.delete(proc);
        if (child === proc) child = undefined;
        fail(new Error(`nats-server exited (${code ?? signal}) before it was ready:\n${log}`));
      });
      proc.stderr?.setEncoding('utf8');
      proc.stderr?.on('data', (chunk: string) => {
        if (log.length < 20_000) log += chunk;
        if (log.includes('Server is ready')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    proc.removeAllListeners('exit');
    proc.once('exit', () => {
      running.delete(proc);
      if (child === proc) child = undefined;
    });
  };

  const stop = async (): Promise<void> => {
    const proc = child;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) {
      child = undefined;
      return;
    }
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
    child = undefined;
  };

  /**
   * A port found free can be taken by another test process before nats-server binds it: the first
   * start then picks new ports and tries again. (Restarts keep their port: clients reconnect to it.)
   */
  let started = false;
  const firstStart = async (): Promise<void> => {
    for (let attempt = 1; ; attempt++) {
      try {
        await start();
        started = true;
        return;
      } catch (err) {
        if (attempt >= 5 || !/address already in use/.test(String((err as Error).message))) throw err;
        port = await freePort();
        monitorPort = await freePort();
      }
    }
  };

  if (!options.startStopped) await firstStart();

  return {
    get url() {
      return `nats://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    get monitorPort() {
      return monitorPort;
    },
    storeDir,
    get running() {
      return child !== undefined;
    },
    start: () => (started ? start() : firstStart()),
    stop,
    async restart() {
      await stop();
      await start();
    },
    async close() {
      await stop();
      if (!options.storeDir) await fs.rm(storeDir, { recursive: true, force: true });
    },
  };
}
