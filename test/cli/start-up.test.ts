/** What a new user sees when a setting is wrong or the port is taken: one line per problem, exit code 1. */
import { execFile, spawn } from 'node:child_process';
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

  it('`npm start` warns about a misspelled setting, naming the closest known one, and keeps running', async () => {
    const dataDir = path.join(os.tmpdir(), `scopehive-typo-${process.pid}`);
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], {
      cwd: repo,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: os.tmpdir(),
        SCOPEHIVE_DATA_DIR: dataDir,
        SCOPEHIVE_PORT: '0',
        SCOPEHIVE_CONFIDANCE: '0.5',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const warning = await new Promise<{ msg: string; level: number }>((resolve, reject) => {
        let buffered = '';
        child.stdout.on('data', (chunk: Buffer) => {
          buffered += chunk.toString();
          for (const line of buffered.split('\n').slice(0, -1)) {
            const entry = JSON.parse(line) as { msg: string; level: number };
            if (entry.msg.startsWith('unknown setting')) resolve(entry);
          }
          buffered = buffered.slice(buffered.lastIndexOf('\n') + 1);
        });
        child.once('exit', (code) => reject(new Error(`npm start exited with ${code} before warning`)));
      });
      expect(warning.msg).toBe('unknown setting SCOPEHIVE_CONFIDANCE (did you mean SCOPEHIVE_CONFIDENCE?)');
      expect(warning.level).toBe(40);
      expect(child.exitCode).toBeNull();
    } finally {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      await fs.rm(dataDir, { recursive: true, force: true });
    }
  });
});
