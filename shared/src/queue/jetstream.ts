import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  AckPolicy,
  type Consumer,
  type ConsumerConfig,
  DeliverPolicy,
  DiscardPolicy,
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
} from '@nats-io/jetstream';
import { connect, type NatsConnection, nanos } from '@nats-io/transport-node';
import { type Logger, pino } from 'pino';
import type { Job } from '../job.ts';
import type { ConsumeOptions, JobDelivery, JobQueue } from './types.ts';

export interface JetStreamQueueOptions {
  /** NATS server URL(s), comma-separated (`NATS_URL`). */
  servers: string;
  /** Work-queue stream name (default `SCOPEHIVE_JOBS`). */
  stream?: string;
  /** Jobs go to `<prefix>.<model>` (default `scopehive.jobs`). */
  subjectPrefix?: string;
  /** A delivery not settled within this time is delivered again. */
  ackWaitMs: number;
  /** Deliveries per job; one that is not settled on its last delivery goes to `onExhausted`. */
  maxDeliver: number;
  /** `publish` waits while the stream holds this many jobs (default 10,000). */
  maxPending?: number;
  /** Most unacknowledged deliveries per model across every consuming process (default 1,000). */
  maxAckPending?: number;
  /** A job id published again within this time is dropped by the server (default 10 min, at least 2). */
  duplicateWindowMs?: number;
  /**
   * Called, then the job is terminated, when a job was not settled on its last delivery (its process
   * died or hung) or was nak'ed on it. Without it the job is logged at error level and terminated.
   */
  onExhausted?: (job: Job) => void | Promise<void>;
  /** Connection name shown in NATS monitoring. */
  name?: string;
  logger?: Logger;
  /** Stops the start-up connection attempts. */
  signal?: AbortSignal;
}

const defaults = {
  stream: 'SCOPEHIVE_JOBS',
  subjectPrefix: 'scopehive.jobs',
  maxPending: 10_000,
  maxAckPending: 1000,
  duplicateWindowMs: 10 * 60_000,
};
type ResolvedOptions = JetStreamQueueOptions & typeof defaults;
/** How long one pull request waits on the server; an idle consumer re-pulls this often. */
const pullExpiresMs = 10_000;
/** `publish` looks at the stream's message count at most this often. */
const depthCheckMs = 250;
const retryMaxMs = 5000;

/**
 * A model name as one NATS subject token and consumer-name part: names made of letters, digits, `_`
 * and `-` are kept as they are; any other name is cleaned and gets a hash suffix so that two models
 * never share a subject (`yolo.sem` → `yolo_sem-1f2e3d4c`).
 */
export function modelToken(model: string): string {
  const clean = model.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 64);
  if (clean === model && model !== '') return model;
  return `${clean}-${createHash('sha256').update(model).digest('hex').slice(0, 8)}`;
}

/**
 * The JetStream engine behind JobQueue, for the device and the hive: jobs are messages on a
 * work-queue stream (file storage), one subject per model, and each model has one durable pull
 * consumer (`inference-<model>`) that every inference process shares, so several processes and
 * nodes split the work and a job acknowledged by one is gone for all.
 *
 * JetStream refuses overlapping consumers on a work-queue stream, so there is no catch-all
 * consumer: `consume()` without `models` finds the model subjects that hold jobs and pulls from
 * their per-model consumers, the same ones a process with those models loaded uses.
 *
 * A job that was not settled on its last delivery comes back once more (the consumer's
 * `max_deliver` is one above `maxDeliver`); that extra delivery is not handed out but reported to
 * `onExhausted` and terminated, so a poison job never sits in the stream for ever.
 */
export class JetStreamQueue implements JobQueue {
  readonly #nc: NatsConnection;
  readonly #js: JetStreamClient;
  readonly #jsm: JetStreamManager;
  readonly #log: Logger;
  readonly #stream: string;
  readonly #prefix: string;
  readonly #opts: ResolvedOptions;
  readonly #closing = new AbortController();
  readonly #consumers = new Map<string, Promise<Consumer>>();
  readonly #termWithReason: boolean;
  #connected = true;
  #count: { value: number; at: number } | undefined;
  #countRequest: Promise<number> | undefined;

  private constructor(nc: NatsConnection, jsm: JetStreamManager, opts: ResolvedOptions, log: Logger) {
    this.#nc = nc;
    this.#jsm = jsm;
    this.#js = jetstream(nc);
    this.#opts = opts;
    this.#log = log;
    this.#stream = opts.stream;
    this.#prefix = opts.subjectPrefix;
    // The reason after +TERM is understood from nats-server 2.10; older servers ignore the whole ack.
    this.#termWithReason = versionAtLeast(nc.info?.version ?? '0.0.0', 2, 10);
  }

