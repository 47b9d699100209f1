import { type JobDelivery, type Logger, sha256 } from '@scopehive/shared';
import { letterboxTensor } from '../core/letterbox-tensor.ts';
import type { EdgeFeatures } from '../core/quantify.ts';
import { type AnalysisImage, readAnalysisImage } from '../image/read-analysis-image.ts';
import type { IntensityStretch } from '../microscopy/intensity.ts';
import type { LoadedModel } from '../model/model.ts';
import { annotateImage } from '../results/annotate.ts';
import { buildResultDocument, pixelSizeOf } from '../results/document.ts';
import type { FolderChoices } from './folder-settings.ts';
import type { Inference } from './infer.ts';
import { measureMasks } from './measure-features.ts';
import { type AnalysisPlan, planAnalysis, type TilingSettings } from './plan.ts';
import type { AnalysisResult, ImageSource, ResultSink } from './stages.ts';

export interface PrepareOptions {
  source: ImageSource;
  sink: ResultSink;
  /** Largest image accepted, in pixels. */
  maxPixels: number;
  /** Percentiles for mapping 16-bit, 32-bit and float images to 8 bits. */
  stretch: IntensityStretch;
  /** The service's tiling settings; a model sidecar may override them. */
  tiling: TilingSettings;
  logger?: Logger;
}

/** A job ready for the model: its image decoded, its plan made, and a single pass already letterboxed. */
export interface Prepared {
  delivery: JobDelivery;
  model: LoadedModel;
  image: AnalysisImage;
  imageSha256: string;
  imageBytes: number;
  plan: AnalysisPlan;
  /** The folder's own choices (`scopehive.json`): over the service's settings. */
  folderChoices?: FolderChoices;
  /** The letterboxed input of a single pass; tiles are letterboxed during inference, a batch ahead. */
  input?: Float32Array;
  timings: { read: number; decode: number; preprocess: number };
}

/** Several models often run on the same image back to back: decode it once. */
const DECODED_CACHE_SIZE = 3;

/** The source and plan stages: read and hash once, skip what is done, decode, plan, letterbox. */
export class Preparer {
  readonly #opts: PrepareOptions;
  readonly #decoded = new Map<string, Promise<AnalysisImage>>();
  readonly #buffers = new Map<number, Float32Array[]>();

  constructor(options: PrepareOptions) {
    this.#opts = options;
  }

  /** The prepared job, or 'done' when a current result already exists. */
  async prepare(delivery: JobDelivery, model: LoadedModel): Promise<Prepared | 'done'> {
    const { job } = delivery;
    const { source, sink } = this.#opts;
    if (await sink.isDone(job, job.image.sha256)) return 'done';
    let t = performance.now();
    const bytes = await source.read(job);
    const imageSha256 = sha256(bytes);
    const read = performance.now() - t;
    // The file changed since the job was made (replaced, or being rewritten right now): a job names one
    // version of a file, and the watcher queues every later version as its own job. These bytes may be
    // a half-written copy, so they are neither analysed nor set aside here.
    if (imageSha256 !== job.image.sha256) {
      this.#opts.logger?.info(
        { image: job.image.path, model: job.model.name },
        `${job.image.path} changed since it was queued: its current version is analysed by its own job`,
      );
      return 'done';
    }
    t = performance.now();
    const image = await this.#decode(imageSha256, bytes, job.image.path.split('/').pop()!);
    const decode = performance.now() - t;
    t = performance.now();
    const folder = await source.folderSettings(job);
    const plan = planAnalysis({
      image,
      model,
      tiling: { ...this.#opts.tiling, ...model.tiling },
      folderTiling: folder.choices?.tiling,
      overrides: [folder.override, model.calibrationOverride].filter((o) => o !== undefined),
      warnings: folder.warning ? [folder.warning] : [],
    });
    let input: Float32Array | undefined;
    if (plan.views.kind === 'single') {
      input = this.#takeBuffer(3 * model.inputWidth * model.inputHeight);
      letterboxTensor(image.rgb, plan.views.geometry, input, 0, { x: 0, y: 0, imageWidth: image.width });
    }
    const preprocess = performance.now() - t;
    return {
      delivery,
      model,
      image,
      imageSha256,
      imageBytes: bytes.length,
      plan,
      folderChoices: folder.choices,
      input,
      timings: { read, decode, preprocess },
    };
  }

  /** Takes back an input array the session thread handed back, for the next image. */
  recycle(buffer: Float32Array): void {
    let pool = this.#buffers.get(buffer.length);
    if (!pool) {
      pool = [];
      this.#buffers.set(buffer.length, pool);
    }
    pool.push(buffer);
  }

  #takeBuffer(length: number): Float32Array {
    return this.#buffers.get(length)?.pop() ?? new Float32Array(length);
  }

  #decode(imageSha256: string, bytes: Uint8Array, fileName: string): Promise<AnalysisImage> {
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
}

/** The result of an inference: the document (pure) and the annotated picture. */
export async function finish(
  p: Prepared,
  inference: Inference,
  options: { node: string; annotate: boolean; edgeFeatures?: EdgeFeatures },
): Promise<AnalysisResult> {
  const t = performance.now();
  const annotated = options.annotate ? await annotateImage(p.image, inference.detections) : undefined;
  const { features, labels } = measureMasks(p.image, inference.detections, pixelSizeOf(p.plan.calibration));
  const timings = {
    ...p.timings,
    ...inference.times,
    preprocess: p.timings.preprocess + inference.times.preprocess,
    write: 0,
  };
  const doc = buildResultDocument({
    job: p.delivery.job,
    model: p.model,
    image: p.image,
    imageSha256: p.imageSha256,
    imageBytes: p.imageBytes,
    detections: features,
    plan: p.plan,
    node: options.node,
    edgeFeatures: p.folderChoices?.edgeFeatures ?? options.edgeFeatures,
    timings: { ...timings, write: performance.now() - t },
  });
  return { doc, annotated, labels };
}
