/**
 * The device stack of docker-compose.yml as processes on loopback: a real `nats-server -js`, ingest,
 * inference (several) and exporter started the way their containers start them, and a real
 * `prometheus` with the repository's scrape configuration pointed at them.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { freePort, type NatsServer, startNatsServer } from '../../../shared/test/helpers/nats-server.ts';
import { requireTool } from '../../static/helpers.ts';
import { StackProcess } from './processes.ts';

export const repoRoot = path.resolve(import.meta.dirname, '../../..');
/** The design folder beside the checkout, holding the real models and images. */
export const sharedDir = process.env.SCOPEHIVE_SHARED_DIR ?? path.resolve(repoRoot, '../shared');
export const model = 'yolo11n_int8';

export type ServiceName = 'ingest' | 'inference' | 'exporter';

export interface Service {
  service: ServiceName;
  /** SCOPEHIVE_NODE_NAME: the `node` of its results and metrics. */
  node: string;
  port: number;
  url: string;
  process: StackProcess;
}

/** Ack wait of the job queue: short, so that the jobs of a killed inference process come back soon. */
const ackWaitMs = 5000;
/** Prometheus scrapes and evaluates this often in the test (the device: every 15 s). */
const scrapeIntervalMs = 1000;

/**
 * Settings from the test runner's own environment must not leak into the services: each gets exactly
 * the settings the stack gives it.
 */
export function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => !k.startsWith('SCOPEHIVE_') && k !== 'NATS_URL' && k !== 'BALENA_DEVICE_UUID',
    ),
  );
}

export class Stack {
  readonly root: string;
  readonly dataDir: string;
  readonly inboxDir: string;
  readonly resultsDir: string;
  readonly rejectedDir: string;
  /** Images are written here first and renamed into the inbox, as a finished file appears on the share. */
  readonly stagingDir: string;
  readonly prometheusConfig: string;
  nats!: NatsServer;
  ingest!: Service;
  exporter!: Service;
  /** The inference processes running now (a killed one is removed, its replacement added). */
  inference: Service[] = [];
  prometheus!: { url: string; process: StackProcess };
  /** Every process ever started, for the failure report and the clean-up. */
  readonly #processes: StackProcess[] = [];
  #inferenceTargets: string[] = [];

  private constructor(root: string) {
    this.root = root;
    this.dataDir = path.join(root, 'data');
    this.inboxDir = path.join(this.dataDir, 'inbox');
    this.resultsDir = path.join(this.dataDir, 'results');
    this.rejectedDir = path.join(this.dataDir, 'rejected');
    this.stagingDir = path.join(this.dataDir, 'staging');
    this.prometheusConfig = path.join(root, 'prometheus', 'prometheus.yml');
  }

  static async create(): Promise<Stack> {
    return new Stack(await fs.mkdtemp(path.join(os.tmpdir(), 'scopehive-stack-')));
  }

  async start(): Promise<void> {
    for (const dir of ['inbox', 'models', 'results', 'rejected', 'staging']) {
      await fs.mkdir(path.join(this.dataDir, dir), { recursive: true });
    }
    await fs.copyFile(
      path.join(sharedDir, 'models', `${model}.onnx`),
      path.join(this.dataDir, 'models', `${model}.onnx`),
    );
    this.nats = await startNatsServer();
    const [ingest, first, second, exporter] = await Promise.all([
      this.#startService('ingest', 'stack-ingest'),
      this.#startService('inference', 'stack-inference-1'),
      this.#startService('inference', 'stack-inference-2'),
      this.#startService('exporter', 'stack-exporter', await this.#exporterEnv()),
    ]);
    this.ingest = ingest;
    this.inference = [first, second];
    this.#inferenceTargets = [first, second].map((s) => `127.0.0.1:${s.port}`);
    this.exporter = exporter;
    await Promise.all(this.services().map((s) => waitReady(s, 90_000)));
    await this.#startPrometheus();
  }

  services(): Service[] {
    return [this.ingest, ...this.inference, this.exporter];
  }

  /** Starts an inference process and waits until it is ready (`port`: reuse a Prometheus target). */
  async startInference(node: string, port?: number): Promise<Service> {
    const service = await this.#startService('inference', node, {}, port);
    this.inference.push(service);
    await waitReady(service, 90_000);
    return service;
  }

  /** SIGKILL to an inference process: no shutdown, no ack, no nak. */
  async killInference(service: Service): Promise<void> {
    await service.process.kill();
    this.inference = this.inference.filter((s) => s !== service);
  }

