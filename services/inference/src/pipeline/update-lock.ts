/**
 * balena's update lock, held while jobs are in flight, so that an update, a restart of the service or
 * a reboot without `force` never cuts an analysis short; released as soon as the worker is idle.
 *
 * How balena expects it (docs.balena.io/learn/deploy/release-strategy/update-locking; the
 * supervisor's src/lib/update-lock.ts, lockfile.ts and compose/service.ts):
 * - The lock is held while the file `/tmp/balena/updates.lock` exists. It is created exclusively
 *   (O_CREAT|O_EXCL, `wx` here), never just touched, because the supervisor creates the same file
 *   itself before it stops a service; removing the file releases it.
 * - `/tmp/balena` (and the legacy `/tmp/resin`) in every container is the supervisor's bind mount of
 *   the host's `/tmp/balena-supervisor/services/<appId>/<service>`: a folder of this service's own.
 *   The supervisor checks `updates.lock` and the legacy `resin-updates.lock` there, either blocks it,
 *   so one file is enough. One locked service holds back the whole release; the new one is still
 *   downloaded and applied once the lock is gone. A reboot without `force` answers 423 meanwhile.
 * - The host's /tmp is a tmpfs: a reboot clears the lock, a crash of the service does not. The
 *   supervisor removes only the locks it took itself (empty files owned by `nobody`, uid 65534); a
 *   lock left behind by a crashed process blocks every update until a reboot or the lock override
 *   (`BALENA_SUPERVISOR_OVERRIDE_LOCK`, or `/v1/update` with force, which delete it). Hence the one
 *   clean-up at start: a file this service wrote (it carries our marker line) is removed, since this
 *   process holds nothing yet and no other process writes that line into this service's own folder.
 *   Anything else there (the supervisor's lock) is left alone: jobs then run without our lock and it
 *   is taken as soon as the file is gone.
 * - The folder is root's (0755) until the supervisor (≥ 13.1.0) first takes a lock in it as `nobody`
 *   and makes it 1777: a service running as another user (this image's `node`) cannot create the file
 *   before then. That is said once and tried again at every job; it never fails one.
 * - Not held: the flock(2) on the same file that balenaOS's host OS update scripts check (Node has no
 *   flock), so a host OS update can still reboot the device mid-job.
 *
 * `enter` and `leave` are synchronous so that the file's existence follows the count exactly, with no
 * creation and removal racing each other; on a tmpfs each call is a few microseconds.
 */
import fs from 'node:fs';
import type { JobDelivery, JobQueue, Logger } from '@scopehive/shared';

/** Where the supervisor looks for the lock inside a service's container (supervisor ≥ 7.22.0). */
export const BALENA_UPDATE_LOCK = '/tmp/balena/updates.lock';

/** The first line of a lock this service wrote: what makes a stale one ours to remove. */
const MARKER = 'scopehive inference update lock';

export type UpdateLockState = 'held' | 'free' | 'off';

/**
 * The lock file from the setting: its value when set (`off` turns the lock off), else balena's path
 * when running on balena (the supervisor sets `BALENA=1` in every container; its API address when
 * the service has the supervisor-api label), else off.
 */
export function resolveUpdateLockPath(
  setting: string | undefined,
  env: NodeJS.ProcessEnv,
): string | undefined {
  const value = setting?.trim();
  if (value === 'off') return undefined;
  if (value) return value;
  return env.BALENA || env.BALENA_SUPERVISOR_ADDRESS ? BALENA_UPDATE_LOCK : undefined;
}

export interface UpdateLockOptions {
  /** The lock file; undefined: off. */
  path: string | undefined;
  logger: Logger;
}

/** Counts the jobs in flight and holds the lock file exactly while there is at least one. */
export class UpdateLock {
  readonly path: string | undefined;
  readonly #logger: Logger;
  #inFlight = 0;
  /**
   * The file we created, open while we hold it: an open file's inode cannot be reused, so a file found
   * at the path with the same device and inode is still ours.
   */
  #held?: { fd: number; dev: number; ino: number };
  /** Failures already logged, by error code: each is said once, never once per job. */
  readonly #said = new Set<string>();

