import type { JetStreamClient, Logger } from '@scopehive/shared';
import { type NodeEntry, openNodeRegistry, watchNodes } from '@scopehive/shared/hive';
import { Gauge, type Registry } from 'prom-client';

export interface HiveViewOptions {
  js: JetStreamClient;
  registry: Registry;
  /** The registry's heartbeat interval: it decides how soon a dead node's entry expires. */
  intervalMs?: number;
  /** 3 once three JetStream servers exist, 1 below that. */
  replicas?: number;
  /** Default `scopehive-nodes` (tests use their own). */
  bucket?: string;
  /** How often the registry is read again to notice expired entries (default 5 s). */
  refreshMs?: number;
  logger: Logger;
}

/** Tries to open the registry again after this long when NATS is away at start. */
const reopenMs = 5000;

/**
 * Every live node of the hive as metrics on this node's /metrics, from the node registry: which
 * nodes there are and what they are, their frame rate per model, jobs in hand and sessions. The
 * node described is the `member` label (`node` is the default label of every series: the node that
 * serves it). A node whose entry expired or that left disappears from every gauge.
 */
export function startHiveView(options: HiveViewOptions): { close(): Promise<void> } {
  const { registry, logger: log } = options;
  const registers = [registry];
  let nodes: readonly NodeEntry[] = [];
  const perNode = <L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    fill: (gauge: Gauge<L>, node: NodeEntry) => void,
  ) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers,
      collect() {
        this.reset();
        for (const node of nodes) fill(this, node);
      },
    });
  perNode(
    'scopehive_hive_node_info',
    'Live hive nodes (value 1): role, device type, execution provider and version.',
    ['member', 'role', 'device_type', 'provider', 'version'],
    (g, n) =>
      g.set(
        { member: n.node, role: n.role, device_type: n.deviceType, provider: n.provider, version: n.version },
        1,
      ),
  );
  perNode(
    'scopehive_hive_node_images_per_second',
    'Images each live hive node analyses per second, by model, as the node reports it.',
    ['member', 'model'],
    (g, n) => {
      for (const [model, rate] of Object.entries(n.imagesPerSecond)) g.set({ member: n.node, model }, rate);
    },
  );
  perNode(
    'scopehive_hive_node_jobs_in_flight',
    'Jobs each live hive node holds right now.',
    ['member'],
    (g, n) => g.set({ member: n.node }, n.jobsInFlight),
  );
  perNode(
    'scopehive_hive_node_sessions',
    'Sessions (jobs at once) each live hive node runs a model with.',
    ['member', 'model'],
    (g, n) => {
      for (const m of n.models) g.set({ member: n.node, model: m.name }, m.sessions);
    },
  );

  const stop = new AbortController();
  const following = follow(options, stop.signal, (list) => {
    nodes = list;
  }).catch((err) => log.warn({ err: String(err) }, 'stopped following the hive node registry'));
  return {
    async close() {
      stop.abort();
      await following;
    },
  };
}

/** Follows the registry until `signal` aborts, opening it again after NATS was away or the bucket lost. */
async function follow(
  options: HiveViewOptions,
  signal: AbortSignal,
  seen: (nodes: readonly NodeEntry[]) => void,
): Promise<void> {
  const { logger: log } = options;
  let failures = 0;
  while (!signal.aborted) {
    try {
      const registry = await openNodeRegistry(options.js, {
        intervalMs: options.intervalMs ?? 5000,
        replicas: options.replicas,
        bucket: options.bucket,
      });
      if (failures > 0) log.info('following the hive node registry again');
      failures = 0;
      for await (const list of watchNodes(registry, { signal, log, refreshMs: options.refreshMs }))
        seen(list);
    } catch (err) {
      // One line per outage; the last known nodes stay until the registry is read again.
      if (failures++ === 0) log.warn({ err: String(err) }, 'cannot read the hive node registry, retrying');
    }
    if (!signal.aborted) await sleep(reopenMs, signal);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
