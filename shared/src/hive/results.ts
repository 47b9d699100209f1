// Over 300 lines on purpose: the results stream, publishing and the origin's consumer share one
// subject scheme and one acknowledgement contract.
import {
  AckPolicy,
  type Consumer,
  DeliverPolicy,
  DiscardPolicy,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  RetentionPolicy,
  StorageType,
} from '@nats-io/jetstream';
import { InvalidArgumentError, nanos } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { Job } from '../job.ts';
import {
  errorMessage,
  isConsumerAlreadyExists,
  isStreamMissing,
  QueueSetupError,
} from '../queue/jetstream/errors.ts';
import { provisionStream } from '../queue/jetstream/provision.ts';
import { backoffMs, pause } from '../queue/jetstream/retry.ts';
import type { ResultDocument } from '../result/schema.ts';
import {
  decodeRejection,
  decodeResult,
  encodeRejection,
  encodeResult,
  type HiveRejection,
  type HiveResult,
  isRejectionMessage,
  type ResultAttachments,
} from './result-message.ts';
import { nodeToken } from './token.ts';

export const RESULTS_STREAM = 'SCOPEHIVE_RESULTS';
const subjectPrefix = 'scopehive.results';

export interface ResultsStreamSettings {
  /** How long results wait for an origin that is away (default 7 days). */
  maxAgeMs?: number;
  /**
   * A result published again within this time is dropped by the server (default 1 hour): longer than
   * a job's redeliveries take, so a worker that published and died before acknowledging its job does
   * not make the next worker's result a second copy.
   */
  duplicateWindowMs?: number;
}

/** The subject an origin node's results travel on. */
export function resultsSubject(origin: string): string {
  return `${subjectPrefix}.${nodeToken(origin)}`;
}

/**
 * Makes sure the results stream exists: one work-queue stream (a result is gone once its origin has
 * written it), one subject per origin, kept on file so that results wait out an origin that is away.
 */
export async function ensureResultsStream(
  jsm: JetStreamManager,
  settings: ResultsStreamSettings = {},
): Promise<void> {
  await provisionStream(
    jsm,
    {
      name: RESULTS_STREAM,
      subjects: [`${subjectPrefix}.>`],
      retention: RetentionPolicy.Workqueue,
      storage: StorageType.File,
      discard: DiscardPolicy.Old,
      max_age: nanos(settings.maxAgeMs ?? 7 * 24 * 3_600_000),
      duplicate_window: nanos(settings.duplicateWindowMs ?? 3_600_000),
    },
    (info) => {
      if (info.config.retention !== RetentionPolicy.Workqueue) {
        throw new QueueSetupError(
          `stream ${RESULTS_STREAM} exists with ${info.config.retention} retention; the results need a work-queue stream (delete it)`,
        );
      }
    },
  );
}

/** The same result published twice (a job redelivered after its worker published) has the same id. */
function resultMessageId(job: Job, doc: ResultDocument): string {
  return `${job.id}:${doc.image.sha256.slice(0, 16)}:${doc.model.sha256.slice(0, 16)}`;
}

/** The client refuses a message over the server's max_payload before sending it. */
function isOverMaxPayload(err: unknown): boolean {
  return err instanceof InvalidArgumentError && /max_payload/.test(err.message);
}

export interface PublishResultOptions {
  log?: Logger;
  /** Used to make the stream again if the server lost it. */
  stream?: ResultsStreamSettings;
}

/**
 * Sends a job's result to its origin node. Attachments too large for one message (the servers'
 * max_payload, 1 MB unless configured) are left out with a warning, the annotated image first (it is
 * only a picture; the label image is the features' measurable record); the document always travels
 * and says what was left out. `duplicate` is true when the server already had it.
 */
