/**
 * The device's separate services for fault tests: a real `nats-server -js` that can be SIGKILLed
 * and started again on the same port and store, and ingest and inference processes started as their
 * containers start them, on a test's data folder.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { findNatsServer, freePort } from '../../../shared/test/helpers/nats-server.ts';
import { StackProcess } from '../../stack/helpers/processes.ts';
import { get, type Jsz, repoRoot, waitUntil } from '../../stack/helpers/stack.ts';
import { processEnv, type RunningProcess } from './pipeline-process.ts';

/**
 * nats-server with JetStream on fixed loopback ports and a store that outlives it: `kill()` is a
 * SIGKILL (no clean shutdown of the store), `start()` brings it back as the device's container would.
 */
export class NatsProcess {
  readonly port: number;
  readonly monitorPort: number;
  readonly storeDir: string;
  /** Every server process started, for the failure report. */
  readonly processes: StackProcess[] = [];
  #current?: StackProcess;

  private constructor(port: number, monitorPort: number, storeDir: string) {
    this.port = port;
    this.monitorPort = monitorPort;
    this.storeDir = storeDir;
  }

  /** Reserves ports and a store; the server is not started (NATS down at first). */
  static async create(): Promise<NatsProcess> {
    const storeDir = await fs.mkdtemp(path.join(os.tmpdir(), 'scopehive-fault-nats-'));
    return new NatsProcess(await freePort(), await freePort(), storeDir);
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const proc = new StackProcess({
      name: `nats-server :${this.port}`,
      command: findNatsServer(),
      args: [
        '-js',
        '-sd',
        this.storeDir,
        '-a',
        '127.0.0.1',
        '-p',
        String(this.port),
        '-m',
        String(this.monitorPort),
      ],
      cwd: this.storeDir,
      env: { PATH: process.env.PATH ?? '' },
    });
    this.processes.push(proc);
    this.#current = proc;
    await waitUntil(
      async () => {
        if (proc.exit)
          throw new Error(`nats-server exited (${proc.exit.code ?? proc.exit.signal})\n${proc.report()}`);
        return (
          (await get(`http://127.0.0.1:${this.monitorPort}/healthz?js-enabled-only=true`))?.status === 200
        );
      },
      30_000,
      'nats-server to be ready',
    );
  }

  /** SIGKILL: the server is gone at once, with whatever its store holds. */
  async kill(): Promise<void> {
    await this.#current?.kill();
    this.#current = undefined;
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.processes.map((p) => p.stop()));
    await fs.rm(this.storeDir, { recursive: true, force: true });
  }

  async jsz(): Promise<Jsz> {
    const res = await fetch(`http://127.0.0.1:${this.monitorPort}/jsz?consumers=true`);
    if (!res.ok) throw new Error(`/jsz: HTTP ${res.status}`);
    return (await res.json()) as Jsz;
  }

  /** The sequence number of the last job ever published to the job stream. */
  async lastJobSeq(): Promise<number> {
    const streams = ((await this.jsz()).account_details ?? []).flatMap((a) => a.stream_detail ?? []);
    return streams.reduce((n, s) => n + (s.state?.last_seq ?? 0), 0);
  }

  /**
   * Jobs some consumer has still to deliver or to see acknowledged. (Not the stream's message count:
   * after a SIGKILL the store may keep messages whose acknowledgement it had not yet applied, which
   * no consumer will ever deliver again.)
   */
  async jobsOutstanding(): Promise<number> {
    const consumers = ((await this.jsz()).account_details ?? []).flatMap((a) =>
      (a.stream_detail ?? []).flatMap((s) => s.consumer_detail ?? []),
    );
    return consumers.reduce((n, c) => n + (c.num_pending ?? 0) + (c.num_ack_pending ?? 0), 0);
  }
}

/** An ingest or inference process of the device, as its container starts it. */
export class ServiceProcess implements RunningProcess {
  readonly name: string;
  readonly url: string;
  readonly process: StackProcess;

  private constructor(name: string, url: string, proc: StackProcess) {
    this.name = name;
    this.url = url;
    this.process = proc;
  }

  static async start(
    service: 'ingest' | 'inference',
    options: { dataDir: string; natsUrl: string; node: string; env?: Record<string, string> },
  ): Promise<ServiceProcess> {
    const port = await freePort();
    const name = `${service} ${options.node} :${port}`;
    const proc = new StackProcess({
      name,
      command: process.execPath,
      args: ['--import', 'tsx', `services/${service}/src/main.ts`],
      cwd: repoRoot,
      env: {
        ...processEnv(options.dataDir, port, options.node),
        NATS_URL: options.natsUrl,
        // Short, so that the jobs of a process cut off from NATS come back soon.
        SCOPEHIVE_ACK_WAIT_MS: '5000',
        ...options.env,
      },
    });
    return new ServiceProcess(name, `http://127.0.0.1:${port}`, proc);
  }

  /** SIGSTOP: it keeps its connections and whatever it holds, and does nothing until `thaw`. */
  freeze(): void {
    this.process.signal('SIGSTOP');
  }

  thaw(): void {
    this.process.signal('SIGCONT');
  }
}
