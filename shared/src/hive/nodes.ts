// Over 300 lines on purpose: the registry bucket, reading, watching and the heartbeat share one
// entry format and one expiry rule.
import { type JetStreamClient, type JetStreamManager, StorageType } from '@nats-io/jetstream';
import { type KV, type KvEntry, Kvm, KvWatchInclude } from '@nats-io/kv';
import { nanos } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { errorMessage, isStreamMissing } from '../queue/jetstream/errors.ts';
import { pause } from '../queue/jetstream/retry.ts';
import { type NodeEntry, type NodeStatus, parseNodeEntry } from './node-entry.ts';
import { nodeToken } from './token.ts';

/** The key-value bucket every node heartbeats into. */
export const NODES_BUCKET = 'scopehive-nodes';

/** Missed heartbeats after which a node's entry is gone: one lost or late beat never drops a live node. */
const missedBeats = 3;

export interface NodeRegistrySettings {
  /** How often each node writes its entry. */
  intervalMs: number;
  /** 3 once three JetStream servers exist, 1 below that. */
  replicas?: number;
  /** Default `scopehive-nodes`. */
  bucket?: string;
}

/** How long an entry outlives its last heartbeat: the bucket's max_age, kept by the server. */
export function nodeExpiryMs(intervalMs: number): number {
  return intervalMs * missedBeats;
}

/** The registry bucket, opened. */
export interface NodeRegistry {
  readonly kv: KV;
  readonly bucket: string;
  readonly jsm: JetStreamManager;
  /** The stream under the bucket. */
  readonly stream: string;
}

/**
 * Opens the registry bucket, making it if needed: one value per node (history 1) that the server
 * removes `nodeExpiryMs` after it was written. Expiry is the server's alone, so a node whose clock is
 * wrong by minutes neither vanishes early nor lingers. A bucket made with another interval gets this
 * one's expiry (the last node started wins, as with the job consumers).
 */
export async function openNodeRegistry(
  js: JetStreamClient,
  settings: NodeRegistrySettings,
): Promise<NodeRegistry> {
  const bucket = settings.bucket ?? NODES_BUCKET;
  const maxAgeMs = nodeExpiryMs(settings.intervalMs);
  const jsm = await js.jetstreamManager();
  // An existing bucket is opened, never created again: in a cluster missing a server such a
  // request goes unanswered.
  const exists = await jsm.streams.info(`KV_${bucket}`).then(
    () => true,
    (err: unknown) => {
      if (isStreamMissing(err)) return false;
      throw err;
    },
  );
  const kvm = new Kvm(js);
  const kv = exists
    ? await kvm.open(bucket)
    : await kvm.create(bucket, {
        history: 1,
        ttl: maxAgeMs,
        replicas: settings.replicas ?? 1,
        // Survives a server restart, so entries keep expiring on time instead of all vanishing at once.
        storage: StorageType.File,
      });
  const { streamInfo } = await kv.status();
  const stream = streamInfo.config.name;
  // Replicas are raised when the hive has grown (never lowered: a server down looks like a smaller hive).
  const replicas = Math.max(settings.replicas ?? 1, streamInfo.config.num_replicas ?? 1);
  if (streamInfo.config.max_age !== nanos(maxAgeMs) || streamInfo.config.num_replicas !== replicas)
    await jsm.streams.update(stream, { max_age: nanos(maxAgeMs), num_replicas: replicas });
  return { kv, bucket, jsm, stream };
}

/**
 * The entry of a PUT, or undefined for a deletion or a malformed entry (reported through `warn`:
 * any device on the LAN may write one, and it must not stop the rest being read).
 */
function readEntry(entry: KvEntry, warn: (entry: KvEntry, reason: string) => void): NodeEntry | undefined {
  if (entry.operation !== 'PUT') return undefined;
  try {
    const node = parseNodeEntry(entry.json());
    if (nodeToken(node.node) !== entry.key)
      throw new Error(`node entry is malformed: it names node ${node.node}`);
    return node;
  } catch (err) {
    warn(entry, err instanceof SyntaxError ? 'node entry is not JSON' : errorMessage(err));
    return undefined;
  }
}

