import { createHash } from 'node:crypto';
import {
  AckPolicy,
  type Consumer,
  type ConsumerConfig,
  DeliverPolicy,
  DiscardPolicy,
  type JetStreamClient,
  type JetStreamManager,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
  type StreamInfo,
  type StreamUpdateConfig,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { hiveReplicas } from '../../hive/replicas.ts';
import { isConsumerAlreadyExists, isStreamMissing, isStreamNameInUse, QueueSetupError } from './errors.ts';

/** Where jobs live: one work-queue stream, one subject per model under a prefix. */
export interface StreamSettings {
  stream: string;
  subjectPrefix: string;
  /** A job id published again within this time is dropped by the server. */
  duplicateWindowMs: number;
}

/** How each model's consumer hands out jobs. */
export interface ConsumerSettings {
  ackWaitMs: number;
  /** Deliveries a job gets before it is reported as exhausted. */
  maxDeliver: number;
  /** Most unacknowledged deliveries per model across every consuming process. */
  maxAckPending: number;
}

/** Throws on names the server would refuse, before anything is connected. */
export function checkStreamSettings(settings: StreamSettings): void {
  const tokens = settings.subjectPrefix.split('.');
  if (tokens.some((t) => t === '' || /[\s*>]/.test(t))) {
    throw new Error(`not a valid subjectPrefix: ${settings.subjectPrefix}`);
  }
  if (!/^[A-Za-z0-9_-]+$/.test(settings.stream))
    throw new Error(`not a valid stream name: ${settings.stream}`);
  if (settings.duplicateWindowMs < 120_000) throw new Error('duplicateWindowMs must be at least 2 minutes');
}

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

export function modelSubject(subjectPrefix: string, token: string): string {
  return `${subjectPrefix}.${token}`;
}

/**
 * The durable consumer of one model. Every inference process serving the model binds to the same
 * one, which is how processes and nodes split its jobs.
 */
function consumerName(token: string): string {
  return `inference-${token}`;
}

/**
 * Makes sure a stream exists, made with `config` and the hive's replicas, and brings one made
 * earlier up to date: `check` refuses an existing stream that cannot serve (wrong retention), and
 * the settings in `config.subjects`, `duplicate_window` and `max_age` are applied when they differ.
 * An existing stream is never created again: in a cluster missing a server such a request goes
 * unanswered. Replicas are raised when the hive has grown to three JetStream servers and never
 * lowered: while a server is down the cluster looks smaller than it is, and dropping replicas then
 * would take the stream down with the next server lost.
 */
export async function provisionStream(
  jsm: JetStreamManager,
  config: Partial<StreamConfig> & { name: string },
  check: (info: StreamInfo) => void,
): Promise<void> {
  let info = await jsm.streams.info(config.name).catch((err: unknown) => {
    if (isStreamMissing(err)) return undefined;
    throw err;
  });
  if (!info) {
    try {
      await jsm.streams.add({ ...config, num_replicas: await hiveReplicas(jsm) });
      return;
    } catch (err) {
      if (!isStreamNameInUse(err)) throw err;
      info = await jsm.streams.info(config.name);
    }
  }
  check(info);
  const update: Partial<StreamUpdateConfig> = {};
  const current = info.config;
  if (config.subjects && JSON.stringify(config.subjects) !== JSON.stringify(current.subjects))
    update.subjects = config.subjects;
  if (config.duplicate_window !== undefined && config.duplicate_window !== current.duplicate_window)
    update.duplicate_window = config.duplicate_window;
  if (config.max_age !== undefined && config.max_age !== current.max_age) update.max_age = config.max_age;
  const replicas = current.num_replicas ?? 1;
  if (replicas < 3) {
    const possible = await hiveReplicas(jsm);
    if (possible > replicas) update.num_replicas = possible;
  }
  if (Object.keys(update).length > 0) await jsm.streams.update(config.name, update);
}

/**
 * Makes sure the job stream exists as a work-queue stream (file storage), and updates what may
 * change (subjects, duplicate window, replicas) on one made earlier: a stream made on a hive of one
 * gets three replicas once the hive has three JetStream servers, the next time a process starts or
 * reconnects.
 */
export async function ensureStream(jsm: JetStreamManager, settings: StreamSettings): Promise<void> {
  await provisionStream(
    jsm,
    {
      name: settings.stream,
      subjects: [`${settings.subjectPrefix}.>`],
      retention: RetentionPolicy.Workqueue,
      storage: StorageType.File,
      discard: DiscardPolicy.Old,
      duplicate_window: nanos(settings.duplicateWindowMs),
    },
    (info) => {
      if (info.config.retention !== RetentionPolicy.Workqueue) {
        throw new QueueSetupError(
          `stream ${settings.stream} exists with ${info.config.retention} retention; the job queue needs a work-queue stream (delete it or set another stream name)`,
        );
      }
    },
  );
}

/**
 * Makes sure one model's durable pull consumer exists (and the stream under it) and returns it.
 * A job not settled on its last delivery comes back once more (`max_deliver` is one above
 * `maxDeliver`): that extra delivery is how the engine learns a job is exhausted, so that it is
 * reported and terminated instead of sitting in the stream for ever.
 */
export async function ensureConsumer(
  jsm: JetStreamManager,
  js: JetStreamClient,
  stream: StreamSettings,
  settings: ConsumerSettings,
  token: string,
): Promise<Consumer> {
  const name = consumerName(token);
  const config: Partial<ConsumerConfig> = {
    durable_name: name,
    filter_subject: modelSubject(stream.subjectPrefix, token),
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(settings.ackWaitMs),
    max_deliver: settings.maxDeliver + 1,
    max_ack_pending: settings.maxAckPending,
  };
  try {
    await jsm.consumers.add(stream.stream, config);
  } catch (err) {
    if (isStreamMissing(err)) {
      await ensureStream(jsm, stream);
      await jsm.consumers.add(stream.stream, config);
    } else if (isConsumerAlreadyExists(err)) {
      // Another process made it with other settings; the last one started wins.
      await jsm.consumers.update(stream.stream, name, {
        ack_wait: config.ack_wait,
        max_deliver: config.max_deliver,
        max_ack_pending: config.max_ack_pending,
      });
    } else {
      throw err;
    }
  }
  return js.consumers.get(stream.stream, name);
}

/**
 * One set-up per model's consumer at a time, shared by every pull loop of the process; a failed
 * or forgotten one is set up again on the next request.
 */
export function consumerCache(ensure: (token: string) => Promise<Consumer>) {
  const pending = new Map<string, Promise<Consumer>>();
  return {
    get(token: string): Promise<Consumer> {
      let consumer = pending.get(token);
      if (!consumer) {
        consumer = ensure(token);
        pending.set(token, consumer);
        const mine = consumer;
        mine.catch(() => {
          if (pending.get(token) === mine) pending.delete(token);
        });
      }
      return consumer;
    },
    /** After a pull failed: the consumer or the stream may be gone (a NATS store lost). */
    forget(token: string): void {
      pending.delete(token);
    },
  };
}

export type ConsumerCache = ReturnType<typeof consumerCache>;
