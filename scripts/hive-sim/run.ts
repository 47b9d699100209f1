/**
 * One simulation run: a real three-server NATS cluster on loopback, every node composed as the
 * product composes it (scripts/hive-sim/node.ts), the generated images dropped into the microscopes'
 * inboxes, and the outcome read from the shares. With faults, once about a third of the images are
 * done, one worker (a process of its own) is SIGKILLed and one NATS server is killed.
 *
 * Measured: `seconds` runs from the first job published (seen on the job subjects) to the first
 * write of the last result on its origin's share; ingest's start-up before the first job (watching,
 * hashing, storing the bytes) is `ingestSeconds`, apart. Utilisation is images done over what the
 * fleet's summed capacity (1000 / ms per image × sessions) could do in `seconds`. Lost: images
 * dropped with no result on their origin's share at the end (after 60 s without a new result, the
 * run stops waiting). Duplicated: every write of a result beyond its first on the origin's share
 * (seen as it happens, writes.ts) plus any result file on another node's share. Per node `busy` and
 * `host` (this process's event loop delay and CPU) say where the time went when utilisation is low.
 */
import { type ChildProcess, fork } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { connect } from '@nats-io/transport-node';
import { startLoopbackCluster } from '../hive/loopback-cluster.ts';
import { type NodeReport, tally } from './collect.ts';
import { capacity, type SimNode } from './fleet.ts';
import { makeImages } from './images.ts';
import { nodeEnv, nodeFolders, nodeLogger, startSimNode } from './node.ts';
import type { SessionBusy } from './stand-in.ts';
import { ResultWrites } from './writes.ts';

export interface SimOptions {
  nodes: SimNode[];
  images: number;
  faults: boolean;
  /** Progress lines (stderr in the command). */
  progress?: (line: string) => void;
  /** Gives up when no new result appeared for this long (default 60 s): what is missing is lost. */
  stallMs?: number;
}

export interface FaultReport {
  /** The worker SIGKILLed, and how many images were done when it was. */
  killedWorker: string;
  killedServer: string;
  atImages: number;
}

export interface SimReport {
  simulation: true;
  nodes: Array<NodeReport & { busy?: number }>;
  utilisation: number;
  lost: number;
  duplicated: number;
  /** Of `duplicated`: results written again on their origin's share, and results on another share. */
  rewritten: number;
  elsewhere: number;
  seconds: number;
  ingestSeconds: number;
  images: number;
  faults: FaultReport | false;
  /**
   * Diagnostics of this process, which runs every in-process node: its event loop's delay (a late
   * loop leaves a fast node's next job waiting) and the CPU it used, in cores, from the drop on.
   */
  host: { eventLoopDelayMeanMs: number; eventLoopDelayP99Ms: number; cpuCores: number };
}

interface Running {
  node: SimNode;
  /** In-process nodes only: the child's session is not visible from here. */
  busy?: SessionBusy;
  close(): Promise<void>;
  kill?(): Promise<void>;
}

const here = path.dirname(fileURLToPath(import.meta.url));

/** A node in a child process, for the worker `--faults` kills. */
async function startChild(node: SimNode, env: Record<string, string>): Promise<Running> {
  const child: ChildProcess = fork(
    path.join(here, 'node-process.ts'),
    [JSON.stringify({ env, msPerImage: node.msPerImage })],
    { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`node ${node.name} exited on start (code ${code})`)));
  });
  const stop = async (signal: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited;
  };
  return { node, close: () => stop('SIGTERM'), kill: () => stop('SIGKILL') };
}

async function waitFor(check: () => boolean, stallMs: number, progress: () => number): Promise<void> {
  let last = progress();
  let lastAt = Date.now();
  while (!check()) {
    await new Promise((r) => setTimeout(r, 50));
    const now = progress();
    if (now !== last) [last, lastAt] = [now, Date.now()];
    else if (Date.now() - lastAt > stallMs) return;
  }
}

