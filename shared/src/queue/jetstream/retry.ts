import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { errorMessage } from './errors.ts';

const retryMaxMs = 5000;

export interface RetryOptions {
  log: Logger;
  /** The log line for each failure. */
  what: string;
  /** Ends the retrying with an error. */
  signal?: AbortSignal;
  /** Errors that end the retrying at once (default: none). */
  permanent?: (err: unknown) => boolean;
  /** Repairs what the failure points at (a missing stream) before the next attempt; its own failure is ignored. */
  beforeRetry?: (err: unknown) => Promise<void>;
}

/** Runs `fn` until it succeeds, with jittered backoff and one log line per failure. */
export async function retry<T>(fn: () => Promise<T>, options: RetryOptions): Promise<T> {
  const { log, what, signal, permanent = () => false, beforeRetry } = options;
  for (let failures = 1; ; failures++) {
    signal?.throwIfAborted();
    try {
      return await fn();
    } catch (err) {
      if (permanent(err) || signal?.aborted) throw err;
      const wait = backoffMs(failures);
      log.warn({ err: errorMessage(err), attempt: failures, retryInMs: Math.round(wait) }, what);
      if (!(await pause(wait, signal))) signal?.throwIfAborted();
      await beforeRetry?.(err).catch(() => undefined);
    }
  }
}

/** Exponential from 250 ms up to 5 s, jittered so that many processes do not retry in step. */
export function backoffMs(failures: number): number {
  const base = Math.min(250 * 2 ** (failures - 1), retryMaxMs);
  return base / 2 + Math.random() * (base / 2);
}

/** Sleeps; false when the signal aborted first. */
export async function pause(ms: number, signal?: AbortSignal): Promise<boolean> {
  try {
    await sleep(ms, undefined, { signal });
    return true;
  } catch {
    return false;
  }
}
