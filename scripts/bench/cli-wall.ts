/**
 * Wall time of `npx scopehive analyze` on one photo, as typed at the microscope: from spawning npx to
 * the process's exit, start-up and model load included.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';

const repo = path.resolve(import.meta.dirname, '../..');

async function analyzeOnce(photo: string, model: string, out: string): Promise<number> {
  const t0 = performance.now();
  const child = spawn('npx', ['scopehive', 'analyze', photo, '--model', model, '--out', out, '--quiet'], {
    cwd: repo,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  const wall = performance.now() - t0;
  if (code !== 0) throw new Error(`npx scopehive analyze exited ${code}:\n${stderr.slice(-2000)}`);
  return wall;
}

/**
 * `runs` timed runs, each into a fresh results folder (a current result would be skipped), after one
 * untimed run that brings the files into the page cache, as on a machine where it has run before.
 */
export async function cliWallTimes(
  photo: string,
  model: string,
  work: string,
  runs: number,
): Promise<number[]> {
  await analyzeOnce(photo, model, path.join(work, 'cli-warm'));
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const out = path.join(work, `cli-${i}`);
    times.push(await analyzeOnce(photo, model, out));
    const result = `${path.basename(photo)}.${path.basename(model, '.onnx')}.json`;
    await fs.access(path.join(out, result)).catch(() => {
      throw new Error(`npx scopehive analyze exited 0 but wrote no ${result} in ${out}`);
    });
  }
  return times;
}
