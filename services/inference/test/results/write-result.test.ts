import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { makeJob, resultPaths } from '@scopehive/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { planAnalysis } from '../../src/pipeline/plan.ts';
import { CsvTables } from '../../src/results/csv-table.ts';
import { buildResultDocument } from '../../src/results/document.ts';
import { writeResult } from '../../src/results/write-result.ts';
import { particlesModel } from './fixtures.ts';

const model = particlesModel;

function resultOf(image: string) {
  const job = makeJob({
    origin: 'scope-1',
    image: { path: image, bytes: 4096, sha256: 'a'.repeat(64) },
    model,
  });
  const plan = planAnalysis({
    image: { format: 'tiff', width: 400, height: 300, calibrationCandidates: [], warnings: [] },
    model,
    tiling: { mode: 'auto', overlap: 0.2, wholeImagePass: false },
    overrides: [],
  });
  return buildResultDocument({
    job,
    model,
    image: { width: 400, height: 300, format: 'tiff' },
    imageSha256: job.image.sha256,
    imageBytes: job.image.bytes,
    detections: [{ box: [10, 10, 30, 40], score: 0.9, classId: 0, className: 'particle' }],
    plan,
    node: 'worker-7',
    timings: { read: 1, inference: 10 },
  });
}

const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xd9]);

let resultsDir: string;
let elsewhere: string;
beforeEach(async () => {
  resultsDir = await fs.mkdtemp(path.join(os.tmpdir(), 'scopehive-results-'));
  elsewhere = await fs.mkdtemp(path.join(os.tmpdir(), 'scopehive-elsewhere-'));
});
afterEach(async () => {
  await fs.rm(resultsDir, { recursive: true, force: true });
  await fs.rm(elsewhere, { recursive: true, force: true });
});

const write = (image: string) =>
  writeResult({ resultsDir, doc: resultOf(image), annotated: JPEG, tables: new CsvTables() });

async function listing(dir: string): Promise<string[]> {
  return (await fs.readdir(dir, { recursive: true })).sort();
}

describe('writeResult on a share where anyone can plant links', () => {
  it('writes the annotated image, both tables and the JSON inside the results folder', async () => {
    const json = await write('day1/grid.tif');
    expect(json).toBe(resultPaths(resultsDir, 'day1/grid.tif', 'particles').json);
    expect(await listing(path.join(resultsDir, 'day1'))).toEqual([
      'detections.csv',
      'grid.tif.particles.jpg',
      'grid.tif.particles.json',
      'summary.csv',
    ]);
  });

  it('refuses a result under a folder link and writes nothing through it', async () => {
    await fs.symlink(elsewhere, path.join(resultsDir, 'day1'));
    await expect(write('day1/grid.tif')).rejects.toMatchObject({
      code: 'EOUTSIDE',
      message: expect.stringMatching(/day1 .*symbolic link/),
    });
    expect(await listing(elsewhere)).toEqual([]);
  });

  it('refuses a result whose annotated image name is a link, and writes none of its files', async () => {
    const outside = path.join(elsewhere, 'shadow');
    await fs.writeFile(outside, 'root:*:19000:0:99999:7:::\n');
    await fs.mkdir(path.join(resultsDir, 'day1'));
    await fs.symlink(outside, resultPaths(resultsDir, 'day1/grid.tif', 'particles').annotated);
    await expect(write('day1/grid.tif')).rejects.toMatchObject({ code: 'EOUTSIDE' });
    expect(await fs.readFile(outside, 'utf8')).toBe('root:*:19000:0:99999:7:::\n');
    expect(await listing(path.join(resultsDir, 'day1'))).toEqual(['grid.tif.particles.jpg']);
  });

  it('refuses a result whose table is a link before writing anything', async () => {
    const outside = path.join(elsewhere, 'authorized_keys');
    await fs.writeFile(outside, 'ssh-ed25519 AAAA\n');
    await fs.mkdir(path.join(resultsDir, 'day1'));
    await fs.symlink(outside, path.join(resultsDir, 'day1', 'summary.csv'));
    await expect(write('day1/grid.tif')).rejects.toMatchObject({
      code: 'EOUTSIDE',
      message: expect.stringContaining('summary.csv'),
    });
    expect(await fs.readFile(outside, 'utf8')).toBe('ssh-ed25519 AAAA\n');
    expect(await listing(path.join(resultsDir, 'day1'))).toEqual(['summary.csv']);
  });
});
