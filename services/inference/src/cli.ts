/**
 * `npx scopehive analyze <files|folders> [--model …] [--out …]`: batch analysis through the same
 * worker as the service (embedded queue, same decoding, models and result files), with a progress
 * bar, a summary table, and exit code 1 when any file failed.
 */
import { EventEmitter } from 'node:events';
import fs from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  ConfigError,
  createLogger,
  EmbeddedQueue,
  isImageFile,
  type Job,
  jobId,
  loadSettings,
  modelNameFromFile,
  sha256,
  sha256File,
} from '@scopehive/shared';
import type { ImageRejection } from './image/rejection.ts';
import { type LoadedModel, loadModel, type ModelSet } from './model/model-registry.ts';
import { nvidiaDevicePresent, resolveProviders } from './model/session.ts';
import { readSidecar } from './model/sidecar.ts';
import { ProgressBar } from './progress.ts';
import { analysisSettings } from './service.ts';
import { InferenceWorker } from './worker.ts';

const USAGE = `usage: scopehive analyze <files or folders…> [--model <name|file.onnx>]… [--out <folder>] [--quiet]

  Analyses every JPEG, PNG, TIFF, WebP or DM3/DM4 image given (folders recursively) with every model
  (default: all models in SCOPEHIVE_MODELS_DIR, ./data/models) and writes the results to --out
  (default: SCOPEHIVE_RESULTS_DIR, ./data/results). Images that already have a current result are
  skipped. Exit code: 0 all analysed, 1 some files failed, 2 bad usage.`;

class UsageError extends Error {}

interface Input {
  /** Path relative to the results folder (mirrors the argument: folder name, then its tree). */
  image: string;
  file: string;
}

async function collectInputs(args: string[]): Promise<Input[]> {
  const inputs: Input[] = [];
  const taken = new Set<string>();
  const add = (file: string, image: string) => {
    let name = image.split(path.sep).join('/');
    for (let i = 2; taken.has(name); i++) name = `${image}~${i}`;
    taken.add(name);
    inputs.push({ file, image: name });
  };
  for (const arg of args) {
    const stat = await fs.stat(arg).catch(() => undefined);
    if (!stat) throw new UsageError(`no such file or folder: ${arg}`);
    if (stat.isDirectory()) {
      const base = path.dirname(path.resolve(arg));
      for (const entry of await fs.readdir(arg, { recursive: true, withFileTypes: true })) {
        const file = path.join(entry.parentPath, entry.name);
        if (entry.isFile() && isImageFile(file) && !entry.name.startsWith('.'))
          add(file, path.relative(base, path.resolve(file)));
      }
    } else {
      add(arg, path.basename(arg));
    }
  }
  return inputs.sort((a, b) => a.image.localeCompare(b.image));
}

async function resolveModelFiles(specs: string[], modelsDir: string): Promise<string[]> {
  if (specs.length === 0) {
    const entries = await fs.readdir(modelsDir).catch(() => [] as string[]);
    const files = entries
      .filter((f) => f.toLowerCase().endsWith('.onnx'))
      .map((f) => path.join(modelsDir, f));
    if (files.length === 0) {
      throw new UsageError(
        `no model: put a .onnx in ${modelsDir} or pass --model <file.onnx> (npm run fetch-model gets one)`,
      );
    }
    return files.sort();
  }
  const files: string[] = [];
  for (const spec of specs.flatMap((s) => s.split(','))) {
    const candidates = [spec, path.join(modelsDir, spec), path.join(modelsDir, `${spec}.onnx`)];
    let found: string | undefined;
    for (const c of candidates) {
      if (c.toLowerCase().endsWith('.onnx') && (await fs.stat(c).catch(() => undefined))?.isFile()) {
        found = c;
        break;
      }
    }
    if (!found)
      throw new UsageError(`model not found: ${spec} (a .onnx file, or a model name in ${modelsDir})`);
    files.push(found);
  }
  return files;
}

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