function warner(log: Logger | undefined) {
  return (entry: KvEntry, reason: string) =>
    log?.warn({ key: entry.key, revision: entry.revision, reason }, 'node registry entry skipped');
}

const byNode = (a: NodeEntry, b: NodeEntry) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0);

/** Every live node, by name. Malformed entries are skipped with a warning. */
export async function listNodes(registry: NodeRegistry, log?: Logger): Promise<NodeEntry[]> {
  return [...(await readAll(registry, warner(log))).values()].map((n) => n.entry).sort(byNode);
}

/**
 * The keys come from one stream-info request (its subjects), not from `kv.keys()`: that one follows
 * a consumer until it sees the end, which a bucket written every second may keep it from seeing.
 */
async function readAll(
  { kv, bucket, jsm, stream }: NodeRegistry,
  warn: (entry: KvEntry, reason: string) => void,
): Promise<Map<string, { entry: NodeEntry; revision: number }>> {
  const prefix = `$KV.${bucket}.`;
  const info = await jsm.streams.info(stream, { subjects_filter: `${prefix}>` });
  const keys = Object.keys(info.state.subjects ?? {}).map((subject) => subject.slice(prefix.length));
  const found = new Map<string, { entry: NodeEntry; revision: number }>();
  for (const stored of await Promise.all(keys.map((key) => kv.get(key)))) {
    // Null when the entry expired between listing and reading.
    const entry = stored && readEntry(stored, warn);
    if (stored && entry) found.set(stored.key, { entry, revision: stored.revision });
  }
  return found;
}

export interface WatchNodesOptions {
  signal: AbortSignal;
  log?: Logger;
  /**
   * How often the whole registry is read again. The server removes an expired entry without telling
   * watchers, so this is how a dead node's departure is noticed (default 5 s).
   */
  refreshMs?: number;
}

/**
 * The live nodes, again each time they change: a heartbeat written, a node leaving, an entry
 * expiring. A reader slower than the changes gets the latest list, not a backlog. Ends when the
 * signal aborts.
 */
export async function* watchNodes(
  registry: NodeRegistry,
  options: WatchNodesOptions,
): AsyncGenerator<NodeEntry[]> {
  const { signal, log, refreshMs = 5000 } = options;
  // Also ended when the reader stops reading (breaks out of its loop) without aborting.
  const done = new AbortController();
  // A malformed entry is reported once, not on every refresh.
  const reported = new Set<string>();
  const report = warner(log);
  const warn = (entry: KvEntry, reason: string) => {
    const id = `${entry.key}@${entry.revision}`;
    if (reported.has(id)) return;
    reported.add(id);
    report(entry, reason);
  };
  let nodes = new Map<string, { entry: NodeEntry; revision: number }>();
  let dirty = true;
  let wake = () => {};
  const changed = () => {
    dirty = true;
    wake();
  };
  // Revisions are the stream's sequence numbers: a larger one is a later write.
  let lastRevision = 0;
  const watcher = await registry.kv.watch({ include: KvWatchInclude.LastValue });
  const following = (async () => {
    for await (const e of watcher) {
      lastRevision = Math.max(lastRevision, e.revision);
      const entry = readEntry(e, warn);
      if (entry) nodes.set(e.key, { entry, revision: e.revision });
      else nodes.delete(e.key);
      changed();
    }
  })().catch((err) => log?.warn({ err: errorMessage(err) }, 'stopped following the node registry'));
  const refreshing = (async () => {
    while ((await pause(refreshMs, done.signal)) && !signal.aborted) {
      try {
        const before = lastRevision;
        const fresh = await readAll(registry, warn);
        // What the watcher saw while the registry was being read is newer than the reading.
        for (const [key, seen] of nodes) {
          if (seen.revision > before && seen.revision > (fresh.get(key)?.revision ?? 0)) fresh.set(key, seen);
        }
        const same =
          fresh.size === nodes.size && [...fresh].every(([k, v]) => nodes.get(k)?.revision === v.revision);
        nodes = fresh;
        if (!same) changed();
      } catch (err) {
        log?.warn({ err: errorMessage(err) }, 'cannot read the node registry, retrying');
      }
    }
  })();
  const onAbort = () => {
    done.abort();
    wake();
  };
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    while (!signal.aborted) {
      if (!dirty) {
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        continue;
      }
      dirty = false;
      yield [...nodes.values()].map((n) => n.entry).sort(byNode);
    }
  } finally {
    signal.removeEventListener('abort', onAbort);
    done.abort();
    watcher.stop();
    await Promise.allSettled([following, refreshing]);
  }
}

