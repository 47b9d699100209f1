import type { JetStreamManager, JsMsg } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import { errorMessage } from './errors.ts';
import type { ConsumerCache } from './provision.ts';
import { backoffMs, pause } from './retry.ts';

/** How long one pull request waits on the server; an idle consumer re-pulls this often. */
const pullExpiresMs = 10_000;
/** How often a consumer serving every model looks for model subjects that newly hold jobs. */
const discoverEveryMs = 2000;

/** A job pulled for the consume loop, and whether it had to wait in the mailbox for it. */
export interface Pulled {
  msg: JsMsg;
  waited: boolean;
}

/**
 * Pulls one job at a time from one model's consumer, and only while the consume loop is waiting
 * for one: a job pulled early would sit here with its ack-wait clock running while another process
 * could have taken it. Failures are logged and retried with backoff until the signal aborts.
 */
export async function pullModel(
  consumers: ConsumerCache,
  token: string,
  mailbox: Mailbox,
  log: Logger,
  signal: AbortSignal,
): Promise<void> {
  let failures = 0;
  while (!signal.aborted) {
    try {
      if (!(await mailbox.hungry(signal))) return;
      const consumer = await consumers.get(token);
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
      consumers.forget(token);
      log.warn({ err: errorMessage(err), model: token, failures }, 'cannot pull jobs, retrying');
      if (!(await pause(backoffMs(failures), signal))) return;
    }
  }
}

/**
 * For a consumer of every model: calls `onModel` with the token of every model subject that holds
 * jobs, as they appear. (JetStream refuses overlapping consumers on a work-queue stream, so there is
 * no catch-all consumer; the caller pulls from the per-model ones.)
 */
export async function discoverModels(
  jsm: JetStreamManager,
  stream: string,
  subjectPrefix: string,
  onModel: (token: string) => void,
  log: Logger,
  signal: AbortSignal,
): Promise<void> {
  const start = subjectPrefix.length + 1;
  while (!signal.aborted) {
    try {
      const info = await jsm.streams.info(stream, { subjects_filter: `${subjectPrefix}.>` });
      for (const subject of Object.keys(info.state.subjects ?? {})) onModel(subject.slice(start));
    } catch (err) {
      log.warn({ err: errorMessage(err) }, 'cannot list the models in the job stream');
    }
    if (!(await pause(discoverEveryMs, signal))) return;
  }
}

/**
 * Where the per-model pull loops hand jobs to the one consume loop. A pull loop pulls only while the
 * consume loop waits and nothing is buffered, so at most one job per model sits here; while it does,
 * it is kept in progress so that its ack wait does not run out and hand it to another process as well.
 */
export class Mailbox {
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

  /** Resolves true when the consume loop waits for a job and none is buffered; false if the signal aborts. */
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
