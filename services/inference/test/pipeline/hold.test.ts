import { pino } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { ImageRejection } from '../../src/image/rejection.ts';
import { classifyFailure } from '../../src/pipeline/failure.ts';
import { backoffMs, describeFault, HeldJobs } from '../../src/pipeline/hold.ts';

const errno = (code: string, path?: string) =>
  Object.assign(new Error(`${code}: something happened${path ? `, open '${path}'` : ''}`), { code, path });
const job = { image: { path: 'day-1/bus.jpg' }, model: { name: 'yolo' } } as Parameters<
  HeldJobs['through']
>[1];
const folders = { inbox: '/data/inbox', results: '/data/results', rejected: '/data/rejected' };

function environment(err: unknown) {
  const failure = classifyFailure(err);
  if (failure.kind !== 'environment') throw new Error(`not the environment's fault: ${String(err)}`);
  return failure;
}

function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe('backoffMs: how long a held job waits before its next try', () => {
  it('starts at one second and doubles up to thirty', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 100].map(backoffMs)).toEqual([
      1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000,
    ]);
  });
});

describe('describeFault: one line saying what is wrong and where', () => {
  it('names the folder that holds the failed path, the condition and the code', () => {
    expect(
      describeFault(
        environment(errno('ENOSPC', '/data/results/a/.x.json.0a1b.tmp')),
        folders,
        'inbox folder',
      ),
    ).toBe('results folder full (ENOSPC)');
    expect(
      describeFault(environment(errno('EROFS', '/data/rejected/bus.jpg')), folders, 'results folder'),
    ).toBe('rejected folder read-only (EROFS)');
    // A sibling whose name starts like a folder's is not inside it.
    expect(describeFault(environment(errno('EIO', '/data/results-old/x')), folders, 'results folder')).toBe(
      'results folder failing with I/O errors (EIO)',
    );
  });

  it("names the stage's folder for an error without a path (a failed write)", () => {
    expect(describeFault(environment(errno('ENOSPC')), folders, 'results folder')).toBe(
      'results folder full (ENOSPC)',
    );
  });

  it('names the queue when the queue is down', () => {
    const down = Object.assign(new Error('connection closed'), { name: 'ClosedConnectionError' });
    expect(describeFault(environment(down), folders, 'results folder')).toBe(
      'queue unreachable (QUEUE_DOWN)',
    );
  });
});

describe('HeldJobs: a stage that fails for the environment is held and retried in place', () => {
  const logger = pino({ level: 'silent' });

  it('holds the job while the fault lasts, says why, and lets it go when the stage succeeds', async () => {
    const held = new HeldJobs({ logger, folders, signal: new AbortController().signal });
    const secondTry = deferred<string>();
    let tries = 0;
    const result = held.through({}, job, 'results folder', () => {
      tries += 1;
      return tries === 1 ? Promise.reject(errno('ENOSPC', '/data/results/bus.json')) : secondTry.promise;
    });
    // The second try runs after the first backoff and is still pending: the job is held meanwhile.
    await vi.waitFor(() => expect(tries).toBe(2), { timeout: 10_000 });
    expect(held.readiness()).toEqual({
      ready: false,
      reason: 'results folder full (ENOSPC): waiting, 1 job held',
    });
    // The worker's gate: no new job is taken until the held one is let go.
    let gateOpened = false;
    void held.whileBlocked(new AbortController().signal).then(() => {
      gateOpened = true;
    });
    await Promise.resolve();
    expect(gateOpened).toBe(false);
    secondTry.resolve('written');
    expect(await result).toBe('written');
    expect(held.readiness()).toEqual({ ready: true });
    await vi.waitFor(() => expect(gateOpened).toBe(true));
  });

  it('counts every job held', async () => {
    const held = new HeldJobs({ logger, folders, signal: new AbortController().signal });
    let full = true;
    const stage = () => (full ? Promise.reject(errno('ENOSPC')) : Promise.resolve());
    const jobs = [{}, {}, {}].map((key) => held.through(key, job, 'results folder', stage));
    expect(held.size).toBe(0);
    await vi.waitFor(() => expect(held.size).toBe(3));
    expect(held.readiness().reason).toBe('results folder full (ENOSPC): waiting, 3 jobs held');
    full = false;
    await Promise.all(jobs);
    expect(held.size).toBe(0);
  });

  it('holds a job whose results folder has a planted link, but lets the others through', async () => {
    const held = new HeldJobs({ logger, folders, signal: new AbortController().signal });
    const link = Object.assign(new Error('day1 in /data/results is a symbolic link: not followed'), {
      code: 'EOUTSIDE',
    });
    let planted = true;
    const result = held.through({}, job, 'results folder', () =>
      planted ? Promise.reject(link) : Promise.resolve(),
    );
    await vi.waitFor(() => expect(held.size).toBe(1));
    expect(held.readiness().reason).toBe(
      'results folder holding a symbolic link that leads out of it (EOUTSIDE): waiting, 1 job held',
    );
    // Anyone on the share can plant a link: it must not stop the analysis of every other image.
    let gateOpened = false;
    void held.whileBlocked(new AbortController().signal).then(() => {
      gateOpened = true;
    });
    await vi.waitFor(() => expect(gateOpened).toBe(true));
    planted = false;
    await result;
    expect(held.size).toBe(0);
  });

  it('passes a bug or a bad image straight to the caller, without holding', async () => {
    const held = new HeldJobs({ logger, folders, signal: new AbortController().signal });
    const bug = new TypeError('x is undefined');
    const bad = new ImageRejection('corrupt', 'not a JPEG');
    for (const err of [bug, bad]) {
      let tries = 0;
      const stage = () => {
        tries += 1;
        return Promise.reject(err);
      };
      await expect(held.through({}, job, 'results folder', stage)).rejects.toBe(err);
      expect(tries).toBe(1);
      expect(held.readiness()).toEqual({ ready: true });
    }
  });

  it('gives the last error back when the worker closes, and holds nothing after', async () => {
    const stop = new AbortController();
    const held = new HeldJobs({ logger, folders, signal: stop.signal });
    const err = errno('EROFS', '/data/results/bus.json');
    const result = held.through({}, job, 'results folder', () => Promise.reject(err));
    await vi.waitFor(() => expect(held.size).toBe(1));
    stop.abort();
    await expect(result).rejects.toBe(err);
    expect(held.readiness()).toEqual({ ready: true });
  });
});