export interface NodeHeartbeatOptions extends NodeRegistrySettings {
  js: JetStreamClient;
  /** This node's name (`BALENA_DEVICE_UUID`, else the host name). */
  node: string;
  /** What the node is doing right now; called for every heartbeat. */
  describe: () => NodeStatus | Promise<NodeStatus>;
  log: Logger;
}

/**
 * Writes this node's entry into the registry every `intervalMs` while it runs. A heartbeat that
 * cannot be written is logged and the next one tried: a NATS outage never stops the node, and the
 * bucket is made again if the server lost it. `close()` removes the entry, so a node that stops
 * cleanly leaves at once; one that dies leaves when its entry expires.
 */
export class NodeHeartbeat {
  readonly #options: NodeHeartbeatOptions;
  readonly #key: string;
  readonly #stop = new AbortController();
  #kv: KV | undefined;
  #failures = 0;
  #started: Promise<void> | undefined;
  #running: Promise<void> | undefined;

  constructor(options: NodeHeartbeatOptions) {
    this.#options = options;
    this.#key = nodeToken(options.node);
  }

  /**
   * Opens the bucket and writes the first heartbeat; later ones follow in the background. A
   * JetStream that does not answer yet (a busy cluster still placing the bucket's replicas) is one
   * warning, never a failed start: each beat tries again, the first to get through opens the bucket.
   */
  start(): Promise<void> {
    this.#started ??= (async () => {
      await this.#beat();
      this.#running = this.#loop();
    })();
    return this.#started;
  }

  async close(): Promise<void> {
    this.#stop.abort();
    // A first heartbeat still being written would otherwise land after the removal.
    await this.#started?.catch(() => undefined);
    await this.#running;
    try {
      await this.#kv?.delete(this.#key);
    } catch (err) {
      this.#options.log.debug({ err: errorMessage(err) }, 'could not remove this node from the registry');
    }
  }

  async #loop(): Promise<void> {
    while (await pause(this.#options.intervalMs, this.#stop.signal)) await this.#beat();
  }

  async #beat(): Promise<void> {
    const { log, node } = this.#options;
    let value: string;
    try {
      const status = await this.#options.describe();
      value = JSON.stringify(parseNodeEntry({ ...status, node, seenAt: Date.now() }));
    } catch (err) {
      log.warn({ err: errorMessage(err) }, 'heartbeat skipped: cannot describe this node');
      return;
    }
    try {
      await this.#put(value);
      if (this.#failures > 0) log.info({ failures: this.#failures }, 'heartbeats written again');
      this.#failures = 0;
    } catch (err) {
      this.#failures += 1;
      // One line per outage, not one per beat.
      if (this.#failures === 1) log.warn({ err: errorMessage(err) }, 'cannot write this node’s heartbeat');
    }
  }

  async #put(value: string): Promise<void> {
    this.#kv ??= (await openNodeRegistry(this.#options.js, this.#options)).kv;
    const kv = this.#kv;
    try {
      await kv.put(this.#key, value);
    } catch (err) {
      if (!isStreamMissing(err)) throw err;
      this.#kv = (await openNodeRegistry(this.#options.js, this.#options)).kv;
      await this.#kv.put(this.#key, value);
    }
  }
}
