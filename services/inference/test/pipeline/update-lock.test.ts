import fs from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { EmbeddedQueue, type JobDelivery, makeJob } from '@scopehive/shared';
import express from 'express';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { jobsRouter } from '../../src/pipeline/jobs-api.ts';
import {
  BALENA_UPDATE_LOCK,
  resolveUpdateLockPath,
  UpdateLock,
  withUpdateLock,
} from '../../src/pipeline/update-lock.ts';

/** balena's update lock on real files in a temporary folder standing in for `/tmp/balena`. */

interface Line {
  level: number;
  msg: string;
}

function recordingLogger() {
  const lines: Line[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => lines.push(JSON.parse(line) as Line) });
  return { logger, lines };
}

const exists = (file: string) =>
  fs.access(file).then(
    () => true,
    () => false,
  );

let dir: string;
let lockFile: string;

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'scopehive-lock-'));
  lockFile = path.join(dir, 'updates.lock');
});

afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('where the update lock is', () => {
  it("is balena's path on balena, off elsewhere, and the setting's when given", () => {
    expect(resolveUpdateLockPath(undefined, {})).toBeUndefined();
    expect(resolveUpdateLockPath(undefined, { BALENA: '1' })).toBe(BALENA_UPDATE_LOCK);
    expect(resolveUpdateLockPath(undefined, { BALENA_SUPERVISOR_ADDRESS: 'http://127.0.0.1:48484' })).toBe(
      BALENA_UPDATE_LOCK,
    );
    expect(resolveUpdateLockPath('/run/lock/x.lock', {})).toBe('/run/lock/x.lock');
    expect(resolveUpdateLockPath('off', { BALENA: '1' })).toBeUndefined();
  });
});

describe('the update lock', () => {
  it('exists exactly while at least one job is in flight', async () => {
    const { logger } = recordingLogger();
    const lock = new UpdateLock({ path: lockFile, logger });
    expect(lock.state()).toBe('free');
    expect(await exists(lockFile)).toBe(false);

    lock.enter();
    expect(lock.inFlight).toBe(1);
    expect(lock.state()).toBe('held');
    expect(await exists(lockFile)).toBe(true);
    lock.enter();
    lock.leave();
    expect(lock.inFlight).toBe(1);
    expect(await exists(lockFile)).toBe(true);
    lock.leave();
    expect(lock.inFlight).toBe(0);
    expect(lock.state()).toBe('free');
    expect(await exists(lockFile)).toBe(false);

    // Taken again for the next job, and an extra leave never goes below zero.
    lock.leave();
    expect(lock.inFlight).toBe(0);
    lock.enter();
    expect(await exists(lockFile)).toBe(true);
    lock.close();
    expect(await exists(lockFile)).toBe(false);
  });

  it('is off without a path: counts jobs, writes nothing', async () => {
    const { logger, lines } = recordingLogger();
    const lock = new UpdateLock({ path: undefined, logger });
    lock.enter();
    expect(lock.inFlight).toBe(1);
    expect(lock.state()).toBe('off');
    expect(await fs.readdir(dir)).toEqual([]);
    lock.leave();
    expect(lines).toEqual([]);
  });

  it('removes a lock left by a crashed earlier run of this service, with one line', async () => {
    const { logger: first } = recordingLogger();
    const crashed = new UpdateLock({ path: lockFile, logger: first });
    crashed.enter(); // and the process dies here: nothing leaves
    expect(await exists(lockFile)).toBe(true);

    const { logger, lines } = recordingLogger();
    const lock = new UpdateLock({ path: lockFile, logger });
    expect(await exists(lockFile)).toBe(false);
    expect(lines.map((l) => l.msg)).toEqual([
      `update lock ${lockFile} was left by an earlier run of this service (a crash): removed`,
    ]);
    lock.enter();
    expect(lock.state()).toBe('held');
    lock.leave();
    expect(await exists(lockFile)).toBe(false);
  });

  it("leaves the supervisor's lock alone, runs jobs without ours, and takes it once the file is gone", async () => {
    // The supervisor's lock: an empty file made with `lockfile` (its own lock while it stops services).
    await fs.writeFile(lockFile, '', { mode: 0o444 });
    const { logger, lines } = recordingLogger();
    const lock = new UpdateLock({ path: lockFile, logger });
    expect(await exists(lockFile)).toBe(true);

    lock.enter();
    lock.enter();
    expect(lock.inFlight).toBe(2);
    expect(lock.state()).toBe('free');
    expect(lines.map((l) => l.msg)).toEqual([
      `update lock ${lockFile} is held by another process (the balena supervisor while it updates or restarts services): jobs run without ours until it is gone`,
    ]);
    lock.leave();
    lock.leave();
    // Not ours: still there after our jobs ended.
    expect(await fs.readFile(lockFile, 'utf8')).toBe('');

    await fs.rm(lockFile);
    lock.enter();
    expect(lock.state()).toBe('held');
    lock.leave();
    expect(await exists(lockFile)).toBe(false);
  });

  it('does not remove a file that replaced ours while held (a forced update took the lock over)', async () => {
    const { logger } = recordingLogger();
    const lock = new UpdateLock({ path: lockFile, logger });
    lock.enter();
    await fs.rm(lockFile);
    await fs.writeFile(lockFile, '', { mode: 0o444 });
    lock.leave();
    expect(await fs.readFile(lockFile, 'utf8')).toBe('');
  });

  it('without its folder (not on balena) logs one warning and never fails a job', async () => {
    const missing = path.join(dir, 'no-such-folder', 'updates.lock');
    const { logger, lines } = recordingLogger();
    const lock = new UpdateLock({ path: missing, logger });
    for (let i = 0; i < 5; i++) {
      expect(() => lock.enter()).not.toThrow();
      expect(() => lock.leave()).not.toThrow();
    }
    lock.enter();
    lock.enter();
    expect(lock.inFlight).toBe(2);
    expect(lock.state()).toBe('free');
    expect(lines).toHaveLength(1);
    expect(lines[0].level).toBe(40);
    expect(lines[0].msg).toContain(`update lock ${missing} not held (ENOENT`);
  });
});

