import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repo = path.resolve(import.meta.dirname, '../..');
const shared = process.env.SCOPEHIVE_SHARED_DIR ?? path.resolve(repo, '../shared');
const run = promisify(execFile);
const bin = path.join(repo, 'node_modules/.bin/scopehive');

let work: string;

beforeAll(async () => {
  work = await fs.mkdtemp(path.join(os.tmpdir(), 'scopehive-cli-'));
  await fs.mkdir(path.join(work, 'session/day1'), { recursive: true });
  await fs.copyFile(path.join(shared, 'images/bus.jpg'), path.join(work, 'session/bus.jpg'));
  await fs.copyFile(path.join(shared, 'images/zidane.jpg'), path.join(work, 'session/day1/zidane.jpg'));
  await fs.writeFile(path.join(work, 'session/day1/broken.jpg'), 'not an image');
  await fs.writeFile(path.join(work, 'session/notes.txt'), 'ignored: not an image type');
});

afterAll(async () => {
  await fs.rm(work, { recursive: true, force: true });
});

async function analyze(args: string[]) {
  return run(bin, ['analyze', ...args], {
    cwd: work,
    env: { ...process.env, SCOPEHIVE_LOG_LEVEL: 'error' },
  }).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => e,
  );
}

describe('npx scopehive analyze (the real bin, the real model)', () => {
  it('analyses a folder tree, prints a summary table, lists the failed file and exits 1', async () => {
    const model = path.join(shared, 'models/yolov8n-fp32.onnx');
    const out = path.join(work, 'out');
    const r = await analyze(['session', '--model', model, '--out', out, '--quiet']);
    expect(r.code).toBe(1);
    const rows = r.stdout.split('\n').filter((l) => l.startsWith('| yolov8n-fp32'));
    expect(rows).toHaveLength(1);
    // analysed, skipped, failed, objects: bus.jpg 5 + zidane.jpg 3
    expect(
      rows[0]
        .split('|')
        .map((c) => c.trim())
        .slice(2, 6),
    ).toEqual(['2', '0', '1', '8']);
    // Failure lines go to stderr, the summary table to stdout.
    expect(r.stderr).toMatch(/failed: session\/day1\/broken\.jpg \(yolov8n-fp32\): unsupported: /);
    const bus = JSON.parse(await fs.readFile(path.join(out, 'session/bus.jpg.yolov8n-fp32.json'), 'utf8'));
    expect(bus.counts).toEqual({ person: 4, bus: 1 });
    await fs.access(path.join(out, 'session/day1/zidane.jpg.yolov8n-fp32.json'));
    // The CLI never moves the user's files.
    await fs.access(path.join(work, 'session/day1/broken.jpg'));

    // Run again: the two results are current and skipped; the broken file still fails.
    const again = await analyze(['session', '--model', model, '--out', out, '--quiet']);
    expect(again.code).toBe(1);
    const row = again.stdout.split('\n').find((l) => l.startsWith('| yolov8n-fp32'))!;
    expect(
      row
        .split('|')
        .map((c) => c.trim())
        .slice(2, 5),
    ).toEqual(['0', '2', '1']);
  });

  it('exits 0 when every file was analysed, and 2 with one line on bad usage', async () => {
    const model = path.join(shared, 'models/yolo11n_int8.onnx');
    const ok = await analyze([
      'session/bus.jpg',
      '--model',
      model,
      '--out',
      path.join(work, 'out2'),
      '--quiet',
    ]);
    expect(ok.code).toBe(0);
    const missing = await analyze(['nowhere', '--model', model]);
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim()).toBe('scopehive: no such file or folder: nowhere');
    const noModel = await analyze(['session', '--model', 'nope.onnx']);
    expect(noModel.code).toBe(2);
    expect(noModel.stderr.trim()).toMatch(/^scopehive: model not found: nope\.onnx/);
  });
});
