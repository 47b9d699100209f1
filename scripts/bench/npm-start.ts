/**
 * `npm start` as a child process, exactly as a user runs it (whatever the script runs, TypeScript or
 * compiled), on a data folder and a free loopback port. The measuring process stays idle while the
 * pipeline works, so its timestamps are not held up by the pipeline's own work.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { freePort } from '../lib/free-port.ts';

const repo = path.resolve(import.meta.dirname, '../..');
/** The end of the child's output, for the error when it fails. */
const TAIL_CHARS = 4000;
const READY_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 15_000;

/** The settings that would move the pipeline's folders away from the bench's data folder. */
const FOLDER_SETTINGS = [
  'SCOPEHIVE_INBOX_DIR',
  'SCOPEHIVE_MODELS_DIR',
  'SCOPEHIVE_RESULTS_DIR',
  'SCOPEHIVE_REJECTED_DIR',
];

export { freePort };

export class NpmStart {
  readonly #child: ChildProcess;
  readonly #url: string;
  #tail = '';
  #exit?: string;
  readonly #exited: Promise<void>;

  private constructor(child: ChildProcess, port: number) {
    this.#child = child;
    this.#url = `http://127.0.0.1:${port}`;
    const keep = (chunk: Buffer) => {
      this.#tail = (this.#tail + chunk.toString()).slice(-TAIL_CHARS);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.#exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.#exit = `exited (${code ?? signal})`;
        resolve();
      });
    });
  }

  /**
   * Starts `npm start` with the environment's settings plus `settings`, on `dataDir`, and waits for
   * /readyz to answer 200.
   */
  static async start(dataDir: string, settings: NodeJS.ProcessEnv): Promise<NpmStart> {
    const port = await freePort();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...settings,
      SCOPEHIVE_DATA_DIR: dataDir,
      SCOPEHIVE_HOST: '127.0.0.1',
      SCOPEHIVE_PORT: String(port),
    };
    for (const name of FOLDER_SETTINGS) delete env[name];
    // Its own process group: stopping it reaches npm, the shell and node, as Ctrl-C in a terminal does.
    const child = spawn('npm', ['start', '--silent'], {
      cwd: repo,
      env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const started = new NpmStart(child, port);
    try {
      await started.#waitReady();
    } catch (err) {
      await started.stop();
      throw err;
    }
    return started;
  }

  async #waitReady(): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      if (this.#exit) throw new Error(`npm start ${this.#exit} before it was ready:\n${this.#tail}`);
      const status = await fetch(`${this.#url}/readyz`).then(
        (r) => r.status,
        () => undefined,
      );
      if (status === 200) return;
      if (Date.now() > deadline)
        throw new Error(`npm start not ready after ${READY_TIMEOUT_MS} ms:\n${this.#tail}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** The child's last output, for an error message. */
  get tail(): string {
    return this.#tail;
  }

  /** Ctrl-C to the whole group, as in a terminal; killed if any of it is still there after a while. */
  async stop(): Promise<void> {
    const group = this.#child.pid;
    if (group === undefined) return;
    const signal = (s: NodeJS.Signals | 0) => {
      try {
        process.kill(-group, s);
        return true;
      } catch {
        return false; // the group is gone
      }
    };
    signal('SIGINT');
    const deadline = Date.now() + STOP_TIMEOUT_MS;
    while (signal(0) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    signal('SIGKILL');
    await this.#exited;
  }
}