describe('a queue whose deliveries hold the lock', () => {
  const job = (i: number) =>
    makeJob({
      origin: 'node-1',
      image: { path: `img-${i}.tif`, bytes: 10, sha256: String(i).padStart(64, '0') },
      model: { name: 'm', sha256: 'f'.repeat(64) },
    });

  it('holds it from delivery until the first ack, nak or term, even when settling fails', async () => {
    const { logger } = recordingLogger();
    const lock = new UpdateLock({ path: lockFile, logger });
    const inner = new EmbeddedQueue({ capacity: 10, ackWaitMs: 60_000, maxDeliver: 3, logger });
    const queue = withUpdateLock(inner, lock);
    for (let i = 0; i < 3; i++) await queue.publish(job(i));

    const abort = new AbortController();
    const taken: JobDelivery[] = [];
    for await (const delivery of queue.consume({ signal: abort.signal })) {
      taken.push(delivery);
      expect(lock.inFlight).toBe(taken.length);
      expect(await exists(lockFile)).toBe(true);
      if (taken.length === 3) break;
    }
    await taken[0].ack();
    await taken[0].ack(); // settled once only
    expect(lock.inFlight).toBe(2);
    await taken[1].term('bad image');
    expect(lock.inFlight).toBe(1);
    expect(await exists(lockFile)).toBe(true);

    await inner.close();
    // The queue is gone: the hand-back fails, and the job is no longer worked on here either way.
    await taken[2].nak(0).catch(() => undefined);
    expect(lock.inFlight).toBe(0);
    expect(await exists(lockFile)).toBe(false);
  });
});

describe('GET /api/v1/jobs', () => {
  it('answers the jobs in flight and the state of the lock', async () => {
    const { logger } = recordingLogger();
    const lock = new UpdateLock({ path: lockFile, logger });
    const off = new UpdateLock({ path: undefined, logger });
    const app = express();
    app.use('/held', jobsRouter(lock));
    app.use('/off', jobsRouter(off));
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const get = async (prefix: string) => {
      const res = await fetch(`${base}${prefix}/api/v1/jobs`);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      return res.json();
    };
    try {
      expect(await get('/held')).toEqual({ jobsInFlight: 0, updateLock: 'free' });
      lock.enter();
      lock.enter();
      expect(await get('/held')).toEqual({ jobsInFlight: 2, updateLock: 'held' });
      off.enter();
      expect(await get('/off')).toEqual({ jobsInFlight: 1, updateLock: 'off' });
      lock.close();
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