  /**
   * Connects (retrying with backoff for as long as it takes, logging each failure), makes sure the
   * stream exists, and keeps reconnecting for ever afterwards: a NATS restart pauses the queue, it
   * never ends it.
   */
  static async connect(options: JetStreamQueueOptions): Promise<JetStreamQueue> {
    const opts = { ...defaults, ...stripUndefined(options) };
    const log = options.logger ?? pino({ level: 'silent' });
    checkSubject(opts.subjectPrefix, 'subjectPrefix');
    if (!/^[A-Za-z0-9_-]+$/.test(opts.stream)) throw new Error(`not a valid stream name: ${opts.stream}`);
    if (opts.duplicateWindowMs < 120_000) throw new Error('duplicateWindowMs must be at least 2 minutes');
    const servers = opts.servers
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
    const signal = options.signal;
    const nc = await retry(
      log,
      'NATS is not reachable',
      () =>
        connect({
          servers,
          name: opts.name ?? 'scopehive',
          timeout: 5000,
          maxReconnectAttempts: -1,
          reconnectTimeWait: 1000,
          pingInterval: 20_000,
        }),
      signal,
    );
    try {
      const jsm = await retry(log, 'JetStream is not available', () => jetstreamManager(nc), signal);
      const queue = new JetStreamQueue(nc, jsm, opts, log);
      await retry(log, 'cannot set up the job stream', () => queue.#ensureStream(), signal, isPermanent);
      queue.#watchConnection();
      log.info({ servers, stream: opts.stream, server: nc.info?.version }, 'connected to NATS JetStream');
      return queue;
    } catch (err) {
      await nc.close();
      throw err;
    }
  }

  /** For readiness: connected to NATS right now. */
  isConnected(): boolean {
    return this.#connected && !this.#nc.isClosed();
  }

  /** The subject a job for `model` is published to. */
  subjectFor(model: string): string {
    return `${this.#prefix}.${modelToken(model)}`;
  }

  async publish(job: Job): Promise<void> {
    await this.#waitForRoom();
    const subject = this.subjectFor(job.model);
    const ack = await retry(
      this.#log,
      'cannot publish a job, retrying',
      () => this.#js.publish(subject, JSON.stringify(job), { msgID: msgId(job.id), timeout: 5000 }),
      this.#closing.signal,
      isPermanent,
      async (err) => {
        if (isNoStream(err)) await this.#ensureStream();
      },
    );
    if (!ack.duplicate && this.#count) this.#count.value += 1;
  }

  async *consume(options: ConsumeOptions = {}): AsyncIterable<JobDelivery> {
    const stop = AbortSignal.any([this.#closing.signal, ...(options.signal ? [options.signal] : [])]);
    const finished = new AbortController();
    const pumpSignal = AbortSignal.any([stop, finished.signal]);
    const mailbox = new Mailbox(Math.max(100, this.#opts.ackWaitMs / 2));
    const pumping = new Map<string, Promise<void>>();
    const pump = (token: string) => {
      if (!pumping.has(token)) pumping.set(token, this.#pump(token, mailbox, pumpSignal));
    };
    const discovering = options.models ? undefined : this.#discoverModels(pump, pumpSignal);
    for (const model of options.models ?? []) pump(modelToken(model));
    try {
      for (;;) {
        const item = await mailbox.take(stop);
        if (!item) return;
        const delivery = await this.#deliver(item);
        if (delivery) yield delivery;
      }
    } finally {
      finished.abort();
      await Promise.all([...pumping.values(), discovering]);
      for (const msg of mailbox.drain()) msg.nak();
    }
  }

  /** Jobs in the stream: waiting plus in flight (a work-queue stream keeps a job until it is acknowledged). */
  async depth(): Promise<number> {
    const info = await this.#jsm.streams.info(this.#stream);
    this.#count = { value: info.state.messages, at: Date.now() };
    return info.state.messages;
  }

  /** Stops every `consume()` (unsettled buffered jobs are nak'ed) and closes the connection. */
  async close(): Promise<void> {
    if (this.#closing.signal.aborted) return;
    this.#closing.abort();
    await this.#nc.drain().catch(() => this.#nc.close());
  }

  async #ensureStream(): Promise<void> {
    const config: Partial<StreamConfig> & { name: string } = {
      name: this.#stream,
      subjects: [`${this.#prefix}.>`],
      retention: RetentionPolicy.Workqueue,
      storage: StorageType.File,
      discard: DiscardPolicy.Old,
      duplicate_window: nanos(this.#opts.duplicateWindowMs),
      num_replicas: 1,
    };
    try {
      await this.#jsm.streams.add(config);
    } catch (err) {
      if (!(err instanceof JetStreamApiError) || err.code !== streamNameInUse) throw err;
      const info = await this.#jsm.streams.info(this.#stream);
      if (info.config.retention !== RetentionPolicy.Workqueue) {
        throw new PermanentError(
          `stream ${this.#stream} exists with ${info.config.retention} retention; the job queue needs a work-queue stream (delete it or set another stream name)`,
        );
      }
      await this.#jsm.streams.update(this.#stream, {
        subjects: config.subjects,
        duplicate_window: config.duplicate_window,
      });
    }
  }

  #consumer(token: string): Promise<Consumer> {
    let pending = this.#consumers.get(token);
    if (!pending) {
      pending = this.#ensureConsumer(token);
      this.#consumers.set(token, pending);
      pending.catch(() => this.#consumers.delete(token));
    }
    return pending;
  }

  async #ensureConsumer(token: string): Promise<Consumer> {
    const name = `inference-${token}`;
    const config: Partial<ConsumerConfig> = {
      durable_name: name,
      filter_subject: `${this.#prefix}.${token}`,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: nanos(this.#opts.ackWaitMs),
      max_deliver: this.#opts.maxDeliver + 1,
      max_ack_pending: this.#opts.maxAckPending,
    };
    try {
      await this.#jsm.consumers.add(this.#stream, config);
    } catch (err) {
      if (isNoStream(err)) {
        await this.#ensureStream();
        await this.#jsm.consumers.add(this.#stream, config);
      } else if (err instanceof JetStreamApiError && err.code === consumerExists) {
        // Another process made it with other settings; the last one started wins.
        await this.#jsm.consumers.update(this.#stream, name, {
          ack_wait: config.ack_wait,
          max_deliver: config.max_deliver,
          max_ack_pending: config.max_ack_pending,
        });
      } else {
        throw err;
      }
    }
    return this.#js.consumers.get(this.#stream, name);
  }

  /**
   * Pulls one job at a time from one model's consumer, and only while `consume()` is waiting for
   * one: a job pulled early would sit here with its ack-wait clock running while another process
   * could have taken it.
   */
  async #pump(token: string, mailbox: Mailbox, signal: AbortSignal): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      try {
        if (!(await mailbox.hungry(signal))) return;
        const consumer = await this.#consumer(token);
        const batch = await consumer.fetch({ max_messages: 1, expires: pullExpiresMs });
        const onAbort = () => void batch.close();
        signal.addEventListener('abort', onAbort, { once: true });
        try {
          for await (const msg of batch) {
            if (signal.aborted) msg.nak();
            else mailbox.put(msg);
          }
        } finally {
          signal.removeEventListener('abort', onAbort);
        }
        failures = 0;
      } catch (err) {
        if (signal.aborted) return;
        failures += 1;
        // The consumer or the stream may be gone (a NATS store lost): make sure of both next time.
        this.#consumers.delete(token);
        this.#log.warn({ err: message(err), model: token, failures }, 'cannot pull jobs, retrying');
        if (!(await pause(backoffMs(failures), signal))) return;
      }
    }
  }

  /** Without a model list: starts a pump for every model subject that holds jobs, as they appear. */
  async #discoverModels(pump: (token: string) => void, signal: AbortSignal): Promise<void> {
    const start = this.#prefix.length + 1;
    while (!signal.aborted) {
      try {
        const info = await this.#jsm.streams.info(this.#stream, { subjects_filter: `${this.#prefix}.>` });
        for (const subject of Object.keys(info.state.subjects ?? {})) pump(subject.slice(start));
      } catch (err) {
        this.#log.warn({ err: message(err) }, 'cannot list the models in the job stream');
      }
      if (!(await pause(2000, signal))) return;
    }
  }

