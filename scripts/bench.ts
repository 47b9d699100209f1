/**
 * `npm run bench`: on the same images and model, in one run, bare ONNX Runtime `session.run`
 * images/s against the whole pipeline's images/s (file read → result files written), their ratio,
 * and each stage's share of the pipeline's time. `--json` prints the same as JSON.
 *
 * Options: --model <file.onnx> (default ../shared/models/yolov8n-fp32.onnx), --images <n> (default 40),
 * --rounds <n> (default 2; bare and pipeline alternate so both see the same machine load).
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  analysisSettings,
  decodeImage,
  InferenceWorker,
  type LoadedModel,
  letterboxGeometry,
  letterboxInto,
  ModelRegistry,
} from '@scopehive/inference';
import {
  createLogger,
  createPipelineMetrics,
  EmbeddedQueue,
  type Job,
  jobId,
  loadSettings,
  sha256,
} from '@scopehive/shared';
import { Registry } from 'prom-client';
import sharp from 'sharp';

const shared = process.env.SCOPEHIVE_SHARED_DIR ?? path.resolve(import.meta.dirname, '../../shared');
const { values: args } = parseArgs({
  options: {
    model: { type: 'string', default: path.join(shared, 'models/yolov8n-fp32.onnx') },
    images: { type: 'string', default: '40' },
    rounds: { type: 'string', default: '2' },
    json: { type: 'boolean', default: false },
  },
});
const imageCount = Number(args.images);
const rounds = Number(args.rounds);
const logger = createLogger('bench', 'warn');
const work = await fs.mkdtemp(path.join(os.tmpdir(), 'scopehive-bench-'));

/** Distinct files of the same size and cost: each sample image with a different 1-pixel-wide crop. */
async function makeImages(dir: string): Promise<string[]> {
  await fs.mkdir(dir, { recursive: true });
  const sources = ['bus.jpg', 'zidane.jpg'].map((f) => path.join(shared, 'images', f));
  const files: string[] = [];
  for (let i = 0; i < imageCount; i++) {
    const src = sources[i % sources.length];
    const meta = await sharp(src).metadata();
    const file = path.join(dir, `${String(i).padStart(4, '0')}-${path.basename(src)}`);
    await sharp(src)
      .extract({
        left: Math.floor(i / 2),
        top: 0,
        width: meta.width! - Math.floor(i / 2),
        height: meta.height!,
      })
      .jpeg({ quality: 92 })
      .toFile(file);
    files.push(file);
  }
  return files;
}

/** session.run alone, on the pipeline's own session, with inputs decoded and letterboxed beforehand. */
async function bare(model: LoadedModel, tensors: Float32Array[]): Promise<number> {
  const t0 = performance.now();
  for (const data of tensors) await model.run(data);
  return (performance.now() - t0) / 1000;
}

async function pipeline(models: ModelRegistry, files: string[], round: number) {
  const metricsRegistry = new Registry();
  const metrics = createPipelineMetrics(metricsRegistry, { rateWindowS: 60 });
  const queue = new EmbeddedQueue({ capacity: 64, ackWaitMs: 600_000, maxDeliver: 1 });
  const resultsDir = path.join(work, `results-${round}`);
  const model = models.list()[0];
  const byImage = new Map<string, string>();
  let settled = 0;
  let failures = 0;
  let done!: () => void;
  const finished = new Promise<void>((resolve) => {
    done = resolve;
  });
  const worker = new InferenceWorker({
    queue,
    registry: models,
    resultsDir,
    imagePath: (job) => byImage.get(job.image)!,
    onRejected: async () => {
      failures++;
    },
    onSettled: () => {
      if (++settled === files.length) done();
    },
    ...analysisSettings(loadSettings({})),
    node: 'bench',
    metrics,
    logger,
  });
  const jobs: Job[] = [];
  for (const file of files) {
    const image = path.basename(file);
    byImage.set(image, file);
    const hash = sha256(await fs.readFile(file));
    jobs.push({
      id: jobId(hash, model.name, model.sha256),
      image,
      imageSha256: hash,
      imageBytes: 0,
      model: model.name,
      modelSha256: model.sha256,
      detectedAt: Date.now(),
    });
  }
  const t0 = performance.now();
  worker.start();
  for (const job of jobs) await queue.publish(job);
  await finished;
  const seconds = (performance.now() - t0) / 1000;
  await worker.close();
  await queue.close();
  const stages: Record<string, number> = {};
  const histogram = await metrics.stageSeconds.get();
  for (const v of histogram.values) {
    if (v.metricName?.endsWith('_sum'))
      stages[String(v.labels.stage)] = (stages[String(v.labels.stage)] ?? 0) + v.value;
  }
  return { seconds, stages, failures };
}