export async function runSimulation(options: SimOptions): Promise<SimReport> {
  const { nodes, faults } = options;
  const say = options.progress ?? (() => undefined);
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'scopehive-hive-sim-'));
  const cluster = await startLoopbackCluster();
  const running: Running[] = [];
  const watchers = new Map<string, ResultWrites>();
  const nc = await connect({ servers: cluster.servers.map((s) => s.url), name: 'hive-sim' });
  try {
    const folders = new Map(nodes.map((n) => [n.name, nodeFolders(path.join(root, 'nodes', n.name))]));
    for (const f of folders.values())
      for (const dir of Object.values(f)) await fs.mkdir(dir, { recursive: true });
    for (const n of nodes.filter((n) => n.microscope))
      watchers.set(n.name, new ResultWrites(folders.get(n.name)!.results));
    const microscopes = nodes.filter((n) => n.microscope);
    const images = await makeImages(
      options.images,
      path.join(root, 'staging'),
      microscopes.map((n) => ({ name: n.name, inbox: folders.get(n.name)!.inbox })),
    );
    // The first job published: JetStream's messages reach plain subscribers of their subject too.
    let firstJobAt: number | undefined;
    const jobs = nc.subscribe('scopehive.jobs.>', {
      max: 1,
      callback: () => {
        firstJobAt ??= Date.now();
      },
    });
    const victim = faults ? nodes.filter((n) => !n.microscope).at(-1) : undefined;
    for (const [i, node] of nodes.entries()) {
      const urls = cluster.servers.map((_, k) => cluster.servers[(i + k) % cluster.servers.length].url);
      const env = nodeEnv(node, path.dirname(folders.get(node.name)!.inbox), urls);
      if (node === victim) running.push(await startChild(node, env));
      else {
        const busy: SessionBusy = { runs: 0, ms: 0 };
        const logger = nodeLogger(node.name);
        const service = await startSimNode({ env, msPerImage: node.msPerImage, logger, busy });
        running.push({ node, busy, close: () => service.close() });
      }
    }
    say(
      `${nodes.length} nodes up; dropping ${options.images} images on ${microscopes.map((n) => n.name).join(', ')}`,
    );
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    const cpuBefore = process.cpuUsage();
    const droppedAt = Date.now();
    await images.drop();

    const documents = () => [...watchers.values()].reduce((sum, w) => sum + w.documents, 0);
    let fault: FaultReport | false = false;
    if (victim) {
      const server = cluster.servers.at(-1)!;
      const third = Math.ceil(options.images / 3);
      await waitFor(() => documents() >= third, options.stallMs ?? 60_000, documents);
      const atImages = documents();
      await Promise.all([running.find((r) => r.node === victim)?.kill?.(), server.kill()]);
      fault = { killedWorker: victim.name, killedServer: server.name, atImages };
      say(`faults: ${victim.name} SIGKILLed and NATS server ${server.name} killed at ${atImages} images`);
    }
    await waitFor(() => documents() >= options.images, options.stallMs ?? 60_000, documents);
    const completedAt = Math.max(...[...watchers.values()].map((w) => w.lastFirstWriteAt ?? 0));
    loop.disable();
    const cpu = process.cpuUsage(cpuBefore);
    const host = {
      eventLoopDelayMeanMs: Number((loop.mean / 1e6).toFixed(1)),
      eventLoopDelayP99Ms: Number((loop.percentile(99) / 1e6).toFixed(1)),
      cpuCores: Number(((cpu.user + cpu.system) / 1000 / Math.max(1, Date.now() - droppedAt)).toFixed(2)),
    };
    // Late second writes (a job delivered again after its result was written) land within an ack wait.
    await settle(() => [...watchers.values()].reduce((s, w) => s + w.repeated, 0) + documents());
    jobs.unsubscribe();

    const busy = new Map(running.map((r) => [r.node.name, r.busy]));
    for (const r of running.splice(0).reverse()) await r.close();
    const repeated = [...watchers.values()].reduce((s, w) => s + w.repeated, 0);
    const counted = await tally(nodes, images.placed, (name) => folders.get(name)!.results);
    const start = firstJobAt ?? droppedAt;
    const seconds = Math.max(0, (completedAt - start) / 1000);
    const fleet = nodes.reduce((sum, n) => sum + capacity(n), 0);
    return {
      simulation: true,
      // Diagnostics: the share of `seconds` each node's session was running.
      nodes: counted.nodes.map((n) => {
        const b = busy.get(n.node);
        return b && seconds > 0 ? { ...n, busy: Number((b.ms / 1000 / seconds).toFixed(4)) } : n;
      }),
      utilisation: seconds > 0 ? Number((counted.done / (fleet * seconds)).toFixed(4)) : 0,
      lost: counted.lost,
      duplicated: repeated + counted.foreign,
      rewritten: repeated,
      elsewhere: counted.foreign,
      seconds: Number(seconds.toFixed(3)),
      ingestSeconds: Number(((start - droppedAt) / 1000).toFixed(3)),
      images: options.images,
      faults: fault,
      host,
    };
  } finally {
    for (const r of running.splice(0).reverse()) await r.close().catch(() => undefined);
    for (const w of watchers.values()) w.close();
    await nc.close().catch(() => undefined);
    await cluster.close();
    await fs.rm(root, { recursive: true, force: true });
  }
}

/** Waits until `count` has not moved for a little over the ack wait: nothing is still on its way. */
async function settle(count: () => number): Promise<void> {
  const quietMs = 6000;
  let last = count();
  let since = Date.now();
  while (Date.now() - since < quietMs) {
    await new Promise((r) => setTimeout(r, 100));
    if (count() !== last) [last, since] = [count(), Date.now()];
  }
}
