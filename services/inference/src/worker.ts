import fs from 'node:fs/promises';
import path from 'node:path';
import {
  BoundedChannel,
  hasCurrentResult,
  type Job,
  type JobDelivery,
  type JobQueue,
  type Logger,
  type PipelineMetrics,
  type ResultDocument,
  resultPaths,
  type Stage,
  sha256,
} from '@scopehive/shared';
import { type Letterbox, letterboxGeometry } from './core/letterbox.ts';
import { letterboxTensor } from './core/letterbox-tensor.ts';
import { postprocess } from './core/postprocess.ts';
import { shouldTile, type Tile, type TilingMode, tileGrid } from './core/tiling.ts';
import type { Detection } from './core/types.ts';
import { detectInTiles, type StageTimes } from './detect.ts';
import type { FolderOverrides } from './folder-overrides.ts';
import { type AnalysisImage, readAnalysisImage } from './image/read-analysis-image.ts';
import { classifyImageError, ImageRejection, REJECT_REASONS } from './image/rejection.ts';
import {
  type CalibrationOverride,
  type ResolvedCalibration,
  resolveCalibration,
  resolveImageArea,
} from './microscopy/calibration.ts';
import type { LoadedModel, ModelSet } from './model/model-registry.ts';
import { annotateImage } from './results/annotate.ts';
import { CsvTables } from './results/csv-table.ts';
import { buildResultDocument } from './results/result-document.ts';
import { writeResult } from './results/write-result.ts';

export interface WorkerOptions {
  queue: JobQueue;
  registry: ModelSet;
  resultsDir: string;
  /** Absolute path of a job's image (the inbox, or the CLI's own files). */
  imagePath: (job: Job) => string;
  /** Called once for a file that cannot be analysed; the service moves it aside, the CLI reports it. */
  onRejected: (job: Job, rejection: ImageRejection) => Promise<void>;
  /** Called after each job settles, whatever the outcome (the CLI counts progress with it). */
  onSettled?: (job: Job, outcome: 'ok' | 'skipped' | 'rejected', result?: ResultDocument) => void;
  maxPixels: number;
  annotate: boolean;
  node: string;
  /** Tiled analysis of large images (a model sidecar may override). */
  tiling: { mode: TilingMode; overlap: number; wholeImagePass: boolean };
  /** Percentiles for mapping 16-bit, 32-bit and float images to 8 bits. */
  stretch: { low: number; high: number };
  /** Per-folder `scopehive.json` settings (the service's inbox); none for the CLI. */
  folders?: FolderOverrides;
  metrics?: PipelineMetrics;
  logger: Logger;
  /** Images decoded and letterboxed ahead of the one being inferred. */
  prefetch?: number;
  /**
   * How often a job in hand tells the queue it is still being worked on (a third of the queue's ack
   * wait): a 4k micrograph in 64 tiles on a small CPU can take longer than the ack wait.
   */
  heartbeatMs?: number;
}

interface Prepared {
  delivery: JobDelivery;
  model: LoadedModel;
  image: AnalysisImage;
  imageSha256: string;
  imageBytes: number;
  calibration: ResolvedCalibration;
  /** The analysed part: the whole image, or the rows above a data bar. */
  area: { width: number; height: number; source: string };
  warnings: string[];
  /** Tiles for a large image; undefined for a single letterboxed pass (already in `input`). */
  tiles?: Tile[];
  geometry?: Letterbox;
  input?: Float32Array;
  timings: Partial<Record<Stage, number>>;
}

/** How long a transient failure waits before the job is tried again. */
const RETRY_DELAY_MS = 2000;
const DECODED_CACHE_SIZE = 3;
const MAX_PENDING_WRITES = 4;

/**
 * The inference pipeline around the pure core: take a job, read and decode the image, letterbox it,
 * run the model, decode the output, write the results, acknowledge. Decoding and letterboxing of
 * the next images overlap inference of the current one (sharp and ONNX Runtime both work off the
 * main thread), and writing overlaps the next inference.
 */
