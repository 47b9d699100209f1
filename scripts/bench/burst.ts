/**
 * `npm run bench -- --case burst` (issue 8, item 4): thousands of small images dropped into the inbox
 * of the pipeline `npm start` runs, at once. The work per image must not grow with the results
 * already written, so the last thousand images should go as fast as the first; and the backlog must
 * not grow memory without bound. Prints both rates, their ratio and the peak resident memory, beside
 * the aims (never asserted: this machine is shared, the numbers are noisy).
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import sharp from 'sharp';
import { startPipeline } from '../run-pipeline.ts';

const AIM_RATIO = 0.9;
const AIM_PEAK_RSS_BYTES = 400 * 1024 * 1024;
/** Long enough for any one image: no result for this long means the pipeline is stuck. */
const STALL_MS = 120_000;

export interface BurstOptions {
  images: number;
  model: string;
  samples: readonly string[];
  json: boolean;
}

/**
 * 64×48 JPEGs, all different (each a window at its own place in one of the samples), cheap to decode:
 * the burst measures the pipeline's cost per image, not the model's.
 */
async function makeSmallImages(samples: readonly string[], dir: string, count: number): Promise<string[]> {
  await fs.mkdir(dir, { recursive: true });
  const sources = await Promise.all(
    samples.map((s) =>
      sharp(s).resize(400, 300, { fit: 'fill' }).raw().toBuffer({ resolveWithObject: true }),
    ),
  );
  const files: string[] = [];
  for (let start = 0; start < count; start += 64) {
    const batch = Array.from({ length: Math.min(64, count - start) }, (_, k) => start + k);
    await Promise.all(
      batch.map(async (i) => {
        const { data, info } = sources[i % sources.length];
        const n = Math.floor(i / sources.length);
        const file = path.join(dir, `burst-${String(i).padStart(5, '0')}.jpg`);
        await sharp(data, { raw: { width: info.width, height: info.height, channels: info.channels } })
          .extract({ left: n % 337, top: Math.floor(n / 337) % 253, width: 64, height: 48 })
          .jpeg({ quality: 90 })
          .toFile(file);
        files[i] = file;
      }),
    );
  }
  return files;
}

/** Images per second over completions [from, to] (1-based, inclusive). */
const rate = (done: readonly number[], from: number, to: number) =>
  (to - from) / ((done[to - 1] - done[from - 1]) / 1000);

export async function runBurst(options: BurstOptions): Promise<void> {
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'scopehive-burst-'));
  const inbox = path.join(work, 'data', 'inbox');
  try {
    const staged = await makeSmallImages(options.samples, path.join(work, 'staged'), options.images);
    await fs.mkdir(path.join(work, 'data', 'models'), { recursive: true });
    await fs.mkdir(inbox, { recursive: true });
    await fs.copyFile(options.model, path.join(work, 'data', 'models', path.basename(options.model)));

    // Completions are read from the pipeline's own log: one info line per image analysed, one
    // warning per image rejected, each stamped the moment it is written.
    const done: number[] = [];
    let rejected = 0;
    const log = new Writable({
      write(chunk, _encoding, next) {
        const text = String(chunk);
        if (text.includes('"timingsMs":')) done.push(performance.now());
        else if (text.includes(' rejected: ')) rejected++;
        next();
      },
    });
    const pipeline = await startPipeline({
      env: { ...process.env, SCOPEHIVE_DATA_DIR: path.join(work, 'data'), SCOPEHIVE_PORT: '0' },
      logger: pino({ name: 'scopehive', level: 'info' }, log),
    });
    let peakRss = process.memoryUsage().rss;
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
    }, 100);
    const t0 = performance.now();
    try {
      // Dropped at once, as a copy of a whole acquisition folder would.
      for (const file of staged) await fs.rename(file, path.join(inbox, path.basename(file)));
      let seen = 0;
      let progressAt = Date.now();
      while (done.length + rejected < options.images) {
        if (done.length + rejected > seen) {
          seen = done.length + rejected;
          progressAt = Date.now();
        } else if (Date.now() - progressAt > STALL_MS) {
          throw new Error(`stuck: ${done.length} analysed, ${rejected} rejected of ${options.images}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    } finally {
      clearInterval(sampler);
      await pipeline.close();
    }
    const total = (performance.now() - t0) / 1000;
    const block = Math.min(1000, Math.floor(done.length / 2));
    if (block < 2) throw new Error(`too few images analysed (${done.length}) to compare rates`);
    const first = rate(done, 1, block);
    const last = rate(done, done.length - block + 1, done.length);
    report(options, {
      model: path.basename(options.model),
      images: options.images,
      analysed: done.length,
      rejected,
      block,
      seconds: total,
      firstImagesPerSecond: first,
      lastImagesPerSecond: last,
      burstRatio: last / first,
      peakRssBytes: peakRss,
      cpus: os.cpus().length,
    });
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
}

interface BurstReport {
  model: string;
  images: number;
  analysed: number;
  rejected: number;
  block: number;
  seconds: number;
  firstImagesPerSecond: number;
  lastImagesPerSecond: number;
  burstRatio: number;
  peakRssBytes: number;
  cpus: number;
}

function report(options: BurstOptions, r: BurstReport): void {
  if (options.json) {
    const aims = { burstRatio: AIM_RATIO, peakRssBytes: AIM_PEAK_RSS_BYTES };
    process.stdout.write(`${JSON.stringify({ case: 'burst', ...r, aims }, null, 2)}\n`);
    return;
  }
  const mb = (b: number) => `${(b / 1024 / 1024).toFixed(0)} MB`;
  console.log(
    `scopehive bench, burst: ${r.images} images of 64×48 dropped at once, ${r.model}, ${r.cpus} CPUs`,
  );
  console.log(`${r.analysed} analysed, ${r.rejected} rejected, in ${r.seconds.toFixed(1)} s`);
  console.log('');
  console.log('| measure | value | aim |');
  console.log('|---|---:|---:|');
  console.log(`| images/s, first ${r.block} | ${r.firstImagesPerSecond.toFixed(1)} | |`);
  console.log(`| images/s, last ${r.block} | ${r.lastImagesPerSecond.toFixed(1)} | |`);
  console.log(`| **last / first** | **${r.burstRatio.toFixed(3)}** | ≥ ${AIM_RATIO} |`);
  console.log(`| peak resident memory | ${mb(r.peakRssBytes)} | ≤ ${mb(AIM_PEAK_RSS_BYTES)} |`);
}