  /** SIGTERM to an inference process: it finishes the jobs in hand and leaves the consumer. */
  async stopInference(service: Service): Promise<void> {
    await service.process.stop(30_000);
    this.inference = this.inference.filter((s) => s !== service);
  }

  /**
   * SIGSTOP to a service's process group: it keeps its connections and the jobs in its hands but
   * can neither finish, acknowledge nor pull, so what it holds stays as it is until `thaw`.
   */
  freeze(service: Service): void {
    service.process.signal('SIGSTOP');
  }

  thaw(service: Service): void {
    service.process.signal('SIGCONT');
  }

  /** Jobs delivered to some process and not yet acknowledged, over every job consumer. */
  async jobsInHand(): Promise<number> {
    return consumersOf(await this.jsz()).reduce((n, c) => n + (c.num_ack_pending ?? 0), 0);
  }

  /** The sequence number of the last job ever published (it only grows, whatever is acknowledged). */
  async lastJobSeq(): Promise<number> {
    const streams = ((await this.jsz()).account_details ?? []).flatMap((a) => a.stream_detail ?? []);
    return streams.reduce((n, s) => n + (s.state?.last_seq ?? 0), 0);
  }

  /** Writes `bytes` as `name` (inbox-relative, `/`-separated) in one rename, like a finished copy. */
  async drop(name: string, bytes: Uint8Array): Promise<void> {
    const target = path.join(this.inboxDir, ...name.split('/'));
    const staged = path.join(this.stagingDir, name.replaceAll('/', '__'));
    await fs.writeFile(staged, bytes);
    await fs.mkdir(path.dirname(target), { recursive: true });
    await fs.rename(staged, target);
  }

  /**
   * Waits until Prometheus has scraped every target at least twice since `since` (ms since epoch),
   * so that figures of that moment are in its history as two samples (what `rate()` and `increase()`
   * need) even if a process is killed next.
   */
  async scrapedTwiceSince(since: number): Promise<void> {
    await waitUntil(
      async (note) => {
        const res = await get(`${this.prometheus.url}/api/v1/targets`);
        if (res?.status !== 200) return false;
        const targets = JSON.parse(res.text).data.activeTargets as Array<{
          scrapeUrl: string;
          lastScrape: string;
          health: string;
        }>;
        const behind = targets.filter(
          (t) => t.health !== 'up' || Date.parse(t.lastScrape) - scrapeIntervalMs <= since,
        );
        note(`waiting for ${behind.map((t) => `${t.scrapeUrl} (${t.health}, ${t.lastScrape})`).join(', ')}`);
        return behind.length === 0;
      },
      30_000,
      'Prometheus to scrape every target twice',
    );
  }

  /** Jobs in the job stream, waiting or in flight, from NATS monitoring. */
  async jobsInStream(): Promise<number> {
    return (await this.jsz()).messages;
  }

  /** NATS's JetStream monitoring (`/jsz`) with stream and consumer details. */
  async jsz(): Promise<Jsz> {
    const res = await fetch(`http://127.0.0.1:${this.nats.monitorPort}/jsz?consumers=true`);
    if (!res.ok) throw new Error(`/jsz: HTTP ${res.status}`);
    return (await res.json()) as Jsz;
  }

  /**
   * Deliveries of jobs that had been delivered before, over the job consumers' lifetime: each
   * consumer serves one model's subject, so its deliveries count up in `consumer_seq` while
   * `stream_seq` is the last job delivered (every job up to it was delivered at least once).
   * (`num_redelivered` will not do: it counts only redelivered jobs not yet acknowledged.)
   */
  async redeliveries(): Promise<number> {
    return consumersOf(await this.jsz()).reduce(
      (n, c) => n + c.delivered.consumer_seq - c.delivered.stream_seq,
      0,
    );
  }