export class InferenceWorker {
  readonly #opts: WorkerOptions;
  readonly #tables = new CsvTables();
  /** Several models often run on the same image back to back: decode it once. */
  readonly #decoded = new Map<string, Promise<AnalysisImage>>();
  readonly #buffers = new Map<number, Float32Array[]>();
  readonly #writes = new Set<Promise<void>>();
  readonly #heartbeats = new Map<JobDelivery, NodeJS.Timeout>();
  readonly #zeroed = new WeakSet<LoadedModel>();
  #abort = new AbortController();
  #closed = false;
  #running?: Promise<void>;

  constructor(options: WorkerOptions) {
    this.#opts = options;
  }

  start(): void {
    this.#zeroMetrics();
    const restart = () => {
      this.#zeroMetrics();
      this.#abort.abort();
    };
    this.#opts.registry.on('change', restart);
    this.#running = (async () => {
      while (!this.#closed) {
        this.#abort = new AbortController();
        await this.#consume(this.#abort.signal);
      }
      this.#opts.registry.off('change', restart);
    })();
  }

  /** Stops taking jobs and finishes the ones in hand. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#abort.abort();
    await this.#running;
    await Promise.all(this.#writes);
  }

  /** One consumer for the models loaded now; a model change aborts it and a new one starts. */
  async #consume(signal: AbortSignal): Promise<void> {
    const models = this.#opts.registry.list().map((m) => m.name);
    if (models.length === 0) {
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
      return;
    }
    const sessions = Math.max(1, ...this.#opts.registry.list().map((m) => m.replicas));
    const channel = new BoundedChannel<Promise<Prepared | undefined>>(this.#opts.prefetch ?? sessions + 1);
    const infer = (async () => {
      // Every session of the model gets an image, and one more run waits queued behind them, so a
      // session never waits for this thread to collect a result.
      const runsInFlight = sessions + 1;
      const inFlight = new Set<Promise<void>>();
      for await (const next of channel) {
        const prepared = await next;
        if (!prepared) continue;
        const run = this.#inferAndWrite(prepared).finally(() => inFlight.delete(run));
        inFlight.add(run);
        while (inFlight.size >= runsInFlight) await Promise.race(inFlight);
      }
      await Promise.all(inFlight);
    })();
    try {
      for await (const delivery of this.#opts.queue.consume({ models, signal })) {
        const prepared = this.#prepare(delivery);
        await channel.push(prepared);
      }
    } finally {
      channel.close();
      await infer;
    }
  }

  async #prepare(delivery: JobDelivery): Promise<Prepared | undefined> {
    const { job } = delivery;
    this.#startHeartbeat(delivery);
    const timings: Partial<Record<Stage, number>> = {};
    const model = this.#opts.registry.get(job.model);
    if (!model) {
      this.#stopHeartbeat(delivery);
      await delivery.term(`model ${job.model} is not loaded`);
      this.#opts.logger.warn(
        { image: job.image, model: job.model },
        `job for ${job.image} dropped: model ${job.model} is not loaded`,
      );
      return undefined;
    }
    try {
      const { json } = resultPaths(this.#opts.resultsDir, job.image, model.name);
      if (await hasCurrentResult(json, job.imageSha256, model.sha256)) {
        await this.#settle(delivery, 'skipped');
        return undefined;
      }
      let t = performance.now();
      const bytes = await fs.readFile(this.#opts.imagePath(job));
      const imageSha256 = sha256(bytes);
      timings.read = performance.now() - t;
      if (imageSha256 !== job.imageSha256 && (await hasCurrentResult(json, imageSha256, model.sha256))) {
        await this.#settle(delivery, 'skipped');
        return undefined;
      }
      t = performance.now();
      const image = await this.#decode(imageSha256, bytes, path.basename(job.image));
      timings.decode = performance.now() - t;
      t = performance.now();
      const warnings = [...image.warnings];
      const overrides: CalibrationOverride[] = [];
      const folder = await this.#opts.folders?.forImage(job.image);
      if (folder?.warning) warnings.push(folder.warning);
      if (folder?.override) overrides.push(folder.override);
      if (model.calibrationOverride) overrides.push(model.calibrationOverride);
      const calibration = resolveCalibration(image.calibrationCandidates, overrides);
      const crop = resolveImageArea(image.height, image.imageArea, overrides);
      warnings.push(...calibration.warnings, ...crop.warnings);
      const area = {
        width: image.width,
        height: crop.imageArea?.height ?? image.height,
        source: crop.imageArea?.source ?? 'whole image',
      };
      const tiling = this.#tilingFor(model);
      const prepared: Prepared = {
        delivery,
        model,
        image,
        imageSha256,
        imageBytes: bytes.length,
        calibration,
        area,
        warnings,
        timings,
      };
      // `auto` leaves uncalibrated photos (JPEG, WebP) whole: scenes are what photo models were trained
      // on; micrographs, and anything with a pixel size, are tiled when much larger than the input.
      const photo =
        (image.format === 'jpeg' || image.format === 'webp') && calibration.source === 'uncalibrated';
      const mode = tiling.mode === 'auto' && photo ? 'never' : tiling.mode;
      if (shouldTile(area.width, area.height, model.inputWidth, model.inputHeight, mode)) {
        // Tiles are letterboxed during inference, a batch ahead: all of a 4k image at once would not fit a small device.
        prepared.tiles = tileGrid(area.width, area.height, {
          tileWidth: model.inputWidth,
          tileHeight: model.inputHeight,
          overlap: tiling.overlap,
        });
      } else {
        prepared.geometry = letterboxGeometry(area.width, area.height, model.inputWidth, model.inputHeight);
        prepared.input = this.#takeBuffer(3 * model.inputWidth * model.inputHeight);
        letterboxTensor(image.rgb, prepared.geometry, prepared.input, 0, {
          x: 0,
          y: 0,
          imageWidth: image.width,
        });
      }
      timings.preprocess = performance.now() - t;
      return prepared;
    } catch (err) {
      await this.#fail(delivery, err);
      return undefined;
    }
  }

  async #inferAndWrite(p: Prepared): Promise<void> {
    const { delivery, model, timings } = p;
    let detections: Detection[];
    try {
      if (p.tiles) {
        const times: StageTimes = { preprocess: timings.preprocess ?? 0, inference: 0, postprocess: 0 };
        detections = await detectInTiles(
          model,
          p.image,
          p.area,
          p.tiles,
          {
            wholePass: this.#tilingFor(model).wholeImagePass,
          },
          times,
        );
        Object.assign(timings, times);
      } else {
        // The input goes to the session thread and comes back with the output; a failed run loses it.
        const output = await model.run(p.input!);
        this.#returnBuffer(output.input);
        // The session's own time, not the wait behind a run before it.
        timings.inference = output.ms;
        const t = performance.now();
        detections = postprocess(output.data, output.dims, model.output, p.geometry!, {
          ...model.thresholds,
          classes: model.classIds,
          names: model.names,
        });
        timings.postprocess = performance.now() - t;
      }
    } catch (err) {
      await this.#fail(delivery, err);
      return;
    }
    while (this.#writes.size >= MAX_PENDING_WRITES) await Promise.race(this.#writes);
    const write = this.#write(p, detections).finally(() => this.#writes.delete(write));
    this.#writes.add(write);
  }

  async #write(p: Prepared, detections: Detection[]): Promise<void> {
    const { delivery, model, image, timings } = p;
    const { job } = delivery;
    const { logger, metrics } = this.#opts;
    try {
      const t = performance.now();
      const tiling = this.#tilingFor(model);
      const doc = buildResultDocument({
        job,
        model,
        image,
        imageSha256: p.imageSha256,
        imageBytes: p.imageBytes,
        detections,
        calibration: p.calibration,
        analysedArea: p.area,
        tiling: {
          tiles: p.tiles?.length ?? 1,
          mode: tiling.mode,
          overlap: tiling.overlap,
          wholeImagePass: p.tiles !== undefined && tiling.wholeImagePass,
        },
        warnings: p.warnings,
        node: this.#opts.node,
        timings: {},
      });
      const counts = doc.counts;
      const annotated = this.#opts.annotate ? await annotateImage(image, detections) : undefined;
      timings.write = performance.now() - t;
      doc.timings = Object.fromEntries(Object.entries(timings).map(([k, v]) => [k, Number(v.toFixed(2))]));
      await writeResult({
        resultsDir: this.#opts.resultsDir,
        doc,
        annotated,
        tables: this.#tables,
      });
      timings.write = performance.now() - t;
      if (metrics) {
        for (const [stage, ms] of Object.entries(timings)) {
          metrics.stageSeconds.observe({ model: model.name, stage }, ms / 1000);
        }
        for (const [cls, n] of Object.entries(counts))
          metrics.detectionsTotal.inc({ model: model.name, class: cls }, n);
        metrics.fileToResultSeconds.observe(
          { model: model.name },
          Math.max(0, Date.now() - job.detectedAt) / 1000,
        );
        metrics.frameRate.record(model.name);
        metrics.imagesByCalibrationTotal.inc({ source: doc.calibration.source });
        metrics.tilesPerImage.observe({ model: model.name }, doc.tiling.tiles);
        for (const d of doc.detections) {
          if (d.ecdNm !== undefined)
            metrics.featureSizeMeters.observe({ model: model.name, class: d.class }, d.ecdNm * 1e-9);
        }
      }
      const total = Object.values(timings).reduce((a, b) => a + b, 0);
      const summary = Object.entries(counts)
        .map(([c, n]) => `${c} ${n}`)
        .join(', ');
      logger.info(
        {
          image: job.image,
          model: model.name,
          provider: model.provider,
          detections: detections.length,
          counts,
          timingsMs: doc.timings,
          attempt: delivery.attempt,
        },
        `${job.image}: ${detections.length} objects${summary ? ` (${summary})` : ''} by ${model.name} in ${total.toFixed(0)} ms`,
      );
      await this.#settle(delivery, 'ok', doc);
    } catch (err) {
      await this.#fail(delivery, err);
    }
  }

  async #decode(imageSha256: string, bytes: Uint8Array, fileName: string): Promise<AnalysisImage> {
    let pending = this.#decoded.get(imageSha256);
    if (!pending) {
      pending = readAnalysisImage(bytes, {
        fileName,
        maxPixels: this.#opts.maxPixels,
        stretch: this.#opts.stretch,
      });
      this.#decoded.set(imageSha256, pending);
      pending.catch(() => this.#decoded.delete(imageSha256));
      while (this.#decoded.size > DECODED_CACHE_SIZE) {
        this.#decoded.delete(this.#decoded.keys().next().value as string);
      }
    }
    return pending;
  }

  /**
   * A bad image is rejected at once (trying again would not help); anything else is retried after a
   * delay, and rejected with its last error once the queue's attempts are spent.
   */
  async #fail(delivery: JobDelivery, err: unknown): Promise<void> {
    this.#stopHeartbeat(delivery);
    const { job } = delivery;
    const { logger } = this.#opts;
    const imageProblem = err instanceof ImageRejection || isFileError(err) || isDecoderError(err);
    if (!imageProblem && delivery.attempt < delivery.maxDeliver) {
      logger.warn(
        { image: job.image, model: job.model, attempt: delivery.attempt, err: String(err) },
        `${job.image}: attempt ${delivery.attempt} failed, retrying: ${String((err as Error)?.message ?? err)}`,
      );
      await delivery.nak(RETRY_DELAY_MS);
      return;
    }
    const rejection = imageProblem
      ? classifyImageError(err)
      : new ImageRejection(
          'failed',
          `failed ${delivery.attempt} times; last error: ${String((err as Error)?.message ?? err)}`,
        );
    try {
      await this.#opts.onRejected(job, rejection);
    } catch (writeErr) {
      logger.error(
        { image: job.image, err: String(writeErr) },
        `${job.image}: could not record the rejection`,
      );
    }
    logger.warn(
      { image: job.image, model: job.model, reason: rejection.reason },
      `${job.image} rejected: ${rejection.message}`,
    );
    await delivery.term(rejection.message);
    this.#opts.metrics?.imagesTotal.inc({ model: job.model, outcome: 'rejected' });
    this.#opts.onSettled?.(job, 'rejected');
  }

  /**
   * Every series a loaded model can produce starts at zero: Prometheus's increase() cannot count the
   * first event of a series that appears with it, so a dashboard would show 0 rejected files after
   * the first rejection, or an empty size histogram after the first calibrated image.
   */
  #zeroMetrics(): void {
    const metrics = this.#opts.metrics;
    if (!metrics) return;
    for (const reason of REJECT_REASONS) metrics.rejectedTotal.inc({ reason }, 0);
    for (const model of this.#opts.registry.list()) {
      if (this.#zeroed.has(model)) continue;
      this.#zeroed.add(model);
      for (const outcome of ['ok', 'skipped', 'rejected'] as const) {
        metrics.imagesTotal.inc({ model: model.name, outcome }, 0);
      }
      const classes = model.classIds ? model.classIds.map((id) => model.names[id]) : model.names;
      for (const cls of classes) {
        metrics.detectionsTotal.inc({ model: model.name, class: cls }, 0);
        metrics.featureSizeMeters.zero({ model: model.name, class: cls });
      }
    }
  }

  #startHeartbeat(delivery: JobDelivery): void {
    const every = this.#opts.heartbeatMs;
    if (!every) return;
    const timer = setInterval(() => void delivery.working().catch(() => undefined), every);
    timer.unref();
    this.#heartbeats.set(delivery, timer);
  }

  #stopHeartbeat(delivery: JobDelivery): void {
    clearInterval(this.#heartbeats.get(delivery));
    this.#heartbeats.delete(delivery);
  }

  async #settle(delivery: JobDelivery, outcome: 'ok' | 'skipped', doc?: ResultDocument): Promise<void> {
    this.#stopHeartbeat(delivery);
    await delivery.ack();
    this.#opts.metrics?.imagesTotal.inc({ model: delivery.job.model, outcome });
    this.#opts.onSettled?.(delivery.job, outcome, doc);
  }

  #tilingFor(model: LoadedModel): WorkerOptions['tiling'] {
    return { ...this.#opts.tiling, ...model.tiling };
  }

  #takeBuffer(length: number): Float32Array {
    return this.#buffers.get(length)?.pop() ?? new Float32Array(length);
  }

  #returnBuffer(buffer: Float32Array): void {
    let pool = this.#buffers.get(buffer.length);
    if (!pool) {
      pool = [];
      this.#buffers.set(buffer.length, pool);
    }
    pool.push(buffer);
  }
}

function isFileError(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException)?.code;
  return code === 'ENOENT' || code === 'EACCES' || code === 'EPERM' || code === 'EISDIR';
}

/** sharp's errors for bad image data (not for a full disk or a closed pool). */
function isDecoderError(err: unknown): boolean {
  const message = String((err as Error)?.message ?? '');
  return /^(Input|VipsJpeg|VipsPng|VipsTiff|TIFFRead|tiff2vips|pngload|jpegload|webpload|heifload|Image)/i.test(
    message,
  );
}