  async #deliver({ msg, waited }: Pulled): Promise<JobDelivery | undefined> {
    let job: Job;
    try {
      job = parseJob(msg.string());
    } catch (err) {
      this.#log.error({ err: message(err), subject: msg.subject, seq: msg.seq }, 'not a job; terminated');
      msg.term();
      return undefined;
    }
    const attempt = msg.info.deliveryCount;
    const maxDeliver = this.#opts.maxDeliver;
    if (attempt > maxDeliver) {
      await this.#exhausted(job, msg);
      return undefined;
    }
    // It waited in the mailbox: give the handler the whole ack wait.
    if (waited) msg.working();
    return {
      job,
      attempt,
      maxDeliver,
      ack: async () => {
        // Wait for the server to confirm, so an ack lost in a NATS restart is at least logged; the
        // job then comes back and the idempotent result writer makes the second run a no-op.
        const confirmed = await msg.ackAck({ timeout: 5000 }).catch(() => false);
        if (!confirmed) this.#log.warn({ job: job.id }, 'ack not confirmed; the job may be delivered again');
      },
      nak: async (delayMs = 0) => {
        if (attempt >= maxDeliver) await this.#exhausted(job, msg);
        else msg.nak(delayMs > 0 ? delayMs : undefined);
      },
      term: async (reason) => {
        if (this.#termWithReason) msg.term(reason);
        else msg.term();
      },
      working: async () => msg.working(),
    };
  }

