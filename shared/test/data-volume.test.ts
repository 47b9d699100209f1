import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataVolumeCheck } from '../src/fs/data-volume.ts';
import type { Readiness } from '../src/http/server.ts';

let work: string;

beforeAll(async () => {
  work = await fs.mkdtemp(path.join(os.tmpdir(), 'scopehive-volume-'));
});

afterAll(async () => {
  await fs.rm(work, { recursive: true, force: true });
});

describe('DataVolumeCheck', () => {
  it('is ready when the folders exist (creating missing ones) and reports each change once', async () => {
    const changes: Readiness[] = [];
    const check = new DataVolumeCheck(
      { results: { path: path.join(work, 'data/results'), writable: true } },
      (s) => changes.push(s),
    );
    expect(check.state).toEqual({ ready: false, reason: 'data folders not checked yet' });
    expect(await check.check()).toEqual({ ready: true });
    await check.check();
    expect(changes).toEqual([{ ready: true }]);
    await fs.access(path.join(work, 'data/results'));
  });

  it('says which folder is unusable when the volume is not mounted (a file where the folder should be)', async () => {
    // Tests run as root, for whom permission bits do not apply; a file in the way fails for everyone.
    await fs.writeFile(path.join(work, 'not-a-volume'), '');
    const changes: Readiness[] = [];
    const check = new DataVolumeCheck(
      {
        inbox: { path: path.join(work, 'ok-inbox'), writable: false },
        results: { path: path.join(work, 'not-a-volume/results'), writable: true },
      },
      (s) => changes.push(s),
    );
    const state = await check.check();
    expect(state.ready).toBe(false);
    expect(state.reason).toBe(
      `the results folder ${path.join(work, 'not-a-volume/results')} fails (ENOTDIR)`,
    );
    expect(changes).toEqual([state]);

    // The volume comes back: the check recovers without a restart.
    await fs.rm(path.join(work, 'not-a-volume'));
    expect(await check.check()).toEqual({ ready: true });
    expect(changes).toHaveLength(2);
  });
});