  /** One report of every process's output and of the job stream, for a failing test. */
  async report(): Promise<string> {
    const jsz = await this.jsz().then(
      (j) =>
        JSON.stringify(
          (j.account_details ?? []).flatMap((a) =>
            (a.stream_detail ?? []).map((s) => ({
              stream: s.name,
              state: s.state,
              consumers: s.consumer_detail?.map(
                ({
                  name,
                  delivered,
                  ack_floor,
                  num_ack_pending,
                  num_redelivered,
                  num_waiting,
                  num_pending,
                }) => ({
                  name,
                  delivered,
                  ack_floor,
                  num_ack_pending,
                  num_redelivered,
                  num_waiting,
                  num_pending,
                }),
              ),
            })),
          ),
        ),
      (err: Error) => `unavailable: ${err.message}`,
    );
    return [...this.#processes.map((p) => p.report()), `──── NATS /jsz ────\n${jsz}`].join('\n');
  }

  /** Stops every process (SIGTERM to its group, SIGKILL after 5 s), NATS, and removes every folder. */
  async close(): Promise<void> {
    await Promise.allSettled(this.#processes.map((p) => p.stop()));
    await this.nats?.close();
    await fs.rm(this.root, { recursive: true, force: true });
  }

  async #startService(
    service: ServiceName,
    node: string,
    env: NodeJS.ProcessEnv = {},
    port?: number,
  ): Promise<Service> {
    const listen = port ?? (await freePort());
    const proc = new StackProcess({
      name: `${service} ${node} :${listen}`,
      command: path.join(repoRoot, 'node_modules', '.bin', 'tsx'),
      args: [`services/${service}/src/main.ts`],
      cwd: repoRoot,
      env: {
        ...cleanEnv(),
        NATS_URL: this.nats.url,
        SCOPEHIVE_DATA_DIR: this.dataDir,
        SCOPEHIVE_HOST: '127.0.0.1',
        SCOPEHIVE_PORT: String(listen),
        SCOPEHIVE_NODE_NAME: node,
        SCOPEHIVE_STABLE_MS: '300',
        SCOPEHIVE_ACK_WAIT_MS: String(ackWaitMs),
        SCOPEHIVE_LOG_LEVEL: 'info',
        // Two inference processes share two cores: one session with one ONNX Runtime thread each.
        SCOPEHIVE_SESSIONS: '1',
        SCOPEHIVE_THREADS: '1',
        ...env,
      },
    });
    this.#processes.push(proc);
    return { service, node, port: listen, url: `http://127.0.0.1:${listen}`, process: proc };
  }

  /**
   * The exporter reads thermal zones from a fixture sysfs and GPU figures from a fake `nvidia-smi`:
   * this machine has neither thermal zones it may be sure of nor a GPU, so both are mocked here
   * with what the real ones print.
   */
  async #exporterEnv(): Promise<NodeJS.ProcessEnv> {
    const zone = path.join(this.root, 'sys', 'class', 'thermal', 'thermal_zone0');
    await fs.mkdir(zone, { recursive: true });
    await fs.writeFile(path.join(zone, 'type'), 'cpu-thermal\n');
    await fs.writeFile(path.join(zone, 'temp'), '47250\n');
    const bin = path.join(this.root, 'bin');
    await fs.mkdir(bin);
    // Answers only the query the exporter documents, in nvidia-smi's csv,noheader,nounits format.
    await fs.writeFile(
      path.join(bin, 'nvidia-smi'),
      [
        '#!/bin/sh',
        'if [ "$1" = "--query-gpu=utilization.gpu,memory.used,memory.total,temperature.gpu" ] && [ "$2" = "--format=csv,noheader,nounits" ]; then',
        '  echo "37, 1234, 16384, 52"',
        'else',
        '  echo "fake nvidia-smi: unexpected arguments: $*" >&2',
        '  exit 2',
        'fi',
        '',
      ].join('\n'),
      { mode: 0o755 },
    );
    return {
      SCOPEHIVE_SYS_ROOT: path.join(this.root, 'sys'),
      PATH: `${bin}${path.delimiter}${process.env.PATH ?? ''}`,
    };
  }

  async #startPrometheus(): Promise<void> {
    const port = await freePort();
    const address = `127.0.0.1:${port}`;
    const text = rewriteScrapeConfig(
      await fs.readFile(path.join(repoRoot, 'prometheus', 'prometheus.yml'), 'utf8'),
      {
        ingest: [`127.0.0.1:${this.ingest.port}`],
        inference: this.#inferenceTargets,
        exporter: [`127.0.0.1:${this.exporter.port}`],
        prometheus: [address],
        // NATS is scraped through prometheus-nats-exporter (a container image, no binary here).
        nats: undefined,
      },
      [testAlertFile],
    );
    const dir = path.dirname(this.prometheusConfig);
    await fs.mkdir(dir, { recursive: true });
    await fs.writeFile(this.prometheusConfig, text);
    // The repository's rules beside the configuration, as the image puts them in /etc/prometheus.
    await fs.copyFile(path.join(repoRoot, 'prometheus', 'rules.yml'), path.join(dir, 'rules.yml'));
    await fs.writeFile(path.join(dir, testAlertFile), stringify(testAlertRules));
    const proc = new StackProcess({
      name: `prometheus :${port}`,
      command: requireTool('prometheus', 'prometheus'),
      args: [
        `--config.file=${this.prometheusConfig}`,
        `--storage.tsdb.path=${path.join(this.root, 'prometheus', 'tsdb')}`,
        `--web.listen-address=${address}`,
      ],
      cwd: this.root,
      env: cleanEnv(),
    });
    this.#processes.push(proc);
    this.prometheus = { url: `http://${address}`, process: proc };
    await waitUntil(
      async () => {
        if (proc.exit) throw new Error(`prometheus exited (${proc.exit.code ?? proc.exit.signal})`);
        return (await get(`${this.prometheus.url}/-/ready`))?.status === 200;
      },
      30_000,
      'prometheus to be ready',
    );
  }
}