  /** Reports a job no delivery settled and ends it: the server would not deliver it again anyway. */
  async #exhausted(job: Job, msg: JsMsg): Promise<void> {
    const report = { job: job.id, model: job.model, image: job.image, deliveries: msg.info.deliveryCount };
    try {
      if (this.#opts.onExhausted) await this.#opts.onExhausted(job);
      else this.#log.error(report, 'job not settled by any of its deliveries; dropped');
    } catch (err) {
      this.#log.error(
        { ...report, err: message(err) },
        'job not settled by any of its deliveries; reporting it failed',
      );
    }
    const reason = `not settled after ${this.#opts.maxDeliver} deliveries`;
    if (this.#termWithReason) msg.term(reason);
    else msg.term();
  }

  /** Backpressure: waits while the stream holds `maxPending` jobs or more. */
  async #waitForRoom(): Promise<void> {
    let logged = false;
    for (;;) {
      if (this.#closing.signal.aborted) throw new Error('queue is closed');
      const count = await this.#pendingCount().catch(() => undefined);
      // Unknown (NATS away): publishing itself waits for the connection.
      if (count === undefined || count < this.#opts.maxPending) return;
      if (!logged) {
        this.#log.info({ pending: count, maxPending: this.#opts.maxPending }, 'job stream full; waiting');
        logged = true;
      }
      await pause(depthCheckMs, this.#closing.signal);
    }
  }

  #pendingCount(): Promise<number> {
    if (this.#count && Date.now() - this.#count.at < depthCheckMs) return Promise.resolve(this.#count.value);
    this.#countRequest ??= this.depth().finally(() => {
      this.#countRequest = undefined;
    });
    return this.#countRequest;
  }

  #watchConnection(): void {
    void (async () => {
      for await (const s of this.#nc.status()) {
        if (s.type === 'disconnect') {
          this.#connected = false;
          this.#log.warn({ server: s.server }, 'disconnected from NATS; reconnecting');
        } else if (s.type === 'reconnect') {
          this.#connected = true;
          this.#log.info({ server: s.server }, 'reconnected to NATS');
          // A server that lost its store comes back without the stream.
          this.#ensureStream().catch((err) =>
            this.#log.warn({ err: message(err) }, 'cannot set up the job stream after reconnecting'),
          );
        }
      }
    })();
    void this.#nc.closed().then((err) => {
      this.#connected = false;
      if (err) this.#log.error({ err: message(err) }, 'NATS connection closed');
    });
  }
}

/** A job pulled for the consume loop, and whether it had to wait in the mailbox for it. */
interface Pulled {
  msg: JsMsg;
  waited: boolean;
}

/**
 * Where the per-model pumps hand jobs to the one `consume()` loop. A pump pulls only while the loop
 * waits and nothing is buffered, so at most one job per model sits here; while it does, it is kept
 * in progress so that its ack wait does not run out and hand it to another process as well.
 */
class Mailbox {
  readonly #keepAliveMs: number;
  #items: Array<{ msg: JsMsg; keepAlive: NodeJS.Timeout }> = [];
  #taker: ((item: Pulled | undefined) => void) | undefined;
  #hungry: Array<(ok: boolean) => void> = [];

  constructor(keepAliveMs: number) {
    this.#keepAliveMs = keepAliveMs;
  }

