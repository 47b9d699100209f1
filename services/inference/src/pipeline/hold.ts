/**
 * Jobs held while the device is in trouble (a full or read-only disk, an I/O error, a link planted in
 * our folders): they are retried in place with backoff rather than handed back to the queue, because
 * every redelivery counts toward the queue's attempts and a few minutes of full disk would otherwise
 * reject good images. The worker takes no new job while any is held.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Job, Logger, Readiness } from '@scopehive/shared';
import { classifyFailure, type Failure } from './failure.ts';

const FIRST_RETRY_MS = 1000;
const LONGEST_RETRY_MS = 30_000;

/** The wait before retry `n` (1, 2, …) of a held job: 1 s doubling to 30 s. */
export function backoffMs(retry: number): number {
  return Math.min(FIRST_RETRY_MS * 2 ** Math.max(0, retry - 1), LONGEST_RETRY_MS);
}

const CONDITIONS: Readonly<Record<string, string>> = {
  ENOSPC: 'full',
  ENOENT: 'unable to create its folders (read-only, or removed?)',
  EDQUOT: 'over its quota',
  EROFS: 'read-only',
  EIO: 'failing with I/O errors',
  EACCES: 'not writable (permission denied)',
  EPERM: 'not writable (permission denied)',
  EOUTSIDE: 'holding a symbolic link that leads out of it',
  ESTALE: 'gone stale (remounted)',
  ENOMEM: 'out of memory',
  EMFILE: 'out of file handles',
  ENFILE: 'out of file handles',
};

/** Codes that are about the queue rather than a folder. */
const QUEUE_CODES = new Set(['QUEUE_DOWN', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT']);

/**
 * One line naming what is wrong and where: "results folder full (ENOSPC)". The folder is the one of
 * `folders` holding the failed path; an error without a path (a failed `write`) is about `where`.
 */
export function describeFault(
  failure: Extract<Failure, { kind: 'environment' }>,
  folders: Readonly<Record<string, string>>,
  where: string,
): string {
  if (QUEUE_CODES.has(failure.code)) return `queue unreachable (${failure.code})`;
  const folder = failure.path && folderOf(failure.path, folders);
  const condition = CONDITIONS[failure.code] ?? 'failing';
  return `${folder ? `${folder} folder` : where} ${condition} (${failure.code})`;
}

function folderOf(file: string, folders: Readonly<Record<string, string>>): string | undefined {
  let best: [name: string, dir: string] | undefined;
  for (const [name, dir] of Object.entries(folders)) {
    const inside = file === dir || file.startsWith(dir.endsWith('/') ? dir : `${dir}/`);
    if (inside && (!best || dir.length > best[1].length)) best = [name, dir];
  }
  return best?.[0];
}

export interface HeldJobsOptions {
  logger: Logger;
  /** The data folders by name (`results`, …), to say which one is in trouble. */
  folders?: Readonly<Record<string, string>>;
  /** Ends every wait: the held stage then throws its last error (the worker is closing). */
  signal: AbortSignal;
}

/**
 * A link planted in one folder of results/ holds only the images whose results go there: anyone on
 * the share can plant one, and it must not stop the analysis of everything else. The other faults
 * concern the whole volume, where taking more jobs would only hold more.
 */
const LOCAL_CODES = new Set(['EOUTSIDE']);

/** The held jobs and why, for readiness and for the gate that stops taking new jobs. */
export class HeldJobs {
  readonly #opts: HeldJobsOptions;
  readonly #held = new Map<object, { reason: string; blocks: boolean }>();
  #latest = '';
  #waiters: Array<() => void> = [];

  constructor(options: HeldJobsOptions) {
    this.#opts = options;
  }

  get size(): number {
    return this.#held.size;
  }

  /**
   * Runs a stage of a job (`key` names the job in hand); while it fails for the environment, the job
   * is held: the stage is retried here with backoff. Anything else, or the signal, throws to the caller.
   * `where` names the place an error without a path is about ("results folder").
   */
  async through<T>(key: object, job: Job, where: string, stage: () => Promise<T>): Promise<T> {
    const { logger, folders = {}, signal } = this.#opts;
    try {
      for (let retry = 1; ; retry++) {
        try {
          return await stage();
        } catch (err) {
          const failure = classifyFailure(err);
          if (failure.kind !== 'environment' || signal.aborted) throw err;
          const reason = describeFault(failure, folders, where);
          if (this.#held.size === 0) {
            logger.warn({ reason }, `${reason}: waiting; jobs are held and retried, no image is rejected`);
          }
          this.#held.set(key, { reason, blocks: !LOCAL_CODES.has(failure.code) });
          this.#latest = reason;
          this.#openGateIfClear();
          const wait = backoffMs(retry);
          // One warning per job; its later retries only at debug: a long outage must not flood the log.
          logger[retry === 1 ? 'warn' : 'debug'](
            {
              image: job.image.path,
              model: job.model.name,
              reason,
              err: failure.message,
              retry,
              retryInMs: wait,
            },
            `${job.image.path}: held (${reason}), retry ${retry} in ${wait / 1000} s`,
          );
          if (!(await sleep(wait, true, { signal }).catch(() => false))) throw err;
        }
      }
    } finally {
      if (this.#release(key)) logger.info('the environment fault cleared: work resumes');
    }
  }

  /** Lets a job go; true when it was the last one held. */
  #release(key: object): boolean {
    if (!this.#held.delete(key)) return false;
    this.#openGateIfClear();
    return this.#held.size === 0;
  }

  #blocked(): boolean {
    for (const { blocks } of this.#held.values()) if (blocks) return true;
    return false;
  }

  #openGateIfClear(): void {
    if (this.#blocked()) return;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  readiness(): Readiness {
    const n = this.#held.size;
    if (n === 0) return { ready: true };
    return { ready: false, reason: `${this.#latest}: waiting, ${n} job${n === 1 ? '' : 's'} held` };
  }

  /** Resolves once no job is held for a fault of the whole volume, or when the signal aborts. */
  whileBlocked(signal: AbortSignal): Promise<void> {
    if (!this.#blocked() || signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        signal.removeEventListener('abort', done);
        resolve();
      };
      signal.addEventListener('abort', done, { once: true });
      this.#waiters.push(done);
    });
  }
}