/** Rules only the stack test loads, beside the repository's. */
const testAlertFile = 'stack-test-alerts.yml';

/**
 * An alert that always fires, so that the Device dashboard's table of firing alerts has a row to
 * show: no real alert can fire within the test (they wait minutes by design).
 */
export const testAlert = 'StackTestAlwaysFiring';
const testAlertRules = {
  groups: [
    { name: 'stack-test', rules: [{ alert: testAlert, expr: 'vector(1)', labels: { severity: 'warning' } }] },
  ],
};

/**
 * The repository's scrape configuration for this machine: job names, labels, rule files and every
 * other setting kept, only the targets replaced (`undefined`: the job is dropped), `extraRuleFiles`
 * added, and scrapes and rule evaluation every second so that a test sees rates within seconds. A
 * job the test does not know fails loudly.
 */
export function rewriteScrapeConfig(
  text: string,
  targets: Record<string, string[] | undefined>,
  extraRuleFiles: readonly string[] = [],
): string {
  const config = parse(text) as {
    global?: Record<string, unknown>;
    rule_files?: string[];
    scrape_configs: Array<{ job_name: string; static_configs?: Array<{ targets: string[] }> }>;
  };
  config.rule_files = [...(config.rule_files ?? []), ...extraRuleFiles];
  config.global = {
    ...config.global,
    scrape_interval: '1s',
    scrape_timeout: '1s',
    evaluation_interval: '1s',
  };
  config.scrape_configs = config.scrape_configs.filter((job) => {
    if (!(job.job_name in targets))
      throw new Error(`the stack test does not know scrape job ${job.job_name}`);
    const replacement = targets[job.job_name];
    if (!replacement) return false;
    if (job.static_configs?.length !== 1) {
      throw new Error(`scrape job ${job.job_name}: expected one static_configs entry`);
    }
    job.static_configs[0].targets = replacement;
    return true;
  });
  return stringify(config);
}

/**
 * Polls `check` every 100 ms until it returns something other than `undefined` or `false`; an error
 * it throws ends the wait at once (a process that died is not waited for). After `timeoutMs` it fails
 * with `what` and the last state `check` reported through `note`.
 */
export async function waitUntil<T>(
  check: (note: (state: string) => void) => Promise<T | undefined | false>,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const value = await check((state) => {
      last = state;
    });
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (${last})` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The status and body of a GET, or undefined when nothing answers. */
export async function get(url: string): Promise<{ status: number; text: string } | undefined> {
  try {
    const res = await fetch(url);
    return { status: res.status, text: await res.text() };
  } catch {
    return undefined;
  }
}

/** Polls `/readyz` until it answers 200; fails at once when the process exits. */
export async function waitReady(service: Service, timeoutMs: number): Promise<void> {
  await waitUntil(
    async (note) => {
      const exit = service.process.exit;
      if (exit) throw new Error(`${service.node} exited (${exit.code ?? exit.signal})`);
      const res = await get(`${service.url}/readyz`);
      note(`last /readyz: ${res ? `${res.status} ${res.text}` : 'no answer'}`);
      return res?.status === 200;
    },
    timeoutMs,
    `${service.node} to be ready`,
  );
}

/** `promtool <args>`, with `input` on stdin. */
export function promtool(args: string[], input?: string): { status: number | null; output: string } {
  const r = spawnSync(requireTool('promtool', 'prometheus'), args, { input, encoding: 'utf8' });
  if (r.error) throw r.error;
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

function consumersOf(jsz: Jsz) {
  return (jsz.account_details ?? []).flatMap((a) =>
    (a.stream_detail ?? []).flatMap((s) => s.consumer_detail ?? []),
  );
}

export interface Jsz {
  messages: number;
  account_details?: Array<{
    stream_detail?: Array<{
      name: string;
      state?: { messages?: number; last_seq?: number };
      consumer_detail?: Array<{
        name: string;
        delivered: { consumer_seq: number; stream_seq: number };
        ack_floor?: unknown;
        num_ack_pending?: number;
        num_redelivered?: number;
        num_waiting?: number;
        num_pending?: number;
      }>;
    }>;
  }>;
}
