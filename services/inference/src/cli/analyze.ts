import { EventEmitter } from 'node:events';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  makeJob,
  type ResultDocument,
  type ServiceContext,
  sha256,
  sha256File,
  startService,
  supportedFormatsText,
} from '@scopehive/shared';
import type { ImageRejection } from '../image/rejection.ts';
import { loadModelFile, modelSettings } from '../model/from-settings.ts';
import type { LoadedModel, ModelSet } from '../model/model.ts';
import type { ResultSink } from '../pipeline/stages.ts';
import { collectInputs, type Input, resolveModelFiles, UsageError } from './inputs.ts';
import { ProgressBar } from './progress.ts';

export interface AnalyzeOptions {
  paths: string[];
  models: string[];
  out?: string;
  quiet: boolean;
}

export interface ModelTally {
  ok: number;
  skipped: number;
  failed: number;
  objects: number;
  classes: Map<string, number>;
}

export interface AnalyzeReport {
  resultsDir: string;
  perModel: Map<string, ModelTally>;
  failures: Array<{ image: string; model: string; reason: string }>;
}

/** The models given to the CLI: loaded once, never changing. */
class FixedModels extends EventEmitter<{ change: [] }> implements ModelSet {
  constructor(readonly models: LoadedModel[]) {
    super();
  }
  list(): LoadedModel[] {
    return this.models;
  }
  get(name: string): LoadedModel | undefined {
    return this.models.find((m) => m.name === name);
  }
}

type CliSections = 'paths' | 'analysis' | 'runtime' | 'queue';

/**
 * Batch analysis through the same pipeline as the watched inbox: the same bootstrap and settings,
 * folder settings, plan, models, result files and rejection reasons. The difference is where files
 * come from (the paths given) and that a file that cannot be analysed is listed, never moved: the
 * CLI works on the user's own files.
 */
export async function analyzeFiles(
  options: AnalyzeOptions,
  env: NodeJS.ProcessEnv = process.env,
): Promise<AnalyzeReport> {
  const inputs = await collectInputs(options.paths);
  let report: AnalyzeReport | undefined;
  const running = await startService<CliSections>(
    {
      name: 'cli',
      sections: ['paths', 'analysis', 'runtime', 'queue'],
      http: false,
      embeddedQueue: true,
      // Failures are listed in the summary; log lines would only break the progress bar.
      logLevel: options.quiet ? 'silent' : 'error',
      async compose(ctx) {
        if (inputs.length === 0)
          throw new UsageError(`no ${supportedFormatsText()} images found in what was given`);
        report = await run(ctx, inputs, options);
      },
    },
    { env },
  );
  await running.close();
  return report!;
}

async function run(
  ctx: ServiceContext<CliSections>,
  inputs: Input[],
  options: AnalyzeOptions,
): Promise<AnalyzeReport> {
  const { config } = ctx;
  const resultsDir = path.resolve(options.out ?? config.paths.results);
  const settings = modelSettings(config.analysis, config.runtime);
  // A session per core only pays when there are images for each: one photo needs one session
  // (opening a second costs about 0.2 s, most of the analysis of a photo).
  if (settings.sessions === 0) settings.sessions = Math.min(inputs.length, os.availableParallelism());
  const models: LoadedModel[] = [];
  ctx.onClose(() => Promise.all(models.map((m) => m.dispose())));
  // The pipeline's modules (sharp, the result writers: about 0.1 s of this thread) load while the
  // first model opens on its own thread; a failed load is seen where it is awaited.
  let loading: ReturnType<typeof loadPipeline> | undefined;
  const pipeline = () => {
    if (!loading) {
      loading = loadPipeline();
      loading.catch(() => undefined);
    }
    return loading;
  };
  for (const file of await resolveModelFiles(options.models, config.paths.models)) {
    // No warm-up run on a blank image: the first image warms the session just the same.
    models.push(await loadModelFile(file, settings, ctx.logger, { whileOpening: pipeline, warmUp: false }));
  }
  const [{ createAnalysisWorker }, { ResultsFolder }, { FileList }] = await pipeline();
  const perModel = new Map<string, ModelTally>(
    models.map((m) => [m.name, { ok: 0, skipped: 0, failed: 0, objects: 0, classes: new Map() }]),
  );
  const failures: AnalyzeReport['failures'] = [];
  const results = new ResultsFolder(resultsDir);
  const sink: ResultSink = {
    isDone: (job, sha) => results.isDone(job, sha),
    write: (result) => results.write(result),
    reject: async (job, rejection: ImageRejection) => {
      failures.push({
        image: job.image.path,
        model: job.model.name,
        reason: `${rejection.reason}: ${rejection.message}`,
      });
    },
  };
  const total = inputs.length * models.length;
  const bar = options.quiet ? undefined : new ProgressBar(total);
  let settled = 0;
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const { queue } = await ctx.queue();
  const worker = createAnalysisWorker({
    config,
    node: config.node.name,
    queue,
    models: new FixedModels(models),
    source: new FileList(inputs),
    sink,
    logger: ctx.logger,
    onSettled: (delivery, outcome, detail) => {
      const tally = perModel.get(delivery.job.model.name)!;
      if (outcome === 'rejected') tally.failed++;
      else tally[outcome]++;
      if (outcome === 'ok') {
        const doc = detail as ResultDocument;
        tally.objects += doc.detections.length;
        for (const [c, n] of Object.entries(doc.counts))
          tally.classes.set(c, (tally.classes.get(c) ?? 0) + n);
      }
      settled++;
      bar?.update(settled, failures.length);
      if (settled === total) finish();
    },
  });
  worker.start();
  ctx.onClose(() => worker.close());
  bar?.update(0, 0);
  for (const input of inputs) {
    const { size, sha256 } = await fingerprint(input.file);
    for (const model of models) {
      await queue.publish(
        makeJob({ origin: config.node.name, image: { path: input.image, bytes: size, sha256 }, model }),
      );
    }
  }
  await finished;
  return { resultsDir, perModel, failures };
}

/** The modules of the analysis itself, apart from the models. */
function loadPipeline() {
  return Promise.all([
    import('../compose-analysis.ts'),
    import('../pipeline/local-share.ts'),
    import('./file-list.ts'),
  ]);
}

/** Size and content hash; a file that cannot be read gets a stand-in hash and fails with its reason in the pipeline. */
async function fingerprint(file: string): Promise<{ size: number; sha256: string }> {
  try {
    const [stat, hash] = await Promise.all([fs.stat(file), sha256File(file)]);
    return { size: stat.size, sha256: hash };
  } catch {
    return { size: 0, sha256: sha256(`unreadable ${file}`) };
  }
}