  put(msg: JsMsg): void {
    const taker = this.#taker;
    this.#taker = undefined;
    if (taker) {
      taker({ msg, waited: false });
      return;
    }
    const keepAlive = setInterval(() => msg.working(), this.#keepAliveMs);
    keepAlive.unref();
    this.#items.push({ msg, keepAlive });
  }

  /** The next job, or undefined once the signal aborts. */
  take(signal: AbortSignal): Promise<Pulled | undefined> {
    const item = this.#items.shift();
    if (item) {
      clearInterval(item.keepAlive);
      return Promise.resolve({ msg: item.msg, waited: true });
    }
    if (signal.aborted) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const onAbort = () => {
        this.#taker = undefined;
        resolve(undefined);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.#taker = (got) => {
        signal.removeEventListener('abort', onAbort);
        resolve(got);
      };
      const hungry = this.#hungry;
      this.#hungry = [];
      for (const wake of hungry) wake(true);
    });
  }

  /** Resolves true when the loop waits for a job and none is buffered; false if the signal aborts. */
  hungry(signal: AbortSignal): Promise<boolean> {
    if (signal.aborted) return Promise.resolve(false);
    if (this.#taker && this.#items.length === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const wake = (ok: boolean) => {
        signal.removeEventListener('abort', onAbort);
        resolve(ok);
      };
      const onAbort = () => {
        this.#hungry = this.#hungry.filter((w) => w !== wake);
        resolve(false);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.#hungry.push(wake);
    });
  }

  /** The jobs still buffered; they are no longer kept in progress. */
  drain(): JsMsg[] {
    const items = this.#items;
    this.#items = [];
    for (const item of items) clearInterval(item.keepAlive);
    return items.map((item) => item.msg);
  }
}

/** JetStream API error codes (nats-server's errors.json). */
const streamNameInUse = 10058;
const consumerExists = 10148;
const streamNotFound = 10059;

class PermanentError extends Error {}

function isPermanent(err: unknown): boolean {
  if (err instanceof PermanentError) return true;
  if (!(err instanceof Error)) return false;
  if (['InvalidArgumentError', 'InvalidSubjectError', 'AuthorizationError'].includes(err.name)) return true;
  if (/max(imum)?[ _]payload/i.test(err.message)) return true;
  return err instanceof JetStreamApiError && err.status === 400;
}

function isNoStream(err: unknown): boolean {
  if (err instanceof JetStreamApiError) return err.code === streamNotFound;
  // A publish to a subject no stream captures has no responders.
  return err instanceof Error && /no responders|503/i.test(`${err.name} ${err.message}`);
}

/** The job id as the Nats-Msg-Id header: as it is when it is a plain header value, else its hash. */
function msgId(id: string): string {
  return /^[\x20-\x7e]{1,256}$/.test(id) ? id : createHash('sha256').update(id).digest('hex');
}

function parseJob(text: string): Job {
  const job = JSON.parse(text) as Job;
  const strings = ['id', 'image', 'imageSha256', 'model', 'modelSha256'] as const;
  if (typeof job !== 'object' || job === null || strings.some((k) => typeof job[k] !== 'string')) {
    throw new Error('missing job fields');
  }
  return job;
}

function checkSubject(subject: string, what: string): void {
  const tokens = subject.split('.');
  if (tokens.some((t) => t === '' || /[\s*>]/.test(t))) throw new Error(`not a valid ${what}: ${subject}`);
}

function versionAtLeast(version: string, major: number, minor: number): boolean {
  const [a = 0, b = 0] = version.split('.').map((n) => Number.parseInt(n, 10));
  return a > major || (a === major && b >= minor);
}

function backoffMs(failures: number): number {
  const base = Math.min(250 * 2 ** (failures - 1), retryMaxMs);
  return base / 2 + Math.random() * (base / 2);
}

/** Sleeps; false when the signal aborted first. */
async function pause(ms: number, signal?: AbortSignal): Promise<boolean> {
  try {
    await sleep(ms, undefined, { signal });
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs `fn` until it succeeds, with backoff and one log line per failure; permanent errors and an
 * aborted signal end it with an error.
 */
async function retry<T>(
  log: Logger,
  what: string,
  fn: () => Promise<T>,
  signal?: AbortSignal,
  permanent: (err: unknown) => boolean = () => false,
  beforeRetry?: (err: unknown) => Promise<void>,
): Promise<T> {
  for (let failures = 1; ; failures++) {
    signal?.throwIfAborted();
    try {
      return await fn();
    } catch (err) {
      if (permanent(err) || signal?.aborted) throw err;
      const wait = backoffMs(failures);
      log.warn({ err: message(err), attempt: failures, retryInMs: Math.round(wait) }, what);
      if (!(await pause(wait, signal))) signal?.throwIfAborted();
      await beforeRetry?.(err).catch(() => undefined);
    }
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
