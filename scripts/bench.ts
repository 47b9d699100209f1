/**
 * `npm run bench`: in one run, on the same inputs and the same ONNX Runtime session, bare
 * `session.run` against the whole pipeline, and their ratio. Two cases:
 *
 *  - photos: 640-input model on sample photos; the pipeline goes from file read to result files
 *    written (decode, letterbox, inference, output decoding, annotated JPEG, CSV rows, JSON).
 *  - tiled:  a 4096×4096 16-bit TIFF made of the sample photos at their original scale; the pipeline
 *    reads and stretches it, cuts it into overlapping tiles, runs them, merges across seams and writes
 *    the results. Bare: session.run on the same tiles, letterboxed beforehand.
 *
 * Bare and pipeline rounds alternate so both see the same machine load. Prints each stage's share of
 * the pipeline's time (stages overlap, so shares are of the summed stage time). `--json` for JSON.
 * Options: --model <file.onnx> (default ../shared/models/yolov8n-fp32.onnx), --images <n> (photos,
 * default 40), --tiled-images <n> (default 2), --rounds <n> (default 2), --case photos|tiled|all.
 * `--case burst` (not in `all`: it takes minutes) runs bench/burst.ts alone: --images (default 10000)
 * small images dropped at once into the running pipeline; --model defaults to yolo11n_int8 (320).
 * `--case latency` (not in `all`) runs bench/latency.ts alone: --images (default 20) photos dropped one
 * at a time into `npm start`, with inotify and with polling; --drop write|rename (default write);
 * --cli-runs (default 3) timed runs of `npx scopehive analyze`.
 *
 * Just over 300 lines: the photos and tiled cases share one alternation of bare and pipeline rounds
 * on one session and one report; the other cases are only dispatched from here (bench/).
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  createAnalysisWorker,
  createModelRegistry,
  createPipelineMetrics,
  FileList,
  type LoadedModel,
  letterboxGeometry,
  letterboxTensor,
  type ModelRegistry,
  ResultsFolder,
  readAnalysisImage,
  SessionThread,
  tileGrid,
} from '@scopehive/inference';
import {
  type Job,
  makeJob,
  type ResultDocument,
  type ServiceContext,
  sha256,
  startService,
} from '@scopehive/shared';
import { Registry } from 'prom-client';
import { bare, bareParallel } from './bench/bare.ts';
import { runBurst } from './bench/burst.ts';
import { makeMicrographs, makePhotos } from './bench/inputs.ts';
import { runLatency } from './bench/latency.ts';
import { printReport } from './bench/report.ts';

const shared = process.env.SCOPEHIVE_SHARED_DIR ?? path.resolve(import.meta.dirname, '../../shared');
const { values: args } = parseArgs({
  options: {
    model: { type: 'string' },
    images: { type: 'string' },
    'tiled-images': { type: 'string', default: '2' },
    rounds: { type: 'string', default: '2' },
    case: { type: 'string', default: 'all' },
    json: { type: 'boolean', default: false },
    drop: { type: 'string', default: 'write' },
    'cli-runs': { type: 'string', default: '3' },
  },
});
const samples = ['bus.jpg', 'zidane.jpg'].map((f) => path.join(shared, 'images', f));
if (args.case === 'burst') {
  await runBurst({
    images: Number(args.images ?? 10_000),
    model: args.model ?? path.join(shared, 'models/yolo11n_int8.onnx'),
    samples,
    json: args.json,
  });
  // The pipeline's model threads would keep the process alive; exit once the report is out.
  process.stdout.write('', () => process.exit(0));
  await new Promise(() => undefined);
}
if (args.case === 'latency') {
  if (args.drop !== 'write' && args.drop !== 'rename')
    throw new Error(`--drop is write or rename, not ${args.drop}`);
  await runLatency({
    images: Number(args.images ?? 20),
    model: args.model ?? path.join(shared, 'models/yolov8n-fp32.onnx'),
    samples,
    drop: args.drop,
    cliRuns: Number(args['cli-runs']),
    json: args.json,
  });
  process.stdout.write('', () => process.exit(0));
  await new Promise(() => undefined);
}
const modelFile = args.model ?? path.join(shared, 'models/yolov8n-fp32.onnx');
const rounds = Number(args.rounds);
const work = await fs.mkdtemp(path.join(os.tmpdir(), 'scopehive-bench-'));
type BenchSections = 'paths' | 'analysis' | 'runtime' | 'watch' | 'queue';

async function pipeline(
  ctx: ServiceContext<BenchSections>,
  models: ModelRegistry,
  files: string[],
  round: string,
) {
  const metrics = createPipelineMetrics(new Registry(), { rateWindowS: 60 });
  const { queue } = await ctx.queue();
  const model = models.list()[0];
  const inputs = files.map((file) => ({ file, image: path.basename(file), root: path.dirname(file) }));
  let settled = 0;
  let tiles = 0;
  const failures: string[] = [];
  let done!: () => void;
  const finished = new Promise<void>((resolve) => {
    done = resolve;
  });
  const results = new ResultsFolder(path.join(work, `results-${round}`));
  const worker = createAnalysisWorker({
    config: ctx.config,
    node: 'bench',
    queue,
    models,
    source: new FileList(inputs),
    sink: {
      isDone: (job, sha) => results.isDone(job, sha),
      write: (result) => results.write(result),
      reject: async (job, rejection) => {
        failures.push(`${job.image.path}: ${rejection.message}`);
      },
    },
    logger: ctx.logger,
    metrics,
    onSettled: (_delivery, _outcome, detail) => {
      tiles += (detail as ResultDocument | undefined)?.tiling?.tiles ?? 0;
      if (++settled === files.length) done();
    },
  });
  const jobs: Job[] = [];
  for (const input of inputs) {
    const bytes = await fs.readFile(input.file);
    jobs.push(
      makeJob({
        origin: 'bench',
        image: { path: input.image, bytes: bytes.length, sha256: sha256(bytes) },
        model,
      }),
    );
  }
  const t0 = performance.now();
  worker.start();
  for (const job of jobs) await queue.publish(job);
  await finished;
  const seconds = (performance.now() - t0) / 1000;
  await worker.close();
  if (failures.length > 0) throw new Error(`the pipeline failed on ${failures.join('; ')}`);
  const stages: Record<string, number> = {};
  for (const v of (await metrics.stageSeconds.get()).values) {
    if (v.metricName?.endsWith('_sum'))
      stages[String(v.labels.stage)] = (stages[String(v.labels.stage)] ?? 0) + v.value;
  }
  return { seconds, stages, tiles };
}

/** The tensors bare session.run gets: exactly what the pipeline feeds the model, prepared in advance. */
async function prepareTensors(
  ctx: ServiceContext<BenchSections>,
  model: LoadedModel,
  files: string[],
  tiled: boolean,
): Promise<Float32Array[]> {
  const { analysis } = ctx.config;
  const w = model.inputWidth;
  const h = model.inputHeight;
  const tensors: Float32Array[] = [];
  for (const file of files) {
    const image = await readAnalysisImage(await fs.readFile(file), {
      fileName: path.basename(file),
      maxPixels: analysis.maxPixels,
      stretch: { low: analysis.stretchLow, high: analysis.stretchHigh },
    });
    const views = tiled
      ? tileGrid(image.width, image.height, { tileWidth: w, tileHeight: h, overlap: analysis.tileOverlap })
      : [{ x: 0, y: 0, width: image.width, height: image.height }];
    for (const v of views) {
      const t = new Float32Array(3 * w * h);
      letterboxTensor(image.rgb, letterboxGeometry(v.width, v.height, w, h), t, 0, {
        x: v.x,
        y: v.y,
        imageWidth: image.width,
      });
      tensors.push(t);
    }
  }
  return tensors;
}

