/** What a new user sees when a setting is wrong or the port is taken: one line per problem, exit code 1. */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const repo = path.resolve(import.meta.dirname, '../..');
const bin = path.join(repo, 'node_modules/.bin/scopehive');
const run = promisify(execFile);

async function exec(file: string, args: string[], env: Record<string, string>) {
  return run(file, args, {
    cwd: repo,
    env: { PATH: process.env.PATH ?? '', HOME: os.tmpdir(), ...env },
  }).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => e,
  );
}

describe('start-up errors a user can fix', () => {
  it('`scopehive --version` prints the version', async () => {
    const r = await exec(bin, ['--version'], {});
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(/^scopehive \d+\.\d+\.\d+$/);
  });

  it('reports every invalid setting at once, one line each, with exit code 1', async () => {
    const r = await exec(bin, ['analyze', repo], {
      SCOPEHIVE_CONFIDENCE: '2',
      SCOPEHIVE_TILING: 'sometimes',
    });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([
      'scopehive: SCOPEHIVE_CONFIDENCE="2" is invalid: expected a number from 0 to 1',
      'scopehive: SCOPEHIVE_TILING="sometimes" is invalid: expected one of auto, always, never',
    ]);
  });

  it('`npm start` on a port already in use says so in one line naming the setting, exit code 1', async () => {
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const port = (busy.address() as { port: number }).port;
    const dataDir = path.join(os.tmpdir(), `scopehive-start-${process.pid}`);
    try {
      const r = await exec(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], {
        SCOPEHIVE_DATA_DIR: dataDir,
        SCOPEHIVE_PORT: String(port),
      });
      expect(r.code).toBe(1);
      expect(r.stderr.trim()).toBe(
        `scopehive: SCOPEHIVE_PORT=${port} is already in use by another program (on SCOPEHIVE_HOST=127.0.0.1): choose a free port`,
      );
    } finally {
      busy.close();
      await fs.rm(dataDir, { recursive: true, force: true });
    }
  });
});
