import { type ChildProcess, spawn } from 'node:child_process';

/** How much of each process's output is kept for the failure report. */
const maxLogChars = 200_000;

// Each process has its own group, which a Ctrl-C to the test runner does not reach: if the runner
// exits without the test's clean-up, the groups go with it.
const running = new Set<StackProcess>();
process.once('exit', () => {
  for (const p of running) p.signal('SIGKILL');
});

export interface StartProcessOptions {
  /** Shown in the log report. */
  name: string;
  command: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
}

/**
 * One service of the stack as a child process in its own process group: `tsx` runs the service in a
 * child of its own, so signals go to the whole group, never to the `tsx` wrapper alone (a SIGKILL
 * of the wrapper would leave the service running). Its stdout and stderr are kept for the report
 * printed when a test fails.
 */
export class StackProcess {
  readonly name: string;
  readonly #child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  #output = '';
  #dropped = 0;
  #exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;

  constructor(options: StartProcessOptions) {
    this.name = options.name;
    this.#child = spawn(options.command, options.args, {
      cwd: options.cwd,
      env: options.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (chunk: Buffer) => {
      this.#output += chunk.toString('utf8');
      if (this.#output.length > maxLogChars) {
        const cut = this.#output.length - maxLogChars;
        this.#dropped += cut;
        this.#output = this.#output.slice(cut);
      }
    };
    running.add(this);
    this.#child.stdout?.on('data', keep);
    this.#child.stderr?.on('data', keep);
    this.exited = new Promise((resolve) => {
      this.#child.once('error', (err) => {
        keep(Buffer.from(`cannot start ${options.command}: ${err.message}\n`));
        this.#exit = { code: -1, signal: null };
        resolve(this.#exit);
      });
      this.#child.once('exit', (code, signal) => {
        running.delete(this);
        this.#exit = { code, signal };
        resolve(this.#exit);
      });
    });
  }

  /** Undefined while it runs. */
  get exit(): { code: number | null; signal: NodeJS.Signals | null } | undefined {
    return this.#exit;
  }

  /** Everything it printed (the last 200,000 characters). */
  get output(): string {
    return this.#output;
  }

  /** Its output as a block for a failure report. */
  report(): string {
    const status = this.#exit ? `exited (${this.#exit.code ?? this.#exit.signal})` : 'running';
    const cut = this.#dropped > 0 ? `[${this.#dropped} earlier characters left out]\n` : '';
    return `──── ${this.name} (${status}) ────\n${cut}${this.#output}`;
  }

  /** Sends `signal` to the process group (which outlives the wrapper while the service runs). */
  signal(signal: NodeJS.Signals): void {
    const pid = this.#child.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, signal);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
  }

  /** SIGKILL to the whole group, and waits for the process to be gone. */
  async kill(): Promise<void> {
    this.signal('SIGKILL');
    await this.exited;
  }

  /** SIGTERM to the group, SIGKILL after `graceMs`; resolves once it has exited. */
  async stop(graceMs = 5000): Promise<void> {
    this.signal('SIGTERM');
    const timer = setTimeout(() => this.signal('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
    // Whatever of the group outlived the wrapper.
    this.signal('SIGKILL');
  }
}