async function runCase(
  ctx: ServiceContext<BenchSections>,
  name: 'photos' | 'tiled',
  models: ModelRegistry,
  files: string[],
) {
  const model = models.list()[0];
  const tensors = await prepareTensors(ctx, model, files, name === 'tiled');
  const dims = [1, 3, model.inputHeight, model.inputWidth];
  const reference = await SessionThread.open(await fs.readFile(modelFile), {
    providers: ['cpu'],
    threads: 0,
  });
  const warm = tensors.slice(0, 3);
  await bare(reference, warm, dims); // warm-up; the runs swap in the arrays the session threads hand back
  await bareParallel(model, warm);
  tensors.splice(0, warm.length, ...warm);
  let bareSeconds = 0;
  let parallelSeconds = 0;
  let pipeSeconds = 0;
  let tiles = 0;
  const stageTotals: Record<string, number> = {};
  try {
    for (let r = 0; r < rounds; r++) {
      bareSeconds += await bare(reference, tensors, dims);
      parallelSeconds += await bareParallel(model, tensors);
      const p = await pipeline(ctx, models, files, `${name}-${r}`);
      pipeSeconds += p.seconds;
      tiles += p.tiles;
      for (const [k, v] of Object.entries(p.stages)) stageTotals[k] = (stageTotals[k] ?? 0) + v;
    }
  } finally {
    await reference.release();
  }
  const images = files.length * rounds;
  const runs = tensors.length * rounds;
  const stageSum = Object.values(stageTotals).reduce((a, b) => a + b, 0);
  return {
    case: name,
    images: files.length,
    runsPerImage: tensors.length / files.length,
    sessions: model.replicas,
    bare: { runsPerSecond: runs / bareSeconds, imagesPerSecond: images / bareSeconds },
    bareParallel: { runsPerSecond: runs / parallelSeconds },
    pipeline: { runsPerSecond: tiles / pipeSeconds, imagesPerSecond: images / pipeSeconds },
    ratio: bareSeconds / pipeSeconds,
    ratioToParallel: parallelSeconds / pipeSeconds,
    stageShare: Object.fromEntries(Object.entries(stageTotals).map(([k, v]) => [k, v / stageSum])),
  };
}