export async function publishResult(
  js: JetStreamClient,
  result: { job: Job; doc: ResultDocument; annotated?: Uint8Array; labels?: Uint8Array },
  options: PublishResultOptions = {},
): Promise<{ duplicate: boolean } & ResultAttachments> {
  const subject = resultsSubject(result.job.origin);
  const msgID = resultMessageId(result.job, result.doc);
  const send = async (attachments: ResultAttachments) => {
    const { body, headers } = encodeResult(result, attachments);
    try {
      return await js.publish(subject, body, { msgID, headers });
    } catch (err) {
      if (!isStreamMissing(err)) throw err;
      await ensureResultsStream(await js.jetstreamManager(), options.stream);
      return await js.publish(subject, body, { msgID, headers });
    }
  };
  const annotated = result.annotated !== undefined;
  const labels = result.labels !== undefined;
  const tries: ResultAttachments[] = [{ annotated, labels }];
  if (annotated) tries.push({ annotated: false, labels });
  if (labels) tries.push({ annotated: false, labels: false });
  for (let i = 0; ; i++) {
    const attachments = tries[i];
    try {
      return { duplicate: (await send(attachments)).duplicate, ...attachments };
    } catch (err) {
      if (i === tries.length - 1 || !isOverMaxPayload(err)) throw err;
    }
    const dropped = attachments.annotated && !tries[i + 1].annotated ? 'annotated' : 'labels';
    options.log?.warn(
      { job: result.job.id, bytes: result[dropped]?.length },
      `${dropped === 'annotated' ? 'annotated image' : 'label image'} is larger than a NATS message may be; the result travels without it`,
    );
  }
}

/**
 * Sends a rejection back to the job's origin, on the same subject as its results (so it waits like
 * them while the origin is away). The same job rejected twice is sent once.
 */
export async function publishRejection(
  js: JetStreamClient,
  rejection: HiveRejection,
  options: PublishResultOptions = {},
): Promise<{ duplicate: boolean }> {
  const subject = resultsSubject(rejection.job.origin);
  const { body, headers } = encodeRejection(rejection);
  const msgID = `${rejection.job.id}:rejected`;
  try {
    return { duplicate: (await js.publish(subject, body, { msgID, headers })).duplicate };
  } catch (err) {
    if (!isStreamMissing(err)) throw err;
    await ensureResultsStream(await js.jetstreamManager(), options.stream);
    return { duplicate: (await js.publish(subject, body, { msgID, headers })).duplicate };
  }
}

export interface ConsumeResultsOptions {
  log: Logger;
  /**
   * Handles a rejection another node sent back (sets the file aside); like the result handler, a
   * failure sends it back to come again. Without it a rejection is logged and dropped.
   */
  onRejection?: (rejection: HiveRejection) => Promise<void>;
  /** Stops consuming, like `close()`. */
  signal?: AbortSignal;
  stream?: ResultsStreamSettings;
  /** A result not acknowledged in this time is delivered again (default 60 s; kept alive while the handler runs). */
  ackWaitMs?: number;
  /** The wait before a result whose handler failed comes back, doubling per attempt up to 30 s (default 1 s). */
  retryDelayMs?: number;
}

export interface ResultsConsumer {
  /** Stops taking results; a result being handled is finished and acknowledged first. */
  close(): Promise<void>;
}

/** The durable consumer of one origin's results: it remembers what was written while the origin is away. */
async function ensureResultsConsumer(
  js: JetStreamClient,
  token: string,
  options: ConsumeResultsOptions,
): Promise<Consumer> {
  const jsm = await js.jetstreamManager();
  const name = `results-${token}`;
  const ackWait = nanos(options.ackWaitMs ?? 60_000);
  const config = {
    durable_name: name,
    filter_subject: `${subjectPrefix}.${token}`,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: ackWait,
    // A result is never given up on: a sink that cannot write keeps it waiting in the stream.
    max_deliver: -1,
  };
  try {
    await jsm.consumers.add(RESULTS_STREAM, config);
  } catch (err) {
    if (isStreamMissing(err)) {
      await ensureResultsStream(jsm, options.stream);
      await jsm.consumers.add(RESULTS_STREAM, config);
    } else if (isConsumerAlreadyExists(err)) {
      await jsm.consumers.update(RESULTS_STREAM, name, { ack_wait: ackWait });
    } else {
      throw err;
    }
  }
  return js.consumers.get(RESULTS_STREAM, name);
}

