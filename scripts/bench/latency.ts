/**
 * `npm run bench -- --case latency` (issue 13, item 3): the time between saving an image and seeing
 * its numbers. Photos are dropped one at a time into the running `npm start` pipeline, first with
 * local writes (inotify), then with polling on as on an NFS mount (SCOPEHIVE_POLLING=true, at
 * SCOPEHIVE_POLL_INTERVAL_MS). Drop-to-result p50 and p95 are printed next to the analysis time of
 * the same images (the sum of their result documents' `timings`), with the ratios and the aims; then
 * the wall time of `npx scopehive analyze` on one photo. Aims are printed, never asserted.
 *
 * "Drop": the moment the file is fully written (`--drop write`: the write into the inbox has closed
 * the file, as a copy from a microscope PC does; `--drop rename`: renamed in from beside the inbox).
 * "Result": the moment the result JSON appears, stamped by inotify on the results folder (see
 * arrivals.ts). Between drops the bench waits a random time up to the poll interval, so drops fall
 * at every phase of the polling cycle instead of always just after the last result.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '@scopehive/shared';
import { Arrivals } from './arrivals.ts';
import { cliWallTimes } from './cli-wall.ts';
import { makePhotos } from './inputs.ts';
import { type LatencyReport, type ModeReport, printLatency } from './latency-report.ts';
import { NpmStart } from './npm-start.ts';

export interface LatencyOptions {
  /** Images timed per mode (one more is dropped first, untimed, to warm the model up). */
  images: number;
  model: string;
  samples: readonly string[];
  drop: 'write' | 'rename';
  /** Timed runs of `npx scopehive analyze`. */
  cliRuns: number;
  json: boolean;
}

/** Beyond the stability window and a poll: no result this long after a drop means something is wrong. */
const RESULT_TIMEOUT_MS = 60_000;

/** Nearest-rank percentile of `values` (p in 0..1). */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)];
}

interface Mode {
  name: 'local' | 'polled';
  polling: 'true' | 'false';
}

/** Drops `photo` into the inbox; resolves with the moment it is fully written there. */
async function drop(photo: string, inbox: string, staging: string, how: LatencyOptions['drop']) {
  const target = path.join(inbox, path.basename(photo));
  if (how === 'rename') {
    const staged = path.join(staging, path.basename(photo));
    await fs.copyFile(photo, staged);
    await fs.rename(staged, target);
  } else {
    // open, write, close: a copy onto the share.
    await fs.writeFile(target, await fs.readFile(photo));
  }
  return performance.now();
}

/** Why no result came: the reason ingest or inference set the image aside with, when there is one. */
async function missingResult(data: string, image: string, npm: NpmStart): Promise<Error> {
  const reason = await fs
    .readFile(path.join(data, 'rejected', `${image}.reason.txt`), 'utf8')
    .catch(() => undefined);
  const why = reason ? `rejected: ${reason.trim()}` : `pipeline output:\n${npm.tail}`;
  return new Error(`no result for ${image} within ${RESULT_TIMEOUT_MS} ms; ${why}`);
}

async function measureMode(
  mode: Mode,
  work: string,
  photos: readonly string[],
  options: LatencyOptions,
  pollIntervalMs: number,
): Promise<ModeReport> {
  const data = path.join(work, mode.name);
  const inbox = path.join(data, 'inbox');
  const results = path.join(data, 'results');
  const staging = path.join(data, 'staging');
  for (const dir of [inbox, results, staging, path.join(data, 'models')])
    await fs.mkdir(dir, { recursive: true });
  await fs.copyFile(options.model, path.join(data, 'models', path.basename(options.model)));
  const modelName = path.basename(options.model, '.onnx');
  const npm = await NpmStart.start(data, { SCOPEHIVE_POLLING: mode.polling });
  const arrivals = new Arrivals(results);
  const latencies: number[] = [];
  const analyses: number[] = [];
  try {
    for (const [i, photo] of photos.entries()) {
      await new Promise((resolve) => setTimeout(resolve, Math.random() * pollIntervalMs));
      const image = path.basename(photo);
      const dropped = await drop(photo, inbox, staging, options.drop);
      const result = `${image}.${modelName}.json`;
      const appeared = await arrivals.when(result, RESULT_TIMEOUT_MS);
      if (appeared === undefined) throw await missingResult(data, image, npm);
      if (i === 0) continue; // the warm-up image
      const doc = JSON.parse(await fs.readFile(path.join(results, result), 'utf8')) as {
        timings: Record<string, number>;
      };
      latencies.push(appeared - dropped);
      analyses.push(Object.values(doc.timings).reduce((a, b) => a + b, 0));
    }
  } finally {
    arrivals.close();
    await npm.stop();
  }
  const p50Ms = percentile(latencies, 0.5);
  const analysisP50Ms = percentile(analyses, 0.5);
  return {
    images: latencies.length,
    p50Ms,
    p95Ms: percentile(latencies, 0.95),
    analysisP50Ms,
    analysisP95Ms: percentile(analyses, 0.95),
    ratio: p50Ms / analysisP50Ms,
  };
}

export async function runLatency(options: LatencyOptions): Promise<void> {
  // The settings the pipeline will run with, read as it reads them.
  const { stableMs, pollIntervalMs } = loadConfig(['watch']).config.watch;
  // The aims are for an idle machine: the load it had is part of the measurement.
  const loadAverage = os.loadavg()[0];
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'scopehive-latency-'));
  try {
    const photos = await makePhotos(options.samples, path.join(work, 'photos'), options.images + 1);
    const local = await measureMode(
      { name: 'local', polling: 'false' },
      work,
      photos,
      options,
      pollIntervalMs,
    );
    const polled = await measureMode(
      { name: 'polled', polling: 'true' },
      work,
      photos,
      options,
      pollIntervalMs,
    );
    const cliWallMs = await cliWallTimes(options.samples[0], options.model, work, options.cliRuns);
    const report: LatencyReport = {
      case: 'latency',
      model: path.basename(options.model),
      cpus: os.cpus().length,
      loadAverage,
      drop: options.drop,
      stableMs,
      pollIntervalMs,
      local,
      polled,
      localRatio: local.ratio,
      polledRatio: polled.ratio,
      cli: { photo: path.basename(options.samples[0]), wallMs: cliWallMs, p50Ms: percentile(cliWallMs, 0.5) },
      aims: {
        localRatio: 1.5,
        localP50Ms: 1.5 * local.analysisP50Ms,
        polledP50Ms: pollIntervalMs + 1.5 * polled.analysisP50Ms,
        cliWallMs: 1000,
      },
    };
    printLatency(report, options.json);
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
}