await fs.mkdir(path.join(work, 'models'));
await fs.copyFile(modelFile, path.join(work, 'models', path.basename(modelFile)));
const reports: Awaited<ReturnType<typeof runCase>>[] = [];
let model: LoadedModel | undefined;
// Settings come from the environment like the service's (SCOPEHIVE_ANNOTATE=false, SCOPEHIVE_THREADS=…);
// the bench's own folders, the CPU provider, and one attempt per job are fixed.
const bench = startService<BenchSections>(
  {
    name: 'bench',
    sections: ['paths', 'analysis', 'runtime', 'watch', 'queue'],
    http: false,
    embeddedQueue: true,
    logLevel: 'warn',
    async compose(ctx) {
      const models = createModelRegistry(ctx.config, ctx.logger);
      ctx.onClose(() => models.close());
      await models.start();
      model = models.list()[0];
      if (!model) throw new Error(`could not load ${modelFile}`);
      if (args.case === 'all' || args.case === 'photos') {
        const files = await makePhotos(samples, path.join(work, 'photos'), Number(args.images ?? 40));
        reports.push(await runCase(ctx, 'photos', models, files));
      }
      if (args.case === 'all' || args.case === 'tiled') {
        const files = await makeMicrographs(
          samples,
          path.join(work, 'micrographs'),
          Number(args['tiled-images']),
        );
        reports.push(await runCase(ctx, 'tiled', models, files));
      }
    },
  },
  {
    env: {
      ...process.env,
      SCOPEHIVE_DATA_DIR: work,
      SCOPEHIVE_MODELS: 'all',
      SCOPEHIVE_PROVIDERS: 'cpu',
      SCOPEHIVE_STABLE_MS: '0',
      SCOPEHIVE_POLLING: 'false',
      SCOPEHIVE_QUEUE_CAPACITY: '64',
      SCOPEHIVE_MAX_DELIVER: '1',
      SCOPEHIVE_ACK_WAIT_MS: '600000',
    },
  },
);
try {
  await (await bench).close();
} finally {
  await fs.rm(work, { recursive: true, force: true });
}
if (!model) throw new Error(`could not load ${modelFile}`);

const header = {
  model: path.basename(modelFile),
  input: `${model.inputWidth}x${model.inputHeight}`,
  provider: model.provider,
  cpus: os.cpus().length,
  rounds,
};
printReport(header, reports, args.json);