export async function analyze(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      model: { type: 'string', multiple: true, default: [] },
      out: { type: 'string' },
      quiet: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (positionals.length === 0) throw new UsageError('give at least one image file or folder');
  const settings = loadSettings();
  // Failures are listed in the summary; log lines would only break the progress bar.
  const logger = createLogger('cli', values.quiet ? 'silent' : 'error');
  const resultsDir = path.resolve(values.out ?? settings.resultsDir);
  const inputs = await collectInputs(positionals);
  if (inputs.length === 0)
    throw new UsageError('no JPEG, PNG, TIFF, WebP or DM3/DM4 images found in what was given');
  const providers = resolveProviders(settings.providers, nvidiaDevicePresent());
  const models: LoadedModel[] = [];
  for (const file of await resolveModelFiles(values.model ?? [], settings.modelsDir)) {
    const bytes = await fs.readFile(file);
    const found = await readSidecar(file);
    models.push(
      await loadModel({
        name: modelNameFromFile(file),
        file,
        bytes,
        sha256: sha256(bytes),
        sidecar: found?.sidecar,
        providers,
        threads: settings.threads,
        sessions: settings.sessions,
        defaults: {
          confidence: settings.confidence,
          iou: settings.iou,
          maxDetections: settings.maxDetections,
        },
        logger,
      }),
    );
  }
  const byImage = new Map(inputs.map((i) => [i.image, i.file]));
  const total = inputs.length * models.length;
  const bar = values.quiet ? undefined : new ProgressBar(total);
  const failures: Array<{ image: string; model: string; reason: string }> = [];
  const perModel = new Map(
    models.map((m) => [
      m.name,
      { ok: 0, skipped: 0, failed: 0, objects: 0, classes: new Map<string, number>() },
    ]),
  );
  let settled = 0;
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const queue = new EmbeddedQueue({
    capacity: 64,
    ackWaitMs: settings.ackWaitMs,
    maxDeliver: settings.maxDeliver,
  });
  const worker = new InferenceWorker({
    queue,
    registry: new FixedModels(models),
    resultsDir,
    imagePath: (job: Job) => byImage.get(job.image)!,
    onRejected: async (job: Job, rejection: ImageRejection) => {
      failures.push({
        image: job.image,
        model: job.model,
        reason: `${rejection.reason}: ${rejection.message}`,
      });
    },
    onSettled: (job, outcome, doc) => {
      const stats = perModel.get(job.model)!;
      if (outcome === 'rejected') stats.failed++;
      else stats[outcome]++;
      if (doc) {
        stats.objects += doc.detections.length;
        for (const [c, n] of Object.entries(doc.counts))
          stats.classes.set(c, (stats.classes.get(c) ?? 0) + n);
      }
      settled++;
      bar?.update(settled, failures.length);
      if (settled === total) finish();
    },
    ...analysisSettings(settings),
    logger,
  });
  worker.start();
  bar?.update(0, 0);
  for (const input of inputs) {
    const hash = await sha256File(input.file).catch(() => `unreadable-${input.image}`);
    for (const model of models) {
      await queue.publish({
        id: jobId(hash, model.name, model.sha256, input.image),
        image: input.image,
        imageSha256: hash,
        imageBytes: 0,
        model: model.name,
        modelSha256: model.sha256,
        detectedAt: Date.now(),
      });
    }
  }
  await finished;
  await worker.close();
  await queue.close();
  await Promise.all(models.map((m) => m.dispose()));

  const rows = [...perModel].map(([name, s]) => [
    name,
    String(s.ok),
    String(s.skipped),
    String(s.failed),
    String(s.objects),
    [...s.classes]
      .sort((a, b) => b[1] - a[1])
      .map(([c, n]) => `${c} ${n}`)
      .join(', '),
  ]);
  process.stdout.write(`${table(['model', 'analysed', 'skipped', 'failed', 'objects', 'classes'], rows)}\n`);
  process.stdout.write(`results in ${resultsDir}\n`);
  for (const f of failures) process.stdout.write(`failed: ${f.image} (${f.model}): ${f.reason}\n`);
  return failures.length > 0 ? 1 : 0;
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === 'analyze' || command === 'analyse') return analyze(rest);
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return command ? 0 : 2;
  }
  throw new UsageError(`unknown command: ${command}`);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    if (
      err instanceof UsageError ||
      err instanceof ConfigError ||
      (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')
    ) {
      process.stderr.write(`scopehive: ${err.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`scopehive: ${(err as Error).stack ?? err}\n`);
    process.exit(1);
  },
);
