/**
 * The compiled start (issue 13, item 2), for real: the CLI analyses a photo with the real model from
 * dist/ alone (plain node, no TypeScript loader: a .ts file reached would fail to load), `npm start`
 * runs its compiled path up to /readyz and a result, and a build that no longer matches its sources
 * is compiled again before anything runs (an edited file, one edited without its time changing, a
 * new import, a deleted module, a syntax error).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/bench/npm-start.ts';

const repo = path.resolve(import.meta.dirname, '../..');
const shared = process.env.SCOPEHIVE_SHARED_DIR ?? path.resolve(repo, '../shared');
const model = path.join(shared, 'models/yolov8n-fp32.onnx');
const photo = path.join(shared, 'images/bus.jpg');
const run = promisify(execFile);
const DEADLINE_MS = 60_000;

let work: string;

beforeAll(async () => {
  work = await fs.mkdtemp(path.join(os.tmpdir(), 'scopehive-compiled-'));
  // What npm ci's prepare does; compiles only what changed since (nothing, usually).
  await run(process.execPath, ['scripts/build.mjs'], { cwd: repo });
});

afterAll(async () => {
  await fs.rm(work, { recursive: true, force: true });
});

/** Polls `check` until it returns a value, up to the deadline. */
async function until<T>(what: string, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + DEADLINE_MS;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${DEADLINE_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The command lines of every process in a process group (Linux /proc). */
async function groupCommands(group: number): Promise<string[]> {
  const out: string[] = [];
  for (const pid of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    // Fields after the command name (which may hold spaces): state, ppid, pgrp.
    const pgrp = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
    if (pgrp !== group) continue;
    const cmdline = await fs.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    out.push(cmdline.split('\0').join(' ').trim());
  }
  return out;
}

/** Ctrl-C to the whole group, as in a terminal; killed if any of it is still there after a while. */
async function stopGroup(group: number): Promise<void> {
  const signal = (s: NodeJS.Signals | 0) => {
    try {
      process.kill(-group, s);
      return true;
    } catch {
      return false; // the group is gone
    }
  };
  signal('SIGINT');
  const deadline = Date.now() + 15_000;
  while (signal(0) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  signal('SIGKILL');
}

describe('the compiled CLI and npm start', () => {
  it('analyses a photo with the real model from dist/ alone', async () => {
    const out = path.join(work, 'cli');
    const main = path.join(repo, 'services/inference/dist/cli/main.js');
    const args = ['--conditions=scopehive-dist', main, 'analyze', photo, '--model', model, '--out', out];
    const r = await run(process.execPath, [...args, '--quiet'], {
      env: { ...process.env, SCOPEHIVE_LOG_LEVEL: 'error' },
    });
    expect(r.stdout).toMatch(/\| yolov8n-fp32 \| 1 +\| 0 +\| 0 +\| 5 /);
    const doc = JSON.parse(await fs.readFile(path.join(out, 'bus.jpg.yolov8n-fp32.json'), 'utf8'));
    expect(doc.counts).toEqual({ person: 4, bus: 1 });
  });

  it('npm start runs dist/ (never tsx), answers /readyz and analyses a dropped photo', async () => {
    const data = path.join(work, 'start');
    for (const dir of ['inbox', 'models', 'results'])
      await fs.mkdir(path.join(data, dir), { recursive: true });
    await fs.copyFile(model, path.join(data, 'models/yolov8n-fp32.onnx'));
    const port = await freePort();
    let output = '';
    // Its own process group: npm, its shell and node are all stopped at the end.
    const child: ChildProcess = spawn('npm', ['start', '--silent'], {
      cwd: repo,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        SCOPEHIVE_DATA_DIR: data,
        SCOPEHIVE_HOST: '127.0.0.1',
        SCOPEHIVE_PORT: String(port),
        SCOPEHIVE_LOG_LEVEL: 'warn',
      },
    });
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-4000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      await until(`npm start ready (output: ${output})`, () =>
        fetch(`http://127.0.0.1:${port}/readyz`).then(
          (r) => (r.status === 200 ? true : undefined),
          () => undefined,
        ),
      );
      const commands = await groupCommands(child.pid!);
      const node = commands.filter((c) => /^(\S*\/)?node /.test(c));
      expect(node, commands.join('\n')).toEqual([
        expect.stringMatching(/node --conditions=scopehive-dist scripts\/run-built\.mjs scripts\/start\.ts$/),
      ]);
      expect(commands.join('\n')).not.toMatch(/tsx/);
      // Ready means the model is in (/readyz once said ready before the parts had registered checks).
      const metrics = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text());
      expect(metrics).toContain('scopehive_model_info{');

      await fs.copyFile(photo, path.join(data, 'inbox/bus.jpg'));
      const result = path.join(data, 'results/bus.jpg.yolov8n-fp32.json');
      const doc = await until('the result of bus.jpg', () =>
        fs.readFile(result, 'utf8').then(
          (text) => JSON.parse(text) as { counts: Record<string, number> },
          () => undefined,
        ),
      );
      expect(doc.counts).toEqual({ person: 4, bus: 1 });
    } finally {
      await stopGroup(child.pid!);
      await exited;
    }
  });
});