  constructor(options: UpdateLockOptions) {
    this.path = options.path;
    this.#logger = options.logger;
    this.#clearStale();
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  state(): UpdateLockState {
    if (!this.path) return 'off';
    return this.#held !== undefined ? 'held' : 'free';
  }

  /** A job was accepted. Never throws: a lock that cannot be taken must not fail the job. */
  enter(): void {
    this.#inFlight += 1;
    if (this.#held === undefined) this.#take();
  }

  /** A job was settled (acknowledged, handed back or terminated). */
  leave(): void {
    if (this.#inFlight === 0) return;
    this.#inFlight -= 1;
    if (this.#inFlight === 0) this.#release();
  }

  /** On stop: the process is going away, so whatever it still counts cannot be interrupted any more. */
  close(): void {
    this.#inFlight = 0;
    this.#release();
  }

  #take(): void {
    const file = this.path;
    if (!file) return;
    let fd: number | undefined;
    try {
      fd = fs.openSync(file, 'wx', 0o644);
      fs.writeSync(fd, `${MARKER}\npid ${process.pid}, taken ${new Date().toISOString()}\n`);
      const { dev, ino } = fs.fstatSync(fd);
      this.#held = { fd, dev, ino };
    } catch (err) {
      if (fd !== undefined) {
        fs.rmSync(file, { force: true });
        fs.closeSync(fd);
      }
      this.#sayOnce((err as NodeJS.ErrnoException).code ?? 'unknown', file, err);
    }
  }

  #release(): void {
    const file = this.path;
    const held = this.#held;
    if (!file || !held) return;
    this.#held = undefined;
    try {
      // A forced update or reboot deletes our file and may put the supervisor's own in its place:
      // that one is not ours to remove.
      const now = fs.lstatSync(file);
      if (now.dev === held.dev && now.ino === held.ino) fs.unlinkSync(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.#sayOnce('release', file, err);
    } finally {
      fs.closeSync(held.fd);
    }
  }

  #clearStale(): void {
    const file = this.path;
    if (!file) return;
    let text: string;
    try {
      const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
      try {
        const head = Buffer.alloc(MARKER.length);
        text = head.subarray(0, fs.readSync(fd, head)).toString('utf8');
      } finally {
        fs.closeSync(fd);
      }
    } catch {
      // Nothing there (the usual case), or nothing we can read: not ours either way.
      return;
    }
    if (text !== MARKER) return;
    try {
      fs.rmSync(file, { force: true });
    } catch (err) {
      this.#sayOnce('stale', file, err);
      return;
    }
    this.#logger.warn(
      { updateLock: file },
      `update lock ${file} was left by an earlier run of this service (a crash): removed`,
    );
  }

  #sayOnce(code: string, file: string, err: unknown): void {
    if (this.#said.has(code)) return;
    this.#said.add(code);
    const message = err instanceof Error ? err.message : String(err);
    if (code === 'EEXIST') {
      this.#logger.info(
        { updateLock: file },
        `update lock ${file} is held by another process (the balena supervisor while it updates or restarts services): jobs run without ours until it is gone`,
      );
      return;
    }
    this.#logger.warn(
      { updateLock: file, err: message },
      `update lock ${file} not held (${message}): jobs run, but an update or restart may interrupt them`,
    );
  }
}

/**
 * The queue with every delivery counted in flight from its delivery until its first ack, nak or
 * term (settled even when that call fails: the job is no longer being worked on). The worker takes
 * its jobs from this queue: `createAnalysisWorker({ queue: withUpdateLock(queue, lock), … })`.
 */
export function withUpdateLock(queue: JobQueue, lock: UpdateLock): JobQueue {
  return {
    publish: (job) => queue.publish(job),
    consume: (options) => counted(queue.consume(options), lock),
    depth: () => queue.depth(),
    waitingByModel: () => queue.waitingByModel(),
    close: () => queue.close(),
  };
}

async function* counted(
  deliveries: AsyncIterable<JobDelivery>,
  lock: UpdateLock,
): AsyncIterable<JobDelivery> {
  for await (const delivery of deliveries) {
    lock.enter();
    let settled = false;
    const settling = async (settle: () => Promise<void>) => {
      try {
        await settle();
      } finally {
        if (!settled) {
          settled = true;
          lock.leave();
        }
      }
    };
    yield {
      job: delivery.job,
      attempt: delivery.attempt,
      maxDeliver: delivery.maxDeliver,
      ack: () => settling(() => delivery.ack()),
      nak: (delayMs) => settling(() => delivery.nak(delayMs)),
      term: (reason) => settling(() => delivery.term(reason)),
      working: () => delivery.working(),
    };
  }
}