const files = await makeImages(path.join(work, 'inbox'));
const modelsDir = path.join(work, 'models');
await fs.mkdir(modelsDir);
await fs.copyFile(args.model, path.join(modelsDir, path.basename(args.model)));
const models = new ModelRegistry({
  modelsDir,
  enabled: ['all'],
  providers: ['cpu'],
  threads: 0,
  defaults: { confidence: 0.25, iou: 0.45, maxDetections: 300 },
  stableMs: 0,
  usePolling: false,
  pollIntervalMs: 1000,
  logger,
});
await models.start();
const model = models.list()[0];
if (!model) throw new Error(`could not load ${args.model}`);

const size = model.inputWidth;
const tensors: Float32Array[] = [];
for (const file of files) {
  const image = await decodeImage(await fs.readFile(file), { maxPixels: 1e8 });
  const t = new Float32Array(3 * size * size);
  await letterboxInto(image, letterboxGeometry(image.width, image.height, size, size), t);
  tensors.push(t);
}
await bare(model, tensors.slice(0, 3)); // warm-up

let bareSeconds = 0;
let pipeSeconds = 0;
const stageTotals: Record<string, number> = {};
let failures = 0;
for (let r = 0; r < rounds; r++) {
  bareSeconds += await bare(model, tensors);
  const p = await pipeline(models, files, r);
  pipeSeconds += p.seconds;
  failures += p.failures;
  for (const [k, v] of Object.entries(p.stages)) stageTotals[k] = (stageTotals[k] ?? 0) + v;
}
await models.close();
await fs.rm(work, { recursive: true, force: true });

const n = files.length * rounds;
const bareRate = n / bareSeconds;
const pipeRate = n / pipeSeconds;
const stageSum = Object.values(stageTotals).reduce((a, b) => a + b, 0);
const report = {
  model: path.basename(args.model),
  input: `${size}x${size}`,
  images: files.length,
  rounds,
  cpus: os.cpus().length,
  bare: { imagesPerSecond: bareRate, msPerImage: (1000 * bareSeconds) / n },
  pipeline: { imagesPerSecond: pipeRate, msPerImage: (1000 * pipeSeconds) / n, failures },
  ratio: pipeRate / bareRate,
  stageShare: Object.fromEntries(Object.entries(stageTotals).map(([k, v]) => [k, v / stageSum])),
  stageMsPerImage: Object.fromEntries(Object.entries(stageTotals).map(([k, v]) => [k, (1000 * v) / n])),
};

if (args.json) {
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
} else {
  const f = (v: number, d = 1) => v.toFixed(d);
  console.log(
    `scopehive bench: ${report.model} (${report.input}), ${files.length} images × ${rounds} rounds, ${report.cpus} CPUs`,
  );
  console.log('');
  console.log('| run                                   | images/s | ms/image |');
  console.log('|---------------------------------------|---------:|---------:|');
  console.log(
    `| bare session.run                      | ${f(bareRate).padStart(8)} | ${f(report.bare.msPerImage).padStart(8)} |`,
  );
  console.log(
    `| pipeline (file read → results written) | ${f(pipeRate).padStart(8)} | ${f(report.pipeline.msPerImage).padStart(8)} |`,
  );
  console.log('');
  console.log(`ratio pipeline / bare: ${report.ratio.toFixed(3)}`);
  console.log('');
  console.log('| stage       | share of stage time | ms/image (overlapping) |');
  console.log('|-------------|--------------------:|-----------------------:|');
  for (const [stage, share] of Object.entries(report.stageShare)) {
    console.log(
      `| ${stage.padEnd(11)} | ${`${f(share * 100)} %`.padStart(19)} | ${f(report.stageMsPerImage[stage]).padStart(22)} |`,
    );
  }
}
