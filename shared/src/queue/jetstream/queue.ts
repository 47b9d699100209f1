import { createHash } from 'node:crypto';
import { type JetStreamClient, type JetStreamManager, jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { type Logger, pino } from 'pino';
import type { Job } from '../../job.ts';
import { withoutCredentials } from '../../redact.ts';
import type { OnExhausted } from '../exhausted.ts';
import type { ConsumeOptions, JobDelivery, JobQueue } from '../types.ts';
import { connectJetStream, serverAtLeast, watchConnection } from './connect.ts';
import { type DeliverySettings, toDelivery } from './delivery.ts';
import { countOutstanding, countWaitingByModel } from './depth.ts';
import { errorMessage, isPermanent, isStreamMissing } from './errors.ts';
import {
  type ConsumerCache,
  type ConsumerSettings,
  checkStreamSettings,
  consumerCache,
  ensureConsumer,
  ensureStream,
  modelSubject,
  modelToken,
  type StreamSettings,
} from './provision.ts';
import { discoverModels, Mailbox, pullModel } from './pull.ts';
import { pause, retry } from './retry.ts';

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
  onExhausted?: OnExhausted;
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
type Settings = StreamSettings & ConsumerSettings & { maxPending: number };
/** `publish` looks at the stream's message count at most this often. */
const depthCheckMs = 250;

/**
 * The JetStream engine behind JobQueue, for the device and the hive: jobs are messages on a
 * work-queue stream, one subject per model, and each model has one durable pull consumer that every
 * inference process shares, so several processes and nodes split the work and a job acknowledged
 * by one is gone for all. Set-up is in provision.ts, pulling in pull.ts, settling in delivery.ts.
 */
export class JetStreamQueue implements JobQueue {
  readonly #nc: NatsConnection;
  readonly #js: JetStreamClient;
  readonly #jsm: JetStreamManager;
  readonly #log: Logger;
  readonly #settings: Settings;
  readonly #delivery: DeliverySettings;
  readonly #consumers: ConsumerCache;
  readonly #closing = new AbortController();
  readonly #connected: () => boolean;
  #count: { value: number; at: number } | undefined;
  #countRequest: Promise<number> | undefined;

  private constructor(parts: {
    nc: NatsConnection;
    jsm: JetStreamManager;
    settings: Settings;
    onExhausted: OnExhausted | undefined;
    log: Logger;
    connected: () => boolean;
  }) {
    const { nc, jsm, settings, log } = parts;
    this.#nc = nc;
    this.#jsm = jsm;
    this.#js = jetstream(nc);
    this.#settings = settings;
    this.#log = log;
    this.#connected = parts.connected;
    this.#delivery = {
      maxDeliver: settings.maxDeliver,
      termWithReason: serverAtLeast(nc, 2, 10),
      onExhausted: parts.onExhausted,
      log,
    };
    this.#consumers = consumerCache((token) => ensureConsumer(jsm, this.#js, settings, settings, token));
  }

  /**
   * Connects (retrying for as long as it takes, logging each failure), makes sure the stream
   * exists, and keeps reconnecting for ever afterwards.
   */
  static async connect(options: JetStreamQueueOptions): Promise<JetStreamQueue> {
    const settings: Settings = {
      stream: options.stream ?? defaults.stream,
      subjectPrefix: options.subjectPrefix ?? defaults.subjectPrefix,
      duplicateWindowMs: options.duplicateWindowMs ?? defaults.duplicateWindowMs,
      ackWaitMs: options.ackWaitMs,
      maxDeliver: options.maxDeliver,
      maxAckPending: options.maxAckPending ?? defaults.maxAckPending,
      maxPending: options.maxPending ?? defaults.maxPending,
    };
    checkStreamSettings(settings);
    const log = options.logger ?? pino({ level: 'silent' });
    const { signal } = options;
    const { nc, jsm } = await connectJetStream({
      servers: options.servers,
      name: options.name ?? 'scopehive',
      log,
      signal,
    });
    try {
      await retry(() => ensureStream(jsm, settings), {
        log,
        what: 'cannot set up the job stream',
        signal,
        permanent: isPermanent,
      });
      const connected = watchConnection(nc, log, () => {
        ensureStream(jsm, settings).catch((err) =>
          log.warn({ err: errorMessage(err) }, 'cannot set up the job stream after reconnecting'),
        );
      });
      const queue = new JetStreamQueue({
        nc,
        jsm,
        settings,
        onExhausted: options.onExhausted,
        log,
        connected,
      });
      log.info(
        { servers: withoutCredentials(options.servers), stream: settings.stream, server: nc.info?.version },
        'connected to NATS JetStream',
      );
      return queue;
    } catch (err) {
      await nc.close();
      throw err;
    }
  }

  /** For readiness: connected to NATS right now. */
  /** The queue's JetStream client, shared by the hive's parts (image store, results) on this connection. */
  jetstream(): JetStreamClient {
    return this.#js;
  }

  isConnected(): boolean {
    return this.#connected();
  }

  /** The subject a job for `model` is published to. */
  subjectFor(model: string): string {
    return modelSubject(this.#settings.subjectPrefix, modelToken(model));
  }

  async publish(job: Job): Promise<void> {
    await this.#waitForRoom();
    const subject = this.subjectFor(job.model.name);
    const ack = await retry(
      () => this.#js.publish(subject, JSON.stringify(job), { msgID: msgId(job.id), timeout: 5000 }),
      {
        log: this.#log,
        what: 'cannot publish a job, retrying',
        signal: this.#closing.signal,
        permanent: isPermanent,
        beforeRetry: async (err) => {
          if (isStreamMissing(err)) await ensureStream(this.#jsm, this.#settings);
        },
      },
    );
    if (!ack.duplicate && this.#count) this.#count.value += 1;
  }

  /**
   * Without `models`, pulls from the consumer of every model subject that holds jobs: the same
   * per-model consumers a process with those models loaded uses.
   */
  async *consume(options: ConsumeOptions = {}): AsyncIterable<JobDelivery> {
    const stop = AbortSignal.any([this.#closing.signal, ...(options.signal ? [options.signal] : [])]);
    const finished = new AbortController();
    const pullSignal = AbortSignal.any([stop, finished.signal]);
    const mailbox = new Mailbox(Math.max(100, this.#settings.ackWaitMs / 2));
    const pulling = new Map<string, Promise<void>>();
    const pull = (token: string) => {
      if (!pulling.has(token)) {
        pulling.set(token, pullModel(this.#consumers, token, mailbox, this.#log, pullSignal));
      }
    };
    const { stream, subjectPrefix } = this.#settings;
    const discovering = options.models
      ? undefined
      : discoverModels(this.#jsm, stream, subjectPrefix, pull, this.#log, pullSignal);
    for (const model of options.models ?? []) pull(modelToken(model));
    try {
      for (;;) {
        const item = await mailbox.take(stop);
        if (!item) return;
        const delivery = await toDelivery(item, this.#delivery);
        if (delivery) yield delivery;
      }
    } finally {
      finished.abort();
      await Promise.all([...pulling.values(), discovering]);
      for (const msg of mailbox.drain()) msg.nak();
    }
  }

  /**
   * Jobs waiting plus in flight, as the consumers see them: each model's consumer counts what it has
   * still to deliver and what is delivered but not acknowledged; jobs of a model no consumer serves
   * yet count as waiting. Not the stream's message count: a NATS killed with SIGKILL can come back
   * with acknowledged jobs still in the stream (their removal lost, the consumer's ack floor kept),
   * which no consumer will ever deliver again, and that count would never go down.
   */
  async depth(): Promise<number> {
    const value = await countOutstanding(this.#jsm, this.#settings.stream, this.#settings.subjectPrefix);
    this.#count = { value, at: Date.now() };
    return value;
  }

  waitingByModel(): Promise<Map<string, number>> {
    return countWaitingByModel(this.#jsm, this.#settings.stream, this.#settings.subjectPrefix);
  }

  /** Stops every `consume()` (unsettled buffered jobs are nak'ed) and closes the connection. */
  async close(): Promise<void> {
    if (this.#closing.signal.aborted) return;
    this.#closing.abort();
    await this.#nc.drain().catch(() => this.#nc.close());
  }

  /** Backpressure: waits while the stream holds `maxPending` jobs or more. */
  async #waitForRoom(): Promise<void> {
    const { maxPending } = this.#settings;
    let logged = false;
    for (;;) {
      if (this.#closing.signal.aborted) throw new Error('queue is closed');
      const count = await this.#pendingCount().catch(() => undefined);
      // Unknown (NATS away): publishing itself waits for the connection.
      if (count === undefined || count < maxPending) return;
      if (!logged) {
        this.#log.info({ pending: count, maxPending }, 'job stream full; waiting');
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
}

/** The job id as the Nats-Msg-Id header: as it is when it is a plain header value, else its hash. */
function msgId(id: string): string {
  return /^[\x20-\x7e]{1,256}$/.test(id) ? id : createHash('sha256').update(id).digest('hex');
}