/**
 * Hands each result for `origin` to `handler` (the origin's sink: atomic, idempotent writes), one at
 * a time, and acknowledges it only after the handler succeeded; a failure sends it back to wait and
 * come again. Results published while no consumer runs wait in the stream. Only this origin's
 * results are ever delivered: the consumer reads the origin's own subject, and a message there naming
 * another origin is dropped with a warning, never handled.
 */
export function consumeResults(
  js: JetStreamClient,
  origin: string,
  handler: (result: HiveResult) => Promise<void>,
  options: ConsumeResultsOptions,
): ResultsConsumer {
  const { log } = options;
  const token = nodeToken(origin);
  const stop = new AbortController();
  const signal = stop.signal;
  const onAbort = () => stop.abort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.signal?.aborted) stop.abort();
  const ackWaitMs = options.ackWaitMs ?? 60_000;
  const retryDelayMs = options.retryDelayMs ?? 1000;

  const settle = async (msg: JsMsg): Promise<void> => {
    let result: HiveResult | HiveRejection;
    try {
      result = isRejectionMessage(msg.headers)
        ? decodeRejection(msg.data)
        : decodeResult(msg.data, msg.headers);
      if (result.job.origin !== origin) throw new Error(`result is for node ${result.job.origin}`);
      if ('reason' in result && !options.onRejection) throw new Error('a rejection, and no handler for them');
    } catch (err) {
      log.warn({ subject: msg.subject, seq: msg.seq, reason: errorMessage(err) }, 'result message dropped');
      msg.term();
      return;
    }
    const keepAlive = setInterval(() => msg.working(), ackWaitMs / 2);
    try {
      if ('reason' in result) await options.onRejection?.(result);
      else await handler(result);
    } catch (err) {
      const attempt = msg.info.deliveryCount;
      const delay = Math.min(retryDelayMs * 2 ** (attempt - 1), 30_000);
      log.warn(
        { job: result.job.id, attempt, retryInMs: delay, err: errorMessage(err) },
        'cannot write a result',
      );
      msg.nak(delay);
      return;
    } finally {
      clearInterval(keepAlive);
    }
    try {
      await msg.ackAck();
    } catch (err) {
      // It comes again; the sink finds it already written.
      log.debug({ job: result.job.id, err: errorMessage(err) }, 'result acknowledgement not confirmed');
    }
  };

  const running = (async () => {
    let consumer: Consumer | undefined;
    let failures = 0;
    while (!signal.aborted) {
      try {
        consumer ??= await ensureResultsConsumer(js, token, options);
        // One result at a time: none waits in this process with its ack-wait clock running.
        const batch = await consumer.fetch({ max_messages: 1, expires: 10_000 });
        const closeBatch = () => void batch.close();
        signal.addEventListener('abort', closeBatch, { once: true });
        // Aborted while the consumer was being set up: the listener above would never run.
        if (signal.aborted) closeBatch();
        try {
          for await (const msg of batch) {
            if (signal.aborted) msg.nak();
            else await settle(msg);
          }
        } finally {
          signal.removeEventListener('abort', closeBatch);
        }
        failures = 0;
      } catch (err) {
        if (signal.aborted) return;
        failures += 1;
        consumer = undefined;
        log.warn({ err: errorMessage(err), origin, failures }, 'cannot take results, retrying');
        await pause(backoffMs(failures), signal);
      }
    }
  })();

  return {
    async close() {
      stop.abort();
      options.signal?.removeEventListener('abort', onAbort);
      await running;
    },
  };
}
