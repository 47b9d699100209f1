import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { downloadModel } from '../../scripts/download-model.ts';

const repo = path.resolve(import.meta.dirname, '../..');
const shared = process.env.SCOPEHIVE_SHARED_DIR ?? path.resolve(repo, '../shared');
const modelFile = path.join(shared, 'models/yolo11n_int8.onnx');
const run = promisify(execFile);

/** A real HTTP server on loopback standing in for the model's download host. */
let server: http.Server;
let base: string;
let model: Buffer;
let work: string;

beforeAll(async () => {
  model = await fs.readFile(modelFile);
  work = await fs.mkdtemp(path.join(os.tmpdir(), 'scopehive-fetch-'));
  server = http.createServer((req, res) => {
    if (req.url === '/models/yolo11n.onnx') {
      res.writeHead(200, { 'content-length': model.length });
      // In pieces, as a network delivers it.
      const half = Math.floor(model.length / 2);
      res.write(model.subarray(0, half));
      setTimeout(() => res.end(model.subarray(half)), 20);
    } else if (req.url === '/models/cut.onnx') {
      res.writeHead(200, { 'content-length': model.length });
      res.end(model.subarray(0, 1000));
      req.socket.destroy();
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await fs.rm(work, { recursive: true, force: true });
});

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('fetch-model downloads (from a loopback HTTP server standing in for the internet)', () => {
  it('saves the model with its hash verified and leaves no temporary file', async () => {
    const dir = path.join(work, 'ok');
    const lines: string[] = [];
    const progress = Object.assign(new (await import('node:stream')).PassThrough(), { isTTY: false });
    progress.on('data', (d: Buffer) => lines.push(...d.toString().trim().split('\n')));
    const file = await downloadModel({
      url: `${base}/models/yolo11n.onnx`,
      sha256: sha(model),
      modelsDir: dir,
      timeoutMs: 10_000,
      progress,
    });
    expect(file).toBe(path.join(dir, 'yolo11n.onnx'));
    expect(sha(await fs.readFile(file))).toBe(sha(model));
    expect(await fs.readdir(dir)).toEqual(['yolo11n.onnx']);
    expect(lines.some((l) => l.includes('100%'))).toBe(true);
    expect(lines.at(-1)).toBe(`sha256 ${sha(model)} (verified)`);
  });

  it('discards a download whose hash does not match, with a one-line reason', async () => {
    const dir = path.join(work, 'mismatch');
    const wrong = '0'.repeat(64);
    await expect(
      downloadModel({ url: `${base}/models/yolo11n.onnx`, sha256: wrong, modelsDir: dir, timeoutMs: 10_000 }),
    ).rejects.toThrow(
      `sha256 mismatch for yolo11n.onnx: expected ${wrong}, got ${sha(model)}; the file was not kept`,
    );
    expect(await fs.readdir(dir)).toEqual([]);
  });

  it('discards a download that breaks off, and says an HTTP error plainly', async () => {
    const dir = path.join(work, 'broken');
    await expect(
      downloadModel({ url: `${base}/models/cut.onnx`, modelsDir: dir, timeoutMs: 10_000 }),
    ).rejects.toThrow(/broke off|incomplete/);
    expect(await fs.readdir(dir)).toEqual([]);
    await expect(
      downloadModel({ url: `${base}/models/missing.onnx`, modelsDir: dir, timeoutMs: 10_000 }),
    ).rejects.toThrow('answered HTTP 404');
  });

  it('offline (nothing listening), `npm run fetch-model` fails with one clear line and exit code 1', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const result = await run(
      process.execPath,
      ['--import', 'tsx', 'scripts/fetch-model.ts', '--url', `http://127.0.0.1:${port}/yolo.onnx`],
      { cwd: repo, env: { ...process.env, SCOPEHIVE_MODELS_DIR: path.join(work, 'offline') } },
    ).then(
      (r) => ({ code: 0, stderr: r.stderr }),
      (e: { code: number; stderr: string }) => e,
    );
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toEqual([
      `fetch-model: cannot reach 127.0.0.1:${port} (ECONNREFUSED); is this machine offline? Copy a .onnx model into the models folder by hand instead.`,
    ]);
  });
});
